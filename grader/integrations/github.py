"""GitHub Actions and GitHub Classroom: what `grader check ... --github` writes.

* `$GITHUB_STEP_SUMMARY`: the Markdown feedback, appended (the job's summary page).
* `$GITHUB_OUTPUT`: the step's outputs. `result` is what GitHub Classroom's reporter
  (classroom-resources/autograding-grading-reporter) reads from each runner step: base64 of
  the JSON that the classroom grader actions (autograding-command-grader, -io-grader,
  -python-grader) produce:
      {"version": 1, "status": "pass"|"fail"|"error", "max_score": N,
       "tests": [{"name", "status", "message", "test_code", "filename", "line_no",
                  "execution_time", "duration", "score"}]}
  The reporter sums tests[].score against max_score for the points it sends to Classroom,
  and fails its step when status is "fail" or "error". Also `score`, `max_score`, `status`.
* stdout: `::error` workflow commands, one per failed check, escaped as @actions/core does.

Hidden checks appear by name and pass/fail only, as everywhere else.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from grader.config import Assignment
from grader.results import CheckResult, Result, standalone_message

CLASSROOM_VERSION = 1


# -- workflow commands (escaping as in @actions/core's command.ts) ---------------------------
def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def inert_in_ci(text: str) -> str:
    """Feedback quotes the student's words; in GitHub Actions a quoted line such as
    `::set-output name=result::...` would be a workflow command. Commands are off around it."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return text
    import secrets

    token = secrets.token_hex(16)
    return f"::stop-commands::{token}\n{text}\n::{token}::"


# -- the Classroom result ---------------------------------------------------------------------
def _test_entry(check: CheckResult, result: Result) -> dict[str, Any]:
    view = check.public_view()
    message = standalone_message(view.message, result)
    if not view.hidden and view.traceback:
        message += "\n\n" + view.traceback
    return {
        "name": f"{check.exercise}: {check.name}" + (" (hidden)" if check.hidden else ""),
        "status": "pass" if check.passed else "fail",
        "message": message,
        "test_code": "" if check.hidden else check.nodeid,
        "filename": "" if check.hidden else check.nodeid.split("::")[0],
        "line_no": 0,
        "execution_time": f"{check.duration:.3f}s",
        "duration": int(round(check.duration * 1000)),
        "score": view.score,
    }


def classroom_result(result: Result) -> dict[str, Any]:
    """The JSON the Classroom reporter reads, one entry per check."""
    tests = [_test_entry(c, result) for c in result.checks]
    if not tests:
        tests = [
            {
                "name": "submission",
                "status": "fail",
                "message": "\n".join(result.errors) or "No checks ran.",
                "test_code": "",
                "filename": "",
                "line_no": 0,
                "execution_time": "0.000s",
                "duration": 0,
                "score": 0,
            }
        ]
    return {
        "version": CLASSROOM_VERSION,
        "status": "pass" if result.passed else "fail",
        "max_score": result.max_score,
        "tests": tests,
    }


def error_result(message: str) -> dict[str, Any]:
    """The grader could not run (exit 2): the reporter marks the run as errored."""
    return {
        "version": CLASSROOM_VERSION,
        "status": "error",
        "max_score": 0,
        "tests": [
            {
                "name": "grader",
                "status": "error",
                "message": message,
                "test_code": "",
                "filename": "",
                "line_no": 0,
                "execution_time": "0.000s",
                "duration": 0,
                "score": 0,
            }
        ],
    }


def encode(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode("utf-8")).decode("ascii")


def decode(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value).decode("utf-8"))


# -- writing ------------------------------------------------------------------------------------
def _append(env_name: str, text: str) -> bool:
    path = os.environ.get(env_name)
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
    return True


def write_outputs(outputs: dict[str, str]) -> bool:
    """Append name=value lines to $GITHUB_OUTPUT (values here are single-line)."""
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"output {name} must be a single line")
    return _append("GITHUB_OUTPUT", "".join(f"{name}={value}\n" for name, value in outputs.items()))


def _annotation_file(submission: str) -> str:
    path = Path(submission)
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and path.is_absolute():
        try:
            return str(path.relative_to(workspace))
        except ValueError:
            return str(path)
    return str(path)


def error_annotations(result: Result) -> list[str]:
    """`::error` lines: one per failed check, one for an unreadable submission."""
    file = _annotation_file(result.submission)
    lines = []
    if not result.readable:
        lines.append(
            workflow_command(
                "error",
                " ".join(result.errors) or "The notebook could not be read.",
                title="Submission unreadable",
                file=file,
            )
        )
    for check in result.checks:
        if check.passed:
            continue
        view = check.public_view()
        title = f"{check.exercise}: {check.name}" + (" (hidden)" if check.hidden else "")
        title += f" [{check.score:g}/{check.points:g}]"
        lines.append(workflow_command("error", view.message or "failed", title=title, file=file))
    return lines


def report_to_github(result: Result, assignment: Assignment, *, stream: TextIO | None = None) -> None:
    """Step summary, step outputs and annotations for one graded notebook."""
    from grader.feedback import render_markdown

    stream = stream or sys.stdout
    if not _append("GITHUB_STEP_SUMMARY", render_markdown(result, title=assignment.title) + "\n"):
        print("grader: GITHUB_STEP_SUMMARY is not set; no step summary written", file=sys.stderr)
    outputs = {
        "result": encode(classroom_result(result)),
        "score": f"{result.score:g}",
        "max_score": f"{result.max_score:g}",
        "status": result.status,
    }
    if not write_outputs(outputs):
        print("grader: GITHUB_OUTPUT is not set; no step outputs written", file=sys.stderr)
    for line in error_annotations(result):
        print(line, file=stream)
    stream.flush()


def report_error_to_github(message: str, *, stream: TextIO | None = None) -> None:
    """The grader could not run: say so in the summary, the outputs and one annotation."""
    stream = stream or sys.stdout
    _append("GITHUB_STEP_SUMMARY", f"### The autograder could not run\n\n```\n{message}\n```\n")
    write_outputs({"result": encode(error_result(message)), "score": "0", "max_score": "0", "status": "error"})
    print(workflow_command("error", message, title="Autograder error"), file=stream)
    stream.flush()
