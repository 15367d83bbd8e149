"""Where and how a kernel runs: bubblewrap when it works here, rlimits always.

The single place that decides isolation. Every verdict records `Isolation.label`.

Under bubblewrap the kernel sees a read-only system (/usr, /lib, /etc ...), the Python it
runs (the interpreter's prefix and the virtual environment, never their siblings), its own
folder (the ipc sockets and the connection file), and private tmpfs for /tmp and its home.
It has no network (its own empty net namespace), its own pid namespace, and, when the grader
runs as root, a uid of its own with no capabilities. Without bubblewrap the same rlimits
apply, and the kernel's processes are hunted down at shutdown by uid, session and tag.
See docs/security.md for the threat model.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os
import pwd
import resource
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.config import Limits
from grader.errors import SandboxUnavailable
from grader.sandbox.reaper import TAG_VAR, _LAUNCHED, _pids_of_uid, _tasks_of_uid, reap_kernel, register

__all__ = ["Isolation", "SandboxUnavailable", "TAG_VAR", "detect", "kernel_uid", "launch_command", "memory_bytes",
           "reap_kernel"]

UID_RANGE = (200000, 900000)   # each kernel runs as a uid of its own: no shared process count, no shared files
TMPFS_MB = 512                 # size of the kernel's private /tmp and home (each) under bubblewrap


def _uid_in_use(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        pass
    return bool(_pids_of_uid(uid))


def kernel_uid() -> int:
    """A fresh uid for one kernel: unnamed in the passwd database, owning no process."""
    for _ in range(20):
        uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        if not _uid_in_use(uid):
            return uid
    return uid


@dataclass(frozen=True)
class Isolation:
    kind: str        # "bubblewrap" | "limits"
    label: str       # what the verdict says
    bwrap: str | None = None

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"

    def reap(self, pid: int, workdir: Path | None = None) -> None:
        """After the kernel (pid) was killed: kill every process it left behind."""
        reap_kernel(pid, workdir)


@functools.lru_cache(maxsize=1)
def _bwrap_works(bwrap: str) -> str:
    """'' when bubblewrap can build our sandbox here, else the reason it cannot."""
    try:
        proc = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"],
            capture_output=True, timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace").strip()[:200]


@functools.lru_cache(maxsize=4)
def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bubblewrap knows (--size and --perms arrived in 0.5-0.7)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, timeout=10).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def detect(mode: str = "auto") -> Isolation:
    """mode: auto (bubblewrap when it works), none (limits only), require (error without it)."""
    if mode == "none":
        return Isolation("limits", f"limits only (sandbox disabled by --no-sandbox); the kernel runs {_identity()}")
    bwrap = shutil.which("bwrap")
    reason = "bubblewrap is not installed" if bwrap is None else _bwrap_works(bwrap)
    if bwrap and not reason:
        return Isolation("bubblewrap", "bubblewrap sandbox (no network, read-only system, private /tmp, own pid namespace) + limits", bwrap)
    if mode == "require":
        raise SandboxUnavailable(
            f"a sandbox is required but unavailable: {reason}",
            hint="install bubblewrap (apt-get install bubblewrap) or drop --require-sandbox",
        )
    return Isolation("limits", f"limits only, no sandbox ({reason}); the kernel runs {_identity()}")


def _identity() -> str:
    """Who the kernel runs as without a sandbox: what a verdict must admit."""
    if os.name != "posix":
        return "as your user, with your user's files and network"
    if os.geteuid() != 0:
        return "as your user, with your user's files and network"
    if _reachable_by_others(sys.executable):
        return "as a uid of its own, with network access and read access to world-readable files"
    if _setpriv_knows("--ambient-caps"):
        return ("as a uid of its own allowed to read every file (this Python is not reachable by other "
                "users), with network access")
    return "as root (this Python is not reachable by other users), with full access to files and network"


SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")


def _python_roots() -> list[str]:
    """The interpreter's prefixes: the virtual environment and the Python it was made from."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return sorted(roots)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


PYTHON_LAYOUT = {"bin", "lib", "lib64", "lib32", "include", "share", "etc", "man", "pyvenv.cfg",
                 "conda-meta", "ssl", "libexec", "Lib", "Scripts", "Include"}


