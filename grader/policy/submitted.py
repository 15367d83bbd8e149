"""When a submission came in, as a verdict records it, and the late penalty that follows.

A Result carries `submitted_at` (ISO 8601), `submitted_from` (where that was read) and `due` (the
student's own due time, when an extension moved it). `submitted_from` is one of:

    gradescope      submission_metadata.json's created_at, in the autograder
    timestamp.txt   nbgrader's, in the student's folder
    --submitted-at  the instructor's CSV
    mtime           the notebook file's modification time (only with --times-from-mtime)
    canvas          no time, but Canvas's download marks it on time (no LATE_)
    canvas LATE     no time, and Canvas marks it late: flagged, not penalised
    unknown         looked for and not found: flagged, not penalised
    ""              never looked for (`grader check` on a student's machine): no late policy applies
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from grader.policy.deadline import Deadline, duration_words, late_penalty, parse_time
from grader.policy.final import Adjustment, FinalGrade, LatePenalty, final_grade
from grader.results import Result

__all__ = ["Shown", "Stamp", "UNKNOWN", "penalty_of", "read_timestamp", "shown", "stamp_of", "stamped", "waived"]

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Stamp:
    """What a front end learnt about a submission besides its notebook (Result's fields of the same names)."""

    submitted_at: str = ""
    submitted_from: str = ""
    due: str = ""
    lms: str = ""
    lms_id: str = ""
    display_name: str = ""


def stamped(result: Result, stamp: Stamp | None) -> Result:
    """`result` with what `stamp` knows (a copy; `result` is left as it is)."""
    if stamp is None:
        return result
    return replace(
        result,
        submitted_at=stamp.submitted_at,
        submitted_from=stamp.submitted_from,
        due=stamp.due,
        lms=stamp.lms,
        lms_id=stamp.lms_id,
        display_name=stamp.display_name,
    )


def stamp_of(result: Result) -> Stamp:
    """What `result` records of when it came in and who sent it."""
    return Stamp(
        submitted_at=result.submitted_at,
        submitted_from=result.submitted_from,
        due=result.due,
        lms=result.lms,
        lms_id=result.lms_id,
        display_name=result.display_name,
    )


def read_timestamp(folder: Path) -> datetime | None:
    """nbgrader's timestamp.txt in `folder` ("2026-12-04 23:59:00.123456 UTC", or ISO 8601 with an
    offset); None when there is none or it names no time zone this can read."""
    path = folder / "timestamp.txt"
    try:
        text = path.read_text(encoding="utf-8-sig").strip()[:100] if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return None
    if not text:
        return None
    for suffix in (" UTC", " GMT", "Z"):
        if text.endswith(suffix):
            naive = parse_naive(text[: -len(suffix)])
            return naive.replace(tzinfo=timezone.utc) if naive is not None else None
    return parse_time(text)


def parse_naive(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is None else None


def penalty_of(result: Result, deadline: Deadline | None) -> LatePenalty | None:
    """The late penalty of a verdict under `deadline`; None where no late policy applies (no deadline,
    or a front end that never asked when the work came in)."""
    if deadline is None or not result.submitted_from:
        return None
    submitted = parse_time(result.submitted_at) if result.submitted_at else None
    extension = parse_time(result.due) if result.due else None
    if submitted is None and result.submitted_from == "canvas":
        return LatePenalty(percent=0.0, words="on time, as Canvas's download says")
    if submitted is None and result.submitted_from == "canvas LATE":
        return LatePenalty(
            percent=0.0,
            unknown=True,
            words="Canvas marks it late, but its time is unknown: no late penalty applied "
            "(give it with grader batch --submitted-at)",
        )
    return late_penalty(deadline, submitted, extension)


def waived(penalty: LatePenalty, reason: str) -> LatePenalty:
    """The penalty, waived by an instructor: no percent taken, the reason in its words."""
    late = penalty.words.rsplit(": -", 1)[0]
    return replace(
        penalty, waived=True, words=f"{late}: the {penalty.percent:g}% late penalty is waived ({reason.strip()})"
    )


@dataclass(frozen=True)
class Shown:
    """A verdict's grade as every output shows it: final_grade's number, and the late penalty's words."""

    grade: FinalGrade
    penalty: LatePenalty | None
    result: Result

    @property
    def words(self) -> str:
        return self.penalty.words if self.penalty is not None else ""

    def late_data(self) -> dict[str, Any] | None:
        """results.json's extra_data "late" (None where no late policy applies)."""
        if self.penalty is None:
            return None
        return {
            "submitted_at": self.result.submitted_at,
            "submitted_from": self.result.submitted_from,
            "due": self.result.due,
            "late_by_seconds": round(self.penalty.late_by_seconds, 3),
            "penalty_percent": self.grade.penalty_percent,
            "penalty_points": self.grade.penalty_points,
            "raw_score": self.grade.before_penalty,
            "final": self.grade.final,
            "words": self.words,
            "unknown": self.penalty.unknown,
            "waived": self.penalty.waived,
        }

    def csv_columns(self) -> dict[str, Any]:
        """grades.csv's submitted_at, late_by, penalty, final."""
        late_by = self.penalty.late_by_seconds if self.penalty is not None else 0.0
        flagged = self.penalty is not None and self.penalty.unknown
        return {
            "submitted_at": self.result.submitted_at or (UNKNOWN if flagged else ""),
            "late_by": duration_words(late_by) if late_by > 0 else "",
            "penalty": (
                "waived"
                if self.penalty is not None and self.penalty.waived
                else f"{self.grade.penalty_percent:g}%"
                if self.penalty is not None
                else ""
            ),
            "final": self.grade.final,
        }


def shown(result: Result, deadline: Deadline | None, adjustments: Sequence[Adjustment] = ()) -> Shown:
    """What every output shows of `result` (its final grade through grader.policy.final.final_grade),
    with the graders' `adjustments` (grader serve; one of kind "late" waives the late penalty) and the
    manual points given so far."""
    from grader.policy.manual import manual_scores

    penalty = penalty_of(result, deadline)
    waiver = next((a for a in adjustments if a.kind == "late"), None)
    if penalty is not None and waiver is not None and penalty.percent > 0:
        penalty = waived(penalty, waiver.reason)
    return Shown(
        grade=final_grade(result, adjustments, manual_scores(result), penalty=penalty), penalty=penalty, result=result
    )
