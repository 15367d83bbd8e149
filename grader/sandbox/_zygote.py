# The fork server ("zygote"), kernel side. This file is never imported by the grader: its text
# runs as `python -c` inside the same sandbox view a kernel gets (read-only system, the Python,
# no network, none of the grader's files), started once per grader. It imports torch, numpy,
# IPython and ipykernel once, creates no thread, no zmq context and runs no torch op, then
# waits on a unix socket. For each request it makes a fresh kernel that is never reused, in
# the process tree bubblewrap would build:
#
#   zygote: unshare(CLONE_NEWPID), so that its next child starts a new pid namespace, then
#     fork -> init (pid 1): leads a new session; new mount, net, ipc, uts (and cgroup)
#             namespaces; the sandbox's private filesystems made anew (/tmp, /var/tmp, /run,
#             /dev/shm, /dev/pts, its /proc, its home); of the spool, only its own workdir
#       fork -> kernel (pid 2, ppid 1): rlimits; drops to its own uid with no capabilities and
#               no new privileges; runs IPKernelApp on the workdir's connection file (ipc)
#     then setns() back to its own pid namespace for the next request.
#
# The init reaps orphans and exits as the kernel exits (code, or 128 + signal, as bubblewrap
# reports it), which ends every process of the namespace; killing the init kills them all.
# Without a sandbox ("limits" mode) the kernel is forked directly, leads its own session and
# its status is reported Popen-style, as for a plain kernel started with Popen.
#
# Protocol: one connection per kernel. The grader sends one JSON line; the zygote answers one
# JSON line with two file descriptors (SCM_RIGHTS): a pidfd of its child (the init, or the
# kernel without a sandbox) and the read end of the kernel's stderr. When the child is gone
# the zygote sends {"exit": status} and closes. If the grader closes the connection first,
# the zygote kills the child.
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
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 38, 47, 4
PR_SET_KEEPCAPS, PR_CAP_AMBIENT_RAISE = 8, 2

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


def sandbox_view():
    """Read once at start: the read-only corners bubblewrap gave the zygote's /proc (a kernel's own
    /proc gets the same), and whether /dev/pts is a devpts of its own."""
    view = {"proc_ro": [], "devpts": False}
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            parts = line.split()
            target = parts[4].replace("\\040", " ")
            if target.startswith("/proc/") and "ro" in parts[5].split(","):
                view["proc_ro"].append(target)
            if target == "/dev/pts" and "devpts" in parts[parts.index("-") + 1:]:
                view["devpts"] = True
    return view


def _unmount_all(target):
    """Take every mount stacked on `target` (and everything under them) out of this namespace."""
    for _ in range(16):
        if libc.umount2(target.encode(), MNT_DETACH) != 0:
            return


