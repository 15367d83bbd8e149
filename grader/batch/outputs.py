"""What a batch leaves in --out besides the gradebook: per-student files, grades.csv, report.html.

    results/<student>.json     exactly what `grader check --results` writes
    feedback/<student>.html    exactly what `grader check --feedback` writes
    grades.csv                 a row per student: total (the checks and the manual points given so far),
                               submitted_at, late_by, penalty, final, each exercise, status, and for an
                               assignment with manual questions each question's points and those waiting;
                               "stale" = "yes" where the verdict was made with other checks than `digest` (--keep-stale)
    report.html                the class at a glance (grader.feedback.report)

Per-student files are written when a verdict is recorded and rewritten from the gradebook at
the end of every batch, so a batch killed between the two still ends with all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote
from typing import TYPE_CHECKING, Mapping, Sequence

from grader.config import Assignment
from grader.checking import Outputs, write_outputs
from grader.policy.manual import MANUAL_WAITING
from grader.results import Result, csv_row, to_csv

if TYPE_CHECKING:
    from grader.batch.classfolder import Entry
    from grader.batch.gradebook import StoredVerdict
    from grader.policy.final import Adjustment
    from grader.policy.submitted import Shown, Stamp

NOT_GRADED = "not graded"


def safe_name(student: str) -> str:
    """A student id as a file name (ids come from file and folder names, so this rarely changes one)."""
    name = student.replace(os.sep, "_").replace("\0", "_")
    return name if name not in ("", ".", "..") else f"_{name}"


def student_paths(out: Path, student: str) -> Outputs:
    name = safe_name(student)
    return Outputs(results=out / "results" / f"{name}.json", feedback=out / "feedback" / f"{name}.html")


def write_student_outputs(
    out: Path, assignment: Assignment, student: str, result: Result, adjustments: Sequence["Adjustment"] = ()
) -> None:
    write_outputs(result, assignment, student_paths(out, student), adjustments)


def exercise_columns(assignment: Assignment, results: list[Result]) -> list[str]:
    names = list(assignment.exercises)
    for result in results:
        names += [c.exercise for c in result.checks if c.exercise not in names]
    return names


def write_class_outputs(
    out: Path,
    assignment: Assignment,
    entries: list["Entry"],
    verdicts: dict[tuple[str, str], "StoredVerdict"],
    digest: str | None = None,
    stamps: dict[str, Stamp] | None = None,
    adjustments: Mapping[str, Sequence["Adjustment"]] | None = None,
    student_files: bool = True,
    similarity: str = "",
) -> tuple[Path, Path]:
    """Rewrite every student's files from the gradebook (unless `student_files` is off: the desk
    rewrites only the student it changed), then grades.csv and report.html; with `digest` (the
    checks graded with now), a verdict made with other checks is marked stale. `stamps`: what this
    run knows of when each came in (an extension given since it was graded counts). `adjustments`:
    the graders' (grader serve), by student, in each final grade. `similarity`: the report's
    section of code shared between students, when given."""
    from grader.feedback.classstats import ClassRow
    from grader.feedback.report import render_report
    from grader.policy.submitted import shown, stamped
    from grader.staleness import is_stale

    rows: list[dict[str, object]] = []
    class_rows: list[ClassRow] = []
    for entry in entries:
        stored = verdicts.get((entry.student, entry.sha256))
        if stored is None:
            rows.append({"student": entry.student, "status": NOT_GRADED, "sha256": entry.sha256})
            class_rows.append(ClassRow(entry.student, NOT_GRADED, None, entry.source))
            continue
        result = stamped(stored.result, (stamps or {}).get(entry.student))
        mine = (adjustments or {}).get(entry.student, ())
        if student_files:
            write_student_outputs(out, assignment, entry.student, result, mine)
        grade = shown(result, assignment.deadline, mine)
        row = csv_row(entry.student, result, grade.grade)
        row["status"] = stored.status
        stale = digest is not None and is_stale(stored.result, digest)
        row["stale"] = "yes" if stale else ""
        row.update(grade.csv_columns())
        rows.append(row)
        class_rows.append(
            ClassRow(
                entry.student,
                stored.status,
                result,
                entry.source,
                feedback=f"feedback/{quote(safe_name(entry.student))}.html",
                stale=stale,
                late=_late_note(grade),
                final=grade.grade.final,
            )
        )
    csv_path = out / "grades.csv"
    _write_atomic(csv_path, to_csv(rows, grade_columns(assignment, verdicts)))
    report_path = out / "report.html"
    _write_atomic(report_path, render_report(assignment, class_rows, similarity))
    return csv_path, report_path


def grade_columns(assignment: Assignment, verdicts: dict[tuple[str, str], "StoredVerdict"]) -> list[str]:
    """grades.csv's columns after the fixed ones: the exercises, then a column per question a person
    grades and the ones still waiting."""
    columns = exercise_columns(assignment, [s.result for s in verdicts.values()])
    if assignment.manual:
        columns += [q.name for q in assignment.manual if q.name not in columns] + [MANUAL_WAITING]
    return columns


def _late_note(grade: "Shown") -> str:
    """The report's note of the late policy: only where it took something, or the time is unknown."""
    late = grade.penalty
    return grade.words if late is not None and (late.late_by_seconds > 0 or late.unknown) else ""


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
