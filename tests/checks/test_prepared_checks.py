"""Checks collected ahead (grader.checks.session): a process that forks its graders configures
pytest and collects the checks once; each fork runs them with its own notebook and gets the
same verdicts as an ordinary pytest run, without importing the check modules again. A check
changed since, a second grading in the same fork, the process that prepared them: the ordinary
run, with the checks as they are now."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from grader.checks import session
from grader.checks.plugin import GradingPlugin, prepare_checks, run_checks

CHECKS = """
import pathlib
import pytest

with open(pathlib.Path(__file__).parent.parent / "imports.log", "a") as log:
    log.write(f"{__name__}\\n")          # who imports this module, and how often


@pytest.mark.points(2)
def test_adds(nb):
    assert nb.add(1, 2) == 3, "add(1, 2) should be 3"


def test_subtracts(nb):
    assert nb.sub(3, 1) == 2, "sub(3, 1) should be 2"
"""


def student() -> Any:
    return SimpleNamespace(add=lambda a, b: a + b, sub=lambda a, b: a + b, last_call=None)  # sub is wrong


def verdicts(paths: list[Path], runs: int = 1) -> list[list[Any]]:
    out: list[list[Any]] = []
    for _ in range(runs):
        run = run_checks(paths, GradingPlugin(student(), None))
        out.append([(r.name, r.status, r.score, r.message) for r in run.checks] + [("errors", *run.internal_errors)])
    return out


def in_fork(fn: Callable[[], Any]) -> Any:
    """fn() in a fork of this process, its JSON result back."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            data = json.dumps(fn()).encode()
        except BaseException as exc:
            data = json.dumps({"error": repr(exc)}).encode()
        os.write(write, data)
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    assert not (isinstance(result, dict) and "error" in result), result
    return result


CONFTEST = """
import pathlib


def pytest_collection_finish(session):
    with open(pathlib.Path(__file__).parent.parent / "collections.log", "a") as log:
        log.write(f"{len(session.items)} checks\\n")
"""


@pytest.fixture
def checks(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "test_sums.py").write_text(CHECKS)
    (folder / "conftest.py").write_text(CONFTEST)
    return [folder]


@pytest.fixture(autouse=True)
def nothing_prepared_after() -> Any:
    yield
    session.prepare([], [GradingPlugin(None, None)])  # no checks: what was prepared is dropped


def imports(checks: list[Path], what: str = "imports") -> int:
    log = checks[0].parent / f"{what}.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_fork_runs_the_collected_checks_with_the_same_verdicts(checks: list[Path]) -> None:
    ordinary = in_fork(lambda: verdicts(checks))
    assert imports(checks) == imports(checks, "collections") == 1
    assert prepare_checks(checks, None) == ""
    assert imports(checks) == imports(checks, "collections") == 2  # collected here, once ...
    first = in_fork(lambda: verdicts(checks))
    second = in_fork(lambda: verdicts(checks))
    assert imports(checks) == imports(checks, "collections") == 2  # ... and never again by a fork
    assert first == second == ordinary
    assert ordinary[0][:2] == [
        ["test_adds", "passed", 2.0, "Passed."],
        ["test_subtracts", "failed", 0.0, "sub(3, 1) should be 2"],
    ]


def test_a_second_grading_in_a_fork_and_the_preparing_process_run_pytest_as_usual(checks: list[Path]) -> None:
    assert prepare_checks(checks, None) == ""
    twice = in_fork(lambda: verdicts(checks, runs=2))
    assert twice[0] == twice[1]
    here = json.loads(json.dumps(verdicts(checks)))
    assert here[0] == twice[0]


def test_a_check_changed_since_it_was_collected_runs_as_it_is_now(checks: list[Path]) -> None:
    assert prepare_checks(checks, None) == ""
    (checks[0] / "test_sums.py").write_text(CHECKS.replace("should be 2", "must be 2, not 4"))
    changed = in_fork(lambda: verdicts(checks))
    assert changed[0][1] == ["test_subtracts", "failed", 0.0, "sub(3, 1) must be 2, not 4"]


def test_checks_that_cannot_be_collected_fail_the_same_way(checks: list[Path]) -> None:
    (checks[0] / "test_broken.py").write_text("def test_x(nb):\n    return (\n")
    ordinary = in_fork(lambda: verdicts(checks))
    assert prepare_checks(checks, None) == ""
    prepared = in_fork(lambda: verdicts(checks))
    assert prepared == ordinary
    errors = ordinary[0][-1]
    assert any("test_broken.py could not be loaded" in e for e in errors[1:]), errors
