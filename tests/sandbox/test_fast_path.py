"""The fast path (kernels forked from the fork server) against the plain path (a fresh kernel
process per submission): the same verdicts, and a fresh kernel for every submission.

The verdicts compared are what a student and an instructor see: the score, every check's
status, points and message, every cell problem and every note. A sample class of
neural-net-basics (all its samples but the endless loop, which only waits out a 30 s
timeout) and every attack notebook of tests/attacks (os._exit, SIGKILL, endless loops,
fork bombs, patched torch.allclose, forged replies, ...) plus a few of this file's own that go
after the agent's doors are each graded both ways, one after the other.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

import nbformat
import pytest

from grader.course import load_assignment
from grader.grade import Options, default_kernel, grade
from grader.results import Result
from grader.sandbox.isolation import detect

ROOT = Path(__file__).resolve().parents[2]
NNB = ROOT / "assignments" / "neural-net-basics"
SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
ATTACKS = ROOT / "tests" / "attacks" / "notebooks"
SLOW_SAMPLES = {"cell_never_ends", "endless_loop_in_two_layer_forward"}  # each waits out a 30 s cell timeout

pytestmark = pytest.mark.slow

GOOD_MINI = [
    "import torch",
    "def activation(x):\n    return torch.sigmoid(x)",
    "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)",
]
CLOSE_DOOR = (
    "import gc, socket\n"
    "for s in [o for o in gc.get_objects() if isinstance(o, socket.socket) and o.family == socket.AF_UNIX]:\n"
    "    s.close()"
)
OWN_HOSTILE = {
    # the agent's doors, one after the other: its socket (the grader then asks with a shell
    # message), then its shell handler too (the grader then asks through a cell)
    "closes_agent_door": GOOD_MINI + [CLOSE_DOOR],
    "closes_door_steals_handler": GOOD_MINI
    + [CLOSE_DOOR, "get_ipython().kernel.shell_handlers.pop('grader_request', None)"],
    "steals_agent_handler": GOOD_MINI + ["get_ipython().kernel.shell_handlers.pop('grader_request', None)"],
    # and the agent itself goes: every call fails, the same way on both paths
    "deletes_agent": GOOD_MINI
    + ["import builtins\nfor n in [n for n in dir(builtins) if n.startswith('__grader_')]:\n    delattr(builtins, n)"],
    "exits_then_defines": [
        "import os, torch",
        "def activation(x):\n    return torch.sigmoid(x)",
        "os._exit(3)",
        "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)",
    ],
}

# What differs from one grading to the next on either path: the kernel's private folder, its
# uid, the agent's token, the sandbox tag; and the attack notebooks' REPORT lines, which list
# what the kernel could see of its machine (pids, uids, folder names, a racing fork bomb's
# count), not anything graded. The process tree and the view are compared on their own below.
RANDOM = [
    (re.compile(r"/tmp/grader-(?:kernel|forkserver)-[\w.-]+(?:/k-[\w.-]+)?"), "<workdir>"),
    (re.compile(r"grader-(?:kernel|forkserver)-[\w.-]+"), "<workdir>"),
    (re.compile(r"__grader_[0-9a-f]+__"), "<token>"),
    (re.compile(r"REPORT .*", re.S), "REPORT <what the notebook saw>"),
]


def normalise(text: str) -> str:
    for pattern, replacement in RANDOM:
        text = pattern.sub(replacement, text)
    return text


def verdict(result: Result) -> dict[str, Any]:
    return {
        "score": result.score,
        "max_score": result.max_score,
        "readable": result.readable,
        "status": result.status,
        "device": result.device,
        "isolation": result.isolation,
        "checks": [(c.nodeid, c.status, c.score, c.points, c.hidden, normalise(c.message)) for c in result.checks],
        "cells": [(i.index, i.kind, normalise(i.message)) for i in result.cells],
        "errors": [normalise(e) for e in result.errors],
    }


def own_notebooks(folder: Path) -> list[Path]:
    out = []
    for name, cells in OWN_HOSTILE.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        out.append(path)
    return out


def cases(tmp: Path) -> list[tuple[str, Path, Path]]:
    found = [(f"nnb/{p.stem}", NNB, p) for p in sorted(SAMPLES.glob("*.ipynb")) if p.stem not in SLOW_SAMPLES]
    found += [(f"attack/{p.stem}", MINI, p) for p in sorted(ATTACKS.glob("*.ipynb"))]
    found += [(f"own/{p.stem}", MINI, p) for p in own_notebooks(tmp)]
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Result, Result]]]:
    """Every case graded on the plain path, then on the fast path (alternating, so both see the same machine)."""
    tmp = tmp_path_factory.mktemp("fast-path")
    assignments: dict[Path, Any] = {}
    out: dict[str, tuple[Result, Result]] = {}
    for name, root, path in cases(tmp):
        assignment = assignments.setdefault(root, load_assignment(root))
        plain = grade(path, assignment, Options(fork_server=False))
        fast = grade(path, assignment, Options(fork_server=True))
        out[name] = (plain, fast)
    yield out


def test_the_sample_class_and_the_attacks_are_all_there(graded: dict[str, tuple[Result, Result]]) -> None:
    names = set(graded)
    assert {"nnb/correct", "nnb/kills_the_kernel", "nnb/truncated", "nnb/syntax_error_in_one_cell"} <= names
    assert {"attack/kernel_os_exit", "attack/endless_cell", "attack/fork_bomb", "attack/patch_allclose"} <= names
    assert len([n for n in names if n.startswith("attack/")]) >= 20


def test_fast_and_plain_paths_give_identical_verdicts(graded: dict[str, tuple[Result, Result]]) -> None:
    differ = {
        name: (verdict(plain), verdict(fast))
        for name, (plain, fast) in graded.items()
        if verdict(plain) != verdict(fast)
    }
    assert not differ, "\n\n".join(f"{name}:\n  plain {p}\n  fast  {f}" for name, (p, f) in differ.items())


def test_the_comparison_is_not_vacuous(graded: dict[str, tuple[Result, Result]]) -> None:
    """Hostile and broken submissions really were hostile and broken on both paths."""
    plain, fast = graded["nnb/kills_the_kernel"]
    assert any(i.kind == "dropped" for i in fast.cells) and any(i.kind == "dropped" for i in plain.cells)
    plain, fast = graded["own/exits_then_defines"]
    assert [i.message for i in fast.cells if i.kind == "dropped"] and fast.score == fast.max_score
    assert "exited with code 3" in " ".join(i.message for i in fast.cells)
    for name in ("own/steals_agent_handler", "own/closes_agent_door", "own/closes_door_steals_handler"):
        plain, fast = graded[name]
        assert fast.score == fast.max_score > 0, name  # the grader asked through another door
    plain, fast = graded["own/deletes_agent"]
    assert fast.score == 0 and "no answer came back" in fast.checks[0].message
    assert graded["nnb/correct"][1].score == graded["nnb/correct"][1].max_score > 0
    assert graded["nnb/truncated"][1].readable is False


# -- the fork server gives every submission a fresh kernel -------------------------------


def fork_server_reason() -> str:
    from grader.sandbox.forkserver import usable

    return usable(detect("auto"))


needs_fork_server = pytest.mark.skipif(
    bool(fork_server_reason()), reason=f"no fork server here: {fork_server_reason()}"
)


def _ask(kernel: Any, code: str) -> str:
    reply = kernel.execute(code, timeout=30)
    assert reply.status == "ok", (reply.ename, reply.evalue)
    return "".join(o.get("text", "") for o in reply.outputs if o.get("output_type") == "stream").strip()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _pids_of(uid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid and _alive(int(name)):
                    out.append(int(name))
            except OSError:
                pass
    return out


LEAVE_TRACES = """
import os, subprocess, sys
LEAK = 42
open('/tmp/leak-tmp', 'w').write('x')
open(os.path.join(os.environ['HOME'], 'leak-home'), 'w').write('x')
os.environ['LEAK_ENV'] = '1'
import torch; torch.manual_seed(1234); torch.nn.Linear = None
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
print(os.getpid(), os.getuid(), child.pid)
"""
LOOK_FOR_TRACES = """
import os, torch
print(repr(('LEAK' in globals(), os.path.exists('/tmp/leak-tmp'),
      os.path.exists(os.path.join(os.environ['HOME'], 'leak-home')), 'LEAK_ENV' in os.environ,
      torch.nn.Linear is None, torch.initial_seed() == 1234, \
sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))))
"""


@needs_fork_server
def test_each_submission_gets_a_fresh_forked_kernel_killed_after() -> None:
    from grader.sandbox.forkserver import FastKernels, ForkKernel

    assignment = load_assignment(MINI)
    isolation = detect("auto")
    kernels = FastKernels(prewarm=0)
    first = kernels(assignment, isolation)
    assert isinstance(first, ForkKernel)
    pid, uid, child = (int(x) for x in _ask(first, LEAVE_TRACES).split())
    host_pid = first.proc.pid  # the kernel, or its namespace's init
    assert uid != os.getuid() and len(_pids_of(uid)) >= 2  # the kernel and its sleeping child
    first.shutdown()
    deadline = time.monotonic() + 5
    while (_alive(host_pid) or _pids_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(host_pid), "the first kernel outlived its shutdown"
    assert _pids_of(uid) == [], "a process the first kernel started (its sleeping child) outlived it"

    second = kernels(assignment, isolation)
    try:
        assert second is not first and second.proc.pid != host_pid
        assert int(_ask(second, "import os; print(os.getuid())")) not in (uid, os.getuid())
        leak, tmp, home, env, patched, seed, pids = eval(_ask(second, LOOK_FOR_TRACES))
        assert (leak, tmp, home, env, patched, seed) == (False,) * 6
        if isolation.sandboxed:
            assert pids == [1, 2], f"the kernel sees processes beyond its own namespace: {pids}"
            assert pid == 2
    finally:
        second.shutdown()


REHEARSAL_LEFT = """
import linecache, sys
from pygments.lexers.python import PythonLexer
print(repr(('_tokens' in PythonLexer.__dict__, [k for k in linecache.cache if 'rehearsal' in k],
      'stack_data' in sys.modules)))
