"""The `grader` command: the top-level parser and the error handling; each command's arguments
are in its own module (grader.cli.check, .batch, .serve, .release, .export, .similarity, .gradescope,
.gradescope_run, .assign, .new, .server)."""

from __future__ import annotations

import argparse
import os
import sys

from grader.version import __version__
from grader.cli import assign, batch, check, export, gradescope, gradescope_run, new, release, serve, server, similarity
from grader.errors import GraderError

EPILOG = (
    "Exit status: 0 every check passed; 1 a check failed or the notebook is unreadable; 2 the grader could not run."
)
COMMANDS = (
    check,
    assign,
    new,
    batch,
    serve,
    release,
    similarity,
    export,
    gradescope,
    gradescope_run,
    server,
)  # in the order `grader --help` lists them


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"grader: error: {message}\n  see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="grader", description="Grade PyTorch notebook exercises, safely and fast.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS:
        command.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed: `grader check` hands it to the warm server
    try:
        return int(args.func(args))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `grader ... | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
