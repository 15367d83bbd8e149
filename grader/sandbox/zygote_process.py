"""The zygote's process, seen from the grader: started once per grader (or shared with a batch's
workers), asked for one kernel per connection.

The zygote (the text of `zygote/`, run as `python -c`) is started from its own SandboxSpec,
the spool (the folder that holds every kernel's folder) being its workdir: the same bubblewrap
view a kernel gets, keeping root's capabilities so that it can build each kernel's namespaces.
Each request carries the kernel's SandboxSpec as data; the zygote answers with a pidfd and the
kernel's stderr (`ForkedProcess`). Batch workers find the zygote their parent started through
one environment variable (SHARED_VAR), which names its spool and nothing else.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from grader.bridge.agent import AGENT_FILE, AGENT_SOURCE
from grader.errors import GraderError, KernelError
from grader.sandbox.forked import ForkedProcess
from grader.sandbox.isolation import Isolation, detect
from grader.sandbox.launch import bwrap_argv
from grader.sandbox.spec import SandboxSpec, zygote_spec

__all__ = [
    "ForkServer",
    "ForkServerUnavailable",
    "SHARED_VAR",
    "ZYGOTE_SOURCE",
    "forget",
    "server_for",
    "share",
    "share_for_workers",
    "usable",
]

ZYGOTE_PARTS = ("base.py", "mounts.py", "kernel.py", "server.py")  # one program, in this order
ZYGOTE_SOURCE = "\n\n".join(
    (Path(__file__).parent / "zygote" / name).read_text(encoding="utf-8") for name in ZYGOTE_PARTS
)
SHARED_VAR = "GRADER_FORKSERVER"  # {"bubblewrap": spool, "limits": spool}: a zygote other processes may use
READY_TIMEOUT = 120.0
PID_FILE = "zygote.pid"
SLOW_BOOT_VAR = "GRADER_FORKSERVER_SLOW_BOOT"  # seconds: a first boot as slow as a cold venv's on a busy machine


class ForkServerUnavailable(GraderError):
    """The zygote cannot run here; the caller falls back to plain kernels."""

    transient = True


def usable(isolation: Isolation) -> str:
    """'' when a zygote can serve kernels of this isolation here, else why not."""
    if not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return "the fork server needs Linux (pidfds) and Python >= 3.9"
    if os.environ.get("GRADER_NO_FORK_SERVER"):
        return "disabled by GRADER_NO_FORK_SERVER"
    if isolation.sandboxed and os.geteuid() != 0:
        return "a sandboxed fork server needs root (it gives each kernel its own namespaces and uid)"
    return ""


class ForkServer:
    """The zygote process of one isolation kind and the spool that holds its kernels' workdirs."""

    def __init__(self, isolation: Isolation, *, spool: str | None = None) -> None:
        self.isolation = isolation
        self.spool = spool
        self.proc: subprocess.Popen[bytes] | None = None
        self.owner = os.getpid()
        self._ready = spool is not None  # attached to a zygote someone else started
        self._log: IO[bytes] | None = None
        self.started_at = 0.0

    @property
    def socket_path(self) -> str:
        assert self.spool is not None
        return os.path.join(self.spool, "zygote.sock")

    def start(self) -> None:
        """Launch the zygote; return at once (`wait_ready` waits for its imports)."""
        reason = usable(self.isolation)
        if reason:
            raise ForkServerUnavailable(reason)
        self.started_at = time.monotonic()
        _sweep_stale_spools()
        self.spool = tempfile.mkdtemp(prefix=SPOOL_PREFIX)
        os.chmod(self.spool, 0o711)
        with open(os.path.join(self.spool, AGENT_FILE), "w", encoding="utf-8") as fh:
            fh.write(AGENT_SOURCE)  # compiled once by the zygote, for every kernel it forks
        spec = zygote_spec(self.isolation, Path(self.spool))
        argv = [sys.executable, "-c", ZYGOTE_SOURCE, self.spool, spec.kind]
        if os.environ.get(SLOW_BOOT_VAR):  # tests: the zygote waits this long before its imports
            argv.append(str(float(os.environ[SLOW_BOOT_VAR])))
        if spec.sandboxed and self.isolation.bwrap:
            os.makedirs(spec.home, exist_ok=True)
            cmd = bwrap_argv(self.isolation.bwrap, spec, argv)
        else:
            cmd = argv
        self._log = open(os.path.join(self.spool, "zygote.log"), "wb")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=dict(spec.env),
                cwd=self.spool,
                start_new_session=True,
            )
        except OSError as exc:
            self.close()
            raise ForkServerUnavailable(f"could not start the fork server: {exc}") from None
        with open(os.path.join(self.spool, PID_FILE), "w") as fh:  # for workers that find it still booting
            fh.write(str(self.proc.pid))
        atexit.register(self.close)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if self._ready:
            return
        if self.proc is None or self.proc.stdout is None:
            raise ForkServerUnavailable("the fork server was not started")
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise ForkServerUnavailable(f"the fork server did not start within {timeout:g} s")
            chunk = os.read(fd, 64)
            if not chunk:
                why = self.log_tail()
                self.close()
                raise ForkServerUnavailable(f"the fork server exited at start: {why}")
            line += chunk
        self._ready = True

    def log_tail(self) -> str:
        try:
            with open(os.path.join(self.spool or "/nonexistent", "zygote.log"), "rb") as fh:
                return fh.read()[-1500:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return self.spool is not None and _accepting(self.socket_path)

    def spawn(self, spec: SandboxSpec, kernel_argv: list[str], timeout: float = 60.0) -> ForkedProcess:
        """Ask for a fresh kernel in `spec`'s sandbox, running IPKernelApp with `kernel_argv`;
        returns once it is forked (not yet answering)."""
        request: dict[str, Any] = {"spec": asdict(spec), "kernel_argv": kernel_argv}
        if os.environ.get("GRADER_FORKSERVER_TRACE"):
            request["trace"] = f"sent {time.time()}"
        self.wait_ready()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(timeout)
            conn.connect(self.socket_path)
            conn.sendall((json.dumps(request) + "\n").encode())
            data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 2)
            reply = json.loads(data.split(b"\n", 1)[0]) if data else {"error": "the fork server hung up"}
        except (OSError, ValueError) as exc:
            conn.close()
            raise KernelError(f"the fork server did not fork a kernel: {exc}") from None
        if not reply.get("ok") or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            conn.close()
            raise KernelError(f"the fork server could not start a kernel: {reply.get('error', 'no reason given')}")
        conn.settimeout(None)
        proc = ForkedProcess(conn, fds[0], fds[1], reply)
        proc.take(data.split(b"\n", 1)[1] if b"\n" in data else b"")
        return proc

    def close(self) -> None:
        if os.getpid() != self.owner or self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if proc.stdout is not None:
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
        if self.spool:
            shutil.rmtree(self.spool, ignore_errors=True)


