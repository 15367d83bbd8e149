"""JUnit XML (`grader check --junit FILE`), read back with a JUnit XML parser (junitparser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

junitparser = pytest.importorskip("junitparser")

from grader.results import HIDDEN_MESSAGE_FAIL  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ci"
ASSIGNMENT = FIXTURE / "assignments" / "ci-demo"


def check_junit(notebook: Path, out: Path) -> tuple[int, list]:
    # The sandbox has its own tests; here the integration is under test, so limits only.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(notebook),
            "--assignment",
            str(ASSIGNMENT),
            "--junit",
            str(out),
            "--no-sandbox",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    xml = junitparser.JUnitXml.fromfile(str(out))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    return proc.returncode, [case for suite in suites for case in suite]


def failure_of(case):  # type: ignore[no-untyped-def]
    failures = [r for r in case.result if isinstance(r, junitparser.Failure)]
    return failures[0] if failures else None


def test_one_testcase_per_check(tmp_path: Path) -> None:
    code, cases = check_junit(FIXTURE / "submissions" / "wrong.ipynb", tmp_path / "junit.xml")

    assert code == 1
    by_name = {case.name: case for case in cases}
    assert set(by_name) == {
        "test_double_values",
        "test_double_keeps_shape",
        "test_double_large_input",
        "test_total_value",
        "test_total_of_matrix_is_scalar",
    }
    assert {case.classname for case in cases} == {"double", "total"}  # the exercise
    assert by_name["test_total_value"].classname == "total"
    assert all(case.is_passed for name, case in by_name.items() if name.startswith("test_double"))

    failure = failure_of(by_name["test_total_value"])
    assert failure.message == "the result has shape (2,), expected ()."
    assert "shape (2,)" in failure.text

    hidden = failure_of(by_name["test_total_of_matrix_is_scalar"])
    assert hidden.message == HIDDEN_MESSAGE_FAIL
    assert hidden.text == HIDDEN_MESSAGE_FAIL  # no details
    assert "3x3" not in (tmp_path / "junit.xml").read_text()


def test_unreadable_notebook_fails_every_check(tmp_path: Path) -> None:
    broken = tmp_path / "ci-demo.ipynb"
    broken.write_text('{"cells": [')  # truncated JSON

    code, cases = check_junit(broken, tmp_path / "junit.xml")

    assert code == 1
    assert len(cases) == 5 and not any(case.is_passed for case in cases)
    assert all(
        "truncated" in failure_of(case).message for case in cases if not failure_of(case).message.startswith("Hidden")
    )


def test_every_format_carries_what_the_terminal_shows(tmp_path: Path) -> None:
    # issue 25: results.json's tests, the JUnit <failure> text and --markdown carried only "12 of 12
    # values differ"; the terminal and the HTML page show expected and actual (shape, dtype, values)
    # and the worst differing values. A hidden check still shows its name and pass/fail only.
    import json

    notebook = FIXTURE / "submissions" / "values_off_by_half.ipynb"
    results, junit, markdown = tmp_path / "results.json", tmp_path / "junit.xml", tmp_path / "feedback.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(notebook),
            "--assignment",
            str(ASSIGNMENT),
            "--results",
            str(results),
            "--junit",
            str(junit),
            "--markdown",
            str(markdown),
            "--no-sandbox",
            "--no-server",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    terminal = proc.stdout
    values_got = next(
        line.strip() for line in terminal.splitlines() if line.strip().startswith("got:") and "(3, 4)" in line
    )
    shape_got = next(
        line.strip() for line in terminal.splitlines() if line.strip().startswith("got:") and "(2,)" in line
    )
    assert "float32" in values_got
    tests = {t["name"]: t for t in json.loads(results.read_text())["tests"]}
    xml = junitparser.JUnitXml.fromfile(str(junit))
    cases = {
        case.name: case for suite in ([xml] if isinstance(xml, junitparser.TestSuite) else list(xml)) for case in suite
    }
    md = markdown.read_text()
    for text in (tests["double: test_double_values"]["output"], failure_of(cases["test_double_values"]).text, md):
        assert "values differ" in text
        assert " ".join(values_got.split()) in " ".join(text.split()).replace(
            "\\", ""
        )  # expected vs actual, as the terminal
        assert "differing values: at (" in text and "yours" in text
    for text in (tests["total: test_total_value"]["output"], failure_of(cases["test_total_value"]).text, md):
        assert " ".join(shape_got.split()) in " ".join(text.split()).replace("\\", "")
    hidden = tests["total: test_total_of_matrix_is_scalar"]
    assert (
        hidden["output"] == HIDDEN_MESSAGE_FAIL
        and failure_of(cases["test_total_of_matrix_is_scalar"]).text == HIDDEN_MESSAGE_FAIL
    )
    assert "3x3" not in md and "3x3" not in results.read_text()
