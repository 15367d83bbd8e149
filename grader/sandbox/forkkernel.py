"""A Kernel whose process the zygote forked: same interface as a plain kernel, ready in a fraction
of its time (torch and ipykernel are imported already). `launch` forks it without waiting.

Its sandbox is a SandboxSpec made exactly as a plain kernel's (`kernel_spec`), sent to the zygote
as data; the fork provisioner (`grader.sandbox.provisioners`) forks through the same `fork_kernel`.
No kernel is ever reused: a restart is a new fork.
"""

from __future__ import annotations

import os
import queue
import time
import weakref
from typing import Any

from grader.config import Limits
from grader.errors import KernelError
from grader.sandbox.files import KernelFile
from grader.sandbox.forked import ForkedProcess, kill_forked
from grader.sandbox.isolation import Isolation
from grader.sandbox.kernel import KERNEL_ARGS, Kernel, make_workdir
from grader.sandbox.spec import PASSED_ON, SandboxSpec, kernel_spec, prepare_workdir
from grader.sandbox.zygote_process import ForkServer, forget, server_for

__all__ = ["ForkKernel", "fork_kernel", "kill_all"]


def fork_kernel(server: ForkServer, spec: SandboxSpec, kernel_argv: list[str]) -> ForkedProcess:
    """Fork a kernel in `spec`'s sandbox (its folder made ready for its uid first)."""
    prepare_workdir(spec)
    return server.spawn(spec, kernel_argv)


def _fast_reconnect(client: Any) -> None:
    """Retry connecting every 10 ms, not zmq's 100: the kernel binds its sockets moments after we
    connect. Set on the client's context before its sockets exist: the first retry is scheduled
    when the first connect fails, at once (set on a socket after its connect, the first retry
    still waited 100 ms: a third of a forked kernel's start)."""
    import zmq

    client.context.setsockopt(zmq.RECONNECT_IVL, 10)


def passed_on() -> dict[str, str]:
    """What of this process's environment a kernel's sandbox passes on (spec.PASSED_ON)."""
    return {key: os.environ[key] for key in PASSED_ON if key in os.environ}


_LIVE: "weakref.WeakSet[ForkKernel]" = weakref.WeakSet()


def kill_all() -> None:
    """Kill every forked kernel this process holds (a batch worker's watchdog, SIGTERM)."""
    for kernel in list(_LIVE):
        proc = kernel.proc
        if isinstance(proc, ForkedProcess):
            proc.kill()