def isolate(plan, view, workdir):
    """New namespaces; the sandbox's private filesystems made anew (not stacked on the zygote's);
    of the spool, this kernel's workdir only."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(libc.unshare(flags), "unshare")
    if libc.unshare(CLONE_NEWCGROUP) != 0:
        pass                                    # --unshare-cgroup-try
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # this namespace's copy of the workdir, parked while everything around it is replaced
    stage = "/dev/.grader-workdir"
    os.mkdir(stage, 0o700)
    keep = os.open(workdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    mount(f"/proc/self/fd/{keep}", stage, None, MS_BIND | MS_REC)
    os.close(keep)
    # Python itself may live under a folder about to get a fresh tmpfs (a checkout in /tmp with
    # its .venv): park those read-only binds too, and put them back on the new tmpfs.
    fresh = [e["path"] for e in plan["tmpfs"] if os.path.isdir(e["path"])]
    parked = []
    for n, root in enumerate(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                                                                   sys.exec_prefix, sys.base_exec_prefix)})):
        if any(root == f or root.startswith(f.rstrip("/") + "/") for f in fresh) and os.path.isdir(root):
            park = f"/dev/.grader-root-{n}"
            os.mkdir(park, 0o700)
            fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            mount(f"/proc/self/fd/{fd}", park, None, MS_BIND | MS_REC)
            os.close(fd)
            mount(None, park, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            parked.append((park, root))
    _unmount_all("/proc")                       # the zygote's pid namespace's /proc ...
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)   # ... and the kernel's own
    for path in view["proc_ro"]:
        if os.path.exists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for entry in plan["tmpfs"]:                 # /tmp (the spool with every workdir in it), /var/tmp, /run, /dev/shm
        if os.path.isdir(entry["path"]):
            _unmount_all(entry["path"])
            _tmpfs(entry["path"], entry.get("mode", "0755"), entry.get("size"))
    for park, root in parked:
        _makedirs(root)
        mount(park, root, None, MS_MOVE)
        os.rmdir(park)
    spool = plan["spool"]
    if os.path.exists(spool):                   # not under a fresh tmpfs: out of sight all the same
        _unmount_all(spool)
        if os.path.exists(spool):
            _tmpfs(spool, "0755")
    _makedirs(os.path.dirname(workdir))
    os.mkdir(workdir)
    os.chmod(workdir, 0o755)
    mount(stage, workdir, None, MS_MOVE)
    os.rmdir(stage)
    home = plan.get("home")
    if home is not None:
        _tmpfs(os.path.join(workdir, "home"), home.get("mode", "0755"), home.get("size"))
    if view["devpts"]:
        _unmount_all("/dev/pts")
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    _loopback_up()


# -- the kernel itself ---------------------------------------------------------------------

class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges(uid, keep=()):
    """Become `uid`: no groups, no new privileges, and of all capabilities (bounding, permitted,
    effective, inheritable, ambient) only `keep` (as setpriv keeps +dac_read_search for a plain
    kernel that must read a Python installed where others cannot)."""
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except (OSError, ValueError):
        last = 40
    keep = [int(c) for c in keep]
    for cap in range(last + 1):
        if cap not in keep:
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if keep:
        prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    header, data = CapHeader(0x20080522, 0), (CapData * 2)()
    for cap in keep:
        bit = 1 << (cap % 32)
        data[cap // 32].effective |= bit
        data[cap // 32].permitted |= bit
        data[cap // 32].inheritable |= bit
    _check(libc.capset(ctypes.byref(header), data), "capset")
    for cap in keep:
        _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "ambient cap")
    if keep:
        prctl(PR_SET_KEEPCAPS, 0)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_DUMPABLE, 1)       # as after an exec: the kernel may read its own /proc/self


def run_kernel(req, stderr_w, sandboxed, preloaded_env):
    import time

    begun = time.time()
    if not sandboxed:
        os.setsid()       # as Popen(start_new_session=True); in the sandbox, as under bubblewrap: no group of its own
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(stderr_w, 2)
    os.close(null)
    os.close(stderr_w)
    cwd = req.get("cwd") or os.path.join(req["workdir"], "home")
    os.environ.clear()
    os.environ.update(req["env"])
    if sandboxed:
        os.environ["PWD"] = cwd               # bubblewrap's --chdir sets it
    os.environ.update(preloaded_env)          # what the preloaded modules set, as they would in a fresh kernel
    os.chdir(cwd)
    import resource

    for kind, value in req["rlimits"]:            # as sandbox.py's pre-exec hook sets them
        try:
            hard = resource.getrlimit(kind)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (OSError, ValueError):
            pass
    if req.get("uid") is not None:
        drop_privileges(int(req["uid"]), req.get("keep_caps") or ())
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

class Zygote:
    def __init__(self, spool, plan):
        self.spool = spool
        self.plan = plan
        self.sandboxed = bool(plan.get("sandboxed"))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conns = {}          # fileno -> socket
        self.kernels = {}        # child pid (the kernel's init under a sandbox, else the kernel) -> [conn, pidfd]
        self.by_conn = {}        # conn fileno -> kernel pid
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
        try:
            if self.sandboxed:
                _check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
                try:
                    pid = os.fork()          # pid 1 of a new pid namespace: the kernel's init
                    if pid == 0:
                        self.child(req, stderr_r, stderr_w)
                finally:
                    _check(libc.setns(self.own_pidns, CLONE_NEWPID), "setns(pid)")
            else:
                pid = os.fork()              # the kernel itself
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
            os._exit(1)                   # the zygote died before we could follow it
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)                  # the zygote's stdout is its line to the grader
        os.close(null)
        if not self.sandboxed:
            run_kernel(req, stderr_w, False, PRELOADED_ENV)
            os._exit(0)
        # pid 1 of the kernel's namespace, as bubblewrap's init: it leads the session the kernel
        # runs in (--new-session), builds the namespaces, starts the kernel, reaps orphans, and
        # exits as the kernel exits, which ends every process of the namespace
        os.setsid()
        isolate(self.plan, self.view, req["workdir"])
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
                os._exit(_status_code(status, like_bwrap=True))

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
                continue                  # an orphan that came to us
            conn, pidfd = entry
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


PRELOADED_ENV = {}


def main():
    spool, plan = sys.argv[1], json.loads(sys.argv[2])
    sys.argv = sys.argv[:1]
    before = dict(os.environ)
    try:
        preload()
    except Exception:
        traceback.print_exc()
        os._exit(3)
    PRELOADED_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    Zygote(spool, plan).serve()


if __name__ == "__main__":
    main()
