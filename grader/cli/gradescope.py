"""`grader gradescope` (build the autograder zip) and `grader gradescope-run` (grade inside it)."""
from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = "Exit status: 0 every check passed; 1 a check failed or the notebook is unreadable; 2 the grader could not run."


def _assignment(value: str):  # type: ignore[no-untyped-def]
    """The student folder assignments/<slug>: never a master folder, whose notebook holds the solutions."""
    from grader.config import find_assignment, load_assignment
    from grader.errors import UsageError

    path = Path(value).resolve()
    if path.parent.name == "solutions" and (path / "assignment.toml").is_file():
        twin = path.parent.parent / "assignments" / path.name
        if not (twin / "assignment.toml").is_file():
            raise UsageError(f"{value} is a master folder (its notebook holds the solutions)",
                             hint=f"run `grader assign {value}` first, then give assignments/{path.name}")
        print(f"note: using the student folder {twin} (hidden checks still come from {path / 'checks'})")
        path = twin
    if (path / "assignment.toml").is_file():
        return load_assignment(path)
    return find_assignment(value)


def cmd_gradescope(args: argparse.Namespace) -> int:
    from grader.integrations.gradescope import TORCH_INDEX, TORCH_VERSION, build_zip

    assignment = _assignment(args.assignment)
    report = build_zip(assignment, args.out, hidden=not args.no_hidden, sandbox=args.sandbox)
    size = report.path.stat().st_size
    print(f"wrote {report.path} ({size / 1024:.0f} KB, {len(report.files)} files) for '{assignment.title}'")
    print(f"  checks: {report.public_checks} public file(s), {report.hidden_checks} hidden file(s)"
          + ("" if report.hidden_checks or args.no_hidden else " (no solutions/<slug>/checks found)"))
    print(f"  sandbox: {args.sandbox}")
    print(f"  setup.sh installs torch=={TORCH_VERSION} from {TORCH_INDEX} (CPU), the grader, and bubblewrap")
    print("  next: Gradescope > your Programming Assignment > Configure Autograder > Zip file upload")
    return 0


def cmd_gradescope_run(args: argparse.Namespace) -> int:
    from grader.integrations.gradescope import run

    return run(args.root)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gradescope", help="build a Gradescope autograder zip for an assignment", epilog=EPILOG)
    p.add_argument("assignment", metavar="ASSIGNMENT",
                   help="the assignment folder (holding assignment.toml), or its slug under ./assignments")
    p.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="FILE",
                   help="where to write the zip (default: autograder.zip)")
    p.add_argument("--no-hidden", action="store_true",
                   help="leave the hidden checks (solutions/<slug>/checks) out of the zip")
    p.add_argument("--sandbox", choices=["auto", "none", "require"], default="auto",
                   help="the kernel sandbox on Gradescope: auto (bubblewrap where the image allows it, else "
                        "limits only), none, or require (no verdicts without it)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("gradescope-run", epilog=EPILOG,
                       help="grade the submission inside Gradescope's image (what run_autograder calls)")
    p.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="the autograder root (default: $GRADER_AUTOGRADER_ROOT, else /autograder)")
    p.set_defaults(func=cmd_gradescope_run)
