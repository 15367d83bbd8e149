"""Plain pytest: `pytest --notebook SUBMISSION .../checks` through the pytest11 plugin gives the
same verdicts as `grader check`; without --notebook the plugin stays out of the way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

junitparser = pytest.importorskip("junitparser")

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ci"
ASSIGNMENT = FIXTURE / "assignments" / "ci-demo"
HIDDEN = FIXTURE / "solutions" / "ci-demo" / "checks"
WRONG = FIXTURE / "submissions" / "wrong.ipynb"


def run_pytest(*args: str | Path, cwd: Path = REPO, confcutdir: Path = FIXTURE) -> subprocess.CompletedProcess[str]:
    # --confcutdir: only the fixture's own conftest files (none); -p no:cacheprovider: no .pytest_cache
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--confcutdir={confcutdir}", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def outcomes(junit: Path) -> dict[str, bool]:
    xml = junitparser.JUnitXml.fromfile(str(junit))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    return {case.name: case.is_passed for suite in suites for case in suite}


def test_same_verdicts_as_grader_check(tmp_path: Path) -> None:
    from grader.course import load_assignment
    from grader.grade import Options, grade

    junit = tmp_path / "pytest.xml"
    # The sandbox has its own tests; here the integration is under test, so limits only (both sides).
    proc = run_pytest(
        "--notebook", WRONG, "--notebook-sandbox", "none", f"--junitxml={junit}", ASSIGNMENT / "checks", HIDDEN
    )
    verdict = grade(WRONG, load_assignment(ASSIGNMENT), Options(sandbox="none"))

    assert proc.returncode == 1 == verdict.exit_code, proc.stdout + proc.stderr
    assert outcomes(junit) == {c.name: c.passed for c in verdict.checks}
    assert f"grader: {verdict.score:g}/{verdict.max_score:g} points" in proc.stdout
    # pytest's own report, with the words a student reads; hidden checks keep their secrets
    assert "the result has shape (2,), expected ()." in proc.stdout
    assert "test_total_of_matrix_is_scalar (hidden): Hidden check failed." in proc.stdout
    assert "3x3" not in proc.stdout and "x.sum()" not in proc.stdout


def test_unreadable_notebook_fails_every_check(tmp_path: Path) -> None:
    from grader.submission.notebook import read_submission

    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')  # truncated JSON
    reason = read_submission(broken).problems[0]
    # -rN: no short summary, whose lines repeat the message or not depending on the terminal's width
    proc = run_pytest("--notebook", broken, "-rN", ASSIGNMENT / "checks")
    assert proc.returncode == 1
    assert "3 failed" in proc.stdout and proc.stdout.count(f"Not graded: {reason}") == 3


def test_no_assignment_found_is_a_grader_fault(tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "test_x.py").write_text("def test_x(nb):\n    pass\n")
    proc = run_pytest("--notebook", WRONG, checks, cwd=tmp_path, confcutdir=tmp_path)
    assert proc.returncode == 2
    assert "--assignment" in proc.stdout + proc.stderr


def test_without_notebook_the_plugin_does_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import pytest\n\n"
        "def test_no_nb_fixture(request):\n"
        "    with pytest.raises(pytest.FixtureLookupError):\n"
        "        request.getfixturevalue('nb')\n\n"
        "@pytest.mark.points(2)\n@pytest.mark.exercise('x')\n"
        "def test_markers_are_known():\n    pass\n\n"
        "def check_not_collected():\n    raise AssertionError\n"
    )
    (tmp_path / "check_other.py").write_text("def test_never_collected():\n    raise AssertionError\n")
    proc = run_pytest("--strict-markers", "-W", "error", tmp_path, cwd=tmp_path, confcutdir=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout and "grader:" not in proc.stdout


NN = REPO / "assignments" / "neural-net-basics"
NN_CORRECT = REPO / "tests" / "submissions" / "neural-net-basics" / "correct.ipynb"


@pytest.mark.skipif(
    not (NN / "checks").is_dir() or not NN_CORRECT.is_file(),
    reason="assignments/neural-net-basics or its correct submission is not there",
)
def test_neural_net_basics_correct_submission_passes() -> None:
    proc = run_pytest("--notebook", NN_CORRECT, "--notebook-sandbox", "none", NN / "checks", confcutdir=NN)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


NN_SOLUTIONS = REPO / "solutions" / "neural-net-basics"


@pytest.mark.skipif(
    not (NN_SOLUTIONS / "checks").is_dir() or not NN_CORRECT.is_file(),
    reason="solutions/neural-net-basics or its correct submission is not there",
)
def test_hidden_module_with_a_public_module_s_name(tmp_path: Path) -> None:
    # docs/junit-and-pytest.md's route with public and hidden checks; neural-net-basics's hidden
    # modules have the public ones' file names (as `grader new` scaffolds them): pytest's default
    # import mode stopped with "import file mismatch" before the plugin chose importlib.
    junit = tmp_path / "pytest.xml"
    proc = run_pytest(
        "--notebook",
        NN_CORRECT,
        "--notebook-sandbox",
        "none",
        f"--junitxml={junit}",
        NN / "checks",
        NN_SOLUTIONS / "checks",
        confcutdir=REPO,
    )
    out = proc.stdout + proc.stderr
    assert "import file mismatch" not in out
    assert proc.returncode == 0, out[-3000:]
    names = outcomes(junit)
    public = {p.stem for p in (NN / "checks").glob("test_*.py")}
    hidden = {p.stem for p in (NN_SOLUTIONS / "checks").glob("test_*.py")}
    assert public & hidden, "the fixture must keep a hidden module with a public module's name"
    assert len(names) > 0 and all(names.values())
    from grader.course import load_assignment
    from grader.grade import Options, grade

    verdict = grade(NN_CORRECT, load_assignment(NN), Options(sandbox="none"))
    assert len(names) == len(verdict.checks)
