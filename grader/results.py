"""The verdict: plain dataclasses, the words every machine format gives a failed check, and the CSV
rows (results.json is grader.integrations.gradescope_results; JUnit XML, grader.junit)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from grader import verdict
from grader.policy.manual import ManualAnswer
from grader.verdict import HIDDEN_MESSAGE_FAIL, HIDDEN_MESSAGE_PASS

if TYPE_CHECKING:
    from grader.policy.final import FinalGrade

CheckStatus = Literal["passed", "failed"]
ResultStatus = Literal["passed", "failed", "unreadable"]
CellIssueKind = Literal["error", "timeout", "dropped", "output", "skipped"]

__all__ = [
    "CellIssue",
    "CheckResult",
    "CheckStatus",
    "HIDDEN_MESSAGE_FAIL",
    "HIDDEN_MESSAGE_PASS",
    "ManualAnswer",
    "Result",
    "ResultStatus",
    "TensorSummary",
    "csv_row",
    "detail_lines",
    "failure_text",
    "number_text",
    "shape_text",
    "to_csv",
]


@dataclass
class TensorSummary:
    """What a student sees of one value: type, shape, dtype, device and a few numbers."""

    type: str
    shape: list[int] | None = None
    dtype: str | None = None
    device: str | None = None
    values: list[float | str] | None = None  # a few leading values, flattened


@dataclass
class CheckResult:
    name: str  # the check's function name
    exercise: str  # one of the assignment's exercises
    points: float
    score: float
    status: CheckStatus
    hidden: bool = False
    message: str = ""  # what a student reads
    expected: TensorSummary | None = None
    actual: TensorSummary | None = None
    mismatches: list[dict[str, Any]] = field(default_factory=list)  # worst differing values
    traceback: str = ""  # the student's own traceback, trimmed to their code
    output: str = ""  # what the student's function printed, bounded
    duration: float = 0.0
    nodeid: str = ""
    diagnosis: str = ""  # the recognised mistake, in words without values (checks/mistakes.py)
    diagnosed_by: str = ""  # "catalogue" (the instructor's), "shape" or "values" (the grader's own)
    carried_forward: str = ""  # right given correct ones of these exercises, ", "-joined (checks/carry.py)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def public_view(self) -> "CheckResult":
        """What may be shown outside the grader (grader.verdict.public_check)."""
        return verdict.public_check(self)


@dataclass
class CellIssue:
    """A notebook cell that raised, timed out, or was dropped because it killed the kernel; or one
    not run at grading time because of its tag (kind "skipped", its message says so)."""

    index: int  # 0-based index among all cells
    kind: CellIssueKind
    message: str  # plain words
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    source_head: str = ""  # first lines of the cell


@dataclass
class Result:
    submission: str
    assignment: str
    checks: list[CheckResult] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    device: str = "cpu"
    isolation: str = "none"
    errors: list[str] = field(default_factory=list)  # submission-level problems, in words
    cells: list[CellIssue] = field(default_factory=list)
    sha256: str = ""
    grader_version: str = ""
    execution_time: float = 0.0
    readable: bool = True
    hidden_ran: bool = False
    exercises: dict[str, str] = field(default_factory=dict)  # name -> title, in order
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    files: list[dict[str, Any]] = field(default_factory=list)  # received with the notebook: name, bytes
    files_refused: list[dict[str, Any]] = field(
        default_factory=list
    )  # sent with it, not given to the kernel: name, reason
    checks_digest: str = ""  # the checks it was made with (grader.staleness.checks_digest), set by `grader batch`
    # when it came in and who sent it (grader.policy.deadline, grader.lms): "" where unknown
    submitted_at: str = ""  # ISO 8601 with its offset
    submitted_from: str = (
        ""  # where that time was read: gradescope, canvas, moodle, timestamp.txt, --submitted-at, mtime
    )
    due: str = ""  # this student's own due time, when an extension moved it
    lms: str = ""  # the LMS the submission came from: canvas, moodle, gradescope
    lms_id: str = ""  # the student's id there
    display_name: str = ""  # the student's name there
    manual: list[ManualAnswer] = field(default_factory=list)  # questions a person grades, in order

    @property
    def passed(self) -> bool:
        return self.readable and bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def by_exercise(self) -> dict[str, list[CheckResult]]:
        groups: dict[str, list[CheckResult]] = {name: [] for name in self.exercises}
        for check in self.checks:
            groups.setdefault(check.exercise, []).append(check)
        return groups

    def exercise_scores(self) -> dict[str, tuple[float, float]]:
        return verdict.exercise_totals(self.by_exercise())

    @property
    def status(self) -> ResultStatus:
        if not self.readable:
            return "unreadable"
        if self.passed:
            return "passed"
        return "failed"

    def public_view(self) -> "Result":
        """The result with its hidden checks as they may be shown (grader.verdict.public_view)."""
        return verdict.public_view(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        data = dict(data)
        checks = []
        for raw in data.pop("checks", []):
            raw = dict(raw)
            for key in ("expected", "actual"):
                if raw.get(key) is not None:
                    raw[key] = TensorSummary(**raw[key])
            checks.append(CheckResult(**raw))
        cells = [CellIssue(**c) for c in data.pop("cells", [])]
        manual = [ManualAnswer(**m) for m in data.pop("manual", [])]
        return cls(checks=checks, cells=cells, manual=manual, **data)


def number_text(value: Any) -> str:
    """A value as every output prints it (4 significant digits)."""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 or value == 0 else f"{value:.3e}"
    return str(value)


def shape_text(shape: list[int] | None) -> str:
    return "—" if shape is None else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _summary_line(summary: TensorSummary) -> str:
    values = ", ".join(number_text(v) for v in summary.values or [])
    return " ".join(part for part in (summary.type, shape_text(summary.shape), summary.dtype or "", values) if part)


def detail_lines(view: CheckResult) -> list[str]:
    """What the terminal and the HTML page show of a failed check besides its message: expected
    and actual (type, shape, dtype, first values) and the worst differing values. `view` is a
    public view: a hidden check has none of these."""
    lines = []
    if view.expected is not None and view.actual is not None:
        lines += [f"expected: {_summary_line(view.expected)}", f"got:      {_summary_line(view.actual)}"]
    if view.mismatches:
        worst = "; ".join(
            f"at {tuple(m.get('index', ()))}: expected {number_text(m.get('expected'))}, "
            f"yours {number_text(m.get('actual'))}"
            for m in view.mismatches
        )
        lines.append(f"differing values: {worst}")
    return lines


def failure_text(view: CheckResult) -> str:
    """A failed check's whole text for a machine format (results.json, JUnit): the message, the
    details the terminal shows, the student's traceback."""
    parts = [view.message]
    details = detail_lines(view)
    if details:
        parts.append("\n".join(details))
    if view.traceback:
        parts.append(view.traceback)
    return "\n\n".join(p for p in parts if p)


