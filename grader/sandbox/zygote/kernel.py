# The zygote, kernel side (3 of 4): the kernel itself, from its spec: stdio, environment, rlimits,
# the drop to its uid and capabilities, then IPKernelApp.
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parts are joined into one program; this names what the earlier parts define
    from grader.sandbox.zygote.base import (
        PR_CAP_AMBIENT,
        PR_CAP_AMBIENT_CLEAR_ALL,
        PR_CAP_AMBIENT_RAISE,
        PR_CAPBSET_DROP,
        PR_SET_DUMPABLE,
        PR_SET_KEEPCAPS,
        PR_SET_NO_NEW_PRIVS,
        PR_SET_PDEATHSIG,
        check,
        ctypes,
        libc,
        os,
        prctl,
        signal,
        sys,
    )

CAPABILITIES = {"dac_read_search": 2}  # the capabilities a spec may keep, by name (linux/capability.h)


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
    check(libc.capset(ctypes.byref(header), data), "capset")
    for cap in keep:
        check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "ambient cap")
    if keep:
        prctl(PR_SET_KEEPCAPS, 0)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_SET_DUMPABLE, 1)  # as after an exec: the kernel may read its own /proc/self


def setup_process(spec, stderr_w, sandboxed, preloaded_env):
    """stdio (stderr to the grader's pipe), the spec's environment and home, its rlimits."""
    if not sandboxed:
        os.setsid()  # as Popen(start_new_session=True); in the sandbox, as under bubblewrap: no group of its own
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(stderr_w, 2)
    os.close(null)
    os.close(stderr_w)
    cwd = spec["home"]
    os.environ.clear()
    os.environ.update(spec["env"])
    if sandboxed:
        os.environ["PWD"] = cwd  # bubblewrap's --chdir sets it
    os.environ.update(preloaded_env)  # what the preloaded modules set, as they would in a fresh kernel
    os.chdir(cwd)
    import resource

    for kind, value in spec["rlimits"]:  # as the plain kernel's pre-exec hook sets them
        try:
            hard = resource.getrlimit(kind)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (OSError, ValueError):
            pass


def run_kernel(req, stderr_w, sandboxed, preloaded_env):
    import time

    begun = time.time()
    spec = req["spec"]
    setup_process(spec, stderr_w, sandboxed, preloaded_env)
    if spec.get("uid") is not None:
        drop_privileges(int(spec["uid"]), [CAPABILITIES[c] for c in spec.get("capabilities") or ()])
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        import numpy.random

        numpy.random.seed()  # the zygote's state is every child's: reseed from the OS
    except Exception:
        pass
    argv = list(req["kernel_argv"])
    import ipykernel_launcher  # type: ignore[import-untyped]

    sys.argv = [ipykernel_launcher.__file__] + argv
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    if req.get("trace"):
        os.write(2, f"trace: {req['trace']} kernel {begun} initialized {time.time()}\n".encode())
    app.start()
