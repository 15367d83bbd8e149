"""The worker side of a batch: what travels to a worker (Job, Task), what comes back (Outcome),
and grading one task in a worker process with a watchdog on its kernels.

Every submission is graded by `grade_one`, which is `grader.grade.grade`, the code path of
`grader check`: a verdict never depends on the command that produced it. A task returns plain
data; the batch's own process (grader.batch.run) writes the gradebook.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import signal
import tarfile
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal

from grader import course
from grader.config import Assignment
from grader.errors import GraderError
from grader.options import Options
from grader.results import Result

DEFAULT_GRADE_FN = "grader.batch.tasks:grade_one"
OutcomeKind = Literal["result", "crashed", "timeout", "grader_error"]
NotGradedStatus = Literal["", "unreadable", "crashed", "timeout"]


def grade_one(path: Path, assignment: Assignment, options: Options) -> Result:
    """Grade one submission (a notebook alone, or a student's folder or zip with its files): the
    single place where a batch calls the grading engine."""
    from grader.grade import grade
    from grader.submission.opened import open_submission

    with open_submission(path, assignment, beside=False) as opened:
        return grade(opened.submission.path, assignment, options, submission=opened.submission)


# -- what travels to a worker -----------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """What every task of one batch shares."""

    options: Options
    time_limit: float  # wall-clock seconds for one submission
    assignment_dir: str | None = None  # the assignment on a shared filesystem (local pool)
    bundle: bytes | None = None  # or the assignment itself, as a tar (cluster workers)
    bundle_key: str = ""
    grade_fn: str = DEFAULT_GRADE_FN  # "module:function" or "/path/file.py:function"
    env: tuple[tuple[str, str], ...] = ()  # environment a local worker sets before grading (the shared zygote)


@dataclass(frozen=True)
class Task:
    """One submission to grade, or one verdict to make without grading (`not_graded`)."""

    student: str
    sha256: str
    source: str
    path: str | None = None  # the notebook (or the student's folder or zip), on a shared filesystem
    data: bytes | None = None  # or its bytes (cluster workers)
    packed: bool = False  # data is the student's folder, zipped (grader.submission.pack)
    not_graded: str = ""  # the reason nothing is graded: every check fails with it
    status: NotGradedStatus = ""  # the verdict's status for a not-graded task
    ran_for: float = 0.0  # for a crash or a timeout: seconds the failed grading ran
    attempt: int = 0  # tries before this one (a kernel that did not start is tried again)


@dataclass
class Outcome:
    """What came back from a worker."""

    kind: OutcomeKind
    result: dict[str, Any] | None = None
    reason: str = ""
    seconds: float = 0.0
    transient: bool = False  # a grader error that may not happen again: the task is tried again


def assignment_bundle(assignment: Assignment, hidden: bool) -> tuple[bytes, str]:
    """The assignment (and its hidden checks) as a tar, and a key for its content."""
    import hashlib

    buf = io.BytesIO()

    def skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        name = Path(info.name).name
        return None if name in ("__pycache__", ".pytest_cache") or name.endswith(".pyc") else info

    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(assignment.root, arcname=f"{course.ASSIGNMENTS}/{assignment.root.name}", filter=skip)
        if hidden and assignment.solutions is not None:
            tar.add(assignment.solutions, arcname=f"{course.SOLUTIONS}/{assignment.solutions.name}", filter=skip)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:16]


def _job_assignment(job: Job) -> Assignment:
    if job.assignment_dir is not None:
        return course.load_assignment(Path(job.assignment_dir))
    assert job.bundle is not None
    base = Path(tempfile.gettempdir()) / f"grader-assignment-{job.bundle_key}"
    if not base.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="grader-assignment-"))
        with tarfile.open(fileobj=io.BytesIO(job.bundle), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        try:
            tmp.rename(base)
        except OSError:  # another task of this worker got there first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    roots = [p for p in course.assignments_dir(base).iterdir() if p.is_dir()]
    return course.load_assignment(roots[0])


def _grade_fn(spec: str) -> Callable[[Path, Assignment, Options], Result]:
    """The batch's grade function, `grade_one` by default: called with the submission's path (a
    notebook alone, or a student's folder or zip holding it and its files), the assignment, the options."""
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
    me, found = os.getpid(), list[int]()
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

    kill_all()  # kernels forked by the fork server are not our children
    for pid in kernel_children():
        try:
            os.killpg(pid, signal.SIGKILL)  # kernels lead their own session: their group is theirs
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


_GRADING = threading.Lock()  # a worker with several threads still grades one submission at a time


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
                with NotebookFile(task) as path, dog:
                    result = _grade_fn(job.grade_fn)(path, assignment, job.options)
            if dog.fired:
                return Outcome("timeout", reason=_timeout_reason(job.time_limit), seconds=time.monotonic() - started)
            result.submission = task.source
            return Outcome("result", result.to_dict(), seconds=time.monotonic() - started)
        except GraderError as exc:
            if dog.fired:
                return Outcome("timeout", reason=_timeout_reason(job.time_limit), seconds=time.monotonic() - started)
            return Outcome("grader_error", reason=str(exc), seconds=time.monotonic() - started, transient=exc.transient)
        except Exception as exc:  # a grader bug met this submission: it is recorded, the batch goes on
            tail = "".join(traceback.format_exception(exc)[-3:]).strip()
            return Outcome(
                "crashed",
                reason=f"the grader crashed on this submission: {type(exc).__name__}: {exc}\n{tail}",
                seconds=time.monotonic() - started,
            )


def _timeout_reason(limit: float) -> str:
    return (
        f"Grading this submission took longer than the batch's limit of {limit:g} s; it was stopped "
        "and not graded. Make sure no cell or function runs for long (an endless loop?)."
    )


class NotebookFile:
    """The task's notebook as a path: its own path, or its bytes in a temporary file."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.tmp: str | None = None

    def __enter__(self) -> Path:
        if self.task.path is not None:
            return Path(self.task.path)
        self.tmp = tempfile.mkdtemp(prefix="grader-sub-")
        name = "submission.zip" if self.task.packed else Path(self.task.source.rpartition(":")[2]).name
        path = Path(self.tmp) / (name or "submission.ipynb")
        path.write_bytes(self.task.data or b"")
        return path

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


def not_graded(task: Task, assignment: Assignment, options: Options) -> Result:
    """A verdict without grading: every check fails with the reason (as for an unreadable notebook)."""
    from grader.grade import UnreadableNotebook, header, judge
    from grader.sandbox.isolation import detect

    facts = header(
        task.source,
        assignment,
        options,
        sha256=task.sha256,
        isolation=detect(options.sandbox).label,
        readable=task.status != "unreadable",
        errors=[task.not_graded],
        device="none",
    )
    return judge(facts, assignment, UnreadableNotebook(task.not_graded, told_above=True), options, score=False)


def bare_verdict(task: Task, assignment: Assignment, reason: str) -> Result:
    """The last resort when even a not-graded verdict could not be made: no checks, the reason."""
    from grader.version import __version__

    return Result(
        submission=task.source,
        assignment=assignment.slug,
        sha256=task.sha256,
        grader_version=__version__,
        exercises=dict(assignment.exercises),
        errors=[reason],
        device="none",
    )


def with_data(task: Task) -> Task:
    """The task with its notebook's bytes instead of its path, for a worker on another machine."""
    if task.path is None:
        return task
    if Path(task.path).is_dir():  # a student's folder: its files travel with the notebook
        from grader.submission.pack import pack_folder

        return replace(task, path=None, data=pack_folder(Path(task.path)), packed=True)
    return replace(task, path=None, data=Path(task.path).read_bytes())
