"""What one kernel's sandbox is, as data: a frozen SandboxSpec made once per kernel.

Every way of starting a kernel reads the same spec: bubblewrap's command line is built from
it (`grader.sandbox.launch`), the zygote receives it as JSON and rebuilds the same view
(`grader.sandbox.zygote`), the reaper learns the kernel's uid and tag from it, and the
jupyter_client provisioners (`grader.sandbox.provisioners`) make one per launch. Nothing reads
a sandbox back from a command line, a folder's owner or a module global.

The spec is made from the host's Isolation, the assignment's Limits and the kernel's folder
(its ipc sockets and connection file); see docs/security.md for what each part defends.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from grader.config import Limits
from grader.sandbox import rlimits
from grader.sandbox.files import STAGE_DIR, KernelFile, stage
from grader.sandbox.isolation import Isolation, bwrap_options, reachable_by_others, setpriv_knows
from grader.sandbox.pythonpath import install_folders
from grader.sandbox.reaper import TAG_VAR, pids_of_uid

__all__ = [
    "Bind",
    "Mask",
    "SandboxSpec",
    "Tmpfs",
    "import_folders",
    "kernel_spec",
    "kernel_uid",
    "masked_paths",
    "prepare_workdir",
    "python_roots",
    "zygote_spec",
]

Namespace = Literal["pid", "net", "ipc", "uts", "cgroup"]
NAMESPACES: tuple[Namespace, ...] = ("pid", "net", "ipc", "uts", "cgroup")
UID_RANGE = (200000, 900000)  # each kernel runs as a uid of its own: no shared process count, no shared files
TMPFS_MB = 512  # size of the kernel's private /tmp and home (each) under bubblewrap
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
# the PCI devices and NUMA nodes (/sys/bus/pci/devices links into /sys/devices), the driver's state
GPU_SYSFS = ("/sys/devices", "/sys/bus/pci", "/sys/module/nvidia", "/sys/module/nvidia_uvm")
PYTHON_LAYOUT = {
    "bin",
    "lib",
    "lib64",
    "lib32",
    "include",
    "share",
    "etc",
    "man",
    "pyvenv.cfg",
    "conda-meta",
    "ssl",
    "libexec",
    "Lib",
    "Scripts",
    "Include",
}
# the environment variables of the host a kernel may inherit (threading and GPU set-up, nothing secret)
PASSED_ON = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")


@dataclass(frozen=True)
class Tmpfs:
    """A private, empty filesystem: `mode` and `size` as bubblewrap sets them (None: its default)."""

    path: str
    mode: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Bind:
    """A host folder shown at the same path; read-only unless `writable`."""

    path: str
    writable: bool = False


@dataclass(frozen=True)
class Mask:
    """Something a bound folder would show that the kernel must not see: hidden under an empty
    tmpfs (a folder) or /dev/null (a file)."""

    path: str
    directory: bool


@dataclass(frozen=True)
class SandboxSpec:
    """One kernel's sandbox. kind "limits": no filesystem view of its own, only rlimits, uid and env."""

    kind: Literal["bubblewrap", "limits"]
    workdir: str  # the kernel's folder: ipc sockets, connection file
    home: str  # its home (a private tmpfs under bubblewrap) and cwd
    uid: int | None  # a uid of its own, or None: runs as the grader's user
    tag: str  # marks its processes in their environment (the reaper's sweep)
    env: Mapping[str, str] = field(default_factory=dict)  # the kernel's whole environment, in order
    rlimits: tuple[tuple[int, int], ...] = ()  # (resource, soft = hard)
    capabilities: tuple[str, ...] = ()  # kept after the drop to `uid`: (), ("dac_read_search",), ("ALL",)
    namespaces: tuple[Namespace, ...] = ()
    hostname: str = "grader-sandbox"
    binds: tuple[Bind, ...] = ()  # the system folders and the Python prefixes
    masks: tuple[Mask, ...] = ()
    tmpfs: tuple[Tmpfs, ...] = ()  # /tmp, /var/tmp, /dev/shm, /run
    home_tmpfs: Tmpfs | None = None
    devices: tuple[str, ...] = ()  # a GPU's device nodes, shown as they are
    files: tuple[KernelFile, ...] = ()  # read-only in its home (working folder): grader.sandbox.files

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"


