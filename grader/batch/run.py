"""Grade a whole class: find the submissions, skip what the gradebook already holds, grade the
rest in parallel (a local process pool or a Dask cluster), and write every verdict as it comes.

Each submission is graded in a worker by grader.batch.tasks (the code path of `grader check`);
this process alone writes the gradebook, one transaction per verdict, then the per-student
files, grades.csv and report.html.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from grader.batch.classfolder import Entry, opened
from grader.batch.gradebook import SQLITE_FILE, VerdictStatus
from grader.batch.progress import Progress
from grader.policy.manual import final_of
from grader.batch.restamp import restamp
from grader.batch.stamps import TimeSources, stamps_for, unknown_note
from grader.batch.tasks import DEFAULT_GRADE_FN, Job, Outcome, Task, assignment_bundle, bare_verdict
from grader.config import Assignment
from grader.course import load_assignment
from grader.errors import GraderError, UsageError
from grader.options import Options
from grader.policy.submitted import Stamp, stamped
from grader.results import Result
from grader.staleness import checks_digest, is_stale

TIME_MARGIN = 120.0        # seconds a worker gets beyond the assignment's own time budgets
GIVE_UP_AFTER = 3          # submissions stopped by the same grader fault, with nothing graded yet: the batch stops
START_TRIES = 3            # tries of a submission whose kernel did not start before that is its grader error
HARD_KILL_AFTER = 30.0     # at most this many seconds past the limit before the pool stops a worker that ignores it


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
    keep_stale: bool = False                # keep verdicts made with other checks (marked stale) instead of regrading
    options: Options = Options()
    time_limit: float | None = None         # default: the assignment's budgets plus a margin
    grade_fn: str = DEFAULT_GRADE_FN
    lms: str = "auto"                       # auto, canvas, moodle, none (grader.lms.download)
    times: TimeSources = TimeSources()      # --submitted-at, --extensions, --times-from-mtime
    students: frozenset[str] | None = None  # grade only these students (the desk's regrade); the class outputs cover all


@dataclass
class BatchSummary:
    students: int = 0
    skipped: int = 0                        # already in the gradebook
    stale: int = 0                          # of those, verdicts made with other checks (regraded, or kept with --keep-stale)
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
    from grader.collector import paused
    from grader.sandbox.isolation import detect

    log = log or sys.stderr
    started = time.monotonic()
    assignment = load_assignment(config.assignment_dir)
    detect(config.options.sandbox)         # --require-sandbox fails here, before anything is graded
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    url = config.db or default_url(out)
    limit = config.time_limit or time_limit_for(assignment)
    digest = checks_digest(assignment, config.options.hidden, config.options.select)
    # a class none of which can be in the gradebook yet (a new one, or --regrade): the zygote and
    # the worker server start booting now, while the gradebook opens and the class is read
    # (~0.25 s of a batch's start); otherwise only once there is something to grade
    with paused():      # the start-up's imports (SQLAlchemy's, 0.25 s) without the collector
        backend = _backend(config, assignment, limit) if config.regrade or new_gradebook(config, out) else None
        book = Gradebook(url)
    summary = BatchSummary(out=out, gradebook=url)
    notes: list[str] = []
    with opened(config.submissions, assignment.notebook, exclude=(out,), lms=config.lms, notes=notes) as (entries, warnings):
        summary.students = len(entries)
        summary.warnings += warnings
        for line in [f"note: {n}" for n in notes] + [f"warning: {w}" for w in warnings]:
            print(line, file=log)
        stamps = stamps_for(entries, config.times)    # a file naming someone not in the class stops here
        if assignment.deadline is not None and unknown_note(stamps):
            print(f"warning: {unknown_note(stamps)}", file=log)
        todo, stale = _to_grade(config, book, assignment, entries, digest, summary)
        recorder = Recorder(book, assignment, out, config.regrade, summary, Progress(len(todo), log),
                            digest=digest, replace_keys=stale)
        recorder.stamps = stamps
        if summary.stale:
            print(_stale_words(summary.stale, config.keep_stale), file=log)
        if todo:
            tasks = [_task_for(e) for e in todo]
            backend = backend or _backend(config, assignment, limit)
            workers = backend.describe()
            print(f"{counted(len(entries), 'submission')} of {assignment.slug}: {summary.skipped} already in the gradebook, "
                  f"grading {len(todo)} {workers}", file=log)
            try:
                backend.run(tasks, recorder.on_outcome)
            finally:
                recorder.progress.close()
        else:
            print(f"{counted(len(entries), 'submission')} of {assignment.slug}: all already in the gradebook; nothing to grade"
                  + (" (use --regrade to grade them again)" if entries else ""), file=log)
        summary.csv, summary.report = write_class(book, assignment, out, entries, digest, stamps, log)
    book.close()
    summary.seconds = time.monotonic() - started
    return summary


def write_class(book: Any, assignment: Assignment, out: Path, entries: list[Entry], digest: str,
                stamps: dict[str, Stamp], log: TextIO) -> tuple[Path, Path]:
    """grades.csv, report.html and every student's files, from the gradebook as it is now."""
    from grader.batch.adjustments import current_adjustments
    from grader.batch.outputs import write_class_outputs
    from grader.policy.grading import with_manual_grades

    verdicts = book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in entries])
    restamp(book, assignment.slug, verdicts, stamps)     # a time or an extension learnt since it was graded
    adjustments = current_adjustments(book, assignment.slug, {e.student: e.sha256 for e in entries})
    verdicts = with_manual_grades(book, assignment, verdicts)    # given so far to questions a person grades
    return write_class_outputs(out, assignment, entries, verdicts, digest, stamps, adjustments,
                               similarity=similarity_section(book, assignment, entries, log))