def _masked(bound: list[str]) -> list[str]:
    """What of the grader a bound folder would show, to be hidden under something empty.

    The grader's own package (when installed into the environment) and the folder the grader
    runs from (the course: assignments/, solutions/, gradebook, .git) stay out of the kernel's
    view even when they lie inside something the kernel needs, as in a venv made at the course root.
    """
    candidates = {os.path.realpath(Path(__file__).parent.parent), os.path.realpath(os.getcwd())}
    out: set[str] = set()
    for path in sorted(candidates):
        if path == "/":
            continue
        if path in bound:   # the course folder is itself a Python prefix: hide all but the Python
            try:
                names = os.listdir(path)
            except OSError:
                names = []
            for name in names:
                child = os.path.join(path, name)
                if name not in PYTHON_LAYOUT and not any(_inside(root, child) for root in bound):
                    out.add(child)
        elif any(_inside(path, root) for root in bound):
            out.add(path)
    return sorted(out)


def _bwrap_argv(bwrap: str, argv: list[str], workdir: Path, uid: int | None) -> list[str]:
    opts = _bwrap_options(bwrap)
    sized = ["--size", str(TMPFS_MB * 1024 * 1024)] if "--size" in opts else []
    open_perms = ["--perms", "1777"] if "--perms" in opts else []
    cmd = [
        bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--hostname", "grader-sandbox",
        "--proc", "/proc", "--dev", "/dev",
        *open_perms, *sized, "--tmpfs", "/tmp", *open_perms, *sized, "--tmpfs", "/var/tmp",
        *open_perms, *sized, "--tmpfs", "/dev/shm",      # shared memory (DataLoader workers): sized, private
        "--tmpfs", "/run",
    ]
    if uid is None and os.geteuid() == 0 and "--cap-drop" in opts:
        cmd += ["--cap-drop", "ALL"]     # root without a uid to drop to: at least without capabilities
    bound = [p for p in SYSTEM_DIRS if os.path.exists(p)]
    for path in bound:
        cmd += ["--ro-bind", path, path]
    made: set[str] = {"/tmp", "/var/tmp", "/run"}   # tmpfs already, writable by all

    def parents(path: str) -> list[str]:
        # bubblewrap makes missing parents 0700: make them 0755 so the kernel's uid can walk them
        out = []
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text != "/" and text not in made and not any(_inside(text, p) for p in SYSTEM_DIRS):
                made.add(text)
                out += ["--perms", "0755", "--dir", text] if "--perms" in opts else ["--dir", text]
        return out

    roots = _python_roots()
    for root in roots:
        if not any(_inside(root, p) for p in bound):
            cmd += parents(root) + ["--ro-bind", root, root]
    for path in _masked(bound + roots):
        cmd += ["--tmpfs", path] if os.path.isdir(path) and not os.path.islink(path) else ["--ro-bind", "/dev/null", path]
    for dev in glob.glob("/dev/nvidia*") + glob.glob("/dev/dri"):
        cmd += ["--dev-bind", dev, dev]      # a GPU, when there is one, stays visible to the kernel
    # The kernel's own folder: ipc sockets and the connection file. Its home is a private tmpfs:
    # nothing the student writes there reaches the host.
    home = str(workdir / "home")
    cmd += parents(str(workdir)) + ["--bind", str(workdir), str(workdir),
                                    *open_perms, *sized, "--tmpfs", home,
                                    "--setenv", "HOME", home, "--chdir", home]
    if uid is not None:
        argv = _drop_to(uid) + argv
    return cmd + ["--"] + argv


def _drop_to(uid: int, *, read_all: bool = False) -> list[str]:
    """A prefix command that becomes `uid`, with no groups, capabilities or new privileges.

    read_all keeps one capability, to read and search any file: a Python installed under a
    private folder (/root/.pyenv) stays runnable by a kernel that is not root.
    """
    setpriv = shutil.which("setpriv")
    if setpriv:
        caps = "-all,+dac_read_search" if read_all else "-all"
        cmd = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
               f"--bounding-set={caps}", f"--inh-caps={caps}"]
        if read_all:
            cmd += [f"--ambient-caps={caps}"]
        if _setpriv_knows("--pdeathsig"):
            cmd += ["--pdeathsig=KILL"]
        return cmd + ["--"]
    code = (f"import os,sys;os.setgroups([]);os.setgid({uid});os.setuid({uid});"
            "os.execv(sys.argv[1],sys.argv[1:])")
    return [sys.executable, "-I", "-S", "-c", code]


@functools.lru_cache(maxsize=8)
def _setpriv_knows(option: str) -> bool:
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return False
    try:
        text = subprocess.run([setpriv, "--help"], capture_output=True, timeout=10).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in text


@functools.lru_cache(maxsize=4)
def _reachable_by_others(executable: str) -> bool:
    """Can an unprivileged user run this interpreter outside a sandbox (is every parent o+x)?"""
    paths = {os.path.realpath(executable), *(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix))}
    for path in paths:
        for parent in [Path(path), *Path(path).parents]:
            try:
                if not parent.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


