"""Starting a process from its SandboxSpec: bubblewrap's command line, the drop to the kernel's
uid, the pre-exec hook that sets the rlimits.

The one launch code of a plain kernel: `Kernel` (the grader's own) and the bubblewrap
provisioner (any Jupyter client) both call `start_process`; the zygote is started the same way
from its own spec. The command line is built from the spec, never read back.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Callable

from grader.config import Limits
from grader.sandbox import rlimits
from grader.sandbox.files import bwrap_binds
from grader.sandbox.isolation import Isolation, bwrap_options, setpriv_knows
from grader.sandbox.spec import SYSTEM_DIRS, SandboxSpec, Tmpfs, inside, kernel_spec, prepare_workdir

__all__ = ["bwrap_argv", "command", "drop_to", "launch_command", "start_process"]

PR_SET_PDEATHSIG = 1


def _tmpfs_args(mount: Tmpfs) -> list[str]:
    perms = ["--perms", mount.mode] if mount.mode else []
    size = ["--size", str(mount.size)] if mount.size else []
    return [*perms, *size, "--tmpfs", mount.path]


class _Parents:
    """bubblewrap makes missing parents 0700: make them 0755 first, so that the kernel's uid can walk them."""

    def __init__(self, perms: bool, made: set[str]) -> None:
        self.perms, self.made = perms, made

    def of(self, path: str) -> list[str]:
        out: list[str] = []
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text != "/" and text not in self.made and not any(inside(text, p) for p in SYSTEM_DIRS):
                self.made.add(text)
                out += ["--perms", "0755", "--dir", text] if self.perms else ["--dir", text]
        return out


def bwrap_argv(bwrap: str, spec: SandboxSpec, argv: list[str]) -> list[str]:
    """bubblewrap's command line for `spec`, running `argv` (as the spec's uid) inside."""
    opts = bwrap_options(bwrap)
    cmd = [bwrap, *(["--cap-add", "ALL"] if "ALL" in spec.capabilities else [])]
    cmd += ["--unshare-cgroup-try" if ns == "cgroup" else f"--unshare-{ns}" for ns in spec.namespaces]
    cmd += ["--die-with-parent", "--new-session", "--hostname", spec.hostname, "--proc", "/proc", "--dev", "/dev"]
    for mount in spec.tmpfs:
        cmd += _tmpfs_args(mount)
    if spec.uid is None and not spec.capabilities and os.geteuid() == 0 and "--cap-drop" in opts:
        cmd += ["--cap-drop", "ALL"]  # root without a uid to drop to: at least without capabilities
    parents = _Parents("--perms" in opts, {m.path for m in spec.tmpfs})
    for bind in spec.binds:
        cmd += parents.of(bind.path) + ["--bind" if bind.writable else "--ro-bind", bind.path, bind.path]
    for mask in spec.masks:
        cmd += ["--tmpfs", mask.path] if mask.directory else ["--ro-bind", "/dev/null", mask.path]
    for dev in spec.devices:
        cmd += ["--dev-bind", dev, dev]  # a GPU, when there is one, stays visible to the kernel
    # The kernel's own folder: ipc sockets and the connection file. Its home is a private tmpfs:
    # nothing the student writes there reaches the host.
    cmd += parents.of(spec.workdir) + ["--bind", spec.workdir, spec.workdir]
    if spec.home_tmpfs is not None:
        cmd += _tmpfs_args(spec.home_tmpfs)
    cmd += bwrap_binds(spec.files, spec.workdir, spec.home)  # the assignment's and the submission's files
    cmd += ["--setenv", "HOME", spec.home, "--chdir", spec.home]
    prefix = drop_to(spec.uid) if spec.uid is not None else []
    return cmd + ["--"] + prefix + argv


def drop_to(uid: int, *, read_all: bool = False) -> list[str]:
    """A prefix command that becomes `uid`, with no groups, capabilities or new privileges.

    read_all keeps one capability, to read and search any file: a Python installed under a
    private folder (/root/.pyenv) stays runnable by a kernel that is not root.
    """
    setpriv = shutil.which("setpriv")
    if setpriv:
        caps = "-all,+dac_read_search" if read_all else "-all"
        cmd = [
            setpriv,
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--no-new-privs",
            f"--bounding-set={caps}",
            f"--inh-caps={caps}",
        ]
        if read_all:
            cmd += [f"--ambient-caps={caps}"]
        if setpriv_knows("--pdeathsig"):
            cmd += ["--pdeathsig=KILL"]
        return cmd + ["--"]
    code = f"import os,sys;os.setgroups([]);os.setgid({uid});os.setuid({uid});os.execv(sys.argv[1],sys.argv[1:])"
    return [sys.executable, "-I", "-S", "-c", code]


@functools.lru_cache(maxsize=1)
def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # libc, already loaded in this process
    except (OSError, AttributeError):
        return None


def _pre_exec(spec: SandboxSpec, setuid_here: bool) -> Callable[[], None]:
    """Runs in the child before exec: rlimits, and (outside bubblewrap) the drop to the kernel's uid."""
    prctl = _libc_prctl() if setuid_here else None
    uid = spec.uid

    def apply() -> None:
        rlimits.apply(spec.rlimits)
        if uid is not None and setuid_here:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it: dies with the grader

    return apply


def command(
    spec: SandboxSpec, isolation: Isolation, argv: list[str]
) -> tuple[list[str], Callable[[], None], dict[str, str]]:
    """The command that runs `argv` in `spec`'s sandbox, its pre-exec hook and its environment."""
    read_all = bool(spec.capabilities) and spec.uid is not None and not spec.sandboxed
    if spec.sandboxed and isolation.bwrap:
        cmd = bwrap_argv(isolation.bwrap, spec, argv)
    elif read_all and spec.uid is not None:
        cmd = drop_to(spec.uid, read_all=True) + argv
    else:
        cmd = argv
    return cmd, _pre_exec(spec, setuid_here=not spec.sandboxed and not read_all), dict(spec.env)


def start_process(
    spec: SandboxSpec, isolation: Isolation, argv: list[str], *, stderr: int | IO[bytes] = subprocess.PIPE
) -> "subprocess.Popen[bytes]":
    """Start `argv` in `spec`'s sandbox, as the leader of a session of its own, in its home."""
    prepare_workdir(spec)
    cmd, preexec, env = command(spec, isolation, argv)
    return subprocess.Popen(
        cmd,
        cwd=spec.home,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=preexec,
        start_new_session=True,
    )


def launch_command(
    argv: list[str], isolation: Isolation, workdir: Path, limits: Limits
) -> tuple[list[str], Callable[[], None], dict[str, str]]:
    """The command, the pre-exec hook (limits, privilege drop) and the environment of a kernel in `workdir`."""
    spec = kernel_spec(isolation, limits, workdir)
    prepare_workdir(spec)
    return command(spec, isolation, argv)
