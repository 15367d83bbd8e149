"""The kernel's resource limits (memory, processes, file size, CPU, core dumps) from the assignment's Limits.

Both ways of starting a kernel set exactly these: the plain kernel's pre-exec hook
(`grader.sandbox.launch`) and the zygote's forked kernels (they arrive in the SandboxSpec).
"""

from __future__ import annotations

import glob
import os
import resource
import sys

from grader.config import Limits
from grader.sandbox.reaper import tasks_of_uid

__all__ = ["apply", "gpu_present", "kernel_nproc", "kernel_rlimits", "memory_bytes"]


def gpu_present() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def memory_bytes(limits: Limits) -> int:
    """The memory limit, never above three quarters of the machine: the limit, not the OOM killer, stops a hog."""
    want = limits.memory_mb * 1024 * 1024
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return want
    return min(want, int(physical * 0.75)) if physical > 0 else want


def _memory_rlimit() -> int:
    """RLIMIT_AS everywhere, except on Linux with a GPU: CUDA reserves far more address space
    than it uses, so there the limit is RLIMIT_DATA (the private writable memory, Linux >= 4.7)."""
    if sys.platform.startswith("linux") and gpu_present() and hasattr(resource, "RLIMIT_DATA"):
        return resource.RLIMIT_DATA
    return resource.RLIMIT_AS


def kernel_rlimits(limits: Limits, nproc: int | None) -> list[tuple[int, int]]:
    """The kernel's rlimits as (resource, value), soft = hard = value, each at most the current hard
    limit when set."""
    mb = 1024 * 1024
    wanted = [
        (_memory_rlimit(), memory_bytes(limits)),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc is not None:
        # counted per uid: binds once the kernel runs as its own uid (setpriv, or in the pre-exec hook)
        wanted.append((resource.RLIMIT_NPROC, nproc))
    return wanted


def kernel_nproc(limits: Limits, uid: int | None) -> int | None:
    """RLIMIT_NPROC for a kernel that runs as `uid` (None: as this user)."""
    return limits.processes if uid is not None else _own_nproc(limits.processes)


def _own_nproc(processes: int) -> int | None:
    """Without a uid of its own the kernel shares the user's process count: allow what runs now, plus the limit."""
    if os.geteuid() == 0 or not os.path.isdir("/proc"):
        return None  # root is not bound by RLIMIT_NPROC; elsewhere the count is not known
    return tasks_of_uid(os.getuid()) + processes


def apply(wanted: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> None:
    """Set each limit (soft = hard), never above the hard limit already in force."""
    for kind, value in wanted:
        try:
            hard = resource.getrlimit(kind)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (OSError, ValueError):
            pass  # a platform without this limit (macOS and RLIMIT_AS): the others still hold
