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
from grader.notebook import read_submission
from grader.results import Result, dumps_gradescope, to_junit
from grader.submission.archive import zip_slug
from grader.submission.opened import attach_files, gather, is_zip, open_submission

if TYPE_CHECKING:
    from grader.policy.final import Adjustment


@dataclass(frozen=True)
class Outputs:
    results: Path | None = None
    feedback: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None


def write_outputs(result: Result, assignment: Assignment, outputs: Outputs,
                  adjustments: Sequence["Adjustment"] = ()) -> None:
    """Write the requested files; `adjustments`: the graders' (grader serve), in the final grade."""
    from grader.feedback import render_html, render_markdown
    from grader.policy.submitted import shown

    final = shown(result, assignment.deadline, adjustments)
    late = final.late_data()     # the final grade, where a late policy applies
    grade = final.grade if final.grade.applied else None     # ... and where graders adjusted it

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


def check_notebook(notebook: Path, assignment_dir: Path | None = None, *, options: Options = Options(),
                   outputs: Outputs = Outputs(), with_files: tuple[Path, ...] = ()) -> tuple[Result, Assignment]:
    """Grade `notebook` (or a zip holding it and its files) with the other files of its folder and
    `with_files`, and write the requested files. Raises GraderError only for grader faults."""
    if not notebook.exists():
        raise UsageError(f"no such notebook: {notebook}", hint="give the path of the .ipynb file (or .zip) to grade")
    if notebook.is_dir():
        raise UsageError(f"{notebook} is a folder, not a notebook",
                         hint="give the notebook in it (its folder's files come along), or use `grader batch` for a class")
    for extra in with_files:
        if not extra.exists():
            raise UsageError(f"--with names {extra}, which does not exist", hint="give files (or folders) that exist")
    if is_zip(notebook):
        assignment = resolve_assignment(assignment_dir, zip_slug(notebook))
        with open_submission(notebook, assignment, extra=with_files) as submission:
            result = grade(notebook, assignment, options, submission=submission)
    else:
        submission = read_submission(notebook)      # once: its slug names the assignment, its bytes are graded
        assignment = resolve_assignment(assignment_dir, submission.slug)
        submission = attach_files(submission, gather(notebook, assignment, extra=with_files))
        result = grade(notebook, assignment, options, submission=submission)
    write_outputs(result, assignment, outputs)
    return result, assignment


def result_json(result: Result) -> str:
    return json.dumps(result.to_dict(), indent=2)
