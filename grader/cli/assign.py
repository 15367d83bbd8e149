"""`grader assign solutions/<slug> [--out assignments]`: write the student version of an assignment
(argument parsing only; the work is in grader.authoring.assign)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.course import ASSIGNMENTS


def relative(path: Path) -> str:
    """`path` relative to the current folder where it is below it (what the user typed, mostly)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cmd_assign(args: argparse.Namespace) -> int:
    from grader.authoring.assign import assign, load_master

    master = load_master(args.master)
    written = assign(args.master, args.out)
    print(f"assigned {master.slug}: {len(written)} file(s) in {relative(args.out / master.slug)}")
    for path in written:
        print(f"  {relative(path)}")
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "assign",
        help="write the student version of an assignment from its master folder",
        description="Write assignments/<slug>/ (student notebook with stubs, assignment.toml, public checks) "
        "from the master folder solutions/<slug>/ (master notebook, assignment.toml, public/, checks/).",
    )
    p.add_argument(
        "master", type=Path, metavar="SOLUTIONS/SLUG", help="the master folder, e.g. solutions/neural-net-basics"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(ASSIGNMENTS),
        metavar="DIR",
        help="where assignments/<slug>/ is written (default: ./assignments)",
    )
    p.set_defaults(func=cmd_assign)
