"""Grade a whole class: find the submissions, skip what the gradebook already holds, grade the
rest in parallel (a local process pool or a Dask cluster), and write every verdict as it comes.

Every submission is graded by `grade_one`, which is `grader.grade.grade`, the code path of
`grader check`: a verdict never depends on the command that produced it. A task runs in a
worker (`grade_task`) and returns plain data; this process alone writes the gradebook, one
transaction per verdict, then the per-student files, grades.csv and report.html.
"""
from __future__ import annotations

import importlib
import importlib.util
import io
import os
import signal
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, TextIO

from grader.config import Assignment, load_assignment
from grader.batch.classfolder import Entry, opened
from grader.errors import GraderError, UsageError
from grader.grade import Options
from grader.results import Result

DEFAULT_GRADE_FN = "grader.batch.run:grade_one"
TIME_MARGIN = 120.0        # seconds a worker gets beyond the assignment's own time budgets
GIVE_UP_AFTER = 3          # grader faults in a row, with nothing graded yet, that stop the batch
HARD_KILL_AFTER = 30.0     # at most this many seconds past the limit before the pool stops a worker that ignores it


def grade_one(path: Path, assignment: Assignment, options: Options) -> Result:
    """Grade one notebook: the single place where a batch calls the grading engine."""
    from grader.grade import grade

    return grade(path, assignment, options)


# -- what travels to a worker -----------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """What every task of one batch shares."""

    options: Options
    time_limit: float                       # wall-clock seconds for one submission
    assignment_dir: str | None = None       # the assignment on a shared filesystem (local pool)
    bundle: bytes | None = None             # or the assignment itself, as a tar (cluster workers)
    bundle_key: str = ""
    grade_fn: str = DEFAULT_GRADE_FN        # "module:function" or "/path/file.py:function"
    env: tuple[tuple[str, str], ...] = ()   # environment a local worker sets before grading (the shared zygote)


@dataclass(frozen=True)
class Task:
    """One submission to grade, or one verdict to make without grading (`not_graded`)."""

    student: str
    sha256: str
    source: str
    path: str | None = None                 # the notebook, on a shared filesystem
    data: bytes | None = None               # or its bytes (cluster workers)
    not_graded: str = ""                    # the reason nothing is graded: every check fails with it
    status: str = ""                        # the verdict's status for a not-graded task
    ran_for: float = 0.0                    # for a crash or a timeout: seconds the failed grading ran


@dataclass
class Outcome:
    """What came back from a worker. kind: result | crashed | timeout | grader_error."""

    kind: str
    result: dict[str, Any] | None = None
    reason: str = ""
    seconds: float = 0.0


def assignment_bundle(assignment: Assignment, hidden: bool) -> tuple[bytes, str]:
    """The assignment (and its hidden checks) as a tar, and a key for its content."""
    import hashlib

    buf = io.BytesIO()

    def skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        name = Path(info.name).name
        return None if name in ("__pycache__", ".pytest_cache") or name.endswith(".pyc") else info

    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(assignment.root, arcname=f"assignments/{assignment.root.name}", filter=skip)
        if hidden and assignment.solutions is not None:
            tar.add(assignment.solutions, arcname=f"solutions/{assignment.solutions.name}", filter=skip)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:16]


def _job_assignment(job: Job) -> Assignment:
    if job.assignment_dir is not None:
        return load_assignment(Path(job.assignment_dir))
    assert job.bundle is not None
    base = Path(tempfile.gettempdir()) / f"grader-assignment-{job.bundle_key}"
    if not base.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="grader-assignment-"))
        with tarfile.open(fileobj=io.BytesIO(job.bundle), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        try:
            tmp.rename(base)
        except OSError:            # another task of this worker got there first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    roots = [p for p in (base / "assignments").iterdir() if p.is_dir()]
    return load_assignment(roots[0])


def _grade_fn(spec: str) -> Callable[[Path, Assignment, Options], Result]:
    where, _, name = spec.rpartition(":")
    if where.endswith(".py"):
        mod_spec = importlib.util.spec_from_file_location(Path(where).stem, where)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, name)


