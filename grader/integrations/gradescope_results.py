"""results.json in Gradescope's schema: one verdict as Gradescope shows it, with our facts under extra_data.

`grader check --results` and `grader batch` write it (grader.checking.write_outputs), and so does
the runner inside Gradescope's image (grader.integrations.gradescope). Each check is a test, its
visibility from the assignment's [visibility]; the questions a person grades follow
(grader.policy.manual); the late policy's facts and a grader's adjustments (grader serve) change
the score and say so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grader.policy.manual import final_of, gradescope_tests, waiting
from grader.results import CheckResult, Result, failure_text
from grader.submission.values import size_words

if TYPE_CHECKING:
    from grader.policy.final import Adjustment, FinalGrade

__all__ = ["dumps_gradescope", "to_gradescope"]


def _visibility(check: CheckResult, visibility: dict[str, str]) -> str:
    if check.hidden:
        return visibility.get("hidden", "after_published")
    return visibility.get(f"exercise.{check.exercise}", visibility.get("public", "visible"))


def _summary_output(result: Result) -> str:
    final = final_of(result)
    lines = [f"Score: {final.final:g}/{final.max_score:g} on {result.device} ({result.isolation})."]
    if result.manual:
        left = waiting(result)
        lines.append(
            f"Questions graded by a person: {final.manual:g} points given"
            + (f"; {len(left)} waiting for a grader ({', '.join(left)})." if left else ".")
        )
    lines += result.errors
    for cell in result.cells:
        lines.append(cell.message if cell.kind == "skipped" else f"Cell {cell.index + 1}: {cell.message}")
    if result.files:
        lines.append("Files received with the notebook: " + ", ".join(_file_words(f) for f in result.files) + ".")
    if not result.hidden_ran:
        lines.append("Hidden checks were not run here; they run at grading time.")
    return "\n".join(lines)


def _file_words(row: dict[str, Any]) -> str:
    sent = f", sent as {row['sent_as']}" if row.get("sent_as") else ""
    return f"{row['name']} ({size_words(int(row['bytes']))}{sent})"


def to_gradescope(
    result: Result,
    visibility: dict[str, str] | None = None,
    late: dict[str, Any] | None = None,
    grade: "FinalGrade | None" = None,
) -> dict[str, Any]:
    """results.json in Gradescope's schema, with our facts under extra_data. `late`: the late
    policy's facts (grader.policy.submitted.Shown.late_data); its "final" is the score then.
    `grade`: the final grade where graders adjusted it (grader serve): `score` is its final, an
    adjusted check shows its new points and the reason, extra_data lists the adjustments."""
    visibility = visibility or {}
    grade = grade if grade is not None and grade.applied else None
    adjusted = {a.name: a for a in grade.applied if a.kind == "check"} if grade else {}
    tests = [_check_test(check, visibility, adjusted) for check in result.checks]
    tests += gradescope_tests(result, visibility.get("manual", visibility.get("public", "visible")))
    final = final_of(result)
    return {
        "score": grade.final if grade else (late["final"] if late else final.final),
        "execution_time": round(result.execution_time, 3),
        "output": _summary_output(result)
        + (f"\nLate policy: {late['words']}. Final score: {late['final']:g}." if late else ""),
        "output_format": "text",
        "tests": tests,
        "extra_data": _extra_data(result, final, late, grade),
    }


def _check_test(check: CheckResult, visibility: dict[str, str], adjusted: dict[str, "Adjustment"]) -> dict[str, Any]:
    """One check as a results.json test: its public view, with a grader's adjustment first where it has one."""
    view = check.public_view()
    output = view.message if view.passed else failure_text(view)
    if check.name in adjusted:
        output = (
            f"Adjusted by your grader to {adjusted[check.name].points:g} points: "
            f"{adjusted[check.name].reason}\n\n{output}"
        )
    return {
        "name": f"{check.exercise}: {check.name}",
        "score": adjusted[check.name].points if check.name in adjusted else view.score,
        "max_score": view.points,
        "status": view.status,
        "output": output,
        "tags": [check.exercise] + (["hidden"] if check.hidden else []),
        "visibility": _visibility(check, visibility),
        "output_format": "text",
        "extra_data": {
            "exercise": check.exercise,
            "check": check.name,
            "hidden": check.hidden,
            **({"carried_forward": check.carried_forward} if check.carried_forward else {}),
        },
    }


def _extra_data(
    result: Result, final: "FinalGrade", late: dict[str, Any] | None, grade: "FinalGrade | None"
) -> dict[str, Any]:
    """results.json's extra_data: the verdict's facts, and the files, manual points, late policy,
    LMS and adjustments where there are any."""
    return {
        "device": result.device,
        "grader_version": result.grader_version,
        "sha256": result.sha256,
        "isolation": result.isolation,
        "assignment": result.assignment,
        "max_score": final.max_score,
        "readable": result.readable,
        "errors": result.errors,
        **_files_data(result),
        **({"manual_points": final.manual, "manual_waiting": waiting(result)} if result.manual else {}),
        **({"late": late} if late else {}),
        **({"lms": {"lms": result.lms, "id": result.lms_id, "name": result.display_name}} if result.lms else {}),
        **_grade_data(grade),
    }


def _grade_data(grade: "FinalGrade | None") -> dict[str, Any]:
    """extra_data's "automatic_score" and "adjustments": only for a grade a grader changed."""
    if grade is None:
        return {}
    return {
        "automatic_score": grade.automatic,
        "adjustments": [
            {
                "kind": a.kind,
                "name": a.name,
                "points": a.points,
                "reason": a.reason,
                "by": a.by,
                "at": a.at,
                "earlier": a.earlier,
            }
            for a in grade.applied
        ],
    }


def _files_data(result: Result) -> dict[str, Any]:
    """extra_data's "files" (and "files_refused"): only for a submission that came with files."""
    if not (result.files or result.files_refused):
        return {}
    return {"files": result.files, "files_refused": result.files_refused}


def dumps_gradescope(
    result: Result,
    visibility: dict[str, str] | None = None,
    late: dict[str, Any] | None = None,
    grade: "FinalGrade | None" = None,
) -> str:
    return json.dumps(to_gradescope(result, visibility, late, grade), indent=2)
