# The fork server ("zygote"), kernel side. This file is never imported by the grader: its text
# runs as `python -c` inside the same sandbox view a kernel gets (read-only system, the Python,
# no network, none of the grader's files), started once per grader. It imports torch, numpy,
# IPython and ipykernel once, creates no thread, no zmq context and runs no torch op, then
# waits on a unix socket. For each request it makes a fresh kernel that is never reused:
#
#   zygote: unshare(CLONE_NEWPID), so that its next children start a new pid namespace;
#     posix_spawn -> init: pid 1 of that namespace, a tiny python that only reaps orphans
#     fork        -> kernel: pid 2; new mount, net, ipc, uts (and cgroup) namespaces; fresh
#                    tmpfs for /tmp, /var/tmp, /run and its home; of the spool, only its own
#                    workdir; its own /proc; own session; rlimits; drops to its own uid with no
#                    capabilities and no new privileges; runs IPKernelApp on the workdir's
#                    connection file (ipc transport)
#   then setns() back to its own pid namespace for the next request.
#
# One fork of the big process per kernel (a fork of a process with torch imported costs
# ~20 ms of CPU; the init is a fresh small interpreter). When the kernel exits, the zygote
# kills its init, which takes the whole pid namespace (anything the student started) with it.
# Exit statuses travel back like bubblewrap's (code, or 128 + signal) so the grader reads a
# forked kernel's death exactly as it reads a bubblewrapped one. Without a sandbox ("limits"
# mode) the kernel is forked directly and its status is reported Popen-style.
#
# Protocol: one connection per kernel. The grader sends one JSON line; the zygote answers one
# JSON line with file descriptors (SCM_RIGHTS): a pidfd of the kernel, a pidfd of its init
# (sandbox only) and the read end of the kernel's stderr. When the kernel is gone the zygote
# sends {"exit": status} and closes. If the grader closes the connection first, the zygote
# kills the kernel.
import ctypes
import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import traceback

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 38, 47, 4

libc = ctypes.CDLL(None, use_errno=True)
for _name in ("unshare", "setns", "mount", "umount2", "prctl", "capset"):
    getattr(libc, _name)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option, arg=0):
    _check(libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def mount(source, target, fstype, flags, data=None):
    enc = (lambda s: None if s is None else s.encode())
    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _status_code(status, like_bwrap):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else signal.SIGKILL
    return 128 + sig if like_bwrap else -sig


# -- preloading (before any request; nothing here may start a thread) -----------------------

def preload():
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import ipykernel.iostream  # noqa: F401
    import ipykernel.control  # noqa: F401
    import ipykernel.heartbeat  # noqa: F401
    import ipykernel.shellchannel  # noqa: F401
    import ipykernel.comm  # noqa: F401
    import jupyter_client.session  # noqa: F401
    for extra in ("ipykernel.eventloops", "ipykernel.displayhook", "ipykernel.debugger",
                  "IPython.core.completer", "IPython.core.history", "IPython.core.magics",
                  "matplotlib_inline.backend_inline", "comm", "base64", "traceback", "json", "io",
                  "pdb", "IPython.core.debugger", "IPython.core.oinspect", "IPython.core.completerlib",
                  "IPython.extensions.storemagic", "IPython.utils.wildcard", "tornado.platform.asyncio",
                  "faulthandler", "ipykernel.compiler", "ipykernel.jsonutil", "safetensors.torch"):
        try:
            __import__(extra)
        except Exception:
            pass
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("a preloaded module started a thread: forking would be unsafe")


# -- the kernel's namespaces -----------------------------------------------

def _tmpfs(target, mode="0755", size=None, uid=None):
    data = f"mode={mode}" + (f",size={size}" if size else "") + (f",uid={uid},gid={uid}" if uid is not None else "")
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)