def similarity_section(book: Any, assignment: Assignment, entries: list[Entry], log: TextIO) -> str:
    """The report's section of code shared between students (grader.similarity), all pairs compared."""
    from grader.similarity.classwide import section

    return section(book, assignment, [(e.student, e.sha256, _submitted(e)) for e in entries], log=log)


def _submitted(entry: Entry) -> Path | None:
    return None if entry.path is None else Path(entry.submission or entry.path)


def _to_grade(config: BatchConfig, book: Any, assignment: Assignment, entries: list[Entry], digest: str,
              summary: BatchSummary) -> tuple[list[Entry], set[tuple[str, str]]]:
    """The entries to grade, and the (student, sha256) of stale verdicts they will replace: none
    in the gradebook yet, every one with --regrade, and those made with other checks than
    `digest` unless --keep-stale."""
    wanted = [e for e in entries if config.students is None or e.student in config.students]   # --student
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
    verdicts = f"{count} verdict{'s' if count != 1 else ''} in the gradebook {'were' if count != 1 else 'was'} made " \
               "with other checks (the checks or assignment.toml changed since)"
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

        share_for_workers(config.options.sandbox)   # one zygote for every worker: its address travels in the job
        if SHARED_VAR in os.environ:
            env = ((SHARED_VAR, os.environ[SHARED_VAR]),)
    # the worker server collects the checks once, for every worker (grader.checks.session)
    os.environ[workers.PREPARE_VAR] = json.dumps({"assignment": str(assignment.root), "hidden": config.options.hidden,
                                          "select": config.options.select})
    job = Job(options=config.options, time_limit=limit, assignment_dir=str(assignment.root), grade_fn=config.grade_fn,
              env=env)
    pool = workers.ProcessPool(n, job, hard_limit=limit + min(HARD_KILL_AFTER, max(3.0, limit / 4)))
    pool.boot()
    return pool