"""


@needs_fork_server
def test_kernels_forked_after_the_first_inherit_a_rehearsed_traceback_and_nothing_of_its_source() -> None:
    from grader.sandbox.forkserver import FastKernels

    assignment = load_assignment(MINI)
    isolation = detect("auto")
    kernels = FastKernels(prewarm=0)
    first = kernels(assignment, isolation)
    try:
        _ask(first, "x = 1")
    finally:
        first.shutdown()
    second = kernels(assignment, isolation)
    try:
        lexer_ready, rehearsal_lines, stack_data = eval(_ask(second, REHEARSAL_LEFT))
        assert lexer_ready and stack_data, "the zygote's idle rehearsal did not reach the next kernel"
        assert rehearsal_lines == []
        reply = second.execute(
            "def activation(x):\n    raise NotImplementedError('write me')\nactivation(1)", timeout=30
        )
        text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(reply.traceback))
        assert reply.ename == "NotImplementedError" and "----> 3 activation(1)" in text, text
        assert "raise NotImplementedError('write me')" in text and "rehearsal" not in text, text
    finally:
        second.shutdown()


@needs_fork_server
def test_a_spare_forked_ahead_is_taken_once_and_only_for_the_environment_it_was_forked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the warm server does between checks: a kernel forked ahead with no connection (no
    thread, no zmq), handed over to a child process (here: this one) that connects to it."""
    from grader.sandbox.forkserver import FastKernels, ForkKernel

    assignment = load_assignment(MINI)
    isolation = detect("auto")
    kernels = FastKernels(prewarm=0)
    try:
        assert kernels.prefork(assignment, isolation)
        (spare,) = kernels.spares
        assert isinstance(spare, ForkKernel) and spare.proc is not None and not spare.launched
        taken = kernels(assignment, isolation)
        assert taken is spare and _ask(taken, "print(6 * 7)") == "42"
        again = kernels(assignment, isolation)
        assert again is not spare and again.proc.pid != spare.proc.pid  # a spare serves one request
        again.shutdown()
        taken.shutdown()

        assert kernels.prefork(assignment, isolation)
        (spare,) = kernels.spares
        # passed on to kernels: the spare's sandbox differs (a value other than this machine's own)
        coretype = "Zen" if os.environ.get("OPENBLAS_CORETYPE") == "Haswell" else "Haswell"
        monkeypatch.setenv("OPENBLAS_CORETYPE", coretype)
        fresh = kernels(assignment, isolation)
        assert fresh is not spare and spare.workdir is None
        assert _ask(fresh, "import os; print(os.environ['OPENBLAS_CORETYPE'])") == coretype
        fresh.shutdown()
    finally:
        kernels.close()


