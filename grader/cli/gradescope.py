"""`grader gradescope ASSIGNMENT`: build the Gradescope autograder zip (argument parsing only; the
work is in grader.integrations.gradescope_zip)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli.options import GRADESCOPE_SANDBOX_HELP, SANDBOX_MODES

EPILOG = (
    "Exit status: 0 every check passed; 1 a check failed or the notebook is unreadable; 2 the grader could not run."
)


def cmd_gradescope(args: argparse.Namespace) -> int:
    from grader.course import CHECKS, find_student_assignment
    from grader.integrations.gradescope_zip import TORCH_INDEX, TORCH_VERSION, build_zip

    assignment, master = find_student_assignment(args.assignment)
    if master is not None:
        print(f"note: using the student folder {assignment.root} (hidden checks still come from {master / CHECKS})")
    report = build_zip(assignment, args.out, hidden=not args.no_hidden, sandbox=args.sandbox)
    size = report.path.stat().st_size
    print(f"wrote {report.path} ({size / 1024:.0f} KB, {len(report.files)} files) for '{assignment.title}'")
    print(
        f"  checks: {report.public_checks} public file(s), {report.hidden_checks} hidden file(s)"
        + ("" if report.hidden_checks or args.no_hidden else " (no solutions/<slug>/checks found)")
    )
    print(f"  sandbox: {args.sandbox}")
    print(f"  setup.sh installs torch=={TORCH_VERSION} from {TORCH_INDEX} (CPU), the grader, and bubblewrap")
    print("  next: Gradescope > your Programming Assignment > Configure Autograder > Zip file upload")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gradescope", help="build a Gradescope autograder zip for an assignment", epilog=EPILOG)
    p.add_argument(
        "assignment",
        metavar="ASSIGNMENT",
        help="the assignment folder (holding assignment.toml), or its slug under ./assignments",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("autograder.zip"),
        metavar="FILE",
        help="where to write the zip (default: autograder.zip)",
    )
    p.add_argument(
        "--no-hidden", action="store_true", help="leave the hidden checks (solutions/<slug>/checks) out of the zip"
    )
    p.add_argument("--sandbox", choices=list(SANDBOX_MODES), default="auto", help=GRADESCOPE_SANDBOX_HELP)
    p.set_defaults(func=cmd_gradescope)
