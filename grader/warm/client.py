"""`grader check` through the warm server: find (or start) this user's server for this grader,
assignment and environment, send it the command line, print what it sends back.

Thin on purpose: json, socket and the assignment's config only; torch is imported by the cold
path alone. `check_through_server` returns the exit status, or None where the check must run
cold: --no-server or GRADER_NO_SERVER, --github, an assignment it cannot name, a folder that is
not the user's alone, a server that cannot start, refuses, or dies mid-check (that check then
runs again on the cold path: a verdict always comes from a completed check).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader.warm import wire
from grader.warm.identity import FolderRefused, ServerKey, interpreter, private_dir, server_dir, server_key, socket_path

START_TIMEOUT = 180.0  # torch, pytest and the zygote on a busy machine
NO_SERVER_VAR = "GRADER_NO_SERVER"


def wanted(args: argparse.Namespace) -> bool:
    return not (getattr(args, "no_server", False) or os.environ.get(NO_SERVER_VAR) or getattr(args, "github", False))


def assignment_of(args: argparse.Namespace) -> tuple[Path, tuple[Path, ...]]:
    """The assignment folder and its checks folders, as the cold path would find them (raises when it cannot)."""
    from grader.course import resolve_assignment
    from grader.submission.pick import submission_slug

    notebook: Path = args.notebook
    slug = submission_slug(notebook) if args.assignment is None else None
    assignment = resolve_assignment(args.assignment, slug, notebook if notebook.is_dir() else notebook.parent)
    return assignment.root.resolve(), tuple(p.resolve() for p in assignment.check_folders())


def _note(message: str) -> None:
    print(f"grader: {message}", file=sys.stderr)


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock


def _start(path: Path, key: ServerKey, root: Path, checks: tuple[Path, ...]) -> socket.socket | None:
    """Start the server (one starter at a time, under a lock) and wait until it accepts."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _connect(path)
        if sock is not None:
            return sock  # another `grader check` started it meanwhile
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parent.parent.parent)  # the folder this grader is imported from
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
        with open(path.with_suffix(".log"), "ab") as log:
            process = subprocess.Popen(
                [
                    interpreter(),
                    "-m",
                    "grader.warm.server",
                    "--socket",
                    str(path),
                    "--key",
                    key.name,
                    "--assignment",
                    str(root),
                    "--checks",
                    *map(str, checks),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=path.parent,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            sock = _connect(path)
            if sock is not None:
                return sock
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        _note(f"the warm server did not start (see {path.with_suffix('.log')}); checking without it")
        return None


def _exchange(sock: socket.socket, request: dict[str, Any]) -> dict[str, Any] | None:
    with sock:
        try:
            if wire.peer_uid(sock) != os.getuid():
                _note(f"the server at {request['socket']} is another user's; checking without it")
                return None
            wire.send(sock, request)
            return wire.receive(sock)
        except (wire.WireError, OSError):
            _note("the warm server stopped during the check; checking again without it")
            return None


def check_through_server(argv: list[str], args: argparse.Namespace) -> int | None:
    """The exit status of `grader check` run by the warm server, or None: run it cold."""
    try:
        root, checks = assignment_of(args)
    except Exception:
        return None  # the cold path says what is wrong, in its own words
    try:
        folder = private_dir(server_dir())
    except FolderRefused as exc:
        _note(f"not using the warm server: {exc}")
        return None
    key = server_key(root, checks)
    path = socket_path(folder, key)
    sock = _connect(path) or _start(path, key, root, checks)
    if sock is None:
        return None
    request = {
        "key": key.name,
        "argv": argv,
        "cwd": os.getcwd(),
        "umask": _umask(),
        "env": dict(os.environ),
        "socket": str(path),
    }
    reply = _exchange(sock, request)
    if reply is None:
        return None
    if "refused" in reply:
        _note(f"the warm server refused the check ({reply['refused']}); checking without it")
        return None
    sys.stdout.write(str(reply["stdout"]))
    sys.stderr.write(str(reply["stderr"]))
    sys.stdout.flush()
    return int(reply["code"])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
