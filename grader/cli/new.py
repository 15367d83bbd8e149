"""`grader new <slug> [--root .]`: scaffold a new assignment and assign it (argument parsing only;
the work is in grader.authoring.assign)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli.assign import relative
from grader.course import master_dir


def cmd_new(args: argparse.Namespace) -> int:
    from grader.authoring.scaffold import new

    written = new(args.slug, args.root)
    print(f"created {args.slug}:")
    for path in written:
        print(f"  {relative(path)}")
    master = master_dir(args.root, args.slug)
    print(f"next: edit {relative(master)}, then run `grader assign {relative(master)}`")
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "new",
        help="scaffold a new assignment (master, checks) and assign it",
        description="Create solutions/<slug>/ with a master notebook holding one exercise, assignment.toml, "
        "public and hidden checks, then write assignments/<slug>/ from it.",
    )
    p.add_argument("slug", metavar="SLUG", help="the assignment's slug: lower-case letters, digits, '-' and '_'")
    p.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the course folder that holds solutions/ and assignments/ (default: .)",
    )
    p.set_defaults(func=cmd_new)
