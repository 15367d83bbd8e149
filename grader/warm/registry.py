"""The user's warm servers, as their folder records them: which are running, what each costs, and
stopping them.

Each server writes `check-<key>.json` beside its socket once it accepts (ServerInfo: its pid,
key, assignment folder, socket, when it started and when it last graded) and removes it when it
leaves. A new server for an assignment stops the older ones of that assignment (`replace_older`):
an edit of a check or of assignment.toml makes a new key, and the old server would otherwise
idle for ten minutes, with its zygote. `grader server list` and `grader server stop` read the
same records. A pid is signalled only after /proc says it is still a warm server on that socket.
Cheap to import: no torch, no grader engine.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ServerInfo", "info_path", "memory_bytes", "record", "replace_older", "servers", "stop", "touch"]

STOP_WAIT = 10.0  # seconds a server gets to leave after SIGTERM before SIGKILL


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    key: str
    assignment: str  # the assignment folder, resolved
    socket: str
    started: float  # time.time()
    last_used: float  # time.time() of the last check it graded (its start, before any)


def info_path(socket_path: Path) -> Path:
    return socket_path.with_suffix(".json")


def record(info: ServerInfo) -> None:
    """Write the server's record beside its socket (replaced whole: a reader never sees half)."""
    path = info_path(Path(info.socket))
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(asdict(info)) + "\n", encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def touch(info: ServerInfo) -> ServerInfo:
    """The record with `last_used` now, written."""
    updated = ServerInfo(**{**asdict(info), "last_used": time.time()})
    record(updated)
    return updated


def _read(path: Path) -> ServerInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(
            pid=int(data["pid"]),
            key=str(data["key"]),
            assignment=str(data["assignment"]),
            socket=str(data["socket"]),
            started=float(data["started"]),
            last_used=float(data["last_used"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_server(info: ServerInfo) -> bool:
    """Is info.pid, now, a warm server listening on info.socket (not a pid reused since)?"""
    try:
        with open(f"/proc/{info.pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return b"grader.warm.server" in argv and os.fsencode(info.socket) in argv


def servers(folder: Path) -> list[ServerInfo]:
    """The servers running from `folder`, oldest first; the records of servers gone are removed."""
    found = []
    for path in sorted(folder.glob("check-*.json")):
        info = _read(path)
        if info is not None and is_server(info):
            found.append(info)
        else:
            path.unlink(missing_ok=True)
    return sorted(found, key=lambda i: i.started)


def stop(info: ServerInfo, wait: float = STOP_WAIT) -> bool:
    """Ask the server to leave (SIGTERM: it removes its socket and records, and stops its zygote
    and spare kernel); SIGKILL after `wait` seconds. False when it was not running."""
    if not is_server(info):
        return False
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and is_server(info):
        time.sleep(0.05)
    if is_server(info):
        try:
            os.kill(info.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    info_path(Path(info.socket)).unlink(missing_ok=True)
    return True


def replace_older(folder: Path, me: ServerInfo) -> list[ServerInfo]:
    """Stop the other servers of my assignment (an older key: the checks, the toml, the grader or
    the environment changed); the ones stopped."""
    stopped = []
    for info in servers(folder):
        if info.pid != me.pid and info.assignment == me.assignment and stop(info):
            stopped.append(info)
    return stopped


# -- what a server costs -----------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _memory_of(pid: int, field: bytes) -> int:
    """A process's `field` (b"Pss:" or b"Rss:") from smaps_rollup, in bytes; 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_bytes(pid: int, field: bytes = b"Pss:") -> int:
    """The memory of a server and every process under it (its zygote and spare kernel): the sum of
    their proportional set sizes (pages shared between them counted once), or of their RSS."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _memory_of(current, field)
        todo += tree.get(current, [])
    return total