# -- the uid -------------------------------------------------------------------------------


def _uid_in_use(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        pass
    return bool(pids_of_uid(uid))


def kernel_uid() -> int:
    """A fresh uid for one kernel: unnamed in the passwd database, owning no process."""
    for _ in range(20):
        uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        if not _uid_in_use(uid):
            return uid
    return uid


# -- the view --------------------------------------------------------------------------------


def python_roots() -> list[str]:
    """The interpreter's prefixes: the virtual environment and the Python it was made from."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return sorted(roots)


def import_folders() -> list[str]:
    """The installation folders this process's PYTHONPATH adds (grader.sandbox.pythonpath): a
    kernel imports ipykernel, zmq ... from them as the grader does; never one that holds the folder
    the grader runs from."""
    cwd = os.path.realpath(os.getcwd())
    return [path for path in install_folders(os.environ.get("PYTHONPATH", "")) if not inside(cwd, path)]


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def masked_paths(bound: list[str]) -> list[str]:
    """What of the grader a bound folder would show, to be hidden under something empty.

    The grader's own package (when installed into the environment) and the folder the grader
    runs from (the course: assignments/, solutions/, gradebook, .git) stay out of the kernel's
    view even when they lie inside something the kernel needs, as in a venv made at the course root;
    so does a grader installed into an install folder on PYTHONPATH (import_folders).
    """
    candidates = {
        os.path.realpath(Path(__file__).parent.parent),
        os.path.realpath(os.getcwd()),
        *(g for g in (os.path.join(p, "grader") for p in import_folders()) if os.path.isdir(g)),
    }
    out: set[str] = set()
    for path in sorted(candidates):
        if path == "/":
            continue
        if path in bound:  # the course folder is itself a Python prefix: hide all but the Python
            try:
                names = os.listdir(path)
            except OSError:
                names = []
            for name in names:
                child = os.path.join(path, name)
                if name not in PYTHON_LAYOUT and not any(inside(root, child) for root in bound):
                    out.add(child)
        elif any(inside(path, root) for root in bound):
            out.add(path)
    return sorted(out)


def _view(isolation: Isolation, workdir: Path) -> dict[str, Any]:
    """The filesystem part of a bubblewrap spec: binds, masks, private tmpfs, devices."""
    opts = bwrap_options(isolation.bwrap) if isolation.bwrap else frozenset()
    size = TMPFS_MB * 1024 * 1024 if "--size" in opts else None
    open_mode = "1777" if "--perms" in opts else None
    system = [p for p in SYSTEM_DIRS if os.path.exists(p)]
    roots = [r for r in python_roots() + import_folders() if not any(inside(r, p) for p in system)]
    masks = tuple(
        Mask(p, os.path.isdir(p) and not os.path.islink(p))
        for p in masked_paths(system + python_roots() + import_folders())
    )
    devices = tuple(glob.glob("/dev/nvidia*") + glob.glob("/dev/dri"))
    # with a GPU, the parts of /sys CUDA's driver reads, read-only: without them cuInit fails
    # (CUDA_ERROR_OPERATING_SYSTEM) in a sandbox that has the device nodes. Not /sys/kernel, /sys/fs ...
    sysfs = [p for p in GPU_SYSFS if os.path.exists(p)] if devices else []
    return {
        "namespaces": NAMESPACES,
        "binds": tuple(Bind(p) for p in system + roots + sysfs),
        "masks": masks,
        # shared memory (DataLoader workers) sized and private too; /run only private
        "tmpfs": (
            Tmpfs("/tmp", open_mode, size),
            Tmpfs("/var/tmp", open_mode, size),
            Tmpfs("/dev/shm", open_mode, size),
            Tmpfs("/run"),
        ),
        "home_tmpfs": Tmpfs(str(workdir / "home"), open_mode, size),
        "devices": devices,
    }


# -- kernels and the zygote ------------------------------------------------------------------


def _passed_on() -> dict[str, str]:
    """What a kernel (and the zygote) inherits of this process's environment: PASSED_ON, and the
    installation folders of its PYTHONPATH (import_folders)."""
    env = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
    folders = import_folders()
    if folders:
        env["PYTHONPATH"] = os.pathsep.join(folders)
    return env


def _kernel_env(home: Path, tag: str, tmpdir: Path | None, extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(home / ".runtime"),
        TAG_VAR: tag,
    }
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    env.update(_passed_on())
    env.update(extra)
    return env


def kernel_spec(
    isolation: Isolation,
    limits: Limits,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    files: tuple[KernelFile, ...] = (),
) -> SandboxSpec:
    """The sandbox of one kernel whose folder is `workdir`; `env` adds to its environment; `files`
    are shown read-only in its working folder."""
    root = os.geteuid() == 0
    in_bwrap = bool(isolation.sandboxed and isolation.bwrap)
    # without a sandbox, root drops the kernel to a uid of its own: in the child before exec when
    # others can run this Python, else through setpriv keeping only the right to read files
    read_all = root and not in_bwrap and not reachable_by_others(sys.executable) and setpriv_knows("--ambient-caps")
    uid = kernel_uid() if root and (in_bwrap or read_all or reachable_by_others(sys.executable)) else None
    tag = secrets.token_hex(8)
    home = workdir / "home"
    view = _view(isolation, workdir) if in_bwrap else {}
    return SandboxSpec(
        kind="bubblewrap" if in_bwrap else "limits",
        workdir=str(workdir),
        home=str(home),
        uid=uid,
        tag=tag,
        env=_kernel_env(home, tag, None if in_bwrap else workdir / "tmp", env or {}),
        rlimits=tuple(rlimits.kernel_rlimits(limits, rlimits.kernel_nproc(limits, uid))),
        capabilities=("dac_read_search",) if read_all and uid is not None else (),
        files=tuple(files),
        **view,
    )


def zygote_env() -> dict[str, str]:
    """The zygote's environment: a kernel's, without its folders (every kernel gets its own)."""
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",  # also keeps numpy/OpenBLAS from starting threads before fork
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    env.update(_passed_on())
    return env


def zygote_spec(isolation: Isolation, spool: Path) -> SandboxSpec:
    """The zygote's sandbox: a kernel's view of its spool, keeping root's capabilities so that it can
    build each kernel's namespaces (the kernel then drops every capability and its uid)."""
    in_bwrap = bool(isolation.sandboxed and isolation.bwrap)
    view = _view(isolation, spool) if in_bwrap else {}
    return SandboxSpec(
        kind="bubblewrap" if in_bwrap else "limits",
        workdir=str(spool),
        home=str(spool / "home"),
        uid=None,
        tag="",
        env=zygote_env(),
        capabilities=("ALL",) if in_bwrap else (),
        **view,
    )


def prepare_workdir(spec: SandboxSpec) -> None:
    """Give the kernel's uid what it needs of its folder, and nothing else of it."""
    workdir = Path(spec.workdir)
    tmp = workdir / "tmp"
    if not spec.sandboxed:
        tmp.mkdir(exist_ok=True)
    if spec.files:  # under a sandbox, staged to be bound read-only; without one, copies in its home
        dest = workdir / STAGE_DIR if spec.sandboxed else Path(spec.home)
        dest.mkdir(mode=0o755, exist_ok=True)
        stage(spec.files, dest, link=spec.sandboxed)
    if spec.uid is not None:
        os.chmod(workdir, 0o711)  # the grader's; the kernel may only pass through
        for path in (workdir / "ipc", Path(spec.home), tmp, workdir / "connection.json"):
            if path.exists():
                os.chown(path, spec.uid, spec.uid)
                os.chmod(path, 0o600 if path.is_file() else 0o700)
