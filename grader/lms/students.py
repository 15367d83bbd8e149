"""A CSV that names students, one a line: `student,due` (--extensions) or `student,submitted_at`
(--submitted-at). A student is named by the grader's id or by the LMS's; a line naming nobody in
the class, or a time without a time zone, is an error that names the file and the line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.errors import UsageError
from grader.policy.deadline import parse_time

__all__ = ["StudentIds", "read_student_times"]


@dataclass(frozen=True)
class StudentIds:
    """Every name of each student of a class: the grader's id, and the LMS's id where there is one."""

    names: dict[str, str]  # any id -> the grader's student id

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> "StudentIds":
        """From (student, lms_id) pairs; a grader id wins over an LMS id that happens to equal it."""
        names = {lms_id: student for student, lms_id in pairs if lms_id}
        names.update({student: student for student, _ in pairs})
        return cls(names)


def read_student_times(path: Path, column: str, flag: str, ids: StudentIds) -> dict[str, datetime]:
    """`path`'s rows as student id -> time; `column` is the time's header (due, submitted_at)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{flag} {path}: cannot be read ({exc})", hint=f"give a CSV file with the header student,{column}"
        ) from None
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "student" not in header or column not in header:
        raise UsageError(
            f"{path}, line 1: the header is {','.join(header) or 'empty'}, not student,{column}",
            hint=f"write student,{column} on the first line, then one line per student",
        )
    at_student, at_time = header.index("student"), header.index(column)
    out: dict[str, datetime] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(at_student, at_time):
            raise UsageError(f"{path}, line {number}: {len(row)} values, the header has {len(header)}")
        name, when = row[at_student].strip(), row[at_time].strip()
        student = ids.names.get(name)
        if student is None:
            raise UsageError(
                f"{path}, line {number}: no student {name!r} in this class",
                hint="name a student by the grader's id (grades.csv's student column) or the LMS's id",
            )
        value = parse_time(when)
        if value is None:
            raise UsageError(
                f"{path}, line {number}: {column} {when!r} is not an ISO 8601 time with a time zone",
                hint="write it like 2026-12-04T23:59:00-05:00 (or ...Z for UTC)",
            )
        out[student] = value
    return out