class ForkKernel(Kernel):
    """A Kernel whose process comes from the zygote. Same interface; `launch` starts it without waiting.
    The zygote compiled the grader's agent once for all its kernels (`agent_preloaded`)."""

    agent_preloaded = True

    def __init__(
        self,
        server: ForkServer,
        limits: Limits,
        *,
        sandbox: Isolation,
        start_timeout: float = 60.0,
        env: dict[str, str] | None = None,
        files: tuple[KernelFile, ...] = (),
    ) -> None:
        super().__init__(limits, sandbox=sandbox, start_timeout=start_timeout, env=env, files=files)
        self.server = server
        self._launched_at = 0.0
        self.passed_on: dict[str, str] = {}
        _LIVE.add(self)

    def launch(self) -> None:
        """Fork the kernel and connect to it; do not wait for it to answer."""
        self.fork()
        self.connect()

    def fork(self, _retry: bool = True) -> None:
        """Fork the kernel (its folder, its sandbox, the zygote's fork); no connection to it yet.

        Threads and zmq start only in `connect`: a process may fork the kernel and hand it, with
        itself, to a child process that connects (the warm server's spare, `disown`)."""
        assert self.server.spool is not None
        self.workdir, self.connection_info = make_workdir("k-", self.server.spool)
        conn_file = str(self.workdir / "connection.json")
        self.spec = kernel_spec(self.sandbox, self.limits, self.workdir, self.extra_env, self.files)
        self.passed_on = passed_on()
        try:
            self.proc = fork_kernel(self.server, self.spec, ["-f", conn_file, *KERNEL_ARGS])
            # the kernel's start timeout runs from its fork: a zygote still booting (cold imports of
            # torch from a new venv on a busy machine) has its own READY_TIMEOUT and is waited for
            self._launched_at = time.monotonic()
        except KernelError:
            self._cleanup()
            if self.server.alive or not _retry:
                raise
            # the zygote died (killed, or a shared one whose owner went away): start anew, once
            forget(self.server)
            self.server = server_for(self.sandbox)
            self.fork(_retry=False)

    def connect(self) -> None:
        """Connect this process to the forked kernel (its stderr drained, a client on its channels)."""
        from jupyter_client.blocking import BlockingKernelClient

        assert self.workdir is not None and self.proc is not None
        if time.monotonic() - self._launched_at > self.start_timeout:
            self._launched_at = time.monotonic()  # forked long ago, ahead of need: up or dead by now
        self._drain_stderr()
        client = BlockingKernelClient()
        client.load_connection_file(str(self.workdir / "connection.json"))
        client.allow_stdin = False
        _fast_reconnect(client)
        client.start_channels(hb=False)
        self.client = client

    @property
    def current(self) -> bool:
        """Would a kernel forked now get the same sandbox? (The environment it passes on, the same.)"""
        return self.passed_on == passed_on()

    def disown(self) -> None:
        """Let go of a forked, unconnected kernel in this process, leaving it (and its folder) to a
        child process forked just before: the child holds the kernel's handles, and the kernel
        lives as long as the child keeps them open."""
        proc = self.proc
        if isinstance(proc, ForkedProcess):
            proc.close()
            try:
                proc.stderr.close()
            except OSError:
                pass
        self.proc = None
        _LIVE.discard(self)

    @property
    def launched(self) -> bool:
        return self.client is not None

    def start(self) -> None:
        if self.proc is None or self.workdir is None:  # never forked, or shut down (a restart)
            self.fork()
        if self.client is None:
            self.connect()
        self.wait_ready()

    def wait_ready(self) -> None:
        """Until the kernel answers kernel_info on shell and its iopub reaches us (no fixed sleeps).

        The first request waits for the kernel to come up; once it has answered on shell, an
        iopub message about a request proves the subscription is live (a late subscriber misses
        the first messages, so the request is repeated until one gets through).
        """
        assert self.proc is not None and self.client is not None
        deadline = self._launched_at + self.start_timeout
        client = self.client
        up = False
        while True:
            msg_id = client.kernel_info()
            sent = time.monotonic()
            replied = heard = False
            while time.monotonic() - sent < (0.15 if up else 2.0):
                if self.proc.poll() is not None:
                    err = self._stderr_tail()
                    code = self.proc.returncode
                    self.shutdown()
                    raise KernelError(f"the kernel exited at start (code {code})", hint=err)
                if time.monotonic() > deadline:
                    self.shutdown()
                    raise KernelError(f"the kernel did not answer within {self.start_timeout:g} s")
                if not replied:
                    try:
                        msg = client.get_shell_msg(timeout=0.02)
                        replied = msg.get("parent_header", {}).get("msg_id") == msg_id
                        up = up or replied
                    except queue.Empty:
                        pass
                try:
                    msg = client.get_iopub_msg(timeout=0.005 if not replied else 0.02)
                    heard = heard or msg.get("parent_header", {}).get("msg_id") == msg_id
                except queue.Empty:
                    pass
                if replied and heard:
                    self.starts += 1
                    return

    def kill(self) -> None:
        """Kill the kernel and everything it started (`kill_forked`)."""
        if isinstance(self.proc, ForkedProcess):
            kill_forked(self.proc, self.spec)

    def _cleanup(self) -> None:
        proc = self.proc
        super()._cleanup()
        if isinstance(proc, ForkedProcess):
            proc.close()
