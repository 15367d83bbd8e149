"""Finding and killing what a kernel left behind, when the grader is done with it.

Under bubblewrap the pid namespace dies with the kernel; with a uid of its own, every process
of that uid is killed at once with kill(-1) as that uid. Without either (an ordinary user,
no sandbox) the kernel's process tree, its session, and every process that carries its tag
in the environment are killed one by one: a process that detaches *and* clears its
environment escapes that sweep (see docs/security.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

TAG_VAR = "GRADER_SANDBOX_TAG"  # marks the kernel's processes when no uid of their own tells them apart


def _proc_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _status(pid: int) -> tuple[int | None, int, bool]:
    """(real uid, thread count, alive) of a process, from /proc; zombies are not alive."""
    uid, threads, alive = None, 1, True
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"State:"):
                    alive = line.split()[1] not in (b"Z", b"X")
                elif line.startswith(b"Uid:"):
                    uid = int(line.split()[1])
                elif line.startswith(b"Threads:"):
                    threads = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None, 0, False
    return uid, threads, alive


def pids_of_uid(uid: int) -> list[int]:
    out = []
    for pid in _proc_pids():
        owner, _, alive = _status(pid)
        if owner == uid and alive:
            out.append(pid)
    return out


def tasks_of_uid(uid: int) -> int:
    total = 0
    for pid in _proc_pids():
        owner, threads, _ = _status(pid)
        if owner == uid:
            total += threads
    return total


def _pids_tagged(tag: str, session: int) -> list[int]:
    """Processes of this user that carry the kernel's tag or belong to its session."""
    marker = f"{TAG_VAR}={tag}".encode()
    me = os.getpid()
    found = []
    for pid in _proc_pids():
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if fields[0] in (b"Z", b"X"):
                continue
            if int(fields[3]) == session:  # field 6 of stat: the session id
                found.append(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if marker in fh.read().split(b"\0"):
                    found.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill_all_of_uid(uid: int) -> None:
    """kill(-1, SIGKILL) as `uid`: every process of that uid, at once, whatever it forks meanwhile."""
    if uid in (0, os.getuid()) or os.geteuid() != 0:
        return
    killer, setpriv = shutil.which("kill"), shutil.which("setpriv")
    quiet = subprocess.DEVNULL
    try:
        if killer and setpriv:  # no preexec_fn: spawned without copying this (large) process
            subprocess.run(
                [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", killer, "-KILL", "-1"],
                stdin=quiet,
                stdout=quiet,
                stderr=quiet,
                timeout=10,
            )
            return

        def become() -> None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

        cmd = [killer, "-KILL", "-1"] if killer else [sys.executable, "-I", "-S", "-c", "import os;os.kill(-1,9)"]
        subprocess.run(cmd, preexec_fn=become, stdin=quiet, stdout=quiet, stderr=quiet, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pass


def _descendants(pid: int) -> list[int]:
    """The process tree under pid (its children, theirs ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for other in _proc_pids():
        try:
            with open(f"/proc/{other}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(other)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def reap_kernel(pid: int, uid: int | None = None, tag: str = "") -> list[int]:
    """Kill the kernel (pid) and everything it started; return the pids that remain (none, normally).

    Under bubblewrap the pid namespace dies with the kernel; a uid of its own is swept with
    kill(-1) as that uid. Without either, the kernel's process tree, its session and every
    process that carries its tag in the environment are killed one by one. `uid` and `tag` are
    the kernel's, from its SandboxSpec.
    """
    procfs = os.path.isdir("/proc")
    tree = _descendants(pid) if procfs and uid is None else []
    try:
        os.killpg(pid, signal.SIGKILL)  # the kernel's session (it was started as a session leader)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    _kill(tree)
    if not procfs:
        return []
    left: list[int] = []
    for attempt in range(5):
        if uid is not None:
            left = pids_of_uid(uid)
            if left and attempt == 0:
                time.sleep(0.02)  # a pid namespace killed a moment ago is still going down
                left = pids_of_uid(uid)
            if left:
                _kill_all_of_uid(uid)
        elif tag:
            left = _pids_tagged(tag, pid)
            _kill(left)
        if not left:
            return []
    return left
