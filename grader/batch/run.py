"""Grade a whole class: find the submissions, skip what the gradebook already holds, grade the
rest in parallel (a local process pool or a Dask cluster), and write every verdict as it comes.

Each submission is graded in a worker by grader.batch.tasks (the code path of `grader check`);
this process alone writes the gradebook, one transaction per verdict (grader.batch.recorder), then
the per-student files, grades.csv and report.html.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from grader.batch.classfolder import Entry, opened
from grader.batch.gradebook import SQLITE_FILE
from grader.batch.progress import Progress
from grader.batch.recorder import BatchSummary, Recorder
from grader.batch.restamp import restamp
from grader.batch.stamps import TimeSources, kept_stamps, stamps_for, unknown_note
from grader.batch.tasks import DEFAULT_GRADE_FN, Job, Task, assignment_bundle
from grader.config import Assignment
from grader.course import load_assignment
from grader.errors import UsageError
from grader.options import Options
from grader.policy.submitted import Stamp
from grader.staleness import checks_digest, is_stale

TIME_MARGIN = 120.0  # seconds a worker gets beyond the assignment's own time budgets
HARD_KILL_AFTER = 30.0  # at most this many seconds past the limit before the pool stops a worker that ignores it


# -- the batch --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchConfig:
    submissions: Path
    assignment_dir: Path
    out: Path
    workers: int | None = None  # default: the number of cores, plus one
    db: str | None = None  # default: sqlite in `out`
    scheduler: str | None = None  # a Dask scheduler address: grade on that cluster
    regrade: bool = False
    keep_stale: bool = False  # keep verdicts made with other checks (marked stale) instead of regrading
    options: Options = Options()
    time_limit: float | None = None  # default: the assignment's budgets plus a margin
    grade_fn: str = DEFAULT_GRADE_FN
    lms: str = "auto"  # auto, canvas, moodle, none (grader.lms.download)
    times: TimeSources = TimeSources()  # --submitted-at, --extensions, --times-from-mtime
    students: frozenset[str] | None = (
        None  # grade only these students (the desk's regrade); the class outputs cover all
    )


def time_limit_for(assignment: Assignment) -> float:
    t = assignment.timeouts
    return t.total + t.kernel_start + TIME_MARGIN


def run_batch(config: BatchConfig, *, log: TextIO | None = None) -> BatchSummary:
    """Grade a class into `config.out`. Raises GraderError only when the batch cannot run at all."""
    from grader.batch.gradebook import Gradebook, default_url
    from grader.collector import paused
    from grader.sandbox.isolation import detect

    log = log or sys.stderr
    started = time.monotonic()
    assignment = load_assignment(config.assignment_dir)
    detect(config.options.sandbox)  # --require-sandbox fails here, before anything is graded
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    url = config.db or default_url(out)
    limit = config.time_limit or time_limit_for(assignment)
    digest = checks_digest(assignment, config.options.hidden, config.options.select)
    # a class none of which can be in the gradebook yet (a new one, or --regrade): the zygote and
    # the worker server start booting now, while the gradebook opens and the class is read
    # (~0.25 s of a batch's start); otherwise only once there is something to grade
    with paused():  # the start-up's imports (SQLAlchemy's, 0.25 s) without the collector
        backend = _backend(config, assignment, limit) if config.regrade or new_gradebook(config, out) else None
        book = Gradebook(url)
    summary = BatchSummary(out=out, gradebook=url)
    notes: list[str] = []
    with opened(config.submissions, assignment.notebook, exclude=(out,), lms=config.lms, notes=notes) as (
        entries,
        warnings,
    ):
        summary.students = len(entries)
        summary.warnings += warnings
        for line in [f"note: {n}" for n in notes] + [f"warning: {w}" for w in warnings]:
            print(line, file=log)
        stamps = stamps_for(entries, config.times)  # a file naming someone not in the class stops here
        if assignment.deadline is not None and unknown_note(stamps):
            print(f"warning: {unknown_note(stamps)}", file=log)
        todo, stale = _to_grade(config, book, assignment, entries, digest, summary)
        if todo:  # a regrade keeps the times and extensions its verdicts were given by earlier runs
            stamps = kept_stamps(
                stamps, book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in todo]), config.times
            )
        recorder = Recorder(
            book, assignment, out, config.regrade, summary, Progress(len(todo), log), digest=digest, replace_keys=stale
        )
        recorder.stamps = stamps
        if summary.stale:
            print(_stale_words(summary.stale, config.keep_stale), file=log)
        if todo:
            _grade(backend or _backend(config, assignment, limit), todo, recorder, log)
        else:
            print(
                f"{counted(len(entries), 'submission')} of {assignment.slug}: "
                "all already in the gradebook; nothing to grade"
                + (" (use --regrade to grade them again)" if entries else ""),
                file=log,
            )
        summary.csv, summary.report = write_class(book, assignment, out, entries, digest, stamps, config.times, log)
    book.close()
    summary.seconds = time.monotonic() - started
    return summary


def _grade(backend: Any, todo: list[Entry], recorder: Recorder, log: TextIO) -> None:
    """Say what is graded where, then grade `todo` on `backend`, each outcome into `recorder`."""
    summary = recorder.summary
    print(
        f"{counted(summary.students, 'submission')} of {recorder.assignment.slug}: {summary.skipped} already in the "
        f"gradebook, grading {len(todo)} {backend.describe()}",
        file=log,
    )
    try:
        backend.run([_task_for(e) for e in todo], recorder.on_outcome)
    finally:
        recorder.progress.close()


def write_class(
    book: Any,
    assignment: Assignment,
    out: Path,
    entries: list[Entry],
    digest: str,
    stamps: dict[str, Stamp],
    sources: TimeSources,
    log: TextIO,
) -> tuple[Path, Path]:
    """grades.csv, report.html and every student's files, from the gradebook as it is now."""
    from grader.batch.adjustments import current_adjustments
    from grader.batch.outputs import write_class_outputs
    from grader.policy.grading import with_manual_grades

    verdicts = book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in entries])
    stamps = kept_stamps(stamps, verdicts, sources)  # what earlier runs were given and this one was not
    restamp(book, assignment.slug, verdicts, stamps)  # a time or an extension learnt since it was graded
    adjustments = current_adjustments(book, assignment.slug, {e.student: e.sha256 for e in entries})
    verdicts = with_manual_grades(book, assignment, verdicts)  # given so far to questions a person grades
    return write_class_outputs(
        out,
        assignment,
        entries,
        verdicts,
        digest,
        stamps,
        adjustments,
        similarity=similarity_section(book, assignment, entries, log),
    )


