"""`grader export canvas|moodle|csv ASSIGNMENT --gradebook G --out FILE`: the final grades of a
gradebook, as the LMS imports them (the work is in grader.lms)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXPORT_EPILOG = (
    "Exit status: 0 the file was written (students the roster lacks are listed, not exported); "
    "2 it could not be (a roster that does not parse, a column that is not in it, no gradebook)."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export",
        help="the final grades of a gradebook as Canvas, Moodle or a plain CSV imports them",
        epilog=EXPORT_EPILOG,
        description="Write the final grades (late penalty and all, as grades.csv's final column) of "
        "ASSIGNMENT from a gradebook: for Canvas, its gradebook import CSV, built from the "
        "gradebook you exported from Canvas (--roster); for Moodle, its grading worksheet "
        "(--roster) filled; csv: one row per student.",
    )
    p.add_argument("format", choices=["canvas", "moodle", "csv"], help="what to write")
    p.add_argument(
        "assignment",
        metavar="ASSIGNMENT",
        help="the assignment folder (holds assignment.toml), or its slug under ./assignments",
    )
    p.add_argument(
        "--gradebook",
        required=True,
        metavar="G",
        help="the folder `grader batch --out` wrote, or the gradebook's database URL",
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the CSV to write")
    p.add_argument(
        "--roster",
        type=Path,
        metavar="FILE",
        help="canvas: the gradebook CSV Canvas exported; moodle: the grading worksheet Moodle gave",
    )
    p.add_argument(
        "--column",
        metavar="NAME",
        help="canvas: the assignment's column (default: the one named like the assignment's title or slug)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from grader.course import find_assignment, is_assignment_dir, load_assignment
    from grader.errors import UsageError
    from grader.lms.grades import class_grades, gradebook_url, plain_csv

    folder = Path(args.assignment)
    assignment = load_assignment(folder) if is_assignment_dir(folder) else find_assignment(args.assignment)
    if args.format != "csv" and args.roster is None:
        what = "the gradebook CSV exported from Canvas" if args.format == "canvas" else "Moodle's grading worksheet"
        raise UsageError(f"grader export {args.format} needs --roster FILE: {what}")
    grades = class_grades(assignment, gradebook_url(args.gradebook))
    unmatched, notes = [], []
    if args.format == "canvas":
        from grader.lms.canvas_export import canvas_import

        canvas = canvas_import(grades, args.roster, args.column, (assignment.title, assignment.slug))
        text, unmatched, notes = canvas.text, canvas.unmatched, canvas.warnings
        notes.insert(0, f"column: {canvas.column}; {len(canvas.matched)} students matched")
    elif args.format == "moodle":
        from grader.lms.moodle_export import moodle_worksheet

        moodle = moodle_worksheet(grades, args.roster)
        text, unmatched = moodle.text, moodle.unmatched
        notes.append(f"{len(moodle.matched)} students matched")
    else:
        text = plain_csv(grades)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8", newline="")
    for note in notes:
        print(note, file=sys.stderr)
    if unmatched:
        print(
            f"{len(unmatched)} graded student(s) match no row of {args.roster} and are not in {args.out}:",
            file=sys.stderr,
        )
        for g in unmatched:
            who = f" ({g.lms} id {g.lms_id}, {g.display_name})" if g.lms_id else ""
            print(f"  {g.student!r}{who}: final {g.final:g}/{g.max_score:g}", file=sys.stderr)
    print(f"wrote {args.out}: {len(grades) - len(unmatched)} final grades of {assignment.slug}")
    return 0
