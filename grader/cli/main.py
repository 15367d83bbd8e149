"""The `grader` command: argument parsing only; the work is in library functions."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from grader import __version__
from grader.errors import GraderError

EPILOG = "Exit status: 0 every check passed; 1 a check failed or the notebook is unreadable; 2 the grader could not run."


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"grader: error: {message}\n  see `{self.prog} --help`\n")


def _add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where the student's functions run (default: auto = cuda, then mps, then cpu)")
    sandbox = p.add_mutually_exclusive_group()
    sandbox.add_argument("--require-sandbox", action="store_true",
                         help="fail (exit 2) instead of grading without the bubblewrap sandbox")
    sandbox.add_argument("--no-sandbox", action="store_true", help="grade with limits only, without bubblewrap")
    p.add_argument("--no-hidden", action="store_true", help="run only the public checks, even where solutions/ is present")
    p.add_argument("--no-fork-server", action="store_true",
                   help="start a plain kernel per submission instead of forking one from the fork server (slower; same verdicts)")


def sandbox_mode(args: argparse.Namespace) -> str:
    return "require" if args.require_sandbox else "none" if args.no_sandbox else "auto"


def inert_in_ci(text: str) -> str:
    """Feedback quotes the student's words; in GitHub Actions a quoted line such as
    `::set-output name=result::...` would be a workflow command. Commands are off around it."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return text
    import secrets

    token = secrets.token_hex(16)
    return f"::stop-commands::{token}\n{text}\n::{token}::"


def cmd_check(args: argparse.Namespace) -> int:
    from grader.checking import Outputs, check_notebook
    from grader.feedback import render_text
    from grader.grade import Options

    options = Options(device=args.device, sandbox=sandbox_mode(args), hidden=not args.no_hidden, select=args.exercise,
                      fork_server=not args.no_fork_server)
    outputs = Outputs(results=args.results, feedback=args.feedback, junit=args.junit, markdown=args.markdown)
    try:
        result, assignment = check_notebook(args.notebook, args.assignment, options=options, outputs=outputs)
    except GraderError as exc:
        if getattr(args, "github", False):
            from grader.integrations.github import report_error_to_github

            report_error_to_github(str(exc))
        raise
    if not args.quiet:
        print(inert_in_ci(render_text(result, title=assignment.title)))
        for label, path in (("results", args.results), ("feedback", args.feedback), ("junit", args.junit)):
            if path:
                print(f"{label}: {path}")
    if getattr(args, "github", False):
        from grader.integrations.github import report_to_github

        report_to_github(result, assignment)
    return result.exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="grader", description="Grade PyTorch notebook exercises, safely and fast.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("check", help="grade one notebook", epilog=EPILOG)
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("--assignment", type=Path, metavar="DIR",
                   help="the assignment folder (default: the notebook's slug under ./assignments)")
    p.add_argument("--results", type=Path, metavar="FILE", help="write results.json (Gradescope schema)")
    p.add_argument("--feedback", type=Path, metavar="FILE", help="write the HTML feedback page")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary")
    p.add_argument("--exercise", metavar="NAME", help="run only the checks of this exercise (pytest -k expression)")
    p.add_argument("--github", action="store_true",
                   help="report to GitHub Actions / Classroom (step summary, outputs, annotations)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; use the exit status and files")
    _add_grading_options(p)
    p.set_defaults(func=cmd_check)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """Other commands register their parsers here (batch, assign, new, gradescope, ...)."""
    found = []
    for module in ("grader.cli.authoring", "grader.cli.batch", "grader.cli.gradescope"):
        try:
            mod = __import__(module, fromlist=["add_parsers"])
        except ModuleNotFoundError as exc:
            if not exc.name or not module.startswith(exc.name):
                raise
            continue
        found.append(mod.add_parsers)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
