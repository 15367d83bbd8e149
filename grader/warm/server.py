"""The warm server: `python -m grader.warm.server --socket PATH --key NAME --assignment ROOT --checks DIR...`.

Started detached (its own session) by `grader check` on first use. It starts the zygote, then
imports torch, pytest, the grader and the templates (grader/batch/_warm.py, the batch's
warm-up) while the zygote boots, collects the assignment's checks (none of them run), and
forks a spare kernel; then it answers on its unix socket: each request is graded in a
fresh fork of this process (which dies with it), running the same `grader.cli.main.main` a
cold `grader check` runs, in the client's folder, umask and environment; the child writes the
files asked for and sends back what it printed and its exit status.

Every check gets its own forked, sandboxed kernel from the zygote: the spare, forked before
the request came and never used, which the check's process takes over (this process holds no
connection to it, no thread, no zmq: `Spares`), or a fresh fork where the check needs another
(files of its own, another sandbox or environment). After each check the next spare is
forked; nothing of one check's process or kernel reaches the next.

It refuses connections of other uids, and requests whose key (grader sources, assignment's
checks, environment) is not the one it computed itself at start; it leaves after `--idle`
seconds without a request (default ten minutes), removing its socket, or on SIGTERM. Once it
accepts, it records itself beside its socket (grader.warm.registry) and stops the older servers
of the same assignment.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from grader.warm import registry, wire
from grader.warm.identity import ServerKey, server_key

IDLE_SECONDS = 600.0
IDLE_VAR = "GRADER_SERVER_IDLE"


def listen(path: Path) -> socket.socket:
    """Bind beside `path` and rename onto it: a client never sees a socket that does not accept yet."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(temporary))
    os.chmod(temporary, 0o600)
    sock.listen(16)
    os.replace(temporary, path)
    return sock


def warm_up() -> None:
    """What every check needs, loaded once: the zygote started first (it imports torch in its own
    process, on the other core), then the grader and its imports here."""
    from grader.sandbox.forkserver import SHARED_VAR, share_for_workers

    # its own zygote, never one a client's environment names (a batch's, which ends with the batch)
    os.environ.pop(SHARED_VAR, None)
    reason = share_for_workers("auto")
    if reason:
        print(f"grader warm server: no zygote ({reason}); checks start plain kernels", file=sys.stderr)
    import importlib

    from grader.collector import paused
    from grader.preloads import WARM_SERVER_MODULES

    with paused():  # all of the warm-up without the collector, then frozen (grader.collector)
        import grader.batch._warm  # noqa: F401 - imports, a pytest session
        from grader.feedback.render import compile_templates

        compile_templates()  # a check renders its feedback here (a batch's worker renders none: its CLI does)
        for name in WARM_SERVER_MODULES:  # what a check imports beyond the batch's
            importlib.import_module(name)


class Spares:
    """A spare kernel forked ahead of each check, for the assignment this server grades: the check's
    process (a fork of this one) takes it over and connects to it (FastKernels.prefork, hand_over)."""

    def __init__(self, assignment_root: Path) -> None:
        self.assignment_root = assignment_root
        self._assignment: Any = None

    def assignment(self) -> Any:
        """The assignment, read once (its assignment.toml and checks are in the server's key)."""
        if self._assignment is None:
            from grader.course import load_assignment

            self._assignment = load_assignment(self.assignment_root)
        return self._assignment

    def collect_checks(self) -> None:
        """Collect the assignment's checks here, once (pytest configured, the check modules
        imported, their tests found: grader.checks.session): each check's fork runs them, and
        none of them has run in this process."""
        try:
            from grader.checks.plugin import prepare_checks
            from grader.grade import check_paths

            why = prepare_checks(*check_paths(self.assignment(), True))  # as a check's grade() asks for them
            if why:
                print(f"grader warm server: checks not collected ahead ({why})", file=sys.stderr)
        except Exception as exc:  # only a head start: each check collects them itself
            print(f"grader warm server: checks not collected ahead ({type(exc).__name__}: {exc})", file=sys.stderr)
        import gc

        gc.collect()
        gc.freeze()  # as after the warm-up: a check's collections skip all of it

    def fork_one(self) -> None:
        try:
            from grader.sandbox.forkserver import default_kernels
            from grader.sandbox.isolation import detect

            default_kernels().prefork(self.assignment(), detect("auto"))
        except Exception as exc:  # only a head start: the check forks its own kernel
            print(f"grader warm server: no spare kernel ({type(exc).__name__}: {exc})", file=sys.stderr)

    @staticmethod
    def hand_over() -> None:
        from grader.sandbox.forkserver import default_kernels

        default_kernels().hand_over()

    @staticmethod
    def close() -> None:
        from grader.sandbox.forkserver import default_kernels

        default_kernels().close()


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """In the child: `grader check` as the client asked for it, its output captured."""
    import contextlib
    import io
    import traceback

    from grader.cli.main import main
    from grader.sandbox.zygote_process import SHARED_VAR

    shared = os.environ.get(SHARED_VAR)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    os.environ["GRADER_NO_SERVER"] = "1"  # this child is the cold path
    if shared:
        os.environ[SHARED_VAR] = shared
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in request["argv"]])
        except SystemExit as exc:  # argparse: --help, a usage error
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            Spares.close()  # a spare this check did not take ends with it
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "code": code}


