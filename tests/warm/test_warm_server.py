"""`grader check` through the per-user warm server (grader/warm/), against the cold path.

Each test has a server folder of its own (GRADER_SERVER_DIR, 0700) and lifts the suite's
GRADER_NO_SERVER=1 (tests/conftest.py) for its own commands; every server it started is
killed at the end. The client runs as a student runs it: `python -m grader.cli check ...` in
a subprocess, from the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.cli.main import main
from grader.warm.client import assignment_of
from grader.warm.identity import FolderRefused, assignment_hash, grader_hash, private_dir, server_key, socket_path

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
NNB_SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
FP_SAMPLES = ROOT / "tests" / "submissions" / "forward-pass"
ATTACKS = ROOT / "tests" / "attacks" / "notebooks"
CORRECT = NNB_SAMPLES / "correct.ipynb"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="unix sockets and SO_PEERCRED: Linux")

# what differs between two gradings of one notebook, cold or warm alike
RANDOM = [
    (re.compile(r"/tmp/grader-(?:kernel|forkserver)-[\w.-]+(?:/k-[\w.-]+)?"), "<workdir>"),
    (re.compile(r"grader-(?:kernel|forkserver)-[\w.-]+"), "<workdir>"),
    (re.compile(r"__grader_[0-9a-f]+__"), "<token>"),
    (re.compile(r"REPORT .*", re.S), "REPORT <what the notebook saw>"),
    (re.compile(r"graded in [0-9.]+ s"), "graded in <t> s"),
]


def stable(value: Any) -> Any:
    from golden_support import substituted

    return substituted(value, RANDOM, frozenset({"execution_time"}))


def results_of(path: Path) -> str:
    """results.json less what changes between two gradings, one key a line (a readable diff)."""
    return json.dumps(stable(json.loads(path.read_text(encoding="utf-8"))), indent=1, sort_keys=True)


def written(path: Path) -> str | None:
    """results.json as results_of gives it, or None where none was written (and none is left behind)."""
    if not path.exists():
        return None
    text = results_of(path)
    path.unlink()
    return text


@pytest.fixture
def server_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gw-"))  # short: a socket's path has at most 107 bytes
    os.chmod(folder, 0o700)
    monkeypatch.setenv("GRADER_SERVER_DIR", str(folder))
    yield folder
    for pid_file in folder.glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    shutil.rmtree(folder, ignore_errors=True)


def grader_check(
    *args: str, server: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, **(env or {}), PYTHONPATH=str(ROOT))
    environ.pop("GRADER_NO_SERVER", None)
    if not server:
        environ["GRADER_NO_SERVER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def server_pid(folder: Path) -> int:
    (pid_file,) = folder.glob("*.pid")
    return int(pid_file.read_text())


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


# -- the same verdicts ---------------------------------------------------------------------------


def equivalence_cases() -> list[tuple[str, Path, Path | None]]:
    # the sample class (the demo's first) and every attack notebook
    cases = [
        (f"nnb/{p.stem}", p, ROOT / "assignments" / "neural-net-basics") for p in sorted(NNB_SAMPLES.glob("*.ipynb"))
    ]
    cases += [(f"attack/{p.stem}", p, MINI) for p in sorted(ATTACKS.glob("*.ipynb"))]
    return cases


def golden_of(results: Path) -> str:
    """results.json as tests/goldens/test_goldens.py records it (the cold path's verdicts, byte for byte)."""
    from golden_support import normalise

    data = json.loads(results.read_text(encoding="utf-8"))
    data.pop("execution_time")
    data["extra_data"].pop("grader_version")
    return json.dumps(normalise(data), indent=2, sort_keys=True) + "\n"


@pytest.mark.slow
def test_the_warm_server_gives_the_cold_verdicts_on_the_sample_class_and_every_attack(
    server_dir: Path, tmp_path: Path
) -> None:
    """results.json of every sample and attack notebook through one warm server (a `grader check`
    process) is the cold path's, byte for byte: the golden tests/goldens/test_goldens.py grades it against
    cold. (What is printed and the exit status are compared with the cold path's in the next test.)"""
    cases = equivalence_cases()
    assert len(cases) >= 15 + 25

    def differing(group: list[tuple[str, Path, Path | None]]) -> list[str]:
        differ = []
        for name, notebook, assignment in group:
            extra = ["--assignment", str(assignment)] if assignment else []
            out = tmp_path / f"{name.replace('/', '-')}.json"
            warm = grader_check(str(notebook), *extra, "--results", str(out))
            assert "warm server" not in warm.stderr, f"{name}: {warm.stderr}"  # graded by the server, not cold
            if golden_of(out) != (ROOT / "tests" / "goldens" / f"{name}.json").read_text(encoding="utf-8"):
                differ.append(name)
        return differ

    # one server per assignment, each grading one check at a time: the two classes side by side
    groups = [[c for c in cases if c[2] == assignment] for assignment in sorted({c[2] for c in cases}, key=str)]
    with ThreadPoolExecutor(len(groups)) as pool:
        differ = [name for found in pool.map(differing, groups) for name in found]
    assert differ == []
    assert len(list(server_dir.glob("*.pid"))) == 2  # one server per assignment: nnb, mini


@pytest.mark.parametrize("name", ["correct", "sigmoid_sign_error", "attack/endless_cell", "attack/forge_agent_reply"])
def test_what_is_printed_and_the_exit_status_are_the_cold_ones(
    name: str, server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = ATTACKS / f"{name.split('/')[1]}.ipynb" if "/" in name else NNB_SAMPLES / f"{name}.ipynb"
    extra = ["--assignment", str(MINI)] if "/" in name else []
    outs = {side: tmp_path / side / "results.json" for side in ("cold", "warm")}  # `results: PATH` differs by side
    warm = grader_check(str(notebook), *extra, "--results", str(outs["warm"]))
    cold_code = main(["check", str(notebook), *extra, "--results", str(outs["cold"]), "--no-server"])
    printed = capsys.readouterr()
    assert (
        written(outs["warm"]),
        warm.returncode,
        stable(warm.stdout).replace("/warm/", "/<side>/"),
        stable(warm.stderr),
    ) == (written(outs["cold"]), cold_code, stable(printed.out).replace("/cold/", "/<side>/"), stable(printed.err))


# -- one server, reused; a thin client ------------------------------------------------------------


def kernels_under(pid: int) -> set[int]:
    """The kernel processes among `pid`'s descendants (as root, each kernel runs as a uid of its own)."""
    parents: dict[int, int] = {}
    uids: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(stat[1])
                uids[int(entry)] = os.stat(f"/proc/{entry}").st_uid
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return {p for p in found if uids.get(p, 0) != os.getuid() and alive(p)}


def spare_after_check(server: int, before: set[int]) -> set[int]:
    """The one kernel the server holds between checks: forked after the last one, none of the earlier ones."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spare = kernels_under(server)
        if len(spare) == 1 and not spare & before:
            return spare
        time.sleep(0.05)
    raise AssertionError(f"the server holds kernels {kernels_under(server)} (before the check: {before})")


def test_a_second_check_reuses_the_server_and_the_client_never_imports_torch(server_dir: Path, tmp_path: Path) -> None:
    first = grader_check(str(CORRECT), "--feedback", str(tmp_path / "a.html"))
    assert first.returncode == 0, first.stderr
    pid = server_pid(server_dir)
    forked = os.geteuid() == 0  # a sandboxed zygote needs root: spares are forked kernels
    spare = spare_after_check(pid, set()) if forked else set()
    probe = (
        "import sys; from grader.cli.main import main; code = main(sys.argv[1:]); "
        "print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    environ.pop("GRADER_NO_SERVER")
    second = subprocess.run(
        [sys.executable, "-c", probe, "check", str(CORRECT), "--feedback", str(tmp_path / "b.html")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0 and "TORCH False" in second.stderr, second.stderr
    assert server_pid(server_dir) == pid and alive(pid)
    if forked:  # the second check took the spare (gone with it) and the server forked the next one
        spare_after_check(pid, spare)
    assert "Score: 38/38" in second.stdout
    html = [stable((tmp_path / n).read_text(encoding="utf-8")) for n in ("a.html", "b.html")]
    assert html[0] == html[1]
    cold = grader_check(str(CORRECT), "--no-server", "--feedback", str(tmp_path / "c.html"))
    assert stable((tmp_path / "c.html").read_text(encoding="utf-8")) == html[1]
    assert stable(cold.stdout) == stable(second.stdout).replace("b.html", "c.html")
    folder_mode = os.stat(server_dir).st_mode & 0o777
    (sock,) = server_dir.glob("*.sock")
    assert folder_mode == 0o700 and os.stat(sock).st_uid == os.getuid()


def test_the_server_leaves_after_its_idle_time(server_dir: Path) -> None:
    done = grader_check(str(CORRECT), env={"GRADER_SERVER_IDLE": "2"})
    assert done.returncode == 0, done.stderr
    pid = server_pid(server_dir)
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid)
    assert list(server_dir.glob("*.sock")) == [] and list(server_dir.glob("*.pid")) == []


# -- never another version's, assignment's or user's server ---------------------------------------


def test_the_key_changes_with_the_graders_sources_and_the_assignments_checks(tmp_path: Path) -> None:
    grader_copy = shutil.copytree(ROOT / "grader", tmp_path / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    assert grader_hash(grader_copy) == grader_hash()
    (grader_copy / "verdict.py").write_text((grader_copy / "verdict.py").read_text() + "\n# changed\n")
    assert grader_hash(grader_copy) != grader_hash()
    mini = shutil.copytree(MINI, tmp_path / "mini")
    before = assignment_hash(mini, (mini / "checks",))
    check_file = sorted((mini / "checks").glob("test_*.py"))[0]
    check_file.write_text(check_file.read_text() + "\n# changed\n")
    after_check = assignment_hash(mini, (mini / "checks",))
    (mini / "assignment.toml").write_text((mini / "assignment.toml").read_text() + "\n# changed\n")
    assert len({before, after_check, assignment_hash(mini, (mini / "checks",))}) == 3


def test_a_server_refuses_another_assignments_check_which_then_runs_cold(server_dir: Path, tmp_path: Path) -> None:
    """A server of the mini assignment put where forward-pass's server would be: it answers with a
    refusal, and the check is graded cold, with the cold verdict."""
    attack = sorted(ATTACKS.glob("*.ipynb"))[0]
    assert grader_check(str(attack), "--assignment", str(MINI)).returncode in (0, 1)
    (mini_socket,) = server_dir.glob("*.sock")
    notebook = FP_SAMPLES / "forgot_bias.ipynb"
    found = assignment_of(argparse.Namespace(notebook=notebook, assignment=None))
    assert found is not None and found[0] == (ROOT / "assignments" / "forward-pass").resolve()
    fp_key = server_key(*found)
    assert os.environ.get("GRADER_SERVER_DIR") == str(server_dir)
    os.rename(mini_socket, socket_path(server_dir, fp_key))
    warm = grader_check(str(notebook), "--results", str(tmp_path / "warm.json"))
    assert "the warm server refused the check" in warm.stderr
    cold = grader_check(str(notebook), "--results", str(tmp_path / "cold.json"), server=False)
    assert (warm.returncode, results_of(tmp_path / "warm.json")) == (
        cold.returncode,
        results_of(tmp_path / "cold.json"),
    )
    assert json.loads((tmp_path / "cold.json").read_text())["extra_data"]["assignment"] == "forward-pass"


def test_a_server_started_with_a_key_that_is_not_its_own_exits() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.warm.server",
            "--socket",
            "/nonexistent/x.sock",
            "--key",
            "0" * 12 + "-" + "0" * 12 + "-" + "0" * 8,
            "--assignment",
            str(MINI),
            "--checks",
            str(MINI / "checks"),
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "but these sources make" in done.stderr


@pytest.mark.parametrize("problem", ["readable by others", "a link", "another uid"])
def test_a_folder_that_is_not_the_users_alone_is_refused(problem: str, tmp_path: Path) -> None:
    folder = tmp_path / "servers"
    if problem == "a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
        if problem == "readable by others":
            os.chmod(folder, 0o755)
        elif os.getuid() == 0:
            os.chown(folder, 65534, 65534)
        else:
            pytest.skip("making a folder of another uid needs root")
    with pytest.raises(
        FolderRefused,
        match={"readable by others": "chmod 700", "a link": "not a folder", "another uid": "belongs to uid 65534"}[
            problem
        ],
    ):
        private_dir(folder)


def test_a_check_with_a_shared_folder_runs_cold_and_says_why(server_dir: Path, tmp_path: Path) -> None:
    os.chmod(server_dir, 0o750)
    done = grader_check(str(CORRECT), "--results", str(tmp_path / "r.json"))
    assert done.returncode == 0
    assert (
        f"not using the warm server: {server_dir} can be reached by others (mode 750); run `chmod 700 {server_dir}`"
        in done.stderr
    )
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 38.0
    assert list(server_dir.iterdir()) == []


# -- a server that dies mid-check -----------------------------------------------------------------


def test_a_server_killed_mid_check_costs_a_cold_retry_not_a_wrong_verdict(server_dir: Path, tmp_path: Path) -> None:
    slow = json.loads(CORRECT.read_text(encoding="utf-8"))
    slow["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "import time\ntime.sleep(3)",
        }
    )
    (tmp_path / "nb").mkdir()  # its own folder: the folder's files come with a notebook
    notebook = tmp_path / "nb" / "correct_but_slow.ipynb"
    notebook.write_text(json.dumps(slow), encoding="utf-8")
    assert grader_check(str(CORRECT)).returncode == 0
    pid = server_pid(server_dir)
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    environ.pop("GRADER_NO_SERVER")
    client = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "check", str(notebook), "--results", str(tmp_path / "warm.json")],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + 60
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.05)  # the server forked the check's grader
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate(timeout=300)
    assert "the warm server stopped during the check; checking again without it" in err
    cold = grader_check(str(notebook), "--results", str(tmp_path / "cold.json"), server=False)
    assert results_of(tmp_path / "warm.json") == results_of(tmp_path / "cold.json")
    assert client.returncode == cold.returncode == 0 and "Score: 38/38" in out
    again = grader_check(str(CORRECT))  # the stale socket: a new server takes its name
    assert again.returncode == 0 and "warm server" not in again.stderr
    assert server_pid(server_dir) != pid


# -- servers do not pile up -----------------------------------------------------------------------


def tree_of(pid: int) -> set[int]:
    """`pid` and every process under it (the server's zygote and spare kernel)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        try:
            parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo += [p for p, parent in parents.items() if parent == current and p not in found]
    return found


def grader_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    environ.pop("GRADER_NO_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def test_a_new_server_for_the_same_assignment_stops_the_older_one(server_dir: Path, tmp_path: Path) -> None:
    """Each edit of a check makes a new key, so a new server: it stops the older server of the
    assignment, with its zygote and spare kernel, instead of leaving it to idle ten minutes."""
    mini = shutil.copytree(
        ROOT / "tests" / "fixtures" / "cli" / "assignments" / "mini",
        tmp_path / "mini",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "nb").mkdir()  # its own folder: the folder's files come with a notebook
    notebook = tmp_path / "nb" / "n.ipynb"
    notebook.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": None,
                        "source": "import torch\ndef activation(x):\n    return torch.sigmoid(x)\n"
                        "def double(x):\n    return x * 2\n",
                    }
                ],
                "metadata": {"grader": {"slug": "mini", "version": "1"}},
                "nbformat": 4,
                "nbformat_minor": 4,
            }
        )
    )
    assert grader_check(str(notebook), "--assignment", str(mini)).returncode == 0
    old = server_pid(server_dir)
    old_tree = tree_of(old)
    assert len(old_tree) >= 2 or os.geteuid() != 0  # the server and its zygote (forked where it may)
    check_file = mini / "checks" / "test_double.py"
    check_file.write_text(check_file.read_text() + "\n# edited\n")
    again = grader_check(str(notebook), "--assignment", str(mini))
    assert again.returncode == 0 and "Score: 4/4" in again.stdout, again.stderr
    new = server_pid(server_dir)  # one pid file: the older one's is gone
    deadline = time.monotonic() + 30
    while any(alive(p) for p in old_tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert new != old and alive(new) and not any(alive(p) for p in old_tree)
    assert len(list(server_dir.glob("*.sock"))) == 1 and len(list(server_dir.glob("*.json"))) == 1


def test_server_list_and_stop(server_dir: Path, tmp_path: Path) -> None:
    assert grader_cli("server", "list").stdout.startswith("no warm server is running")
    assert grader_check(str(CORRECT)).returncode == 0
    pid = server_pid(server_dir)
    listed = grader_cli("server", "list")
    assert listed.returncode == 0, listed.stderr
    nnb = str((ROOT / "assignments" / "neural-net-basics").resolve())
    line = next(line for line in listed.stdout.splitlines() if line.split()[0] == str(pid))
    assert nnb in line and " MB " in line
    assert "1 warm server, " in listed.stdout and "MB in all" in listed.stdout
    elsewhere = grader_cli("server", "stop", cwd=tmp_path)  # no assignment there: say what to name
    assert elsewhere.returncode == 2 and "--all" in elsewhere.stderr and alive(pid)
    assert grader_cli("server", "stop", str(MINI)).stdout.startswith("no warm server of")
    stopped = grader_cli("server", "stop", "assignments/neural-net-basics")
    assert f"stopped the warm server of {nnb} (pid {pid})" in stopped.stdout, stopped.stderr
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid) and list(server_dir.glob("*.sock")) == [] and list(server_dir.glob("*.pid")) == []
    assert grader_check(str(CORRECT)).returncode == 0
    assert "stopped the warm server" in grader_cli("server", "stop", "--all").stdout
    assert grader_cli("server", "list").stdout.startswith("no warm server is running")


def test_a_server_started_without_a_pythonpath_folder_is_not_the_one_for_a_check_with_it(monkeypatch, tmp_path) -> None:
    """The install folders on PYTHONPATH reach the kernels (grader.sandbox.spec.import_folders): a
    check run with one must not be handed to a server (and zygote) started without it, whose
    kernels would not see the folder (seen: a marker package 'not found' in the suite). A folder
    with no installed distribution (the grader's own checkout, which the client puts on the
    server's PYTHONPATH to start it) changes nothing: client and server agree on the key."""
    from grader.warm.identity import environment_hash

    site = tmp_path / "site"
    (site / "marker-1.0.dist-info").mkdir(parents=True)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    without = environment_hash()
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    assert environment_hash() == without
    monkeypatch.setenv("PYTHONPATH", str(site))
    assert environment_hash() != without