SPOOL_PREFIX = "grader-forkserver-"
STALE_AFTER = 600.0


def _sweep_stale_spools() -> None:
    """Remove the spools of zygotes whose grader was killed before it could (SIGKILL, SIGTERM):
    older than STALE_AFTER seconds and answering no connection."""
    base = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(base) if n.startswith(SPOOL_PREFIX)]
    except OSError:
        return
    now = time.time()
    for name in names:
        path = os.path.join(base, name)
        try:
            if now - os.stat(path).st_mtime < STALE_AFTER or os.stat(path).st_uid != os.geteuid():
                continue
        except OSError:
            continue
        if not _accepting(os.path.join(path, "zygote.sock")):
            shutil.rmtree(path, ignore_errors=True)


_SERVERS: dict[str, ForkServer] = {}
_LOCK = threading.Lock()


def _accepting(path: str) -> bool:
    """Does a zygote answer at `path`? (A shared one may have died and left its socket file.)"""
    if not os.path.exists(path):
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _booting(spool: str) -> bool:
    """Is the zygote of `spool` still alive (its owner wrote its pid there when it started it)?"""
    try:
        with open(os.path.join(spool, PID_FILE)) as fh:
            pid = int(fh.read().strip())
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")  # a zombie: it died and its owner has not reaped it yet
    except (OSError, ValueError, IndexError):
        return False


def _wait_accepting(spool: str, timeout: float = READY_TIMEOUT) -> bool:
    """Does the shared zygote of `spool` answer, once done booting? A worker started while it still
    imports torch (a new venv, a busy machine) waits for it rather than booting one more of its own."""
    path = os.path.join(spool, "zygote.sock")
    deadline = time.monotonic() + timeout
    while not _accepting(path):
        if time.monotonic() > deadline or not _booting(spool):
            return False
        time.sleep(0.05)
    return True


def forget(server: ForkServer) -> None:
    """Stop using a zygote that no longer answers (this process's own, or one shared with it)."""
    with _LOCK:
        for kind, known in list(_SERVERS.items()):
            if known is server:
                del _SERVERS[kind]
        try:
            mapping = json.loads(os.environ.get(SHARED_VAR, "{}"))
        except ValueError:
            mapping = {}
        stale = {k: v for k, v in mapping.items() if v != server.spool}
        if stale != mapping:
            os.environ[SHARED_VAR] = json.dumps(stale)
    server.close()


def server_for(isolation: Isolation) -> ForkServer:
    """This process's zygote for `isolation` (started on first use; shared via GRADER_FORKSERVER)."""
    with _LOCK:
        server = _SERVERS.get(isolation.kind)
        if server is not None and server.alive:
            return server
        try:
            shared = json.loads(os.environ.get(SHARED_VAR, "{}")).get(isolation.kind)
        except (ValueError, AttributeError):
            shared = None
        if shared and _wait_accepting(shared):
            server = ForkServer(isolation, spool=shared)
        else:
            server = ForkServer(isolation)
            server.start()
        _SERVERS[isolation.kind] = server
        return server


def share(isolation: Isolation) -> ForkServer:
    """Start (or reuse) this process's zygote and let child processes (batch workers) use it too."""
    server = server_for(isolation)
    try:
        mapping = json.loads(os.environ.get(SHARED_VAR, "{}"))
    except ValueError:
        mapping = {}
    mapping[isolation.kind] = server.spool
    os.environ[SHARED_VAR] = json.dumps(mapping)
    return server


# -- a kernel forked from the zygote -----------------------------------------------------------


def share_for_workers(sandbox_mode: str) -> str:
    """Start the zygote now and let worker processes started after this use it; '' or why not."""
    isolation = detect(sandbox_mode)
    reason = usable(isolation)
    if reason:
        return reason
    try:
        share(isolation)
    except ForkServerUnavailable as exc:
        return str(exc)
    return ""