class Recorder:
    """Turns outcomes into verdicts: one gradebook transaction each, then the student's files."""

    def __init__(self, book: Any, assignment: Assignment, out: Path, regrade: bool, summary: BatchSummary,
                 progress: Progress, *, digest: str = "", replace_keys: set[tuple[str, str]] | None = None) -> None:
        self.book, self.assignment, self.out, self.regrade = book, assignment, out, regrade
        self.digest = digest                      # the checks graded with: recorded in every verdict
        self.replace_keys = replace_keys or set()  # (student, sha256) of stale verdicts to replace
        self.summary, self.progress = summary, progress
        self.max_score = 0.0      # the assignment's, as the verdicts so far say (for a bare verdict)
        self.faults: Counter[str] = Counter()   # grader faults that stood, by their first line
        self.stamps: dict[str, Stamp] = {}      # student -> when it came in, who sent it (recorded in the verdict)

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
            return self._grader_error(task, outcome)
        self._write(task, task.status or result.status, result, task.not_graded)
        return []

    def _grader_error(self, task: Task, outcome: Outcome) -> list[Task]:
        """A fault of the grader: a transient one (a kernel that did not start) is tried again; one
        that stands is the submission's grader error, and the batch stops once the same fault has
        stopped GIVE_UP_AFTER submissions with nothing graded (it cannot run here: a missing device,
        a broken assignment, kernels that never start)."""
        why = outcome.reason.splitlines()[0] if outcome.reason else "no reason given"
        if outcome.transient and task.attempt + 1 < START_TRIES:
            self.progress.note(f"{task.student}: {why}; trying it again ({task.attempt + 2} of {START_TRIES} tries)")
            return [replace(task, attempt=task.attempt + 1)]
        tries = f" (on each of its {task.attempt + 1} tries)" if task.attempt else ""
        hint = fault_hint(outcome.reason)
        self.summary.grader_errors[task.student] = why + tries + (f"\n  {hint}" if hint else "")
        self.progress.done(task.student, "not graded", None, None, outcome.seconds, note=why + tries)
        self.faults[why] += 1
        if self.faults[why] >= GIVE_UP_AFTER and not self.summary.graded:
            raise GraderError(f"the grader failed the same way on {GIVE_UP_AFTER} submissions{tries} and graded none: "
                              f"{why}", hint=f"{hint or 'fix the cause'}; then run the same command again "
                                             "(verdicts already written are kept)")
        return []

    def _write(self, task: Task, status: VerdictStatus, result: Result, reason: str) -> None:
        from grader.batch.outputs import write_student_outputs

        result = stamped(result, self.stamps.get(task.student))
        result.checks_digest = self.digest
        written = self.book.record(assignment=self.assignment.slug, student=task.student, sha256=task.sha256,
                                   source=task.source, status=status, result=result, reason=reason,
                                   replace=self.regrade or (task.student, task.sha256) in self.replace_keys)
        if written:
            if task.path is not None and task.status == "" and not task.not_graded:
                from grader.similarity.classwide import record

                record(self.book, self.assignment, task.student, task.sha256, Path(task.path), self.progress.stream)
            self.summary.graded += 1
            self.summary.statuses[status] += 1
            write_student_outputs(self.out, self.assignment, task.student, result)
        final = final_of(result)            # the checks, and the questions a person grades (none given yet)
        self.progress.done(task.student, status, final.final, final.max_score, result.execution_time,
                           note="" if written else "already in the gradebook")


def counted(n: int, noun: str) -> str:
    """"1 submission", "2 submissions"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fault_hint(reason: str) -> str:
    """What a grader fault's own message says to do (a GraderError's hint: the lines after its
    first), or ''."""
    return " ".join(line.strip() for line in reason.splitlines()[1:] if line.strip())


def grader_error_advice(errors: dict[str, str]) -> list[str]:
    """What to do about the submissions the grader failed on: each fault's own hint, then a
    retry; a plain retry where a fault has no hint (a kernel that did not start may start next time)."""
    hints = list(dict.fromkeys(fault_hint(reason) for reason in errors.values()))
    advice = [f"{hint}; then run the same command again to grade just those" for hint in hints if hint]
    if "" in hints:
        advice.append("run the same command again to retry them")
    return advice


def _student_reason(outcome: Outcome) -> str:
    if outcome.kind == "timeout":
        return outcome.reason
    first = outcome.reason.splitlines()[0] if outcome.reason else "the worker stopped"
    return (f"Grading stopped: {first}. This submission was not graded; "
            "tell your instructor, who can regrade it.")
