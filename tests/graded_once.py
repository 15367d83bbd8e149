"""One grading per notebook, assignment and options in a test session: tests that assert different
things of the same verdict (test_goldens.py: the recorded results.json; test_samples.py: the words
per exercise) share it instead of running the same notebook in a kernel twice."""

from __future__ import annotations

from pathlib import Path

from grader.course import load_assignment
from grader.grade import grade
from grader.options import Options
from grader.results import Result

_GRADED: dict[tuple[Path, Path, Options], Result] = {}


def graded_once(notebook: Path, assignment: Path, options: Options = Options()) -> Result:
    """The verdict of `notebook` under the assignment at `assignment`, graded on first asking."""
    key = (notebook.resolve(), assignment.resolve(), options)
    if key not in _GRADED:
        _GRADED[key] = grade(notebook, load_assignment(assignment), options)
    return _GRADED[key]