def _makedirs(path):
    """Missing parents 0755, as the grader's bubblewrap makes them."""
    parts, cur = [p for p in path.split("/") if p], ""
    for part in parts:
        cur += "/" + part
        if not os.path.isdir(cur):
            os.mkdir(cur)
            os.chmod(cur, 0o755)


def _loopback_up():
    import fcntl

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]      # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))     # SIOCSIFFLAGS |= IFF_UP
    finally:
        s.close()


def isolate(plan, workdir):
    """New namespaces; fresh private filesystems; of the spool, this kernel's workdir only."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(libc.unshare(flags), "unshare")
    if libc.unshare(CLONE_NEWCGROUP) != 0:
        pass                                    # --unshare-cgroup-try
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = os.open(workdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)   # this namespace's copy of it
    for entry in plan["tmpfs"]:
        if os.path.isdir(entry["path"]):
            _tmpfs(entry["path"], entry.get("mode", "0755"), entry.get("size"))
    spool = plan["spool"]
    if os.path.exists(spool):                   # not under a fresh tmpfs: hide it all the same
        _tmpfs(spool, "0755")
    _makedirs(os.path.dirname(workdir))
    os.mkdir(workdir)
    os.chmod(workdir, 0o755)
    mount(f"/proc/self/fd/{keep}", workdir, None, MS_BIND | MS_REC)
    os.close(keep)
    home = plan.get("home")
    if home is not None:
        _tmpfs(os.path.join(workdir, "home"), home.get("mode", "0755"), home.get("size"))
    mount_proc()
    if os.path.isdir("/dev/pts"):
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    _loopback_up()


def mount_proc():
    """Its own pid namespace's /proc, with bubblewrap's read-only corners."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for sub in ("sys", "sysrq-trigger", "irq", "bus"):
        path = "/proc/" + sub
        if os.path.exists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


# -- the kernel itself ---------------------------------------------------------------------

class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges(uid):
    """Become `uid`: no groups, an empty bounding set, no capabilities of any kind, no new privileges."""
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except (OSError, ValueError):
        last = 40
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    header, data = CapHeader(0x20080522, 0), (CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_DUMPABLE, 1)       # as after an exec: the kernel may read its own /proc/self


def run_kernel(req, stderr_w):
    import time

    begun = time.time()
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(stderr_w, 2)
    os.close(null)
    os.close(stderr_w)
    os.environ.clear()
    os.environ.update(req["env"])
    os.chdir(req.get("cwd") or os.path.join(req["workdir"], "home"))
    import resource

    for which, soft, hard in req["rlimits"]:
        resource.setrlimit(which, (soft, hard))
    if req.get("uid") is not None:
        drop_privileges(int(req["uid"]))
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        import numpy.random

        numpy.random.seed()                 # the zygote's state is every child's: reseed from the OS
    except Exception:
        pass
    argv = list(req["kernel_argv"])
    import ipykernel_launcher

    sys.argv = [ipykernel_launcher.__file__] + argv
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    if req.get("trace"):
        os.write(2, f"trace: {req['trace']} kernel {begun} initialized {time.time()}\n".encode())
    app.start()


# -- the server ----------------------------------------------------------------------------------

INIT_SOURCE = """
import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
while True:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    signal.sigtimedwait({signal.SIGCHLD}, 3600)
"""


