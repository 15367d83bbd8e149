"""`grader server list` and `grader server stop [DIR...] [--all]`: the warm servers of `grader check`
(argument parsing and printing only; the records are grader.warm.registry's)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.errors import UsageError

EPILOG = (
    "A warm server (and its zygote and spare kernel) serves one assignment; it leaves after ten idle "
    "minutes, and a newer one for the same assignment replaces it. Exit status: 0 done; 2 the "
    "server folder is not yours alone, or nothing to stop was named."
)


def _folder() -> Path:
    from grader.warm.identity import FolderRefused, private_dir, server_dir

    try:
        return private_dir(server_dir())
    except FolderRefused as exc:
        raise UsageError(f"the warm servers' folder cannot be used: {exc}") from None


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def _ago(when: float) -> str:
    seconds = max(0.0, time.time() - when)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def cmd_list(args: argparse.Namespace) -> int:
    from grader.warm.registry import memory_bytes, servers

    folder = _folder()
    running = servers(folder)
    if not running:
        print(f"no warm server is running (folder {folder})")
        return 0
    print(f"{'PID':>8}  {'MEMORY':>9}  {'IDLE':>7}  ASSIGNMENT (KEY)")
    total = 0
    for info in running:
        size = memory_bytes(info.pid)
        total += size
        print(f"{info.pid:>8}  {_mb(size):>9}  {_ago(info.last_used):>7}  {info.assignment} ({info.key})")
    count = f"{len(running)} warm server{'s' if len(running) != 1 else ''}"
    print(f"{count}, {_mb(total)} in all (each: the server, its zygote and a spare kernel; proportional set size)")
    return 0


def _named(dirs: list[Path]) -> set[str]:
    """The assignment folders `dirs` name, or the current folder's assignment when none is given."""
    if dirs:
        return {str(d.resolve()) for d in dirs}
    from grader.course import resolve_assignment
    from grader.errors import AssignmentError

    try:
        return {str(resolve_assignment(None, None, Path.cwd()).root.resolve())}
    except AssignmentError:
        raise UsageError(
            "no assignment here to stop the server of",
            hint="name its folder (grader server stop assignments/<slug>), or stop every one with --all",
        ) from None


def cmd_stop(args: argparse.Namespace) -> int:
    from grader.warm.registry import servers, stop

    folder = _folder()
    if args.all and args.dirs:
        raise UsageError("give assignment folders or --all, not both")
    wanted = None if args.all else _named(list(args.dirs))
    chosen = [i for i in servers(folder) if wanted is None or i.assignment in wanted]
    stopped = [info for info in chosen if stop(info)]
    for info in stopped:
        print(f"stopped the warm server of {info.assignment} (pid {info.pid})")
    if not stopped:
        print(
            "no warm server " + ("is running" if wanted is None else "of " + ", ".join(sorted(wanted)) + " is running")
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("server", help="list or stop your warm servers of `grader check`", epilog=EPILOG)
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    listing = actions.add_parser("list", help="the running servers: pid, memory, idle time, assignment")
    listing.set_defaults(func=cmd_list)
    stopping = actions.add_parser("stop", help="stop the servers of assignments (default: this folder's) or --all")
    stopping.add_argument("dirs", type=Path, nargs="*", metavar="DIR", help="assignment folders whose servers to stop")
    stopping.add_argument("--all", action="store_true", help="stop every warm server of yours")
    stopping.set_defaults(func=cmd_stop)
