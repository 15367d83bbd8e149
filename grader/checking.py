"""`grader check`: grade one notebook and write what was asked for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from grader.config import Assignment
from grader.course import resolve_assignment
from grader.errors import UsageError
from grader.grade import Options, grade
from grader.integrations.gradescope_results import dumps_gradescope
from grader.junit import to_junit
from grader.results import Result
from grader.submission.opened import open_submission
from grader.submission.pick import submission_slug

if TYPE_CHECKING:
    from grader.policy.final import Adjustment


@dataclass(frozen=True)
class Outputs:
    results: Path | None = None
    feedback: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None


def write_outputs(
    result: Result, assignment: Assignment, outputs: Outputs, adjustments: Sequence["Adjustment"] = ()
) -> None:
    """Write the requested files; `adjustments`: the graders' (grader serve), in the final grade."""
    from grader.feedback import render_html, render_markdown
    from grader.policy.submitted import shown

    final = shown(result, assignment.deadline, adjustments)
    late = final.late_data()  # the final grade, where a late policy applies
    grade = final.grade if final.grade.applied else None  # ... and where graders adjusted it

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    if outputs.results:
        write(outputs.results, dumps_gradescope(result, assignment.visibility, late, grade))
    if outputs.feedback:
        write(outputs.feedback, render_html(result, title=assignment.title, late=late, grade=grade))
    if outputs.junit:
        write(outputs.junit, to_junit(result))
    if outputs.markdown:
        write(outputs.markdown, render_markdown(result, title=assignment.title))


def check_notebook(
    notebook: Path,
    assignment_dir: Path | None = None,
    *,
    options: Options = Options(),
    outputs: Outputs = Outputs(),
    with_files: tuple[Path, ...] = (),
) -> tuple[Result, Assignment]:
    """Grade `notebook` (or a zip or a folder holding it and its files) with the other files of its
    folder and `with_files`, and write the requested files. Raises GraderError only for grader faults."""
    if not notebook.exists():
        raise UsageError(f"no such notebook: {notebook}", hint="give the path of the .ipynb file (or .zip) to grade")
    for extra in with_files:
        if not extra.exists():
            raise UsageError(f"--with names {extra}, which does not exist", hint="give files (or folders) that exist")
    near = notebook if notebook.is_dir() else notebook.parent

    def assignment_for(slug: str | None) -> Assignment:
        if slug is None and notebook.is_dir():
            slug = submission_slug(notebook)  # the slug of the notebook `grader batch` would pick there
        return resolve_assignment(assignment_dir, slug, near)

    with open_submission(notebook, assignment_for, extra=with_files) as opened:
        assignment = opened.assignment
        result = grade(notebook, assignment, options, submission=opened.submission)
    write_outputs(result, assignment, outputs)
    return result, assignment


def result_json(result: Result) -> str:
    return json.dumps(result.to_dict(), indent=2)
