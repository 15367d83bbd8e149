"""Where and how a kernel runs: bubblewrap when it works here, rlimits always.

The single place that decides isolation. Every verdict records `Isolation.label`.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.assignment import Limits
from grader.errors import SandboxUnavailable

import glob
import secrets

UID_RANGE = (200000, 900000)   # each kernel runs as a uid of its own: no shared process count, no shared files


def kernel_uid() -> int:
    return UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])


@dataclass(frozen=True)
class Isolation:
    kind: str        # "bubblewrap" | "limits"
    label: str       # what the verdict says
    bwrap: str | None = None

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"

    def reap(self, pid: int) -> None:
        """Nothing to do under bubblewrap (the pid namespace dies with it)."""
        return None


@functools.lru_cache(maxsize=1)
def _bwrap_works(bwrap: str) -> str:
    """'' when bubblewrap can build our sandbox here, else the reason it cannot."""
    try:
        proc = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent", "true"],
            capture_output=True, timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace").strip()[:200]


def detect(mode: str = "auto") -> Isolation:
    """mode: auto (bubblewrap when it works), none (limits only), require (error without it)."""
    if mode == "none":
        return Isolation("limits", "limits only (sandbox disabled by --no-sandbox)")
    bwrap = shutil.which("bwrap")
    reason = "bubblewrap is not installed" if bwrap is None else _bwrap_works(bwrap)
    if bwrap and not reason:
        return Isolation("bubblewrap", "bubblewrap sandbox (no network, read-only system, private /tmp, own pid namespace) + limits", bwrap)
    if mode == "require":
        raise SandboxUnavailable(
            f"a sandbox is required but unavailable: {reason}",
            hint="install bubblewrap (apt-get install bubblewrap) or drop --require-sandbox",
        )
    return Isolation("limits", f"limits only, no sandbox ({reason})")


SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")


def _python_roots() -> list[str]:
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return sorted(roots)


def _bwrap_argv(bwrap: str, argv: list[str], workdir: Path, uid: int | None) -> list[str]:
    cmd = [
        bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--hostname", "grader-sandbox",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", "/var/tmp",
    ]
    for path in SYSTEM_DIRS:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    made: set[str] = set()

    def parents(path: str) -> list[str]:
        # bubblewrap makes missing parents 0700: make them 0755 so the kernel's uid can walk them
        out = []
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text != "/" and text not in made and not any(text == p or text.startswith(p + "/") for p in SYSTEM_DIRS):
                made.add(text)
                out += ["--perms", "0755", "--dir", text]
        return out

    for root in _python_roots():
        cmd += parents(root) + ["--ro-bind", root, root]
    for dev in glob.glob("/dev/nvidia*") + glob.glob("/dev/dri"):
        cmd += ["--dev-bind", dev, dev]      # a GPU, when there is one, stays visible to the kernel
    # The kernel's own folder: ipc sockets, connection file, a home. Nothing else of the host.
    cmd += parents(str(workdir)) + ["--bind", str(workdir), str(workdir), "--setenv", "HOME", str(workdir / "home"),
            "--chdir", str(workdir / "home")]
    if uid is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        argv = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                "--bounding-set=-all", "--inh-caps=-all", "--"] + argv
    return cmd + ["--"] + argv


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


def _limit_setter(limits: Limits, uid: int | None, setuid_here: bool) -> Callable[[], None]:
    """Runs in the child before exec: rlimits, and (outside bubblewrap) the drop to the kernel's uid."""

    def apply() -> None:
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mb, limits.file_size_mb * mb))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            # counted per uid: binds once the kernel runs as its own uid (setpriv, or just below)
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if uid is not None and setuid_here:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return apply


def launch_command(argv: list[str], isolation: Isolation, workdir: Path,
                   limits: Limits) -> tuple[list[str], Callable[[], None], dict[str, str]]:
    """The command, the pre-exec hook (limits, privilege drop) and the environment."""
    root = os.geteuid() == 0
    in_bwrap = bool(isolation.sandboxed and isolation.bwrap)
    uid = kernel_uid() if root and (in_bwrap and shutil.which("setpriv") or _reachable_by_others(sys.executable)) else None
    if uid is not None:
        for path in (workdir, workdir / "ipc", workdir / "home", workdir / "connection.json"):
            if path.exists():
                os.chown(path, uid, uid)
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir / "home"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(workdir / "home" / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "home" / ".runtime"),
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    cmd = _bwrap_argv(isolation.bwrap, argv, workdir, uid) if in_bwrap and isolation.bwrap else argv
    return cmd, _limit_setter(limits, uid, setuid_here=not in_bwrap), env
