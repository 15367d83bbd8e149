"""Where a batch's tasks run: a pool of fresh local processes, or a Dask cluster.

Both run `grader.batch.run.grade_task` and hand each Outcome to the caller, in this process,
as it arrives; the caller may answer with follow-up tasks. A local worker is a fresh process
per submission, forked from a server that has already imported torch and the grader, so
nothing one submission leaves behind reaches the next and starting one costs milliseconds.
A worker that dies is reported as "crashed", one that outlives the hard limit as "timeout".
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from grader.batch.tasks import Job, Outcome, Task, grade_task, kill_kernels, with_data
from grader.errors import GraderError
from grader.preloads import WORKER_PRELOAD

OnOutcome = Callable[[Task, Outcome], list[Task]]
PRELOAD = [WORKER_PRELOAD]  # the worker server's imports (preloads.WORKER_MODULES), compiled validator,
# cached sandbox probes, prepared checks; then gc.freeze()
PREPARE_VAR = "GRADER_PREPARE_CHECKS"  # the checks the worker server collects once: {"assignment", "hidden", "select"}
TERM_GRACE = 5.0
NOT_GRADED_LIMIT = 120.0  # seconds a task that only makes a not-graded verdict (no student code) may take


def time_limit_of(task: Task, limit: float) -> float:
    """How long `task` may take on a worker whose limit for grading is `limit`: a not-graded
    verdict runs no student code, only the checks (maybe on a worker just restarted)."""
    return max(limit, NOT_GRADED_LIMIT) if task.not_graded else limit


SAFE_PATH_VAR = "PYTHONSAFEPATH"  # Python 3.11+: no current folder at the front of sys.path
SAFE_PATH_MARK = "GRADER_SAFE_PATH_FOR_WORKERS"  # set with it here; the worker server takes both off


def start_worker_server() -> None:
    """Start multiprocessing's forkserver without the current folder on its path. It runs
    `python -c`, which puts that folder first, and Python 3.11's forkserver ignores the sys.path it
    is handed: a folder named `grader` where the batch runs was imported in place of the grader.
    grader.batch._warm takes the variable off again, so that workers and kernels do not carry it."""
    from multiprocessing import forkserver

    if os.environ.get(SAFE_PATH_VAR):
        forkserver.ensure_running()
        return
    os.environ[SAFE_PATH_VAR] = os.environ[SAFE_PATH_MARK] = "1"
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(SAFE_PATH_VAR, None)
        os.environ.pop(SAFE_PATH_MARK, None)


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _die_with_parent() -> None:
    """Linux: this worker is killed when its parent goes (a SIGKILLed batch leaves no graders behind)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _on_term(signum: int, frame: Any) -> None:
    kill_kernels()
    os._exit(128 + signum)


def _worker_main(conn: Any, task: Task, job: Job) -> None:
    _die_with_parent()
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    os.environ.update(dict(job.env))  # set here: the process server may predate it
    outcome = grade_task(task, job)
    conn.send(outcome)
    conn.close()


def describe_exit(code: int | None) -> str:
    if code is None:
        return "it did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"


@dataclass
class _Running:
    proc: Any
    conn: Any
    task: Task
    started: float
    terminated: float = 0.0


