"""Moodle's offline grading worksheet (Assignment > View all submissions > Download grading
worksheet), filled: the `Identifier` column ("Participant 501") matched to the participant id a
Moodle download recorded, else the `Full name` when exactly one row has it; `Grade` and
`Feedback comments` filled; every other column kept as Moodle wrote it. Unmatched students are
listed, never guessed. Upload it with "Upload grading worksheet" (and "allow updating records
modified more recently in Moodle" when Moodle asks)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.lms.grades import ClassGrade, normal_name
from grader.lms.sheet import csv_rows, csv_text

__all__ = ["MoodleExport", "moodle_worksheet"]

NEEDED = ("Identifier", "Full name", "Grade", "Feedback comments")


@dataclass
class MoodleExport:
    text: str
    matched: dict[str, int] = field(default_factory=dict)
    unmatched: list[ClassGrade] = field(default_factory=list)


def _rows(path: Path) -> list[list[str]]:
    rows = csv_rows(path, "give the grading worksheet Moodle's 'Download grading worksheet' wrote")
    missing = [c for c in NEEDED if not rows or c not in rows[0]]
    if missing:
        raise UsageError(
            f"{path}, line 1: not a Moodle grading worksheet (no {', '.join(missing)} column)",
            hint="download it in Moodle: the assignment's View all submissions > Download grading worksheet",
        )
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(rows[0]):
            raise UsageError(f"{path}, line {number}: {len(row)} values, the header has {len(rows[0])}")
    return rows


def moodle_worksheet(grades: list[ClassGrade], worksheet: Path) -> MoodleExport:
    rows = _rows(worksheet)
    header = rows[0]
    ident, name, grade_at, comment_at = (header.index(c) for c in NEEDED)
    by_id = {r[ident].replace("Participant", "").strip(): i for i, r in enumerate(rows) if i and r}
    names: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if i and r:
            names.setdefault(normal_name(r[name]), []).append(i)
    export = MoodleExport(text="")
    taken: set[int] = set()
    for g in grades:
        by_name = names.get(normal_name(g.display_name or g.student), [])
        at = by_id.get(g.lms_id) if g.lms == "moodle" else None
        if at is None and len(by_name) == 1:
            at = by_name[0]
        if at is None or at in taken:
            export.unmatched.append(g)
            continue
        taken.add(at)
        rows[at][grade_at] = f"{g.final:g}"
        rows[at][comment_at] = html.escape(g.comment())
        export.matched[g.student] = at + 1
    export.text = csv_text(rows)
    return export
