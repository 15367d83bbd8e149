"""Turning a batch's outcomes into verdicts, counted in the batch's summary (`BatchSummary`): each
verdict written to the gradebook in its own transaction, then the student's files; a grader fault
tried again while it may pass, kept as the submission's grader error where it stands, and the
batch stopped when the same fault stops submission after submission. grader.batch.run runs the
batch around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.batch.gradebook import VerdictStatus
from grader.batch.progress import Progress
from grader.batch.tasks import Outcome, Task, bare_verdict
from grader.config import Assignment
from grader.errors import GraderError
from grader.policy.manual import final_of
from grader.policy.submitted import Stamp, stamped
from grader.results import Result

GIVE_UP_AFTER = 3  # submissions stopped by the same grader fault, with nothing graded yet: the batch stops
START_TRIES = 3  # tries of a submission whose kernel did not start before that is its grader error


@dataclass
class BatchSummary:
    students: int = 0
    skipped: int = 0  # already in the gradebook
    stale: int = 0  # of those, verdicts made with other checks (regraded, or kept with --keep-stale)
    graded: int = 0  # verdicts written by this run
    statuses: Counter = field(default_factory=Counter)
    grader_errors: dict[str, str] = field(default_factory=dict)  # student -> why no verdict
    warnings: list[str] = field(default_factory=list)
    out: Path = Path(".")
    gradebook: str = ""
    report: Path | None = None
    csv: Path | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 2 if self.grader_errors else 0


class Recorder:
    """Turns outcomes into verdicts: one gradebook transaction each, then the student's files."""

    def __init__(
        self,
        book: Any,
        assignment: Assignment,
        out: Path,
        regrade: bool,
        summary: BatchSummary,
        progress: Progress,
        *,
        digest: str = "",
        replace_keys: set[tuple[str, str]] | None = None,
    ) -> None:
        self.book, self.assignment, self.out, self.regrade = book, assignment, out, regrade
        self.digest = digest  # the checks graded with: recorded in every verdict
        self.replace_keys = replace_keys or set()  # (student, sha256) of stale verdicts to replace
        self.summary, self.progress = summary, progress
        self.max_score = 0.0  # the assignment's, as the verdicts so far say (for a bare verdict)
        self.faults: Counter[str] = Counter()  # grader faults that stood, by their first line
        self.stamps: dict[str, Stamp] = {}  # student -> when it came in, who sent it (recorded in the verdict)

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
            return [
                replace(task, path=None, data=None, not_graded=reason, status=outcome.kind, ran_for=outcome.seconds)
            ]
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
            raise GraderError(
                f"the grader failed the same way on {GIVE_UP_AFTER} submissions{tries} and graded none: {why}",
                hint=f"{hint or 'fix the cause'}; then run the same command again (verdicts already written are kept)",
            )
        return []

    def _write(self, task: Task, status: VerdictStatus, result: Result, reason: str) -> None:
        from grader.batch.outputs import write_student_outputs

        result = stamped(result, self.stamps.get(task.student))
        result.checks_digest = self.digest
        written = self.book.record(
            assignment=self.assignment.slug,
            student=task.student,
            sha256=task.sha256,
            source=task.source,
            status=status,
            result=result,
            reason=reason,
            replace=self.regrade or (task.student, task.sha256) in self.replace_keys,
        )
        if written:
            if task.path is not None and task.status == "" and not task.not_graded:
                from grader.similarity.classwide import record

                record(self.book, self.assignment, task.student, task.sha256, Path(task.path), self.progress.stream)
            self.summary.graded += 1
            self.summary.statuses[status] += 1
            write_student_outputs(self.out, self.assignment, task.student, result)
        final = final_of(result)  # the checks, and the questions a person grades (none given yet)
        self.progress.done(
            task.student,
            status,
            final.final,
            final.max_score,
            result.execution_time,
            note="" if written else "already in the gradebook",
        )


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
    return f"Grading stopped: {first}. This submission was not graded; tell your instructor, who can regrade it."