class ProcessPool:
    """At most `n` fresh worker processes at a time, one per task."""

    def __init__(self, n: int, job: Job, *, hard_limit: float) -> None:
        self.n = max(1, int(n))
        self.job = job
        self.hard_limit = hard_limit

    def describe(self) -> str:
        return f"with {self.n} local worker{'s' if self.n != 1 else ''}"

    def boot(self) -> None:
        """Start the worker server now (it imports torch and the grader and collects the checks,
        on a core of its own), not at the first worker's start."""
        if _context().get_start_method() == "forkserver":
            start_worker_server()

    def run(self, tasks: Iterable[Task], on_outcome: OnOutcome) -> None:
        from multiprocessing.connection import wait

        ctx = _context()
        if ctx.get_start_method() == "forkserver":
            start_worker_server()
        pending = collections.deque(tasks)
        running: list[_Running] = []
        try:
            while pending or running:
                while pending and len(running) < self.n:
                    running.append(self._start(ctx, pending.popleft()))
                ready = set(wait([r.conn for r in running] + [r.proc.sentinel for r in running], timeout=0.5))
                for run in list(running):
                    outcome = self._poll(run, ready)
                    if outcome is None:
                        continue
                    running.remove(run)
                    self._reap(run)
                    pending.extendleft(reversed(on_outcome(run.task, outcome)))
        finally:
            for run in running:
                self._stop(run, force=True)

    def _start(self, ctx: Any, task: Task) -> _Running:
        r_conn, w_conn = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_main, args=(w_conn, task, self.job), name=f"grader-{task.student}")
        proc.start()
        w_conn.close()
        return _Running(proc, r_conn, task, time.monotonic())

    def _poll(self, run: _Running, ready: set[Any]) -> Outcome | None:
        now = time.monotonic()
        if run.conn in ready or run.proc.sentinel in ready:
            try:
                if run.conn.poll(0.2):
                    result = run.conn.recv()
                    if isinstance(result, Outcome):
                        return result
            except (EOFError, OSError):
                pass
            except Exception as exc:  # a reply that cannot be unpickled: the worker broke
                return Outcome(
                    "crashed",
                    reason=f"the worker's reply was unreadable ({type(exc).__name__}: {exc})",
                    seconds=now - run.started,
                )
            if run.proc.sentinel in ready or not run.proc.is_alive():
                run.proc.join(timeout=5)
                if run.terminated:
                    return self._timeout(run, now)
                return Outcome(
                    "crashed",
                    reason=f"the worker grading it died: {describe_exit(run.proc.exitcode)}",
                    seconds=now - run.started,
                )
        if now - run.started > time_limit_of(run.task, self.hard_limit):
            if not run.terminated:
                run.terminated = now
                self._signal(run, signal.SIGTERM)
            elif now - run.terminated > TERM_GRACE:
                self._signal(run, signal.SIGKILL)
                run.proc.join(timeout=5)
                return self._timeout(run, now)
        return None

    def _timeout(self, run: _Running, now: float) -> Outcome:
        return Outcome(
            "timeout",
            seconds=now - run.started,
            reason=(
                f"Grading this submission took longer than {self.hard_limit:g} s; the worker was stopped "
                "and it was not graded. Make sure no cell or function runs for long (an endless loop?)."
            ),
        )

    @staticmethod
    def _signal(run: _Running, sig: int) -> None:
        try:
            if run.proc.pid is not None:
                os.kill(run.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _stop(self, run: _Running, *, force: bool) -> None:
        if run.proc.is_alive():
            self._signal(run, signal.SIGTERM)
            run.proc.join(timeout=TERM_GRACE)
            if run.proc.is_alive() and force:
                self._signal(run, signal.SIGKILL)
                run.proc.join(timeout=5)
        self._reap(run)

    @staticmethod
    def _reap(run: _Running) -> None:
        try:
            run.conn.close()
        except OSError:
            pass
        if not run.proc.is_alive():
            run.proc.join(timeout=1)
            run.proc.close()


@dataclass
class _Remote:
    future: Any
    task: Task
    check_at: float  # when to look whether it is stuck
    running_since: float | None = None  # when it was first seen running on a worker


class DaskCluster:
    """Grade on a Dask distributed cluster: the tasks carry the notebooks and the assignment."""

    def __init__(self, address: str, job: Job, *, connect_timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ModuleNotFoundError:
            raise GraderError(
                "--scheduler needs dask.distributed, which is not installed",
                hint="pip install 'torch-notebook-grader[cluster]' (or dask[distributed])",
            ) from None
        self.job = job
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address, ...
            raise GraderError(
                f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}",
                hint="start it with `dask scheduler` and give its address (tcp://host:8786)",
            ) from None

    def _threads(self) -> tuple[int, int]:
        workers = (
            self.client.scheduler_info(n_workers=-1).get("workers", {})
            if _takes_n_workers(self.client)
            else self.client.scheduler_info().get("workers", {})
        )
        return len(workers), sum(int(w.get("nthreads", 1)) for w in workers.values())

    def describe(self) -> str:
        n, threads = self._threads()
        return f"on the Dask cluster at {self.client.scheduler.address} ({n} workers, {threads} threads)"

    def run(self, tasks: Iterable[Task], on_outcome: OnOutcome) -> None:
        try:
            n, threads = self._threads()
            # one task per worker thread: none waits on a worker behind another, so a task that kills or
            # hangs its worker takes no innocent one with it (and notebooks travel only when needed)
            limit = max(threads, 1)
            job = self.job  # not scattered: a replica lost with a crashed worker would cancel every task
            pending = collections.deque(tasks)
            # A task's own watchdog ends it at time_limit after it starts. One seen running on a worker for
            # longer than that plus a margin has a worker stuck outside the kernel: abandon it. A task still
            # waiting for a worker (one being replaced, say) is not late: its clock starts when it runs.
            margin = min(30.0, self.job.time_limit)
            inflight: dict[Any, _Remote] = {}  # by the future's key
            while pending or inflight:
                while pending and len(inflight) < limit:
                    task = pending.popleft()
                    key = f"grade-{task.student}-{uuid.uuid4().hex[:8]}"
                    future = self.client.submit(grade_task, with_data(task), job, key=key, pure=False)
                    check_at = time.monotonic() + time_limit_of(task, self.job.time_limit)
                    inflight[future.key] = _Remote(future, task, check_at)
                if not any(r.future.done() for r in inflight.values()):
                    time.sleep(0.2)
                now = time.monotonic()
                for key, remote in list(inflight.items()):
                    if remote.future.done():
                        outcome = self._outcome(remote.future)
                    elif now > remote.check_at and self._stuck(remote, now, margin):
                        outcome = self._abandon(remote.future, now - (remote.running_since or now))
                    else:
                        continue
                    del inflight[key]
                    pending.extendleft(reversed(on_outcome(remote.task, outcome)))
        finally:
            self.client.close()

    def _stuck(self, remote: "_Remote", now: float, margin: float) -> bool:
        try:
            where = self.client.run_on_scheduler(_processing_on, remote.future.key)
        except Exception:
            where = None
        if where is None:  # queued, or waiting for a worker: look again later
            remote.running_since, remote.check_at = None, now + 5.0
            return False
        if remote.running_since is None:
            remote.running_since = now
        remote.check_at = remote.running_since + time_limit_of(remote.task, self.job.time_limit) + margin
        return now >= remote.check_at

    def _outcome(self, future: Any) -> Outcome:
        try:
            outcome = future.result()
        except Exception as exc:  # KilledWorker: the task killed every worker it ran on
            outcome = Outcome("crashed", reason=f"the Dask worker grading it failed: {type(exc).__name__}: {exc}")
        future.release()
        return outcome

    def _abandon(self, future: Any, waited: float) -> Outcome:
        """A task past its deadline: cancel it and restart the worker stuck on it."""
        try:
            where = self.client.run_on_scheduler(_processing_on, future.key)
            future.cancel()
            if where:  # the nanny restarts it; the batch goes on meanwhile
                self.client.run_on_scheduler(_restart_worker, where, wait=False)
        except Exception:
            pass
        return Outcome(
            "timeout",
            seconds=waited,
            reason=(
                f"Grading this submission took longer than {waited:.0f} s on the cluster; its worker was "
                "restarted and it was not graded. Make sure no cell or function runs for long."
            ),
        )


def _processing_on(key: str, dask_scheduler: Any = None) -> str | None:
    task = dask_scheduler.tasks.get(key) if dask_scheduler is not None else None
    worker = getattr(task, "processing_on", None)
    return worker.address if worker is not None else None


async def _restart_worker(address: str, dask_scheduler: Any = None) -> None:
    await dask_scheduler.restart_workers(
        [address], wait_for_workers=False, on_error="return", stimulus_id=f"grader-restart-{uuid.uuid4().hex[:8]}"
    )


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False
