"""A student as the desk's class list shows them: their row (`StudentRow`) with its checks
(`CheckRow`), what their verdict's result_json adds to its rows (`Facts`), and the JSON the /api
gives of a row (docs/desk.md). Values only: grader.desk.classlist reads them from the gradebook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grader.batch.adjustments import HistoryEntry
from grader.policy.final import Adjustment, FinalGrade
from grader.policy.manual import ManualAnswer
from grader.results import Result


@dataclass(frozen=True)
class Facts:
    """What the list and the class report need of a verdict beyond its rows: its recognised
    mistakes (by check), its first error and how long it took."""

    mistakes: tuple[tuple[str, str], ...] = ()
    diagnoses: tuple[tuple[str, str], ...] = ()  # (check name, mistake) of the failed checks
    error: str = ""
    seconds: float = 0.0
    stamp: tuple[tuple[str, str], ...] = ()  # submitted_at, submitted_from, due, lms ... (the late policy's)
    checks_digest: str = ""
    manual: tuple[ManualAnswer, ...] = ()  # questions a person grades, as found (without text or images)

    def diagnosis(self, check: str) -> str:
        return next((m for name, m in self.diagnoses if name == check), "")


@dataclass(frozen=True)
class CheckRow:
    name: str
    exercise: str
    status: str
    score: float  # the automatic score
    max_score: float
    hidden: bool
    adjusted: bool = False
    final: float = 0.0  # what it counts for now (the adjustment's points when adjusted)


@dataclass
class StudentRow:
    student: str
    sha256: str
    source: str
    verdict_id: int
    status: str
    score: float  # automatic
    max_score: float
    graded_at: datetime
    checks: list[CheckRow]
    grade: FinalGrade
    adjustments: list[Adjustment]
    facts: Facts = Facts()
    version: int = 0  # of the student's adjustments (optimistic concurrency)
    history: list[HistoryEntry] = field(default_factory=list)
    result: Result | None = None  # the light verdict (light_result)
    reason: str = ""  # why it was not graded normally (the verdict's reason)
    late: dict[str, Any] | None = None  # the late policy's verdict (Shown.late_data); None: no policy applies
    made: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # its JSON and HTML, made once

    def json_bytes(self, brief: bool) -> bytes:
        """to_json() serialised, made once per row (a row is made again when the student changes)."""
        key = "brief" if brief else "full"
        if key not in self.made:
            data = self.to_json()
            if brief:
                del data["checks"], data["history"]
            self.made[key] = json.dumps(data).encode()
        return self.made[key]  # type: ignore[no-any-return]

    @property
    def final(self) -> float:
        return self.grade.final

    @property
    def adjusted(self) -> bool:
        return bool(self.grade.applied)

    @property
    def failed_exercises(self) -> list[str]:
        return sorted({c.exercise for c in self.checks if c.status != "passed"})

    def to_json(self) -> dict[str, Any]:
        """The student as the API gives it (docs/desk.md)."""
        return {
            "student": self.student,
            "status": self.status,
            "score": self.score,
            "final": self.final,
            "max_score": self.grade.max_score,
            "adjusted": self.adjusted,
            "sha256": self.sha256,
            "graded_at": self.graded_at.isoformat(timespec="seconds"),
            "version": self.version,
            "failed_exercises": self.failed_exercises,
            "mistakes": [{"exercise": e, "mistake": m} for e, m in self.facts.mistakes],
            "checks": [
                {
                    "name": c.name,
                    "exercise": c.exercise,
                    "status": c.status,
                    "score": c.score,
                    "max_score": c.max_score,
                    "adjusted": c.adjusted,
                    "final": c.final,
                    "hidden": c.hidden,
                }
                for c in self.checks
            ],
            "adjustments": [adjustment_json(a) for a in self.adjustments],
            "late": self.late,
            "history": [
                {"at": h.at.isoformat(timespec="seconds"), "by": h.author, "action": h.action, "detail": h.detail}
                for h in self.history
            ],
        }


def adjustment_json(a: Adjustment) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "name": a.name,
        "points": a.points,
        "reason": a.reason,
        "by": a.by,
        "at": a.at,
        "earlier": a.earlier,
    }
