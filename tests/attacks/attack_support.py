"""The attack suite's machinery: grade each attack notebook once, then check the host.

An attack is graded with grader.grade.grade(), the one code path of every command, with
the sandbox the machine has (`auto`). While it runs, a spy on sandbox.spec.kernel_spec records
the uid and tag of every kernel it starts, so that afterwards the suite can tell whether any
process of that kernel is still alive. The host checks:

- the checkout: tests/attacks/SENTINEL.txt keeps its bytes; no file named PWNED* appeared
  in it; no file of the grader's package was appended to;
- the processes: none of the kernel's uid or tag, none with an attack's marker in its command;
- the network: a TCP listener on the host's 127.0.0.1 received no connection;
- /tmp and /var/tmp of the host: no file named PWNED*;
- the grader: it is this process, alive enough to check all of the above.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
NOTEBOOKS = HERE / "notebooks"
SENTINEL = HERE / "SENTINEL.txt"
SENTINEL_BYTES = SENTINEL.read_bytes()
MARK = "PWNED"
PORTS = range(47011, 47021)  # the attack notebooks try every one of them
PROCESS_MARKERS = ("987654", "987655", "987656", "987657", "987658")


def sandbox_reason() -> str:
    """'' when bubblewrap can sandbox a kernel here, else why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    from grader.sandbox.isolation import bwrap_works

    reason = bwrap_works(bwrap)
    return f"bubblewrap cannot run here: {reason}" if reason else ""


SANDBOX_REASON = sandbox_reason()
if SANDBOX_REASON and os.environ.get("GRADER_REQUIRE_SANDBOX_TESTS"):
    raise RuntimeError(f"GRADER_REQUIRE_SANDBOX_TESTS is set (CI) but {SANDBOX_REASON}")
needs_sandbox = [
    pytest.mark.sandbox,
    pytest.mark.skipif(bool(SANDBOX_REASON), reason=f"needs the sandbox: {SANDBOX_REASON}"),
]


# -- the host's loopback ------------------------------------------------------------------


class Listener:
    """A TCP server on the host's 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = 0
        for port in PORTS:
            try:
                self.sock.bind(("127.0.0.1", port))
                self.port = port
                break
            except OSError:
                continue
        if not self.port:
            self.sock.close()
            raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} for the loopback listener")
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


# -- processes ----------------------------------------------------------------------------


def _proc(pid: str, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def live_processes() -> list[dict[str, Any]]:
    """Every live (non-zombie) process: pid, uid, command line, environment."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        status = _proc(pid, "status").decode("utf-8", "replace")
        state = re.search(r"^State:\s+(\S)", status, re.M)
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        if not uid or (state and state.group(1) in "ZX"):
            continue
        out.append(
            {
                "pid": int(pid),
                "uid": int(uid.group(1)),
                "cmdline": _proc(pid, "cmdline").replace(b"\0", b" ").decode("utf-8", "replace"),
                "environ": _proc(pid, "environ"),
            }
        )
    return out


# -- grading an attack --------------------------------------------------------------------


@dataclass
class Attack:
    name: str
    result: Any
    seconds: float
    uids: set[int] = field(default_factory=set)  # of every kernel shut down so far in this session
    tags: set[str] = field(default_factory=set)
    launched: int = 0  # kernels launched while it was graded

    @property
    def reports(self) -> list[Any]:
        """What the notebook's REPORT cells said (JSON when it parses, else the text)."""
        out = []
        for cell in self.result.cells:
            text = cell.evalue or ""
            if text.startswith("REPORT "):
                body = text[len("REPORT ") :]
                try:
                    out.append(json.loads(body))
                except ValueError:
                    out.append(body)
        return out

    def report(self) -> Any:
        assert self.reports, f"{self.name}: the notebook's REPORT cell did not report: {self.result.cells}"
        return self.reports[0]

    def exercise(self, name: str) -> tuple[float, float]:
        return self.result.exercise_scores()[name]

    def checks(self, exercise: str) -> list[Any]:
        return [c for c in self.result.checks if c.exercise == exercise]

    def cell(self, index: int) -> list[Any]:
        """The verdict's notes on the notebook's cell `index` (0 is the attack's title, markdown)."""
        return [c for c in self.result.cells if c.index == index]