@needs_fork_server
@pytest.mark.parametrize("mode", ["auto", "none"])
def test_a_restart_is_a_new_fork_and_the_dead_kernel_is_reported_like_a_plain_one(mode: str) -> None:
    from grader.sandbox.forkserver import FastKernels

    assignment = load_assignment(MINI)
    kernel = FastKernels(prewarm=0)(assignment, detect(mode))
    try:
        before = kernel.proc.pid
        reply = kernel.execute("import os; os._exit(7)", timeout=10)
        assert reply.status == "dead"
        assert kernel.proc.returncode == 7 and not kernel.alive
        kernel.restart()
        assert kernel.alive and kernel.proc.pid != before
        assert _ask(kernel, "print(1 + 1)") == "2"
        reply = kernel.execute("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", timeout=10)
        assert reply.status == "dead"
        expected = 128 + 9 if kernel.sandbox.sandboxed else -9  # bubblewrap's convention, or Popen's
        assert kernel.proc.returncode == expected
    finally:
        kernel.shutdown()


@needs_fork_server
@pytest.mark.parametrize("mode", ["auto", "none"])
def test_a_forked_kernel_has_the_plain_kernels_limits_and_view(mode: str) -> None:
    """What the kernel can see of itself: the same on both paths (limits, identity, capabilities,
    process tree, mounts, environment, open files, a garbage collector that runs: the zygote
    pauses its own only for its imports), with the sandbox and without."""
    from grader.sandbox.forkserver import FastKernels

    assignment = load_assignment(MINI)
    isolation = detect(mode)
    probe = """
import os, resource, socket, json, gc
limits = {n: resource.getrlimit(getattr(resource, n)) for n in
          ('RLIMIT_AS', 'RLIMIT_DATA', 'RLIMIT_FSIZE', 'RLIMIT_CPU', 'RLIMIT_CORE', 'RLIMIT_NPROC', 'RLIMIT_NOFILE')}
status = {l.split(':')[0]: l.split(':', 1)[1].strip() for l in open('/proc/self/status')
          if l.startswith(('Cap', 'NoNewPrivs', 'Seccomp', 'Groups'))}
mounts = sorted(l.split()[4] for l in open('/proc/self/mountinfo'))
files = []                      # open files and pipes (zmq's sockets and eventfds vary with the client)
for fd in sorted(os.listdir('/proc/self/fd'), key=int):
    try:
        target = os.readlink('/proc/self/fd/' + fd)
    except OSError:
        continue
    if not target.startswith(('socket:', 'anon_inode:')):
        files.append((int(fd) if int(fd) < 3 else 'fd', 'pipe' if target.startswith('pipe:') else target))
files.sort(key=str)
tree = {'pid': os.getpid(), 'ppid': os.getppid(), 'pgid': os.getpgid(0), 'sid': os.getsid(0),
        'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), 'init_uid': os.stat('/proc/1').st_uid}
print(json.dumps({'limits': limits, 'status': status, 'uid_is_root': os.getuid() == 0, 'host': socket.gethostname(),
                  'mounts': mounts, 'env': list(os.environ), 'cwd_is_home': os.getcwd() == os.environ['HOME'],
                  'tmp_writable': os.access('/tmp', os.W_OK), 'tree': tree, 'files': files,
                  'collector': [gc.isenabled(), gc.get_threshold()]}))
"""
    import json

    views = {}
    for label, factory in (("plain", default_kernel), ("fast", FastKernels(prewarm=0))):
        kernel = factory(assignment, isolation)
        try:
            if not kernel.alive:
                kernel.start()
            views[label] = json.loads(_ask(kernel, probe))
        finally:
            kernel.shutdown()
    plain, fast = views["plain"], views["fast"]
    if not isolation.sandboxed:  # host pids: compare how the kernel stands, not the numbers
        for view in (plain, fast):
            tree = view["tree"]
            view["tree"] = {"leads_group": tree["pgid"] == tree["pid"], "leads_session": tree["sid"] == tree["pid"]}
    workdir = re.compile(r"^/tmp/grader-(kernel|forkserver)-[^/]+(/k-[^/]+)?")
    for view in (plain, fast):
        view["mounts"] = sorted(workdir.sub("<workdir>", m) for m in view["mounts"])
    assert fast == plain


