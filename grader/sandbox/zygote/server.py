# The zygote, kernel side (4 of 4): the server: one connection per kernel, the fork into a new
# pid namespace, the init that waits on the kernel, the exit status back to the grader.
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parts are joined into one program; this names what the earlier parts define
    from grader.sandbox.zygote.base import (
        CLONE_NEWPID,
        PR_SET_CHILD_SUBREAPER,
        PR_SET_PDEATHSIG,
        check,
        gc,
        json,
        libc,
        os,
        prctl,
        preload,
        preload_agent,
        rehearse_traceback,
        select,
        signal,
        socket,
        status_code,
        sys,
        traceback,
    )
    from grader.sandbox.zygote.kernel import run_kernel
    from grader.sandbox.zygote.mounts import isolate, sandbox_view


class Zygote:
    def __init__(self, spool, kind):
        self.spool = spool
        self.kind = kind
        self.sandboxed = kind == "bubblewrap"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conns = {}  # fileno -> socket
        self.kernels = {}  # child pid (the kernel's init under a sandbox, else the kernel) -> [conn, pidfd]
        self.by_conn = {}  # conn fileno -> kernel pid
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.pid = os.getpid()
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC) if self.sandboxed else -1
        self.view = sandbox_view() if self.sandboxed else {}

    def serve(self):
        path = os.path.join(self.spool, "zygote.sock")
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(64)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        gc.freeze()  # a kernel's collector never walks (so never copies) the zygote's objects
        gc.enable()  # and every kernel collects as in any Python
        os.write(1, b"ready\n")
        rehearsed = False
        while True:
            # the rehearsal waits for a moment with no request after the first kernel, never delaying one
            idle = 0 if self.kernels and not rehearsed else None
            try:
                ready, _, _ = select.select([self.listener, self.wake_r, *self.conns.values()], [], [], idle)
            except InterruptedError:
                ready = []
            if idle is not None and not ready:
                rehearse_traceback()
                gc.freeze()  # what it built, out of the kernels' collectors' sight as the rest
                rehearsed = True
            for obj in ready:
                if obj is self.listener:
                    conn, _ = self.listener.accept()
                    self.conns[conn.fileno()] = conn
                elif obj is self.wake_r:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                elif obj.fileno() in self.conns:
                    self.on_conn(obj)
            self.reap()

    def on_conn(self, conn):
        fd = conn.fileno()
        if fd in self.by_conn:  # a kernel's connection: the grader hung up, or says kill
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data or b"kill" in data:
                self.kill(self.by_conn[fd])
            if not data:  # nobody to tell: forget the connection (the kernel is reaped later)
                pid = self.by_conn.pop(fd)
                self.kernels[pid][0] = None
                self.conns.pop(fd, None)
                conn.close()
            return
        try:
            line = b""
            while not line.endswith(b"\n") and len(line) < 1 << 20:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                line += chunk
            req = json.loads(line)
            if req["spec"]["kind"] != self.kind:
                raise ValueError(f"this zygote forks {self.kind} kernels, not {req['spec']['kind']}")
            self.spawn(conn, req)
        except Exception as exc:
            try:
                conn.sendall((json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
            except OSError:
                pass
            self.conns.pop(fd, None)
            conn.close()

    def spawn(self, conn, req):
        if req.get("trace"):
            import time

            req["trace"] = f"{req['trace']} request {time.time()}"
        stderr_r, stderr_w = os.pipe2(os.O_CLOEXEC)
        try:
            if self.sandboxed:
                check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
                try:
                    pid = os.fork()  # pid 1 of a new pid namespace: the kernel's init
                    if pid == 0:
                        self.child(req, stderr_r, stderr_w)
                finally:
                    check(libc.setns(self.own_pidns, CLONE_NEWPID), "setns(pid)")
            else:
                pid = os.fork()  # the kernel itself
                if pid == 0:
                    self.child(req, stderr_r, stderr_w)
        except BaseException:
            os.close(stderr_r)
            os.close(stderr_w)
            raise
        os.close(stderr_w)
        pidfd = os.pidfd_open(pid)
        self.kernels[pid] = [conn, pidfd]
        self.by_conn[conn.fileno()] = pid
        reply = (json.dumps({"ok": True, "pid": pid, "namespace": self.sandboxed}) + "\n").encode()
        try:
            socket.send_fds(conn, [reply], [pidfd, stderr_r])
        finally:
            os.close(stderr_r)

    def child(self, req, stderr_r, stderr_w):
        """The forked child: becomes the kernel (or its init) or exits; never returns into the server."""
        try:
            self.in_child(req, stderr_r, stderr_w)
        except BaseException:
            try:
                os.write(stderr_w, traceback.format_exc().encode()[-4000:])
            except OSError:
                pass
        finally:
            os._exit(127)

    def in_child(self, req, stderr_r, stderr_w):
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.listener.close()
        for conn in self.conns.values():
            conn.close()
        for _, pidfd in self.kernels.values():
            os.close(pidfd)
        for fd in (self.wake_r, self.wake_w, self.own_pidns, stderr_r):
            if fd >= 0:
                os.close(fd)
        if os.getppid() != (0 if self.sandboxed else self.pid):
            os._exit(1)  # the zygote died before we could follow it
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # the zygote's stdout is its line to the grader
        os.close(null)
        if not self.sandboxed:
            run_kernel(req, stderr_w, False, PRELOADED_ENV)
            os._exit(0)
        # pid 1 of the kernel's namespace, as bubblewrap's init: it leads the session the kernel
        # runs in (--new-session), builds the namespaces, starts the kernel, reaps orphans, and
        # exits as the kernel exits, which ends every process of the namespace
        os.setsid()
        isolate(req["spec"], self.view, self.spool)
        kernel = os.fork()
        if kernel == 0:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != 1:
                os._exit(1)
            run_kernel(req, stderr_w, True, PRELOADED_ENV)
            os._exit(0)
        os.close(stderr_w)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                os._exit(1)
            except InterruptedError:
                continue
            if pid == kernel:
                os._exit(status_code(status, like_bwrap=True))

    def kill(self, pid):
        entry = self.kernels.get(pid)
        if entry is not None:
            try:
                signal.pidfd_send_signal(entry[1], signal.SIGKILL)
            except OSError:
                pass

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.kernels.pop(pid, None)
            if entry is None:
                continue  # an orphan that came to us
            conn, pidfd = entry
            os.close(pidfd)
            if conn is not None:
                self.by_conn.pop(conn.fileno(), None)
                self.conns.pop(conn.fileno(), None)
                try:
                    code = status_code(status, like_bwrap=self.sandboxed)
                    conn.sendall((json.dumps({"exit": code}) + "\n").encode())
                except OSError:
                    pass
                conn.close()


PRELOADED_ENV: dict[str, str] = {}


def main():
    spool, kind = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:  # a slow first boot, made on purpose (GRADER_FORKSERVER_SLOW_BOOT)
        import time

        time.sleep(float(sys.argv[3]))
    sys.argv = sys.argv[:1]
    before = dict(os.environ)
    gc.disable()  # the imports below build torch's heap: a collector walking it again and again is a third of them
    try:
        preload()
        preload_agent(spool)
        gc.freeze()  # out of the collector's sight: a kernel's collections neither walk nor copy them
        # (no gc.collect() first: 0.1 s of every zygote's boot, for a little garbage kept)
    except Exception:
        traceback.print_exc()
        os._exit(3)
    PRELOADED_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    Zygote(spool, kind).serve()


if __name__ == "__main__":
    main()