NOT_GRADED_ABOVE = "Not graded: the note at the top says why."  # each check of an unreadable notebook


def standalone_message(message: str, result: Result) -> str:
    """A check's message where nothing is shown above it (a JUnit testcase, a Classroom test): the
    reason itself in place of the pointer to the note at the top."""
    if message == NOT_GRADED_ABOVE and result.errors:
        return "Not graded: " + " ".join(result.errors)
    return message


CSV_FIXED = ["student", "total", "adjusted", "max_score", "status", "device", "isolation", "sha256"]
LATE_COLUMNS = ["submitted_at", "late_by", "penalty", "final"]  # grader.policy.submitted.Shown.csv_columns
# total, max_score: the checks' and the manual questions' (points given so far); adjusted: the checks after
# the desk's adjustments; LATE_COLUMNS ("final": all of it after the late policy), "mistakes", "stale" (`--keep-stale`),
# one column per exercise, then per manual question (empty: waiting) and "waiting" (docs/batch.md)


def csv_row(student: str, result: Result, grade: "FinalGrade | None" = None) -> dict[str, Any]:
    from grader.policy.manual import csv_cells, final_of

    final = final_of(result)
    row: dict[str, Any] = {
        "student": student,
        "total": final.final,
        "max_score": final.max_score,
        "adjusted": grade.adjusted if grade is not None else result.score,
        "status": result.status,
        "device": result.device,
        "isolation": result.isolation,
        "sha256": result.sha256,
    }
    for name, (score, _points) in result.exercise_scores().items():
        row[name] = score
    row["mistakes"] = "; ".join(f"{exercise}: {name}" for exercise, name in mistakes_of(result))
    row.update(csv_cells(result))  # each manual question's points (empty while it waits), and "waiting"
    return row


GENERIC_DIAGNOSES = ("shape", "values")  # CheckResult.diagnosed_by of the grader's own diagnoses


def mistakes_of(result: Result) -> list[tuple[str, str]]:
    """The recognised mistakes of a verdict's failed checks, (exercise, mistake), each once, in order.
    Where the instructor's catalogue named a mistake in an exercise, the grader's generic diagnoses
    of that exercise (other checks seeing the same answer) are not counted again. An exercise right
    given a correct earlier one (`carried_forward`) counts that one's mistake under it only."""
    failed = [c for c in result.checks if not c.passed and c.diagnosis and not c.carried_forward]
    catalogued = {c.exercise for c in failed if c.diagnosed_by not in GENERIC_DIAGNOSES}
    carried = {c.exercise: c.carried_forward.split(", ") for c in result.checks if c.carried_forward}
    seen: dict[tuple[str, str], None] = {}
    for check in failed:
        if any(
            (earlier, check.diagnosis) in {(c.exercise, c.diagnosis) for c in failed}
            for earlier in carried.get(check.exercise, ())
        ):
            continue  # the same mistake as the exercise it carries forward from
        if check.diagnosed_by not in GENERIC_DIAGNOSES or check.exercise not in catalogued:
            seen.setdefault((check.exercise, check.diagnosis), None)
    return list(seen)


def to_csv(rows: list[dict[str, Any]], exercises: list[str]) -> str:
    out = io.StringIO()
    from grader.lms.sheet import inert_row

    writer = csv.DictWriter(
        out, fieldnames=CSV_FIXED + LATE_COLUMNS + ["mistakes", "stale"] + exercises, extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow(inert_row(row))
    return out.getvalue()