def test_without_a_fork_server_the_factory_falls_back_to_prewarmed_plain_kernels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader.sandbox.forkserver import FastKernels, PrewarmedKernel

    monkeypatch.setenv("GRADER_NO_FORK_SERVER", "1")
    assignment = load_assignment(MINI)
    kernels = FastKernels(prewarm=1)
    first = kernels(assignment, detect("auto"))
    try:
        assert isinstance(first, PrewarmedKernel) and "GRADER_NO_FORK_SERVER" in kernels.fallback_reason
        assert _ask(first, "import sys; print('torch' in sys.modules)") == "True"  # imported while it started
        spare = next(iter(kernels._spare.values()))  # the next one, already starting
        assert isinstance(spare, PrewarmedKernel) and spare is not first
    finally:
        first.shutdown()
        kernels.close()


def test_the_graders_collector_is_paused_for_start_up_and_runs_again_after() -> None:
    """grader.collector: pauses nest (a thread's imports inside a command's start-up); the collector
    runs again after the outermost one, with what was loaded frozen; one that was off stays off."""
    import gc

    from grader.collector import paused

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with paused():
            assert not gc.isenabled()
            with paused():
                loaded = [[] for _ in range(100)]
            assert not gc.isenabled(), "an inner pause turned the collector back on"
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(loaded)
        gc.disable()
        with paused():
            pass
        assert not gc.isenabled(), "a pause turned on a collector that was off before it"
    finally:
        gc.enable()
