"""`import grader; grader.check()` in a student's running kernel (driven here by nbclient, as
Jupyter would): the public checks run against the live namespace and the feedback shows inline,
as HTML; `grader.check("activation")` checks one exercise; hidden checks never run."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.errors import GraderError
from grader.inline import find_assignment, find_notebook, notebook_slug

FIXTURE = Path(__file__).parent / "fixtures" / "inline"

CELLS = [
    ("code", "import torch"),
    ("code", "def activation(x):\n    return torch.sigmoid(x)"),
    ("markdown", "## Exercise 2: row sums as a column"),
    # the answer is a top-level expression with a name of the student's choosing, and wrong: shape (2,)
    ("code", "x = torch.arange(6.0).reshape(2, 3)\nmy_sums = x.sum(dim=1)\nmy_sums"),
    ("code", "import grader\nr = grader.check()"),
    ("code", "print(r.score, r.max_score, r.hidden_ran, sorted(c.name for c in r.checks))"),
    ("code", "grader.check('activation')"),
    ("code", "grader.check('no_such_exercise')"),
]


def student_notebook(folder: Path, cells: list[tuple[str, str]], slug: str = "inline-mini") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) if kind == "code" else nbformat.v4.new_markdown_cell(s) for kind, s in cells]
    nb.metadata["grader"] = {"slug": slug, "version": "1"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "my-work.ipynb"
    nbformat.write(nb, str(path))
    return path


def run_in_jupyter(path: Path) -> Any:
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def html_of(cell: Any) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs
            if o.output_type in ("display_data", "execute_result") and "text/html" in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    shutil.copytree(FIXTURE / "solutions", course / "solutions")   # an instructor's checkout: still no hidden checks
    return run_in_jupyter(student_notebook(course, CELLS))


def test_check_shows_html_feedback_inline(executed: Any) -> None:
    cell = executed.cells[4]
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    (html,) = html_of(cell)
    assert 'class="grader-fb"' in html and "<body" not in html        # a fragment, styles scoped
    assert "3 / 5" in html and "3 of 4 public checks passed" in html
    for name in ("test_activation_values", "test_activation_float64", "test_row_sums_as_a_column",
                 "test_x_is_left_as_given"):
        assert name in html
    assert "the row sums of x has shape (2,), expected (2, 1)" in html
    assert "Hidden checks were not run here: they run when your work is graded." in html
    assert "test_secret_hidden_check" not in html


def test_check_returns_the_result(executed: Any) -> None:
    (out,) = [o for o in executed.cells[5].outputs if o.output_type == "stream"]
    assert out.text.strip() == ("3.0 5.0 False ['test_activation_float64', 'test_activation_values', "
                                "'test_row_sums_as_a_column', 'test_x_is_left_as_given']")


def test_check_one_exercise(executed: Any) -> None:
    cell = executed.cells[6]
    html = html_of(cell)[0]
    assert "2 / 2" in html and "test_activation_values" in html
    assert "row_sums" not in html and "Exercise 2" not in html
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert result["data"]["text/plain"].startswith("<grader.check: 2/2 points, 2 public checks, 0 failed")


def test_unknown_exercise_says_which_exist(executed: Any) -> None:
    (err,) = [o for o in executed.cells[7].outputs if o.output_type == "error"]
    assert err.ename == "InlineError"
    assert err.traceback == ["grader.check(): 'inline-mini' has no exercise 'no_such_exercise'",
                             "  its exercises: 'activation', 'row_sums'"]


def test_finding_the_notebook_and_assignment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    work = course / "week1" / "work"
    work.mkdir(parents=True)
    path = student_notebook(work, [("code", "1")])
    other = tmp_path / "elsewhere"      # no assignments/ here or above
    other.mkdir()
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    # Jupyter names the notebook in __session__ (from $JPY_SESSION_NAME); the cwd need not hold it
    assert find_notebook({"__session__": str(path)}, other) == path
    assert find_notebook({"__vsc_ipynb_file__": str(path)}, other) == path
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    assert find_notebook({}, other) == path
    monkeypatch.delenv("JPY_SESSION_NAME")
    # else: the notebook with grader metadata in the current folder
    assert find_notebook({}, work) == path and find_notebook({}, other) is None
    assert notebook_slug(path) == "inline-mini"
    # the slug is looked up in assignments/<slug> beside the notebook's folder or above it
    assert find_assignment(None, path, other).root == (course / "assignments" / "inline-mini").resolve()
    assert find_assignment("inline-mini", None, work).slug == "inline-mini"
    assert find_assignment(str(course / "assignments" / "inline-mini"), None, other).slug == "inline-mini"
    with pytest.raises(GraderError, match="no assignment 'inline-mini' was found"):
        find_assignment(None, path.rename(other / path.name), other)
