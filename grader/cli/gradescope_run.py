"""`grader gradescope-run`: grade the submission inside Gradescope's image (argument parsing only;
the work is in grader.integrations.gradescope.run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli.gradescope import EPILOG


def cmd_gradescope_run(args: argparse.Namespace) -> int:
    from grader.integrations.gradescope import run

    return run(args.root)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "gradescope-run",
        epilog=EPILOG,
        help="grade the submission inside Gradescope's image (what run_autograder calls)",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="the autograder root (default: $GRADER_AUTOGRADER_ROOT, else /autograder)",
    )
    p.set_defaults(func=cmd_gradescope_run)
