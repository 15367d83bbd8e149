"""GitHub Actions / Classroom: `grader check ... --github` with the runner's environment variables
pointed at temporary files; what it writes is read back the way GitHub and the Classroom reporter
(classroom-resources/autograding-grading-reporter) read it."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.integrations.github import escape_data, escape_property, workflow_command
from grader.results import HIDDEN_MESSAGE_FAIL

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ci"
ASSIGNMENT = FIXTURE / "assignments" / "ci-demo"
WRONG = FIXTURE / "submissions" / "wrong.ipynb"
WORKFLOW = REPO / "examples" / "github-classroom" / ".github" / "workflows" / "classroom.yml"
TEST_FIELDS = {"name", "status", "message", "test_code", "filename", "line_no", "execution_time", "score"}


def github_env(tmp_path: Path) -> dict[str, str]:
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.write_text("earlier step\n")
    output.write_text("earlier=1\n")
    return {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(REPO),
    }


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner parses it: name=value lines (no multi-line values here)."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def parse_annotations(stdout: str) -> list[dict[str, str]]:
    found = []
    for line in stdout.splitlines():
        m = re.fullmatch(r"::(error|warning|notice)(?: (.*?))?::(.*)", line)
        if m:
            props = dict(p.split("=", 1) for p in m.group(2).split(",")) if m.group(2) else {}
            found.append(
                {"level": m.group(1), **{k: unescape(v) for k, v in props.items()}, "message": unescape(m.group(3))}
            )
    return found


@pytest.fixture(scope="module")
def wrong_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("gh")
    # The sandbox has its own tests; here the integration is under test, so limits only.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(WRONG),
            "--assignment",
            str(ASSIGNMENT),
            "--github",
            "--no-sandbox",
        ],
        capture_output=True,
        text=True,
        env=github_env(tmp),
        cwd=REPO,
        timeout=300,
    )
    return proc, tmp


def test_exit_status_and_step_summary(wrong_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, tmp = wrong_run
    assert proc.returncode == 1, proc.stderr
    summary = (tmp / "summary.md").read_text()
    assert summary.startswith("earlier step\n")  # appended, not overwritten
    assert "### CI demo: 4/8" in summary and "| total | test_total_value | ❌ failed | 0/3 |" in summary
    assert "test_total_of_matrix_is_scalar (hidden)" in summary
    assert "3x3" not in summary  # hidden checks: name and pass/fail only


def test_outputs_in_the_form_the_classroom_reporter_reads(
    wrong_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, tmp = wrong_run
    outputs = read_outputs(tmp / "output")
    assert outputs["earlier"] == "1"
    assert outputs["score"] == "4" and outputs["max_score"] == "8" and outputs["status"] == "failed"
    # The reporter: JSON.parse(Buffer.from(process.env[`${RUNNER}_RESULTS`], "base64").toString("utf-8"))
    result = json.loads(base64.b64decode(outputs["result"], validate=True).decode("utf-8"))
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 8
    assert len(result["tests"]) == 5 and all(TEST_FIELDS <= set(t) for t in result["tests"])
    assert {t["status"] for t in result["tests"]} == {"pass", "fail"}
    # NotifyClassroom: the points are the sum of tests[].score against max_score
    assert sum(t["score"] for t in result["tests"]) == 4
    tests = {t["name"]: t for t in result["tests"]}
    value = tests["total: test_total_value"]
    assert value["status"] == "fail" and "shape (2,)" in value["message"]
    assert value["filename"].endswith("check_total.py")
    hidden = tests["total: test_total_of_matrix_is_scalar (hidden)"]
    assert hidden["message"] == HIDDEN_MESSAGE_FAIL and hidden["test_code"] == "" and hidden["filename"] == ""


def test_failed_checks_are_annotated(wrong_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = wrong_run
    notes = parse_annotations(proc.stdout)
    assert [n["title"] for n in notes] == [
        "total: test_total_value [0/3]",
        "total: test_total_of_matrix_is_scalar (hidden) [0/1]",
    ]
    assert all(n["level"] == "error" and n["file"] == "tests/fixtures/ci/submissions/wrong.ipynb" for n in notes)
    assert notes[0]["message"].startswith("the result has shape (2,)")
    assert notes[1]["message"] == HIDDEN_MESSAGE_FAIL


def test_grader_fault_is_reported_as_an_error(tmp_path: Path) -> None:
    env = github_env(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(tmp_path / "missing.ipynb"),
            "--assignment",
            str(ASSIGNMENT),
            "--github",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    outputs = read_outputs(tmp_path / "output")
    result = json.loads(base64.b64decode(outputs["result"]))
    assert outputs["status"] == "error" and result["status"] == "error"
    assert "no such notebook" in result["tests"][0]["message"]
    assert parse_annotations(proc.stdout)[0]["title"] == "Autograder error"


def test_workflow_command_escaping() -> None:
    # as @actions/core's command.ts escapes them
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert (
        workflow_command("error", "x: 1\ny", title="ex: t, u", file="a.ipynb")
        == "::error title=ex%3A t%2C u,file=a.ipynb::x: 1%0Ay"
    )


def test_example_workflow_wires_the_grader_to_the_reporter() -> None:
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["run-autograding-tests"]["steps"]
    grade = next(s for s in steps if s.get("id") == "grader")
    assert "grader check" in grade["run"] and "--github" in grade["run"] and "--junit" in grade["run"]
    assert grade.get("continue-on-error") is True  # the reporter must still run
    report = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert report["with"]["runners"] == "grader"
    assert report["env"]["GRADER_RESULTS"] == "${{ steps.grader.outputs.result }}"
