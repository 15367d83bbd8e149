"""`grader release ASSIGNMENT --gradebook G --out DIR [--partial]`: write each student's final
feedback (argument parsing only; the work is in grader.policy.release)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_release(args: argparse.Namespace) -> int:
    from grader.course import find_assignment, load_assignment
    from grader.policy.release import release

    where = Path(args.assignment)
    assignment = load_assignment(where) if (where / "assignment.toml").is_file() else find_assignment(args.assignment)
    done = release(assignment, args.gradebook, args.out, partial=args.partial)
    print(
        f"released {assignment.slug}: {done.students} student(s) in {args.out}"
        + (f"; {done.waiting} answer(s) still waiting for a grader (--partial)" if done.waiting else "")
    )
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "release",
        help="write each student's final feedback page and results.json",
        description="Write DIR/<student>/<notebook>.html (checks, manual points, rubric items, comments) and "
        "DIR/<student>/results.json for every student of an assignment in a gradebook. Refused "
        "(exit 1) while answers wait for a grader, unless --partial.",
    )
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment's folder (assignments/<slug>) or slug")
    p.add_argument(
        "--gradebook",
        required=True,
        metavar="G",
        help="a `grader batch` --out folder (its gradebook.sqlite) or a database URL",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where DIR/<student>/ is written")
    p.add_argument(
        "--partial", action="store_true", help="release even while answers wait for a grader (their pages say so)"
    )
    p.set_defaults(func=cmd_release)
