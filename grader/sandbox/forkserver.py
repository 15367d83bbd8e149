"""Fast kernels: forked from a zygote that has torch and ipykernel imported, one started ahead.

A plain kernel costs a new interpreter, ipykernel's imports and `import torch` (1.5-2 s of
CPU) before the student's first cell. Here the zygote (`_zygote.py`), one per grader (a
batch shares its zygote with its workers), pays that once, inside the same bubblewrap view
a kernel gets, and forks a fresh kernel per submission in the process tree bubblewrap would
build: an init (pid 1 of a new pid namespace, leading the session) with new mount, network,
ipc, uts and cgroup namespaces, the sandbox's private filesystems made anew (/tmp, /var/tmp,
/run, /dev/shm, /dev/pts, /proc, home) and, of the spool that holds every kernel's folder,
only its own; and under it the kernel (pid 2) with the assignment's rlimits, its own uid and
no capabilities. No kernel is ever reused: a restart is a new fork; a shutdown kills the init,
which ends every process of the namespace. tests/test_fast_path.py holds the two paths to the
same verdicts and the same view from inside.

`fast_kernel` (this process's `FastKernels`) is the kernel factory grade() uses by default
(Options.fork_server); once a process has asked for a second kernel it launches the next one
while the current one is graded. Where the zygote cannot run (not Linux; a sandbox without
root; GRADER_NO_FORK_SERVER set; it fails to start) the factory falls back to plain kernels,
started the same way ahead of need with torch already imported (PrewarmedKernel).
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from grader.config import Assignment, Limits
from grader.errors import KernelError
from grader.sandbox.kernel import Kernel
from grader.sandbox.isolation import Isolation, launch_command

ZYGOTE_SOURCE = (Path(__file__).parent / "_zygote.py").read_text(encoding="utf-8")
SHARED_VAR = "GRADER_FORKSERVER"      # {"bubblewrap": spool, "limits": spool}: a zygote other processes may use
READY_TIMEOUT = 120.0
MB = 1024 * 1024


class ForkServerUnavailable(Exception):
    """The zygote cannot run here; the caller falls back to plain kernels."""


# -- one forked kernel, as the grader sees it: a Popen-like handle ------------------------------

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
        self.pid = _pid_of(pidfd) or 0
        self._buf = b""

    def _take(self, data: bytes) -> None:
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
            self._take(data)
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


def _pid_of(pidfd: int) -> int | None:
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


# -- the zygote ------------------------------------------------------------------------------

def _tmpfs_plan(argv: list[str], spool: str) -> dict[str, Any]:
    """What the kernel's sandbox mounts fresh: read from the bubblewrap command sandbox.py builds."""
    tmpfs: list[dict[str, Any]] = []
    home: dict[str, Any] | None = None
    mode, size, i = None, None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        if arg == "--perms":
            mode, i = argv[i + 1], i + 2
            continue
        if arg == "--size":
            size, i = argv[i + 1], i + 2
            continue
        if arg == "--tmpfs":
            target = argv[i + 1]
            entry = {"path": target, "mode": mode or "0755", "size": size}
            if target in ("/tmp", "/var/tmp", "/run", "/dev/shm"):
                tmpfs.append(entry)
            elif target == os.path.join(spool, "home"):
                home = entry
            i += 2
        elif arg.startswith("--") and arg not in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                                                   "--unshare-cgroup-try", "--unshare-user", "--die-with-parent",
                                                   "--new-session", "--unshare-all", "--as-pid-1", "--clearenv"):
            # an option with arguments: skip them (every other option here takes one or two)
            takes = 2 if arg in ("--ro-bind", "--bind", "--dev-bind", "--setenv", "--ro-bind-try", "--bind-try",
                                 "--dev-bind-try", "--symlink") else 1
            i += 1 + takes
        else:
            i += 1
        if arg != "--perms" and arg != "--size":
            mode, size = None, None
    return {"tmpfs": tmpfs, "home": home, "spool": spool, "sandboxed": True}


