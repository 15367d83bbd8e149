# The fork server ("zygote"), kernel side: base.py, mounts.py, kernel.py and server.py of this
# folder, joined in that order (grader/sandbox/zygote_process.py: ZYGOTE_SOURCE). None of it is imported
# by the grader: the text runs as `python -c` inside the same sandbox view a kernel gets
# (read-only system, the Python, no network, none of the grader's files), started once per
# grader. It imports torch, numpy, IPython and ipykernel once, creates no thread, no zmq context
# and runs no torch op, then waits on a unix socket. For each request it makes a fresh kernel
# that is never reused, in the process tree bubblewrap would build:
#
#   zygote: unshare(CLONE_NEWPID), so that its next child starts a new pid namespace, then
#     fork -> init (pid 1): leads a new session; the spec's namespaces (mount, net, ipc, uts,
#             cgroup); the spec's private filesystems made anew (/tmp, /var/tmp, /run,
#             /dev/shm, /dev/pts, its /proc, its home); of the spool, only its own workdir
#       fork -> kernel (pid 2, ppid 1): the spec's rlimits; drops to the spec's uid with only the
#               spec's capabilities and no new privileges; runs IPKernelApp on the workdir's
#               connection file (ipc)
#     then setns() back to its own pid namespace for the next request.
#
# The init reaps orphans and exits as the kernel exits (code, or 128 + signal, as bubblewrap
# reports it), which ends every process of the namespace; killing the init kills them all.
# Without a sandbox ("limits" mode) the kernel is forked directly, leads its own session and
# its status is reported Popen-style, as for a plain kernel started with Popen.
#
# Protocol: one connection per kernel. The grader sends one JSON line, {"spec": the kernel's
# SandboxSpec as data (grader/sandbox/spec.py), "kernel_argv": IPKernelApp's arguments}; the
# zygote answers one JSON line with two file descriptors (SCM_RIGHTS): a pidfd of its child
# (the init, or the kernel without a sandbox) and the read end of the kernel's stderr. When
# the child is gone the zygote sends {"exit": status} and closes. If the grader closes the
# connection first, the zygote kills the child.
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
for libc_name in ("unshare", "setns", "mount", "umount2", "prctl", "capset", "sethostname"):
    getattr(libc, libc_name)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option, arg=0):
    check(libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def mount(source, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else s.encode()

    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def status_code(status, like_bwrap):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else signal.SIGKILL
    return 128 + sig if like_bwrap else -sig


# -- preloading (before any request; nothing here may start a thread) -----------------------


def preload():
    import numpy
    import torch
    import IPython.core.interactiveshell
    import ipykernel.kernelapp
    import ipykernel.ipkernel
    import ipykernel.zmqshell
    import ipykernel.iostream
    import ipykernel.control
    import ipykernel.heartbeat
    import ipykernel.shellchannel
    import ipykernel.comm
    import jupyter_client.session

    for extra in (
        "ipykernel.eventloops",
        "ipykernel.displayhook",
        "ipykernel.debugger",
        "IPython.core.completer",
        "IPython.core.history",
        "IPython.core.magics",
        "matplotlib_inline.backend_inline",
        "comm",
        "base64",
        "traceback",
        "json",
        "io",
        "pdb",
        "IPython.core.debugger",
        "IPython.core.oinspect",
        "IPython.core.completerlib",
        "IPython.extensions.storemagic",
        "IPython.utils.wildcard",
        "tornado.platform.asyncio",
        "faulthandler",
        "ipykernel.compiler",
        "ipykernel.jsonutil",
        "safetensors.torch",
        # imported by a kernel's first torch.save / torch.load (the agent's) and its first
        # cells: ~5 ms of every kernel's CPU, reading files through its sandbox's mounts
        "torch.utils.serialization",
        "torch._subclasses.schema_check_mode",
        "IPython.core.logger",
    ):
        try:
            __import__(extra)
        except Exception:
            pass
    try:
        import psutil  # type: ignore[import-untyped]  # jupyter_client imports it as each kernel reads its connection file
    except Exception:
        pass
    if len(os.listdir("/proc/self/task")) != 1:
        raise RuntimeError("a preloaded module started a thread: forking would be unsafe")


def rehearse_traceback():
    """Format one error as a kernel's shell formats a cell's (IPython's Context mode), so that the
    kernels forked after it inherit what the first costs: pygments' Python lexer compiled, stack_data
    and executing loaded, inspect's map of every preloaded module's file. A kernel's first traceback
    (a stub's NotImplementedError, a typo), formatted twice (shown, and kept in the shell's history),
    then costs ~40% of what it did. Nothing of it stays but those caches: its source leaves
    linecache, its frames go with the exception. A failure loses only that speed."""
    import linecache

    name, source = "<grader-rehearsal>", "def rehearsal():\n    raise NotImplementedError('rehearsal')\n\nrehearsal()\n"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    try:
        from IPython.core import ultratb

        try:
            exec(compile(source, name, "exec"), {})
        except NotImplementedError as exc:
            ultratb.AutoFormattedTB(mode="Context", theme_name="neutral").structured_traceback(
                type(exc), exc, exc.__traceback__
            )
    except Exception:
        pass
    finally:
        linecache.cache.pop(name, None)


def preload_agent(spool):
    """Compile the grader's agent (the spool's agent.py, written by the grader) once, for every kernel:
    `sys.modules["__grader_agent__"]` holds the code and the source's sha256 (grader/bridge/agent.py)."""
    import hashlib
    import types

    try:
        with open(os.path.join(spool, "agent.py"), "rb") as fh:
            source = fh.read()
    except OSError:
        return
    agent = types.ModuleType("__grader_agent__")
    agent.code = compile(source.decode("utf-8"), "<grader-agent>", "exec")
    agent.digest = hashlib.sha256(source).hexdigest()
    sys.modules["__grader_agent__"] = agent
