"""The grading options, one definition for every front end: `grader check`, `grader batch`,
`grader gradescope` and the pytest plugin (`--notebook-device`, `--notebook-sandbox`).

Importing this module is cheap: the engine is imported only when options are turned into
`grader.options.Options`.
"""

from __future__ import annotations

import argparse

from grader.options import DEVICES, SANDBOX_MODES, Options, SandboxMode

__all__ = [
    "DEVICES",
    "DEVICE_HELP",
    "GRADESCOPE_SANDBOX_HELP",
    "NO_HIDDEN_HELP",
    "SANDBOX_HELP",
    "SANDBOX_MODES",
    "add_grading_options",
    "grading_options",
    "sandbox_mode",
]

DEVICE_HELP = "where the student's functions run (default: auto = cuda, then mps, then cpu)"
SANDBOX_HELP = "bubblewrap sandbox: auto (when it works), none, or require (exit 2 without it)"
GRADESCOPE_SANDBOX_HELP = (
    "the kernel sandbox on Gradescope: auto (bubblewrap where the image allows it, else "
    "limits only), none, or require (no verdicts without it)"
)
NO_HIDDEN_HELP = "run only the public checks, even where solutions/ is present"


def add_grading_options(p: argparse.ArgumentParser) -> None:
    """--device, --require-sandbox | --no-sandbox, --no-hidden, --no-fork-server."""
    p.add_argument("--device", default="auto", choices=list(DEVICES), help=DEVICE_HELP)
    sandbox = p.add_mutually_exclusive_group()
    sandbox.add_argument(
        "--require-sandbox", action="store_true", help="fail (exit 2) instead of grading without the bubblewrap sandbox"
    )
    sandbox.add_argument("--no-sandbox", action="store_true", help="grade with limits only, without bubblewrap")
    p.add_argument("--no-hidden", action="store_true", help=NO_HIDDEN_HELP)
    p.add_argument(
        "--no-fork-server",
        action="store_true",
        help="start a plain kernel per submission instead of forking one from the fork server (slower; same verdicts)",
    )


def sandbox_mode(args: argparse.Namespace) -> SandboxMode:
    return "require" if args.require_sandbox else "none" if args.no_sandbox else "auto"


def grading_options(args: argparse.Namespace, *, select: str | None = None) -> Options:
    """The Options of parsed arguments that went through add_grading_options."""
    return Options(
        device=args.device,
        sandbox=sandbox_mode(args),
        hidden=not args.no_hidden,
        select=select,
        fork_server=not args.no_fork_server,
    )
