"""Fast kernels: forked from a zygote that has torch and ipykernel imported, one started ahead.

A plain kernel costs a new interpreter, ipykernel's imports and `import torch` (1.5-2 s of
CPU) before the student's first cell. Here the zygote (`zygote/`), one per grader (a
batch shares its zygote with its workers), pays that once, inside the same bubblewrap view
a kernel gets, and forks a fresh kernel per submission in the process tree bubblewrap would
build: an init (pid 1 of a new pid namespace, leading the session) with new mount, network,
ipc, uts and cgroup namespaces, the sandbox's private filesystems made anew (/tmp, /var/tmp,
/run, /dev/shm, /dev/pts, /proc, home) and, of the spool that holds every kernel's folder,
only its own; and under it the kernel (pid 2) with the assignment's rlimits, its own uid and
no capabilities. No kernel is ever reused: a restart is a new fork; a shutdown kills the init,
which ends every process of the namespace. tests/sandbox/test_fast_path.py holds the two paths to the
same verdicts and the same view from inside. The zygote's process is `zygote_process.py`, a
forked kernel `forkkernel.py`; this module is the factory, and re-exports what callers use.

`fast_kernel` (this process's `FastKernels`) is the kernel factory grade() uses by default
(Options.fork_server); once a process has asked for a second kernel it launches the next one
while the current one is graded. Where the zygote cannot run (not Linux; a sandbox without
root; GRADER_NO_FORK_SERVER set; it fails to start) the factory falls back to plain kernels,
started the same way ahead of need with torch already imported (PrewarmedKernel).
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from grader.config import Assignment
from grader.errors import KernelError
from grader.sandbox.files import KernelFile, assignment_kernel_files
from grader.sandbox.forkkernel import ForkKernel, kill_all
from grader.sandbox.isolation import Isolation
from grader.sandbox.kernel import Kernel
from grader.sandbox.zygote_process import SHARED_VAR, ForkServerUnavailable, server_for, share_for_workers, usable

__all__ = [
    "FastKernels",
    "ForkKernel",
    "ForkServerUnavailable",
    "PrewarmedKernel",
    "SHARED_VAR",
    "default_kernels",
    "fast_kernel",
    "kill_all",
    "share_for_workers",
    "usable",
]


class FastKernels:
    """Kernel factory: forked kernels, the next one launched while the current one is graded.

    Prewarming starts once a second kernel is asked for in this process (a batch): a single
    `grader check` never pays for a kernel it does not use.
    """

    def __init__(self, prewarm: int | None = None) -> None:
        self.prewarm = prewarm  # None: from the second request on
        self.requests = 0
        self._spare: dict[tuple[Any, ...], Kernel] = {}
        self._lock = threading.Lock()
        self.fallback_reason = ""
        self._preimport_started = False
        atexit.register(self.close)

    def warm(self, assignment: Assignment, isolation: Isolation) -> None:
        """Start what the first kernel needs (the zygote, this process's imports) and return at once."""
        if not (self.fallback_reason or usable(isolation)):
            try:
                server_for(isolation)  # first: the imports' thread would hold the GIL while it starts
            except ForkServerUnavailable as exc:
                self.fallback_reason = str(exc)
        self._preimport()

    def __call__(self, assignment: Assignment, isolation: Isolation, files: tuple[KernelFile, ...] = ()) -> Kernel:
        """A started kernel; `files`: the submission's own, beside the assignment's public files.
        The spare kernel has the assignment's files only: a submission with files of its own gets a new fork."""
        self.requests += 1
        self._preimport()
        key = self._key(assignment, isolation)
        with self._lock:
            spare = self._spare.pop(key, None) if not files else None
        if isinstance(spare, ForkKernel) and not spare.current:
            spare.shutdown()  # forked for another environment than this request's
            spare = None
        kernel = spare or self._new(assignment, isolation, files)
        try:
            kernel.start()
        except ForkServerUnavailable as exc:
            # the zygote died at boot or never came up: plain kernels from now on, as when it cannot run
            self.fallback_reason = str(exc)
            kernel = self._new(assignment, isolation)
            kernel.start()
        except KernelError:
            if spare is None:
                raise
            kernel = self._new(assignment, isolation)  # a spare that died waiting: one fresh try
            kernel.start()
        if self.prewarm or (self.prewarm is None and self.requests >= 2):
            self._launch_spare(key, assignment, isolation)
        return kernel

    @staticmethod
    def _key(assignment: Assignment, isolation: Isolation) -> tuple[Any, ...]:
        return (assignment.limits, isolation, assignment.timeouts.kernel_start, assignment_kernel_files(assignment))

    def _new(
        self, assignment: Assignment, isolation: Isolation, files: tuple[KernelFile, ...] = ()
    ) -> ForkKernel | PrewarmedKernel:
        reason = self.fallback_reason or usable(isolation)
        every = assignment_kernel_files(assignment) + tuple(files)
        if not reason:
            try:
                server = server_for(isolation)
                return ForkKernel(
                    server,
                    assignment.limits,
                    sandbox=isolation,
                    start_timeout=assignment.timeouts.kernel_start,
                    files=every,
                )
            except ForkServerUnavailable as exc:
                reason = str(exc)
        self.fallback_reason = reason
        return PrewarmedKernel(
            assignment.limits, sandbox=isolation, start_timeout=assignment.timeouts.kernel_start, files=every
        )

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

    def prefork(self, assignment: Assignment, isolation: Isolation) -> bool:
        """Fork a spare kernel for the next request, without connecting to it (no thread, no zmq):
        a process that forks its graders (the warm server) hands it over to the next one
        (`hand_over`). False where kernels are not forked here."""
        key = self._key(assignment, isolation)
        with self._lock:
            if key in self._spare:
                return True
        spare = self._new(assignment, isolation)
        if not isinstance(spare, ForkKernel):
            return False
        try:
            spare.fork()
        except (KernelError, ForkServerUnavailable):
            return False
        with self._lock:
            self._spare[key] = spare
        return True

    @property
    def spares(self) -> list[Kernel]:
        """The spare kernels held now (launched or only forked), for none of the requests so far."""
        with self._lock:
            return list(self._spare.values())

    def hand_over(self) -> None:
        """In the parent, right after forking a child: the spare kernels are the child's now
        (it connects to one it takes, and an unused one ends with it)."""
        with self._lock:
            spares, self._spare = list(self._spare.values()), {}
        for kernel in spares:
            if isinstance(kernel, ForkKernel) and not kernel.launched:
                kernel.disown()
            else:
                kernel.shutdown()

    def _preimport(self) -> None:
        """Import what the checks need in this process while the kernel boots (first call only)."""
        if self._preimport_started:
            return
        self._preimport_started = True

        def work() -> None:
            import importlib

            from grader.collector import paused
            from grader.preloads import CHECK_MODULES

            with paused():  # then frozen: later collections skip torch's and pytest's many objects
                for name in CHECK_MODULES:
                    try:
                        importlib.import_module(name)
                    except Exception:
                        pass

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

    def __call__(self, assignment: Assignment, isolation: Isolation, files: tuple[KernelFile, ...] = ()) -> Kernel:
        return default_kernels()(assignment, isolation, files)

    def warm(self, assignment: Assignment, isolation: Isolation) -> None:
        default_kernels().warm(assignment, isolation)


fast_kernel = _FastKernel()
