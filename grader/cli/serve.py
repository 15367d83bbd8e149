"""`grader serve`: the instructor's desk in the browser (argument parsing only; grader.desk)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.errors import UsageError

EXTRA_HINT = "pip install 'grader[desk]' (in a checkout: pip install -e '.[desk]')"


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="the instructor's desk: review, adjust and regrade a class in the browser",
        description="Serve the desk for GRADEBOOK (a batch's --out folder, or the database URL its --db "
        "named). Prints the address to open, with a login token, and serves until interrupted. "
        "Exit status: 2 when it cannot start (no gradebook, a database that cannot be reached, "
        "a course folder without the assignment, a port in use).",
    )
    p.add_argument("gradebook", nargs="?", metavar="GRADEBOOK", help="a batch's --out folder, or a database URL")
    p.add_argument(
        "--course",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the course folder: assignments/ and solutions/ (default: .)",
    )
    p.add_argument(
        "--submissions",
        type=Path,
        metavar="DIR",
        help="the class folder (or .zip) the batch graded: shows the notebooks and allows regrades",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    p.add_argument(
        "--users", type=Path, metavar="FILE", help="users.toml: the graders, their roles and password hashes"
    )
    p.add_argument(
        "--root-path", default="", metavar="P", help="the path prefix a reverse proxy serves the desk under (/desk)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="regrade on this Dask scheduler (as grader batch --scheduler)"
    )
    p.add_argument("--workers", type=int, metavar="N", help="regrade with N local workers (as grader batch --workers)")
    p.add_argument(
        "--extensions",
        type=Path,
        metavar="FILE",
        help="CSV student,due: each student's own due time (the file grader batch --extensions took)",
    )
    p.add_argument("--secure-cookies", action="store_true", help="send the session cookie over HTTPS only (behind TLS)")
    p.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password (twice) and print its hash for users.toml, then exit",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.hash_password:
        return hash_password()
    if not args.gradebook:
        raise UsageError("grader serve needs GRADEBOOK", hint="a batch's --out folder, or the URL its --db named")
    if args.root_path and not args.root_path.startswith("/"):
        raise UsageError(f"--root-path must start with /, not {args.root_path!r}", hint="e.g. --root-path /desk")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise UsageError(f"grader serve needs {exc.name}, which is not installed", hint=EXTRA_HINT) from None
    from grader.desk.app import ServeConfig, serve

    config = ServeConfig(
        gradebook=args.gradebook,
        course=args.course,
        host=args.host,
        port=args.port,
        users=args.users,
        root_path=args.root_path.rstrip("/"),
        submissions=args.submissions,
        scheduler=args.scheduler,
        workers=args.workers,
        secure_cookies=args.secure_cookies,
        extensions=args.extensions,
    )
    return serve(config)


def hash_password() -> int:
    import getpass

    from grader.desk.auth import hash_password as make

    if sys.stdin.isatty():
        first, second = getpass.getpass("password: "), getpass.getpass("again: ")
        if first != second:
            raise UsageError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < 8:
        raise UsageError("a password needs at least 8 characters")
    print(make(first))
    return 0