class Zygote:
    def __init__(self, spool, plan):
        self.spool = spool
        self.plan = plan
        self.sandboxed = bool(plan.get("sandboxed"))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conns = {}          # fileno -> socket
        self.kernels = {}        # kernel pid -> [conn, kernel pidfd, init pid, init pidfd]
        self.by_conn = {}        # conn fileno -> kernel pid
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC) if self.sandboxed else -1

    def serve(self):
        path = os.path.join(self.spool, "zygote.sock")
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(64)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        gc.collect()
        gc.freeze()                 # a kernel's collector never walks (so never copies) the zygote's objects
        os.write(1, b"ready\n")
        while True:
            try:
                ready, _, _ = select.select([self.listener, self.wake_r, *self.conns.values()], [], [])
            except InterruptedError:
                ready = []
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
        if fd in self.by_conn:           # a kernel's connection: the grader hung up, or says kill
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data or b"kill" in data:
                self.kill(self.by_conn[fd])
            if not data:                 # nobody to tell: forget the connection (the kernel is reaped later)
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
        init = None
        try:
            if self.sandboxed:
                _check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
                try:
                    init = os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", "-c", INIT_SOURCE], {},
                                          file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
                                                        (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)])
                    pid = os.fork()
                    if pid == 0:
                        self.child(req, stderr_r, stderr_w)
                finally:
                    _check(libc.setns(self.own_pidns, CLONE_NEWPID), "setns(pid)")
            else:
                pid = os.fork()
                if pid == 0:
                    self.child(req, stderr_r, stderr_w)
        except BaseException:
            if init is not None:
                os.kill(init, signal.SIGKILL)
            os.close(stderr_r)
            os.close(stderr_w)
            raise
        os.close(stderr_w)
        pidfd = os.pidfd_open(pid)
        fds = [pidfd]
        init_fd = -1
        if init is not None:
            init_fd = os.pidfd_open(init)
            fds.append(init_fd)
        self.kernels[pid] = [conn, pidfd, init, init_fd]
        self.by_conn[conn.fileno()] = pid
        reply = (json.dumps({"ok": True, "pid": pid, "init": init}) + "\n").encode()
        try:
            socket.send_fds(conn, [reply], fds + [stderr_r])
        finally:
            os.close(stderr_r)

    def child(self, req, stderr_r, stderr_w):
        """The forked child: becomes the kernel or exits; never returns into the server."""
        try:
            self.in_kernel(req, stderr_r, stderr_w)
        except BaseException:
            try:
                os.write(stderr_w, traceback.format_exc().encode()[-4000:])
            except OSError:
                pass
        finally:
            os._exit(127)

    def in_kernel(self, req, stderr_r, stderr_w):
        """The kernel, right after the fork: never returns to the server loop."""
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        parent_outside = 0 if self.sandboxed else os.getppid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.listener.close()
        for conn in self.conns.values():
            conn.close()
        for _, pidfd, _, init_fd in self.kernels.values():
            os.close(pidfd)
            if init_fd >= 0:
                os.close(init_fd)
        for fd in (self.wake_r, self.wake_w, self.own_pidns, stderr_r):
            if fd >= 0:
                os.close(fd)
        if self.sandboxed and os.getppid() != 0:
            os._exit(1)                   # the zygote died before we could follow it
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)                  # the zygote's stdout is its line to the grader
        os.close(null)
        if self.sandboxed:
            isolate(self.plan, req["workdir"])
        run_kernel(req, stderr_w)
        os._exit(0)

    def kill(self, pid):
        entry = self.kernels.get(pid)
        if entry is None:
            return
        for fd in (entry[3], entry[1]):
            if fd >= 0:
                try:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
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
                continue                  # an init, or an orphan that came to us
            conn, pidfd, init, init_fd = entry
            if init_fd >= 0:              # the kernel is gone: its namespace goes too
                try:
                    signal.pidfd_send_signal(init_fd, signal.SIGKILL)
                except OSError:
                    pass
                os.close(init_fd)
            os.close(pidfd)
            if conn is not None:
                self.by_conn.pop(conn.fileno(), None)
                self.conns.pop(conn.fileno(), None)
                try:
                    code = _status_code(status, like_bwrap=self.sandboxed)
                    conn.sendall((json.dumps({"exit": code}) + "\n").encode())
                except OSError:
                    pass
                conn.close()


def main():
    spool, plan = sys.argv[1], json.loads(sys.argv[2])
    sys.argv = sys.argv[:1]
    try:
        preload()
    except Exception:
        traceback.print_exc()
        os._exit(3)
    Zygote(spool, plan).serve()


if __name__ == "__main__":
    main()