def _die_with_parent() -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(1)


def serve_one(listener: socket.socket, conn: socket.socket, key: ServerKey, spares: Spares) -> None:
    with conn:
        if not wire.same_user(conn):
            return
        try:
            request = wire.receive(conn)
        except (wire.WireError, OSError):
            return
        if request.get("key") != key.name:
            wire.send(conn, {"refused": f"this server grades with key {key.name}, not {request.get('key')}"})
            return
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _die_with_parent()
                listener.close()
                wire.send(conn, run_request(request))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        spares.hand_over()
        os.waitpid(pid, 0)


def serve(path: Path, key: ServerKey, idle: float, spares: Spares) -> None:
    spares.collect_checks()
    spares.fork_one()
    listener = listen(path)
    inode = os.stat(path).st_ino
    pid_file = path.with_suffix(".pid")
    pid_file.write_text(f"{os.getpid()}\n")
    now = time.time()
    me = registry.ServerInfo(
        pid=os.getpid(),
        key=key.name,
        assignment=str(spares.assignment_root.resolve()),
        socket=str(path),
        started=now,
        last_used=now,
    )
    registry.record(me)
    for old in registry.replace_older(path.parent, me):  # the same assignment's older servers
        print(f"grader warm server {key.name}: stopped the older server {old.key} (pid {old.pid})", file=sys.stderr)
    listener.settimeout(idle)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                return
            conn.settimeout(None)
            serve_one(listener, conn, key, spares)
            if not _still_ours(path, inode):
                return  # replaced or removed: a newer server owns the name
            me = registry.touch(me)
            spares.fork_one()  # for the next check, while nobody waits
    finally:
        if _still_ours(path, inode):
            path.unlink()
            pid_file.unlink(missing_ok=True)
            registry.info_path(path).unlink(missing_ok=True)
        listener.close()
        spares.close()


def _leave(signum: int, frame: Any) -> None:
    """SIGTERM (`grader server stop`, a newer server of the assignment): leave as after the idle
    time: socket and records removed, the spare and the zygote (atexit) stopped."""
    raise SystemExit(0)


def _still_ours(path: Path, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.warm.server")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--key", required=True, help="the key the client computed; must be this server's own")
    parser.add_argument("--assignment", type=Path, required=True)
    parser.add_argument("--checks", type=Path, nargs="*", default=[])
    args = parser.parse_args(argv)
    key = server_key(args.assignment, tuple(args.checks))  # before loading anything: the sources it will run
    if key.name != args.key:
        print(f"grader warm server: asked for key {args.key}, but these sources make {key.name}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _leave)
    started = time.monotonic()
    warm_up()
    print(f"grader warm server {key.name}: ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    serve(args.socket, key, float(os.environ.get(IDLE_VAR, IDLE_SECONDS)), Spares(args.assignment))
    return 0


if __name__ == "__main__":
    sys.exit(main())