class Launches:
    """Every kernel sandbox.spec.kernel_spec describes in this session: its workdir, uid and tag.

    Installed once, before any kernel starts, so that it also sees kernels launched ahead of
    time (a fork server's spares). A kernel whose workdir is gone has been shut down: no
    process of its uid or tag may be alive.
    """

    def __init__(self) -> None:
        self.records: dict[str, tuple[int | None, str]] = {}
        from grader.sandbox import spec

        self.original = original = spec.kernel_spec
        records = self.records

        def kernel_spec(isolation, limits, workdir, *args, **kwargs):  # type: ignore[no-untyped-def]
            made = original(isolation, limits, workdir, *args, **kwargs)
            records[str(workdir)] = (made.uid, made.tag)
            return made

        self.spy = kernel_spec
        spec.kernel_spec = kernel_spec
        self.repatch()

    def repatch(self) -> None:
        """Point every grader module that imported kernel_spec by name at the spy."""
        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("grader") and getattr(mod, "kernel_spec", None) is self.original:
                mod.kernel_spec = self.spy

    def finished(self) -> tuple[set[int], set[str]]:
        """uids and tags of the kernels already shut down."""
        uids, tags = set(), set()
        for workdir, (uid, tag) in list(self.records.items()):
            if not os.path.exists(workdir):
                if uid is not None:
                    uids.add(uid)
                if tag:
                    tags.add(tag)
        return uids, tags


LAUNCHES = Launches()


class Attacks:
    """Grades each attack notebook once per session, under the sandbox mode asked for."""

    def __init__(self) -> None:
        self.graded: dict[tuple[str, str], Attack] = {}

    def grade(self, name: str, sandbox: str = "auto") -> Attack:
        key = (name, sandbox)
        if key not in self.graded:
            from grader.course import load_assignment
            from grader.grade import Options, grade

            path = NOTEBOOKS / f"{name}.ipynb"
            assert path.is_file(), f"no attack notebook {path}: run tests/attacks/make_notebooks.py"
            started = time.monotonic()
            LAUNCHES.repatch()
            before = set(LAUNCHES.records)
            result = grade(path, load_assignment(MINI), Options(sandbox=sandbox))
            seconds = time.monotonic() - started
            LAUNCHES.repatch()
            uids, tags = LAUNCHES.finished()
            self.graded[key] = Attack(name, result, seconds, uids, tags, launched=len(set(LAUNCHES.records) - before))
        return self.graded[key]


# -- the host, afterwards -----------------------------------------------------------------


def _named_pwned(folder: Path, skip: tuple[str, ...] = (".venv", ".git", "node_modules")) -> list[str]:
    found = []
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        found += [os.path.join(base, n) for n in dirs + files if MARK in n]
    return found


def host_problems(attack: Attack, listener: Listener | None = None) -> list[str]:
    """What the attack changed on the host: [] when the host is intact."""
    problems = []
    if SENTINEL.read_bytes() != SENTINEL_BYTES:
        problems.append(f"{SENTINEL} was changed")
    problems += [f"{p} appeared in the checkout" for p in _named_pwned(ROOT)]
    for source in (ROOT / "grader").rglob("*.py"):
        if f"# {MARK}" in source.read_text(encoding="utf-8", errors="replace"):
            problems.append(f"{source} was written to")
    for tmp in ("/tmp", "/var/tmp"):
        try:
            problems += [f"{tmp}/{n} was written on the host" for n in os.listdir(tmp) if MARK in n]
        except OSError:
            pass
    problems += [f"{n} appeared in the grader's folder" for n in os.listdir(os.getcwd()) if MARK in n]
    finished_uids, finished_tags = LAUNCHES.finished()
    uids, tags = attack.uids | finished_uids, attack.tags | finished_tags
    deadline = time.monotonic() + 3.0  # a process killed a moment ago may still be exiting
    while True:
        left = []
        for proc in live_processes():
            if proc["pid"] == os.getpid():
                continue
            if proc["uid"] in uids:
                left.append(f"pid {proc['pid']} of the kernel's uid {proc['uid']} is alive: {proc['cmdline'][:80]}")
            elif any(f"GRADER_SANDBOX_TAG={tag}".encode() in proc["environ"].split(b"\0") for tag in tags):
                left.append(f"pid {proc['pid']} of the kernel (by its tag) is alive: {proc['cmdline'][:80]}")
            elif any(marker in proc["cmdline"] for marker in PROCESS_MARKERS):
                left.append(f"pid {proc['pid']} started by an attack is alive: {proc['cmdline'][:80]}")
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    problems += left
    if listener is not None and listener.connections:
        problems.append(f"the host's 127.0.0.1:{listener.port} accepted {len(listener.connections)} connection(s)")
    return problems
