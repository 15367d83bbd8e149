"""The Canvas gradebook import CSV, built from the instructor's own export of the gradebook
(Grades > Export > CSV): every column and row kept as Canvas wrote them ("Points Possible"
included), the assignment's column filled with the final grades.

The column: `--column` (its whole header, or the header without Canvas's " (id)"), else the one
whose name is the assignment's title or slug. A student: by Canvas id (a Canvas download
recorded it), then SIS Login ID (the grader's student id), then name ("Last, First" or
"First Last" against the display name or the id); a name two roster rows share matches neither.
Students matched to no row are listed, never guessed; rows no student matched keep their cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.lms.grades import ClassGrade, normal_name
from grader.lms.sheet import csv_rows, csv_text

__all__ = ["CanvasExport", "canvas_import", "read_roster"]

_ID_SUFFIX = re.compile(r"\s*\(\d+\)\s*$")
FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")


@dataclass
class CanvasExport:
    text: str
    column: str
    matched: dict[str, int] = field(default_factory=dict)  # student -> roster line
    unmatched: list[ClassGrade] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_roster(path: Path) -> list[list[str]]:
    """The roster's rows, header first; a file that is not a Canvas export is a UsageError naming the line."""
    rows = csv_rows(
        path,
        "give the CSV that Canvas's Grades > Export > Export Entire Gradebook wrote",
        "give the file as Canvas exported it, unedited",
    )
    if not rows or "Student" not in rows[0] or "ID" not in rows[0]:
        raise UsageError(
            f"{path}, line 1: not a Canvas gradebook export (no Student and ID columns)",
            hint="export it from Canvas: Grades > Export > Export Entire Gradebook",
        )
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(rows[0]):
            raise UsageError(
                f"{path}, line {number}: {len(row)} values, the header has {len(rows[0])}",
                hint="give the file as Canvas exported it, unedited",
            )
    return rows


def pick_column(header: list[str], column: str | None, names: tuple[str, ...], roster: Path) -> int:
    """The index of the assignment's column."""
    wanted = [column] if column else list(names)
    for want in wanted:
        hits = [i for i, h in enumerate(header) if h == want or _ID_SUFFIX.sub("", h).lower() == want.lower()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(
                f"{roster}, line 1: {len(hits)} columns are named {want!r}",
                hint="give the whole header, with Canvas's (id), as --column",
            )
    candidates = [h for h in header if _ID_SUFFIX.search(h)]
    what = f"no column {column!r}" if column else f"no column named {' or '.join(repr(n) for n in names)}"
    raise UsageError(
        f"{roster}, line 1: {what}",
        hint="the assignment columns: " + (", ".join(candidates) or "none") + "; choose one with --column",
    )


def _name_keys(row: dict[str, str]) -> set[str]:
    name = row.get("Student", "")
    last, _, first = name.partition(",")
    return {normal_name(name), normal_name(first + last)} - {""}


def _index(rows: list[dict[str, str]]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    by_id: dict[str, int] = {}
    by_login: dict[str, int] = {}
    by_name: dict[str, int] = {}
    shared: set[str] = set()
    for i, row in enumerate(rows):
        if row.get("ID", "").strip():
            by_id.setdefault(row["ID"].strip(), i)
        if row.get("SIS Login ID", "").strip():
            by_login.setdefault(row["SIS Login ID"].strip(), i)
        for key in _name_keys(row):
            if key in by_name and by_name[key] != i:
                shared.add(key)
            by_name.setdefault(key, i)
    return by_id, by_login, {k: v for k, v in by_name.items() if k not in shared}


def match(grade: ClassGrade, by_id: dict[str, int], by_login: dict[str, int], by_name: dict[str, int]) -> int | None:
    if grade.lms == "canvas" and grade.lms_id in by_id:
        return by_id[grade.lms_id]
    if grade.student in by_login:
        return by_login[grade.student]
    for name in (grade.display_name, grade.student):
        if normal_name(name) in by_name:
            return by_name[normal_name(name)]
    return None


def canvas_import(grades: list[ClassGrade], roster: Path, column: str | None, names: tuple[str, ...]) -> CanvasExport:
    rows = read_roster(roster)
    header = rows[0]
    at = pick_column(header, column, names, roster)
    students = [dict(zip(header, r)) for r in rows[1:]]
    real = [i for i, r in enumerate(students) if r.get("Student", "").strip() not in ("Points Possible", "")]
    by_id, by_login, by_name = _index([students[i] if i in real else {} for i in range(len(students))])
    export = CanvasExport(text="", column=header[at])
    taken: dict[int, str] = {}
    for grade in grades:
        i = match(grade, by_id, by_login, by_name)
        if i is None or i in taken:
            export.unmatched.append(grade)
            continue
        taken[i] = grade.student
        rows[i + 1][at] = f"{grade.final:g}"
        export.matched[grade.student] = i + 2
    possible = next((r[at] for r in rows[1:] if r and r[0].strip() == "Points Possible"), "")
    top = max((g.max_score for g in grades), default=0.0)
    if possible and _number(possible) not in (None, top):
        export.warnings.append(
            f"the column's Points Possible is {possible}, the assignment's {top:g}: "
            f"the grades go out as points out of {top:g}"
        )
    export.text = csv_text(rows)
    return export


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