# -- the worker side --------------------------------------------------------------------
def kernel_children() -> list[int]:
    """Pids of the kernels this process started (Linux: read from /proc)."""
    me, found = os.getpid(), []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            if ppid != me:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if b"ipykernel_launcher" in fh.read():
                    found.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_kernels() -> None:
    from grader.sandbox.forkserver import kill_all

    kill_all()                                 # kernels forked by the fork server are not our children
    for pid in kernel_children():
        try:
            os.killpg(pid, signal.SIGKILL)     # kernels lead their own session: their group is theirs
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Watchdog:
    """Past `limit` seconds, keep killing this process's kernels so that grading ends quickly."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="grader-watchdog")

    def _run(self) -> None:
        if self._stop.wait(self.limit):
            return
        self.fired = True
        while not self._stop.is_set():
            kill_kernels()
            self._stop.wait(0.5)

    def __enter__(self) -> "Watchdog":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


_GRADING = threading.Lock()   # a worker with several threads still grades one submission at a time


def grade_task(task: Task, job: Job) -> Outcome:
    """Grade one task in this process and return plain data. Runs in a pool worker or a Dask task."""
    started = time.monotonic()
    dog = Watchdog(job.time_limit)
    with _GRADING:
        try:
            assignment = _job_assignment(job)
            if task.not_graded:
                result = not_graded(task, assignment, job.options)
            else:
                with _notebook_file(task) as path, dog:
                    result = _grade_fn(job.grade_fn)(path, assignment, job.options)
            if dog.fired:
                return Outcome("timeout", reason=_timeout_reason(job.time_limit), seconds=time.monotonic() - started)
            result.submission = task.source
            return Outcome("result", result.to_dict(), seconds=time.monotonic() - started)
        except GraderError as exc:
            if dog.fired:
                return Outcome("timeout", reason=_timeout_reason(job.time_limit), seconds=time.monotonic() - started)
            return Outcome("grader_error", reason=str(exc), seconds=time.monotonic() - started)
        except Exception as exc:  # a grader bug met this submission: it is recorded, the batch goes on
            tail = "".join(traceback.format_exception(exc)[-3:]).strip()
            return Outcome("crashed", reason=f"the grader crashed on this submission: {type(exc).__name__}: {exc}\n{tail}",
                           seconds=time.monotonic() - started)


def _timeout_reason(limit: float) -> str:
    return (f"Grading this submission took longer than the batch's limit of {limit:g} s; it was stopped "
            "and not graded. Make sure no cell or function runs for long (an endless loop?).")


class _notebook_file:
    """The task's notebook as a path: its own path, or its bytes in a temporary file."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.tmp: str | None = None

    def __enter__(self) -> Path:
        if self.task.path is not None:
            return Path(self.task.path)
        self.tmp = tempfile.mkdtemp(prefix="grader-sub-")
        path = Path(self.tmp) / (Path(self.task.source.rpartition(":")[2]).name or "submission.ipynb")
        path.write_bytes(self.task.data or b"")
        return path

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


def not_graded(task: Task, assignment: Assignment, options: Options) -> Result:
    """A verdict without grading: every check fails with the reason (as for an unreadable notebook)."""
    import grader
    from grader.grade import UnreadableNotebook, _run_checks, check_paths
    from grader.sandbox.isolation import detect

    result = Result(submission=task.source, assignment=assignment.slug, sha256=task.sha256,
                    grader_version=grader.__version__, isolation=detect(options.sandbox).label,
                    readable=task.status not in ("unreadable",), exercises=dict(assignment.exercises),
                    errors=[task.not_graded], device="none")
    paths, hidden_dir = check_paths(assignment, options.hidden)
    result.hidden_ran = hidden_dir is not None
    _run_checks(result, assignment, UnreadableNotebook(task.not_graded), paths, hidden_dir, options)
    result.score = 0.0
    result.max_score = round(sum(c.points for c in result.checks), 6)
    return result


def bare_verdict(task: Task, assignment: Assignment, reason: str) -> Result:
    """The last resort when even a not-graded verdict could not be made: no checks, the reason."""
    import grader

    return Result(submission=task.source, assignment=assignment.slug, sha256=task.sha256,
                  grader_version=grader.__version__, exercises=dict(assignment.exercises), errors=[reason],
                  device="none")


# -- the batch --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchConfig:
    submissions: Path
    assignment_dir: Path
    out: Path
    workers: int | None = None              # default: the number of cores, plus one
    db: str | None = None                   # default: sqlite in `out`
    scheduler: str | None = None            # a Dask scheduler address: grade on that cluster
    regrade: bool = False
    options: Options = Options()
    time_limit: float | None = None         # default: the assignment's budgets plus a margin
    grade_fn: str = DEFAULT_GRADE_FN


