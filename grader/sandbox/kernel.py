"""A kernel for one submission: launched (sandboxed, limited), driven, interrupted, killed.

The kernel is a plain ipykernel of the grader's own Python, whatever kernelspec the
notebook names. It talks to the grader over ipc sockets in a private folder.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Protocol

from grader.config import Limits
from grader.errors import KernelError
from grader.sandbox.replies import RECORDED, ExecReply, content_of, record_output, take_reply
from grader.sandbox.isolation import Isolation
from grader.sandbox.files import KernelFile
from grader.sandbox.launch import start_process
from grader.sandbox.reaper import reap_kernel
from grader.sandbox.spec import SandboxSpec, kernel_spec

OutputHook = Callable[[dict[str, Any]], None]
# after `-f <connection file>`. ipykernel sleeps 0.5 ms before each execute_reply, "to mitigate"
# outputs not yet flushed; its stdout and stderr flush synchronously through the iopub thread
# before that, and nbclient reads a cell's outputs until the kernel's idle status on iopub anyway
KERNEL_ARGS = ["--HistoryManager.enabled=False", "--Kernel._execute_sleep=0"]


class KernelProcess(Protocol):
    """What the grader needs of a kernel's process: Popen's, or a forked kernel's handle."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    @property
    def stderr(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def make_workdir(prefix: str, parent: str | None = None) -> tuple[Path, dict[str, Any]]:
    """A kernel's private folder: its ipc sockets, its connection file (returned as a dict), its home."""
    from jupyter_client.connect import write_connection_file

    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(workdir, 0o755)
    (workdir / "ipc").mkdir()
    (workdir / "home").mkdir()
    _, info = write_connection_file(
        str(workdir / "connection.json"), transport="ipc", ip=str(workdir / "ipc" / "kernel")
    )
    return workdir, dict(info)


@dataclass
class TimeLimit:
    """A request's time limit: interrupt the kernel once at `deadline` (SIGINT raises
    KeyboardInterrupt in the call); give up `grace` seconds later if it still has not ended."""

    deadline: float
    grace: float
    interrupted_at: float | None = None

    @property
    def interrupted(self) -> bool:
        return self.interrupted_at is not None

    def expired(self, now: float, interrupt: Callable[[], None]) -> bool:
        """Interrupt at the deadline (once); True once the grace after it has run out."""
        if self.interrupted_at is None and now > self.deadline:
            interrupt()
            self.interrupted_at = now
        return self.interrupted_at is not None and now > self.interrupted_at + self.grace


class Kernel:
    """One live kernel. Use `start()` / `shutdown()` or as a context manager."""

    def __init__(
        self,
        limits: Limits,
        *,
        sandbox: Isolation,
        start_timeout: float = 60.0,
        env: dict[str, str] | None = None,
        files: tuple[KernelFile, ...] = (),
    ) -> None:
        self.limits = limits
        self.sandbox = sandbox
        self.start_timeout = start_timeout
        self.extra_env = env or {}
        self.files = tuple(files)  # read-only in its working folder (every restart too)
        self.proc: KernelProcess | None = None
        self.client: Any = None
        self.workdir: Path | None = None
        self.spec: SandboxSpec | None = None  # the sandbox of the kernel now running
        self.connection_info: dict[str, Any] = {}  # for another client of the same kernel
        self.starts = 0
        self._stderr_buf = bytearray()
        self._stderr_thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------
    @property
    def connection_file(self) -> str | None:
        """The running kernel's connection file (ipc sockets in its folder), for another client."""
        return str(self.workdir / "connection.json") if self.workdir is not None else None

    def start(self) -> None:
        from jupyter_client.blocking import BlockingKernelClient

        self.workdir, self.connection_info = make_workdir("grader-kernel-")
        conn_file = str(self.workdir / "connection.json")
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", conn_file, *KERNEL_ARGS]
        self.spec = kernel_spec(self.sandbox, self.limits, self.workdir, self.extra_env, self.files)
        try:
            self.proc = start_process(self.spec, self.sandbox, argv)
        except OSError as exc:
            raise KernelError(f"could not start a kernel: {exc}") from None
        self._drain_stderr()
        client = BlockingKernelClient()
        client.load_connection_file(conn_file)
        client.allow_stdin = False
        client.start_channels()
        self.client = client
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                err = self._stderr_tail()
                self._cleanup()
                raise KernelError(f"the kernel exited at start (code {self.proc.returncode})", hint=err)
            try:
                client.wait_for_ready(timeout=min(2.0, max(0.1, deadline - time.monotonic())))
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    self.shutdown()
                    raise KernelError(f"the kernel did not answer within {self.start_timeout:g} s") from None
        self.starts += 1

    STDERR_TAIL = 8192

    def _drain_stderr(self) -> None:
        """Read the kernel's stderr as it comes, keeping only its tail.

        ipykernel echoes everything written to fd 2 (by the student, by libraries) to its
        original stderr: a pipe nobody drained would fill at 64 KB and freeze the kernel.
        """
        assert self.proc is not None and self.proc.stderr is not None
        stream, buf, keep = self.proc.stderr, bytearray(), self.STDERR_TAIL
        self._stderr_buf = buf

        def pump() -> None:
            try:
                while True:
                    chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                    if not chunk:
                        return
                    buf.extend(chunk)
                    if len(buf) > 2 * keep:
                        del buf[:-keep]
            except (OSError, ValueError):
                return

        self._stderr_thread = threading.Thread(target=pump, name="kernel-stderr", daemon=True)
        self._stderr_thread.start()

    def _stderr_tail(self) -> str:
        thread = self._stderr_thread
        if thread is not None:
            thread.join(timeout=1.0)
        return bytes(self._stderr_buf[-2000:]).decode("utf-8", "replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self) -> None:
        if self.client is None:
            return
        msg = self.client.session.msg("interrupt_request", {})
        self.client.control_channel.send(msg)

    def kill(self) -> None:
        """Kill the kernel and everything it started (its pid namespace, uid, session, process tree)."""
        if self.proc is None:
            return
        spec = self.spec
        reap_kernel(self.proc.pid, spec.uid if spec else None, spec.tag if spec else "")
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def shutdown(self) -> None:
        """Fast shutdown: the kernel holds nothing worth a graceful goodbye."""
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:
                pass
            self.client = None
        self.kill()
        self._cleanup()

    def _cleanup(self) -> None:
        thread, self._stderr_thread = self._stderr_thread, None
        if thread is not None:
            thread.join(timeout=1.0)  # ends at EOF: the kernel and its children are gone
        if self.proc is not None and self.proc.stderr is not None and not (thread and thread.is_alive()):
            try:
                self.proc.stderr.close()
            except OSError:
                pass
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def __enter__(self) -> "Kernel":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- execution --------------------------------------------------------------------
    def execute(
        self,
        code: str,
        timeout: float,
        *,
        store_history: bool = True,
        on_output: OutputHook | None = None,
        grace: float = 3.0,
    ) -> ExecReply:
        """Run code; stop it at `timeout` (interrupt, then give up after `grace`)."""
        if self.client is None or not self.alive:
            return ExecReply(status="dead")
        msg_id = self.client.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        return self._wait(msg_id, timeout, on_output, grace)

    UNHANDLED_AFTER = 2.0  # idle, and still no reply this long after: nothing in the kernel handles the request

    def request(
        self,
        msg_type: str,
        content: dict[str, Any],
        timeout: float,
        *,
        on_output: OutputHook | None = None,
        grace: float = 3.0,
    ) -> ExecReply:
        """A shell request other than execute_request, answered by a handler the grader's agent
        installed (no cell runs: no input transformation, history or execute_input). Same
        outputs, timeout and interrupt as `execute`; status "unhandled" when no handler answered."""
        if self.client is None or not self.alive:
            return ExecReply(status="dead")
        msg = self.client.session.msg(msg_type, content)
        self.client.shell_channel.send(msg)
        return self._wait(msg["header"]["msg_id"], timeout, on_output, grace, unhandled_after=self.UNHANDLED_AFTER)

    def _wait(
        self,
        msg_id: str,
        timeout: float,
        on_output: OutputHook | None,
        grace: float,
        unhandled_after: float | None = None,
    ) -> ExecReply:
        """Collect a request's outputs until its reply and idle status; interrupt it at `timeout`."""
        reply = ExecReply()
        limit = TimeLimit(time.monotonic() + timeout, grace)
        idle_at = 0.0
        got_reply = got_idle = False
        kept = 0
        cap = self.limits.output_kb * 1024
        while not (got_reply and got_idle):
            now = time.monotonic()
            expired = limit.expired(now, self.interrupt)
            reply.interrupted = limit.interrupted
            if expired:
                reply.status = "timeout"
                return reply
            if not self.alive:
                reply.status = "dead"
                return reply
            if got_idle and unhandled_after is not None and now > idle_at + unhandled_after:
                reply.status = "unhandled"
                return reply
            msg = None
            if not got_idle:
                try:
                    msg = self.client.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    pass
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kept = self._on_iopub(msg, reply, kept, cap, on_output)
                if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    got_idle = True
                    idle_at = time.monotonic()
            if not got_reply:
                try:
                    # idle came first (replies and iopub travel apart): now wait on the reply itself
                    wait = 0.05 if got_idle else 0 if msg is not None else 0.001
                    shell = self.client.get_shell_msg(timeout=wait)
                except queue.Empty:
                    shell = None
                if shell is not None and shell.get("parent_header", {}).get("msg_id") == msg_id:
                    got_reply = True
                    take_reply(reply, content_of(shell), cap)
        if reply.interrupted:
            reply.status = "timeout"
        return reply

    @staticmethod
    def _on_iopub(msg: dict[str, Any], reply: ExecReply, kept: int, cap: int, on_output: OutputHook | None) -> int:
        """Record one output; keep at most `cap` characters of all of them (replies.record_output)."""
        kind = str(msg.get("msg_type"))
        if on_output is not None and kind in RECORDED:
            on_output(msg)
        return record_output(reply, kind, content_of(msg), cap, kept)
