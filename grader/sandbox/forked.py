"""A kernel forked by the zygote, as the grader holds it: a Popen-like process handle.

Its pid comes from a pidfd, its exit status from the zygote (their parent) over the kernel's
connection, its stderr through a pipe the zygote passed along. Killing it: `kill_forked`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from typing import Any

from grader.sandbox.reaper import reap_kernel
from grader.sandbox.spec import SandboxSpec

__all__ = ["ForkedProcess", "kill_forked"]


class ForkedProcess:
    """A kernel forked by the zygote: `poll`, `wait`, `kill`, `returncode`, `pid`, `stderr`, like Popen.

    Under a sandbox the process is the kernel's init (pid 1 of its namespace; the kernel is
    its only child): killing it kills everything the kernel started, and its exit status is
    the kernel's, as bubblewrap reports it. Without one it is the kernel. The status arrives
    on `conn` from the zygote, their parent.
    """

    def __init__(self, conn: socket.socket, pidfd: int, stderr_fd: int, info: dict[str, Any]) -> None:
        self.conn = conn
        self.pidfd = pidfd
        self.namespace = bool(info.get("namespace"))
        self.stderr = os.fdopen(stderr_fd, "rb", buffering=0)
        self.returncode: int | None = None
        self.pid = pid_of(pidfd) or 0
        self._buf = b""

    def take(self, data: bytes) -> None:
        """Read what the zygote said about the kernel (its exit status)."""
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict) and "exit" in msg and self.returncode is None:
                self.returncode = int(msg["exit"])

    def _read(self, timeout: float) -> None:
        if self.returncode is not None:
            return
        try:
            ready, _, _ = select.select([self.conn], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            ready = [self.conn]
        if not ready:
            return
        try:
            data = self.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self.take(data)
        elif self.returncode is None:
            # the zygote is gone without a word: so is the kernel (it dies with its monitor)
            self.returncode = -signal.SIGKILL

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("forked kernel", timeout or 0)
            self._read(min(left, 1.0))
        return self.returncode

    def wait_gone(self, timeout: float) -> bool:
        """Until the process has exited (its pidfd turns readable); False at the timeout."""
        if self.pidfd < 0:
            return False
        try:
            return bool(select.select([self.pidfd], [], [], timeout)[0])
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        if self.pidfd >= 0:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.pidfd >= 0:
            try:
                os.close(self.pidfd)
            except OSError:
                pass
        self.pidfd = -1


def pid_of(pidfd: int) -> int | None:
    """The pid behind a pidfd, in this process's pid namespace."""
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as fh:
            for line in fh:
                if line.startswith("Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        pass
    return None


def kill_forked(proc: ForkedProcess, spec: SandboxSpec | None) -> None:
    """Kill a forked kernel and everything it started.

    In the sandbox: SIGKILL to the init of its pid namespace; once that init has exited, Linux
    has killed every process of the namespace, and none can leave one. Without a sandbox: the
    kernel, its session, then whatever runs as its uid or carries its tag (as for a plain kernel).
    """
    pid = proc.pid
    proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if proc.namespace and proc.wait_gone(timeout=5):
        return
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)  # without a pid namespace: the kernel's session
        except (ProcessLookupError, PermissionError, OSError):
            pass
    reap_kernel(pid, spec.uid if spec else None, spec.tag if spec else "")