@dataclass
class BatchSummary:
    students: int = 0
    skipped: int = 0                        # already in the gradebook
    graded: int = 0                         # verdicts written by this run
    statuses: Counter = field(default_factory=Counter)
    grader_errors: dict[str, str] = field(default_factory=dict)   # student -> why no verdict
    warnings: list[str] = field(default_factory=list)
    out: Path = Path(".")
    gradebook: str = ""
    report: Path | None = None
    csv: Path | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 2 if self.grader_errors else 0


def time_limit_for(assignment: Assignment) -> float:
    t = assignment.timeouts
    return t.total + t.kernel_start + TIME_MARGIN


def run_batch(config: BatchConfig, *, log: TextIO | None = None) -> BatchSummary:
    """Grade a class into `config.out`. Raises GraderError only when the batch cannot run at all."""
    from grader.batch.gradebook import Gradebook, default_url
    from grader.sandbox.isolation import detect

    log = log or sys.stderr
    started = time.monotonic()
    assignment = load_assignment(config.assignment_dir)
    detect(config.options.sandbox)         # --require-sandbox fails here, before anything is graded
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    url = config.db or default_url(out)
    book = Gradebook(url)
    summary = BatchSummary(out=out, gradebook=url)
    limit = config.time_limit or time_limit_for(assignment)
    with opened(config.submissions, assignment.notebook, exclude=(out,)) as (entries, warnings):
        summary.students = len(entries)
        summary.warnings += warnings
        for w in warnings:
            print(f"warning: {w}", file=log)
        done = set() if config.regrade else book.graded(assignment.slug)
        todo = [e for e in entries if (e.student, e.sha256) not in done]
        summary.skipped = len(entries) - len(todo)
        recorder = Recorder(book, assignment, out, config.regrade, summary, Progress(len(todo), log))
        if todo:
            tasks = [_task_for(e) for e in todo]
            backend = _backend(config, assignment, limit)
            workers = backend.describe()
            print(f"{len(entries)} submissions of {assignment.slug}: {summary.skipped} already in the gradebook, "
                  f"grading {len(todo)} {workers}", file=log)
            backend.run(tasks, recorder.on_outcome)
        else:
            print(f"{len(entries)} submissions of {assignment.slug}: all already in the gradebook; nothing to grade"
                  + (" (use --regrade to grade them again)" if entries else ""), file=log)
        from grader.batch.outputs import write_class_outputs

        verdicts = book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in entries])
        summary.csv, summary.report = write_class_outputs(out, assignment, entries, verdicts)
    book.close()
    summary.seconds = time.monotonic() - started
    return summary


def _task_for(entry: Entry) -> Task:
    if entry.path is None:
        return Task(entry.student, entry.sha256, entry.source, not_graded=entry.problem, status="unreadable")
    return Task(entry.student, entry.sha256, entry.source, path=str(entry.path))


def with_data(task: Task) -> Task:
    """The task with its notebook's bytes instead of its path, for a worker on another machine."""
    if task.path is None:
        return task
    return replace(task, path=None, data=Path(task.path).read_bytes())


def _backend(config: BatchConfig, assignment: Assignment, limit: float) -> Any:
    from grader.batch import workers

    if config.scheduler:
        bundle, key = assignment_bundle(assignment, config.options.hidden)
        job = Job(options=config.options, time_limit=limit, bundle=bundle, bundle_key=key, grade_fn=config.grade_fn)
        return workers.DaskCluster(config.scheduler, job)
    # one more worker than cores: a worker waits on its kernel between requests, and its kernel on
    # it; with a worker per core the cores idle in those gaps (2 cores: 20 submissions in 16.6 s
    # with 2 workers, 13.4 s with 3, 15.2 s with 4; benchmarks/bench.py's class)
    n = config.workers or (os.cpu_count() or 1) + 1
    if n < 1:
        raise UsageError("--workers must be at least 1")
    env: tuple[tuple[str, str], ...] = ()
    if config.options.fork_server:
        from grader.sandbox.forkserver import SHARED_VAR, share_for_workers

        share_for_workers(config.options.sandbox)   # one zygote for every worker: its address travels in the job
        if SHARED_VAR in os.environ:
            env = ((SHARED_VAR, os.environ[SHARED_VAR]),)
    job = Job(options=config.options, time_limit=limit, assignment_dir=str(assignment.root), grade_fn=config.grade_fn,
              env=env)
    return workers.ProcessPool(n, job, hard_limit=limit + min(HARD_KILL_AFTER, max(3.0, limit / 4)))


