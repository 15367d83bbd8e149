# The zygote, kernel side (2 of 4): a kernel's namespaces and private filesystems, from its spec.
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parts are joined into one program; this names what the earlier parts define
    from grader.sandbox.zygote.base import (
        CLONE_NEWCGROUP,
        CLONE_NEWIPC,
        CLONE_NEWNET,
        CLONE_NEWNS,
        CLONE_NEWUTS,
        MNT_DETACH,
        MS_BIND,
        MS_MOVE,
        MS_NODEV,
        MS_NOEXEC,
        MS_NOSUID,
        MS_PRIVATE,
        MS_RDONLY,
        MS_REC,
        MS_REMOUNT,
        check,
        libc,
        mount,
        os,
        socket,
        struct,
        sys,
    )


def tmpfs(target, mode="0755", size=None, uid=None):
    data = f"mode={mode}" + (f",size={size}" if size else "") + (f",uid={uid},gid={uid}" if uid is not None else "")
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)


def makedirs(path):
    """Missing parents 0755, as the grader's bubblewrap makes them."""
    parts, cur = [p for p in path.split("/") if p], ""
    for part in parts:
        cur += "/" + part
        if not os.path.isdir(cur):
            os.mkdir(cur)
            os.chmod(cur, 0o755)


def loopback_up():
    import fcntl

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))  # SIOCSIFFLAGS |= IFF_UP
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
            if target == "/dev/pts" and "devpts" in parts[parts.index("-") + 1 :]:
                view["devpts"] = True
    return view


def unmount_all(target):
    """Take every mount stacked on `target` (and everything under them) out of this namespace."""
    for _ in range(16):
        if libc.umount2(target.encode(), MNT_DETACH) != 0:
            return


NAMESPACE_FLAGS = {"net": CLONE_NEWNET, "ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS}


def unshare_namespaces(spec):
    """A mount namespace, and the spec's others (the pid namespace is the zygote's unshare before the fork)."""
    flags = CLONE_NEWNS
    for name in spec["namespaces"]:
        flags |= NAMESPACE_FLAGS.get(name, 0)
    check(libc.unshare(flags), "unshare")
    if "cgroup" in spec["namespaces"] and libc.unshare(CLONE_NEWCGROUP) != 0:
        pass  # as bubblewrap's --unshare-cgroup-try
    if "uts" in spec["namespaces"] and spec.get("hostname"):
        name = spec["hostname"].encode()
        check(libc.sethostname(name, len(name)), "sethostname")


def bind_aside(path, park, read_only=False):
    """Bind `path` at `park` (made 0700), to be moved back once everything around it is replaced."""
    os.mkdir(park, 0o700)
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    mount(f"/proc/self/fd/{fd}", park, None, MS_BIND | MS_REC)
    os.close(fd)
    if read_only:
        mount(None, park, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def park_python(fresh, stage, binds=()):
    """Python itself, or a folder the spec binds (an install folder on PYTHONPATH, as `make gpu-check`
    makes in /tmp), may live under a folder about to get a fresh tmpfs (a checkout in /tmp with its
    .venv): park those read-only binds, to put them back on the new tmpfs."""
    parked = []
    roots = sorted(
        {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
        | {bind["path"] for bind in binds}
    )

    def under(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip("/") + "/")

    for n, root in enumerate(roots):
        if any(under(root, earlier) for _, earlier in parked):
            continue  # inside one parked already: it moves with it
        if any(under(root, f) for f in fresh) and os.path.isdir(root):
            park = f"{stage}-root-{n}"
            bind_aside(root, park, read_only=True)
            parked.append((park, root))
    return parked


def fresh_proc(view):
    unmount_all("/proc")  # the zygote's pid namespace's /proc ...
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # ... and the kernel's own
    for path in view["proc_ro"]:
        if os.path.exists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def fresh_tmpfs(entries):
    """/tmp (the spool with every workdir in it), /var/tmp, /dev/shm, /run: unmounted, then made anew."""
    for entry in entries:
        if os.path.isdir(entry["path"]):
            unmount_all(entry["path"])
            tmpfs(entry["path"], entry.get("mode") or "0755", entry.get("size"))


def bind_files(spec):
    """The kernel's files (grader.sandbox.files): each top-level entry staged in <workdir>/files bound
    read-only into its home, as bubblewrap's --ro-bind does; then the staging folder hidden."""
    if not spec.get("files"):
        return
    staged = os.path.join(spec["workdir"], "files")
    names = []
    for entry in spec["files"]:
        top = entry["name"].split("/")[0]
        if top not in names:
            names.append(top)
    for name in names:
        source, target = os.path.join(staged, name), os.path.join(spec["home"], name)
        if os.path.isdir(source):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
        mount(source, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    tmpfs(staged, "0755")


def isolate(spec, view, spool):
    """The spec's namespaces; its private filesystems made anew (not stacked on the zygote's);
    of the spool, this kernel's workdir only."""
    workdir = spec["workdir"]
    unshare_namespaces(spec)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # where this namespace parks the workdir meanwhile: a name of this kernel's own. /dev is the
    # zygote's one tmpfs, seen by every kernel's init at once: with one fixed name, two kernels
    # forked together raced for it and the second died at start (FileExistsError, exit 127)
    stage = f"/dev/.grader-{os.path.basename(workdir)}"
    bind_aside(workdir, stage)
    parked = park_python([e["path"] for e in spec["tmpfs"] if os.path.isdir(e["path"])], stage, spec["binds"])
    fresh_proc(view)
    fresh_tmpfs(spec["tmpfs"])
    for park, root in parked:
        makedirs(root)
        mount(park, root, None, MS_MOVE)
        os.rmdir(park)
    if os.path.exists(spool):  # not under a fresh tmpfs: out of sight all the same
        unmount_all(spool)
        if os.path.exists(spool):
            tmpfs(spool, "0755")
    makedirs(os.path.dirname(workdir))
    os.mkdir(workdir)
    os.chmod(workdir, 0o755)
    mount(stage, workdir, None, MS_MOVE)
    os.rmdir(stage)
    home = spec.get("home_tmpfs")
    if home is not None:
        tmpfs(home["path"], home.get("mode") or "0755", home.get("size"))
    bind_files(spec)
    if view["devpts"]:
        unmount_all("/dev/pts")
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    loopback_up()