def _zygote_env() -> dict[str, str]:
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",           # also keeps numpy/OpenBLAS from starting threads before fork
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


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
        self._ready = spool is not None     # attached to a zygote someone else started
        self._log: Any = None
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
        argv = [sys.executable, "-c", ZYGOTE_SOURCE, self.spool]
        if self.isolation.sandboxed and self.isolation.bwrap:
            from grader.sandbox import isolation as sandbox

            cmd = sandbox._bwrap_argv(self.isolation.bwrap, argv + ["{}"], Path(self.spool), None)
            plan = _tmpfs_plan(cmd, self.spool)
            cmd[cmd.index("--") + len(argv) + 1] = json.dumps(plan)
            while "--cap-drop" in cmd:
                at = cmd.index("--cap-drop")
                del cmd[at:at + 2]
            # the zygote keeps root's capabilities inside its sandbox: it builds each kernel's
            # namespaces, then the kernel drops every capability and its uid before any student code
            cmd[1:1] = ["--cap-add", "ALL"]
            os.makedirs(os.path.join(self.spool, "home"), exist_ok=True)
        else:
            cmd = argv + [json.dumps({"sandboxed": False, "spool": self.spool, "tmpfs": []})]
        self._log = open(os.path.join(self.spool, "zygote.log"), "wb")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
                                         env=_zygote_env(), cwd=self.spool, start_new_session=True)
        except OSError as exc:
            self.close()
            raise ForkServerUnavailable(f"could not start the fork server: {exc}") from None
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

    def spawn(self, request: dict[str, Any], timeout: float = 60.0) -> ForkedProcess:
        """Ask for a fresh kernel; returns once it is forked (not yet answering)."""
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
        rest = data.split(b"\n", 1)[1] if b"\n" in data else b""
        if rest:
            proc._take(rest)
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
        if shared and _accepting(os.path.join(shared, "zygote.sock")):
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

def _rlimits(limits: Limits, uid: int | None) -> list[tuple[int, int]]:
    """The kernel's rlimits: exactly what sandbox.py's pre-exec hook sets for a plain kernel."""
    from grader.sandbox import isolation as sandbox

    return sandbox.kernel_rlimits(limits, sandbox.kernel_nproc(limits, uid))


CAPABILITIES = {"dac_read_search": 2}


def _kept_caps(cmd: list[str]) -> list[int]:
    """The capabilities a plain kernel keeps through setpriv (--ambient-caps=-all,+name)."""
    kept: list[int] = []
    for arg in cmd:
        if arg.startswith("--ambient-caps="):
            for item in arg.split("=", 1)[1].split(","):
                if item.startswith("+") and item[1:] in CAPABILITIES:
                    kept.append(CAPABILITIES[item[1:]])
    return kept


def _fast_reconnect(channel: Any) -> None:
    """Retry the connection every 10 ms, not zmq's 100: the kernel binds its sockets moments after we connect."""
    try:
        import zmq

        channel.socket.setsockopt(zmq.RECONNECT_IVL, 10)
    except Exception:
        pass


_LIVE: "weakref.WeakSet[ForkKernel]" = weakref.WeakSet()


def kill_all() -> None:
    """Kill every forked kernel this process holds (a batch worker's watchdog, SIGTERM)."""
    for kernel in list(_LIVE):
        proc = kernel.proc
        if isinstance(proc, ForkedProcess):
            proc.kill()


