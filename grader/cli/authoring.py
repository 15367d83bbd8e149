"""`grader assign` and `grader new`: parsers and thin commands over grader.authoring.assign.

    grader assign solutions/<slug> [--out assignments]
    grader new <slug> [--root .]
"""
from __future__ import annotations

import argparse
from pathlib import Path


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def assign_main(args: argparse.Namespace) -> int:
    from grader.authoring.assign import assign, load_master

    master = load_master(args.master)
    written = assign(args.master, args.out)
    print(f"assigned {master.slug}: {len(written)} file(s) in {_relative(args.out / master.slug)}")
    for path in written:
        print(f"  {_relative(path)}")
    return 0


def new_main(args: argparse.Namespace) -> int:
    from grader.authoring.assign import new

    written = new(args.slug, args.root)
    print(f"created {args.slug}:")
    for path in written:
        print(f"  {_relative(path)}")
    master = args.root / "solutions" / args.slug
    print(f"next: edit {_relative(master)}, then run `grader assign {_relative(master)}`")
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "assign", help="write the student version of an assignment from its master folder",
        description="Write assignments/<slug>/ (student notebook with stubs, assignment.toml, public checks) "
                    "from the master folder solutions/<slug>/ (master notebook, assignment.toml, public/, checks/).")
    p.add_argument("master", type=Path, metavar="SOLUTIONS/SLUG", help="the master folder, e.g. solutions/neural-net-basics")
    p.add_argument("--out", type=Path, default=Path("assignments"), metavar="DIR",
                   help="where assignments/<slug>/ is written (default: ./assignments)")
    p.set_defaults(func=assign_main)

    p = subparsers.add_parser(
        "new", help="scaffold a new assignment (master, checks) and assign it",
        description="Create solutions/<slug>/ with a master notebook holding one exercise, assignment.toml, "
                    "public and hidden checks, then write assignments/<slug>/ from it.")
    p.add_argument("slug", metavar="SLUG", help="the assignment's slug: lower-case letters, digits, '-' and '_'")
    p.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                   help="the course folder that holds solutions/ and assignments/ (default: .)")
    p.set_defaults(func=new_main)