class Recorder:
    """Turns outcomes into verdicts: one gradebook transaction each, then the student's files."""

    def __init__(self, book: Any, assignment: Assignment, out: Path, regrade: bool, summary: BatchSummary,
                 progress: "Progress") -> None:
        self.book, self.assignment, self.out, self.regrade = book, assignment, out, regrade
        self.summary, self.progress = summary, progress
        self.max_score = 0.0      # the assignment's, as the verdicts so far say (for a bare verdict)

    def on_outcome(self, task: Task, outcome: Outcome) -> list[Task]:
        """Record `outcome`; return follow-up tasks (the not-graded verdict of a crash or a timeout)."""
        if outcome.kind == "result":
            assert outcome.result is not None
            result = Result.from_dict(outcome.result)
            self.max_score = max(self.max_score, result.max_score)
            if task.not_graded and task.status in ("crashed", "timeout"):
                result.execution_time = task.ran_for
        elif task.not_graded:
            # even the not-graded verdict could not be made: record the bare reason
            result = bare_verdict(task, self.assignment, task.not_graded)
            result.max_score = self.max_score
        elif outcome.kind in ("crashed", "timeout"):
            # the verdict is made by a worker: every check, failed with the reason
            reason = _student_reason(outcome)
            return [replace(task, path=None, data=None, not_graded=reason, status=outcome.kind,
                            ran_for=outcome.seconds)]
        else:
            self.summary.grader_errors[task.student] = outcome.reason
            self.progress.done(task.student, "not graded", None, None, outcome.seconds,
                               note=outcome.reason.splitlines()[0] if outcome.reason else "")
            if len(self.summary.grader_errors) >= GIVE_UP_AFTER and not self.summary.graded:
                # nothing has been graded and the grader keeps failing: it cannot run here (a device
                # that is missing, a broken assignment); stop instead of failing every submission
                why = outcome.reason.splitlines()[0] if outcome.reason else "no reason given"
                raise GraderError(f"the grader failed on the first {GIVE_UP_AFTER} submissions and graded none: {why}",
                                  hint="fix the cause and run the same command again; verdicts already written are kept")
            return []
        self._write(task, task.status or result.status, result, task.not_graded)
        return []

    def _write(self, task: Task, status: str, result: Result, reason: str) -> None:
        from grader.batch.outputs import write_student_outputs

        written = self.book.record(assignment=self.assignment.slug, student=task.student, sha256=task.sha256,
                                   source=task.source, status=status, result=result, reason=reason,
                                   replace=self.regrade)
        if written:
            self.summary.graded += 1
            self.summary.statuses[status] += 1
            write_student_outputs(self.out, self.assignment, task.student, result)
        self.progress.done(task.student, status, result.score, result.max_score, result.execution_time,
                           note="" if written else "already in the gradebook")


def _student_reason(outcome: Outcome) -> str:
    if outcome.kind == "timeout":
        return outcome.reason
    first = outcome.reason.splitlines()[0] if outcome.reason else "the worker stopped"
    return (f"Grading stopped: {first}. This submission was not graded; "
            "tell your instructor, who can regrade it.")


class Progress:
    """A progress bar on a terminal; elsewhere one plain line per submission."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.count = total, stream, 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.width = len(str(max(total, 1)))
        self.started = time.monotonic()

    def done(self, student: str, status: str, score: float | None, max_score: float | None, seconds: float,
             note: str = "") -> None:
        self.count += 1
        pts = f"{score:g}/{max_score:g}" if score is not None and max_score is not None else "-"
        line = f"[{self.count:>{self.width}}/{self.total}] {student}  {pts}  {status}  {seconds:.1f}s" + (f"  ({note})" if note else "")
        if not self.tty:
            print(line, file=self.stream, flush=True)
            return
        filled = int(30 * self.count / max(self.total, 1))
        bar = "#" * filled + "." * (30 - filled)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[K[{bar}] {self.count}/{self.total}  {elapsed:.0f}s  {student}: {pts} {status}")
        if self.count >= self.total:
            self.stream.write("\n")
        self.stream.flush()
