"""`grader check NOTEBOOK`: grade one notebook (argument parsing only; the work is in grader.checking)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli.options import add_grading_options, grading_options
from grader.errors import GraderError

EPILOG = (
    "Exit status: 0 every check passed; 1 a check failed or the notebook is unreadable; 2 the grader could not run."
)


def cmd_check(args: argparse.Namespace) -> int:
    from grader.warm.client import check_through_server, wanted

    argv = getattr(args, "argv", None)  # set by grader.cli.main: the command line as typed
    if argv and wanted(args):
        code = check_through_server(list(argv), args)
        if code is not None:
            return code
    return check_cold(args)


def check_cold(args: argparse.Namespace) -> int:
    """Grade in this process (what the warm server runs too, in a fork of itself)."""
    from grader.checking import Outputs, check_notebook
    from grader.feedback import render_text
    from grader.integrations.github import inert_in_ci

    options = grading_options(args, select=args.exercise)
    outputs = Outputs(results=args.results, feedback=args.feedback, junit=args.junit, markdown=args.markdown)
    try:
        result, assignment = check_notebook(
            args.notebook, args.assignment, options=options, outputs=outputs, with_files=tuple(args.with_files or ())
        )
    except GraderError as exc:
        if args.github:
            from grader.integrations.github import report_error_to_github

            report_error_to_github(str(exc))
        raise
    if not args.quiet:
        from grader.staleness import drift_warning

        print(inert_in_ci(render_text(result, title=assignment.title)))
        if drift_warning(assignment):
            print(drift_warning(assignment), file=sys.stderr)
        for label, path in (("results", args.results), ("feedback", args.feedback), ("junit", args.junit)):
            if path:
                print(f"{label}: {path}")
    if args.github:
        from grader.integrations.github import report_to_github

        report_to_github(result, assignment)
    return result.exit_code


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="grade one notebook", epilog=EPILOG)
    p.add_argument(
        "notebook",
        type=Path,
        metavar="NOTEBOOK",
        help="the .ipynb to grade (the other files of its folder come with it), or a .zip or a folder "
        "holding it and its files (the notebook picked as `grader batch` picks it)",
    )
    p.add_argument(
        "--with",
        dest="with_files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="files (or folders) the notebook needs, shown read-only in its working folder",
    )
    p.add_argument(
        "--assignment",
        type=Path,
        metavar="DIR",
        help="the assignment folder (default: the notebook's slug under ./assignments)",
    )
    p.add_argument("--results", type=Path, metavar="FILE", help="write results.json (Gradescope schema)")
    p.add_argument("--feedback", type=Path, metavar="FILE", help="write the HTML feedback page")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary")
    p.add_argument("--exercise", metavar="NAME", help="run only the checks of this exercise (pytest -k expression)")
    p.add_argument(
        "--github",
        action="store_true",
        help="report to GitHub Actions / Classroom (step summary, outputs, annotations)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; use the exit status and files")
    p.add_argument(
        "--no-server",
        action="store_true",
        help="grade in this process, not through your warm server (also GRADER_NO_SERVER=1)",
    )
    add_grading_options(p)
    p.set_defaults(func=cmd_check)