def _gpu_present() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def memory_bytes(limits: Limits) -> int:
    """The memory limit, never above three quarters of the machine: the limit, not the OOM killer, stops a hog."""
    want = limits.memory_mb * 1024 * 1024
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return want
    return min(want, int(physical * 0.75)) if physical > 0 else want


def _memory_rlimit() -> int:
    """RLIMIT_AS everywhere, except on Linux with a GPU: CUDA reserves far more address space
    than it uses, so there the limit is RLIMIT_DATA (the private writable memory, Linux >= 4.7)."""
    if sys.platform.startswith("linux") and _gpu_present() and hasattr(resource, "RLIMIT_DATA"):
        return resource.RLIMIT_DATA
    return resource.RLIMIT_AS


@functools.lru_cache(maxsize=1)
def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl     # libc, already loaded in this process
    except (OSError, AttributeError):
        return None


PR_SET_PDEATHSIG = 1


def kernel_rlimits(limits: Limits, nproc: int | None) -> list[tuple[int, int]]:
    """The kernel's rlimits as (resource, value), soft = hard = value, each at most the current hard
    limit when set. The plain kernel's pre-exec hook and the fork server's kernels both set these."""
    mb = 1024 * 1024
    wanted = [(_memory_rlimit(), memory_bytes(limits)), (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
              (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_CORE, 0)]
    if nproc is not None:
        # counted per uid: binds once the kernel runs as its own uid (setpriv, or just below)
        wanted.append((resource.RLIMIT_NPROC, nproc))
    return wanted


def kernel_nproc(limits: Limits, uid: int | None) -> int | None:
    """RLIMIT_NPROC for a kernel that runs as `uid` (None: as this user)."""
    return limits.processes if uid is not None else _own_nproc(limits.processes)


def _limit_setter(limits: Limits, uid: int | None, setuid_here: bool, nproc: int | None = None) -> Callable[[], None]:
    """Runs in the child before exec: rlimits, and (outside bubblewrap) the drop to the kernel's uid."""
    prctl = _libc_prctl() if setuid_here else None
    wanted = kernel_rlimits(limits, nproc)

    def apply() -> None:
        for kind, value in wanted:
            try:
                hard = resource.getrlimit(kind)[1]
                value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(kind, (value, value))
            except (OSError, ValueError):
                pass        # a platform without this limit (macOS and RLIMIT_AS): the others still hold
        if uid is not None and setuid_here:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)   # after setuid, which clears it: dies with the grader
    return apply


def launch_command(argv: list[str], isolation: Isolation, workdir: Path,
                   limits: Limits) -> tuple[list[str], Callable[[], None], dict[str, str]]:
    """The command, the pre-exec hook (limits, privilege drop) and the environment."""
    root = os.geteuid() == 0
    in_bwrap = bool(isolation.sandboxed and isolation.bwrap)
    reachable = _reachable_by_others(sys.executable)
    # without a sandbox, root drops the kernel to a uid of its own: in the child before exec when
    # others can run this Python, else through setpriv keeping only the right to read files
    via_setpriv = root and not in_bwrap and not reachable and _setpriv_knows("--ambient-caps")
    uid = kernel_uid() if root and (in_bwrap or reachable or via_setpriv) else None
    tag = secrets.token_hex(8)
    register(workdir, uid, tag)
    home = workdir / "home"
    tmp = workdir / "tmp"
    if not in_bwrap:
        tmp.mkdir(exist_ok=True)
    if uid is not None:
        os.chmod(workdir, 0o711)            # the grader's; the kernel may only pass through
        for path in (workdir / "ipc", home, tmp, workdir / "connection.json"):
            if path.exists():
                os.chown(path, uid, uid)
                os.chmod(path, 0o600 if path.is_file() else 0o700)
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
    if not in_bwrap:
        env["TMPDIR"] = str(tmp)
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    if in_bwrap and isolation.bwrap:
        cmd = _bwrap_argv(isolation.bwrap, argv, workdir, uid)
    elif via_setpriv and uid is not None:
        cmd = _drop_to(uid, read_all=True) + argv
    else:
        cmd = argv
    nproc = kernel_nproc(limits, uid)
    return cmd, _limit_setter(limits, uid, setuid_here=not in_bwrap and not via_setpriv, nproc=nproc), env


def _own_nproc(processes: int) -> int | None:
    """Without a uid of its own the kernel shares the user's process count: allow what runs now, plus the limit."""
    if os.geteuid() == 0 or not os.path.isdir("/proc"):
        return None   # root is not bound by RLIMIT_NPROC; elsewhere the count is not known
    return _tasks_of_uid(os.getuid()) + processes