def similarity_section(book: Any, assignment: Assignment, entries: list[Entry], log: TextIO) -> str:
    """The report's section of code shared between students (grader.similarity), all pairs compared."""
    from grader.similarity.classwide import section

    return section(book, assignment, [(e.student, e.sha256, _submitted(e)) for e in entries], log=log)


def _submitted(entry: Entry) -> Path | None:
    return None if entry.path is None else Path(entry.submission or entry.path)


def _to_grade(
    config: BatchConfig, book: Any, assignment: Assignment, entries: list[Entry], digest: str, summary: BatchSummary
) -> tuple[list[Entry], set[tuple[str, str]]]:
    """The entries to grade, and the (student, sha256) of stale verdicts they will replace: none
    in the gradebook yet, every one with --regrade, and those made with other checks than
    `digest` unless --keep-stale."""
    wanted = [e for e in entries if config.students is None or e.student in config.students]  # --student
    if config.regrade:
        summary.skipped = len(entries) - len(wanted)
        return wanted, set()
    stored = book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in wanted])
    stale = {key for key, verdict in stored.items() if is_stale(verdict.result, digest)}
    summary.stale = len(stale)
    redo = set() if config.keep_stale else stale
    todo = [e for e in wanted if (e.student, e.sha256) not in stored or (e.student, e.sha256) in redo]
    summary.skipped = len(entries) - len(todo)
    return todo, redo


def _stale_words(count: int, keep: bool) -> str:
    verdicts = (
        f"{count} verdict{'s' if count != 1 else ''} in the gradebook {'were' if count != 1 else 'was'} made "
        "with other checks (the checks or assignment.toml changed since)"
    )
    if keep:
        return f"{verdicts}: kept (--keep-stale), marked stale in grades.csv and the report"
    return f"{verdicts}: grading {'them' if count != 1 else 'it'} again (--keep-stale keeps them)"


def new_gradebook(config: BatchConfig, out: Path) -> bool:
    """Is the batch's gradebook still to be made (the default SQLite file in `out`, not there yet)?"""
    return config.db is None and not (out.resolve() / SQLITE_FILE).exists()


def _task_for(entry: Entry) -> Task:
    if entry.path is None:
        return Task(entry.student, entry.sha256, entry.source, not_graded=entry.problem, status="unreadable")
    # a student's folder or zip is graded as one (its files with it); a flat notebook alone
    return Task(entry.student, entry.sha256, entry.source, path=str(entry.submission or entry.path))


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

        share_for_workers(config.options.sandbox)  # one zygote for every worker: its address travels in the job
        if SHARED_VAR in os.environ:
            env = ((SHARED_VAR, os.environ[SHARED_VAR]),)
    # the worker server collects the checks once, for every worker (grader.checks.session)
    os.environ[workers.PREPARE_VAR] = json.dumps(
        {"assignment": str(assignment.root), "hidden": config.options.hidden, "select": config.options.select}
    )
    job = Job(
        options=config.options, time_limit=limit, assignment_dir=str(assignment.root), grade_fn=config.grade_fn, env=env
    )
    pool = workers.ProcessPool(n, job, hard_limit=limit + min(HARD_KILL_AFTER, max(3.0, limit / 4)))
    pool.boot()
    return pool


def counted(n: int, noun: str) -> str:
    """ "1 submission", "2 submissions"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