class ForkKernel(Kernel):
    """A Kernel whose process comes from the zygote. Same interface; `launch` starts it without waiting."""

    def __init__(self, server: ForkServer, limits: Limits, *, sandbox: Isolation, start_timeout: float = 60.0,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(limits, sandbox=sandbox, start_timeout=start_timeout, env=env)
        self.server = server
        self._launched_at = 0.0
        _LIVE.add(self)

    def launch(self, _retry: bool = True) -> None:
        """Fork the kernel and connect to it; do not wait for it to answer."""
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        assert self.server.spool is not None
        self.workdir = Path(tempfile.mkdtemp(prefix="k-", dir=self.server.spool))
        os.chmod(self.workdir, 0o755)
        ipc = self.workdir / "ipc"
        ipc.mkdir()
        (self.workdir / "home").mkdir()
        conn_file = str(self.workdir / "connection.json")
        write_connection_file(conn_file, transport="ipc", ip=str(ipc / "kernel"))
        kernel_args = ["-f", conn_file, "--HistoryManager.enabled=False"]
        argv = [sys.executable, "-m", "ipykernel_launcher", *kernel_args]
        cmd, _preexec, env = launch_command(argv, self.sandbox, self.workdir, self.limits)
        env.update(self.extra_env)
        owner = os.stat(ipc).st_uid
        uid = owner if owner != os.geteuid() else None
        request = {
            "workdir": str(self.workdir), "uid": uid, "env": env, "cwd": env.get("HOME"),
            "rlimits": _rlimits(self.limits, uid), "kernel_argv": kernel_args, "keep_caps": _kept_caps(cmd),
        }
        if os.environ.get("GRADER_FORKSERVER_TRACE"):
            request["trace"] = f"sent {time.time()}"
        self._launched_at = time.monotonic()
        try:
            self.proc = self.server.spawn(request)  # type: ignore[assignment]
        except KernelError:
            self._cleanup()
            if self.server.alive or not _retry:
                raise
            # the zygote died (killed, or a shared one whose owner went away): start anew, once
            forget(self.server)
            self.server = server_for(self.sandbox)
            self.launch(_retry=False)
            return
        if hasattr(self, "_drain_stderr"):
            self._drain_stderr()
        client = BlockingKernelClient()
        client.load_connection_file(conn_file)
        client.allow_stdin = False
        client.start_channels(hb=False)
        for channel in (client.shell_channel, client.iopub_channel, client.control_channel):
            _fast_reconnect(channel)
        self.client = client

    @property
    def launched(self) -> bool:
        return self.client is not None

    def start(self) -> None:
        if not self.launched:
            self.launch()
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

    def _stderr_tail(self) -> str:
        if getattr(self, "_stderr_thread", None) is not None:
            return super()._stderr_tail()
        try:
            assert self.proc is not None
            os.set_blocking(self.proc.stderr.fileno(), False)
            return (self.proc.stderr.read() or b"")[-2000:].decode("utf-8", "replace")
        except Exception:
            return ""

    def kill(self) -> None:
        """Kill the kernel and everything it started.

        In the sandbox: SIGKILL to the init of its pid namespace; once that init has exited,
        Linux has killed every process of the namespace, and none can leave one.
        Without a sandbox: the kernel, its session, then whatever runs as its uid or carries its
        tag (sandbox.reap, as for a plain kernel)."""
        proc = self.proc
        if proc is None:
            return
        assert isinstance(proc, ForkedProcess)
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
                os.killpg(pid, signal.SIGKILL)      # without a pid namespace: the kernel's session
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            self.sandbox.reap(pid, self.workdir)   # type: ignore[call-arg]
        except TypeError:
            self.sandbox.reap(pid)

    def _cleanup(self) -> None:
        proc = self.proc
        super()._cleanup()
        if isinstance(proc, ForkedProcess):
            proc.close()


# -- the factory grade() uses ------------------------------------------------------------------

class FastKernels:
    """Kernel factory: forked kernels, the next one launched while the current one is graded.

    Prewarming starts once a second kernel is asked for in this process (a batch): a single
    `grader check` never pays for a kernel it does not use.
    """

    def __init__(self, prewarm: int | None = None) -> None:
        self.prewarm = prewarm          # None: from the second request on
        self.requests = 0
        self._spare: dict[tuple[Any, ...], Kernel] = {}
        self._lock = threading.Lock()
        self.fallback_reason = ""
        self._preimport_started = False
        atexit.register(self.close)

    def warm(self, assignment: Assignment, isolation: Isolation) -> None:
        """Start what the first kernel needs (the zygote, this process's imports) and return at once."""
        self._preimport()
        if not (self.fallback_reason or usable(isolation)):
            try:
                server_for(isolation)
            except ForkServerUnavailable as exc:
                self.fallback_reason = str(exc)

    def __call__(self, assignment: Assignment, isolation: Isolation) -> Kernel:
        self.requests += 1
        self._preimport()
        key = (assignment.limits, isolation, assignment.timeouts.kernel_start)
        with self._lock:
            spare = self._spare.pop(key, None)
        kernel = spare or self._new(assignment, isolation)
        try:
            kernel.start()
        except KernelError:
            if spare is None:
                raise
            kernel = self._new(assignment, isolation)   # a spare that died waiting: one fresh try
            kernel.start()
        if self.prewarm or (self.prewarm is None and self.requests >= 2):
            self._launch_spare(key, assignment, isolation)
        return kernel

    def _new(self, assignment: Assignment, isolation: Isolation) -> Kernel:
        reason = self.fallback_reason or usable(isolation)
        if not reason:
            try:
                server = server_for(isolation)
                return ForkKernel(server, assignment.limits, sandbox=isolation,
                                  start_timeout=assignment.timeouts.kernel_start)
            except ForkServerUnavailable as exc:
                reason = str(exc)
        self.fallback_reason = reason
        return PrewarmedKernel(assignment.limits, sandbox=isolation, start_timeout=assignment.timeouts.kernel_start)

    def _launch_spare(self, key: tuple[Any, ...], assignment: Assignment, isolation: Isolation) -> None:
        with self._lock:
            if key in self._spare:
                return
        spare = self._new(assignment, isolation)
        try:
            spare.launch()
        except (KernelError, ForkServerUnavailable):
            return
        with self._lock:
            self._spare[key] = spare

    def _preimport(self) -> None:
        """Import what the checks need in this process while the kernel boots (first call only)."""
        if self._preimport_started:
            return
        self._preimport_started = True

        def work() -> None:
            import gc
            import importlib

            for name in ("torch", "pytest", "grader.checks.plugin", "grader.bridge.client", "grader.checks",
                         "grader.feedback"):
                try:
                    importlib.import_module(name)
                except Exception:
                    pass
            gc.freeze()          # later collections skip torch's and pytest's many objects

        threading.Thread(target=work, name="grader-preimport", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            spares, self._spare = list(self._spare.values()), {}
        for kernel in spares:
            try:
                kernel.shutdown()
            except Exception:
                pass


class PrewarmedKernel(Kernel):
    """The fallback: a plain kernel whose start (and `import torch`) may run in a launcher thread.

    The launcher thread lives as long as the process: bubblewrap's --die-with-parent and the
    kernel's parent-death signal follow the thread that started them.
    """

    _launcher: Any = None

    _future: Any = None

    @classmethod
    def _pool(cls) -> Any:
        if cls._launcher is None:
            from concurrent.futures import ThreadPoolExecutor

            cls._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-kernel-launcher")
        return cls._launcher

    def _boot(self) -> None:
        Kernel.start(self)
        self.execute("import torch", timeout=self.start_timeout, store_history=False)

    def launch(self) -> None:
        self._future = self._pool().submit(self._boot)

    def start(self) -> None:
        future, self._future = self._future, None
        if future is not None:
            future.result()
        else:
            self._boot()


_DEFAULT: FastKernels | None = None


def default_kernels() -> FastKernels:
    """This process's FastKernels (one per process: its zygote, its spare kernel)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = FastKernels()
    return _DEFAULT


class _FastKernel:
    """The kernel factory grade() uses by default: this process's FastKernels."""

    def __call__(self, assignment: Assignment, isolation: Isolation) -> Kernel:
        return default_kernels()(assignment, isolation)

    def warm(self, assignment: Assignment, isolation: Isolation) -> None:
        default_kernels().warm(assignment, isolation)


fast_kernel = _FastKernel()


def share_for_workers(sandbox_mode: str) -> str:
    """Start the zygote now and let worker processes started after this use it; '' or why not."""
    from grader.sandbox.isolation import detect

    isolation = detect(sandbox_mode)
    reason = usable(isolation)
    if reason:
        return reason
    try:
        share(isolation)
    except ForkServerUnavailable as exc:
        return str(exc)
    return ""
