"""`nb.cell(...)` grades a notebook whose answers are top-level expressions with names of the
student's own choosing: found by tag, by a markdown heading (then the next code cell), or by
a code cell's first line; `.value` is the cell's last expression, `.output` what it printed."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.course import load_assignment
from grader.nb.cellfind import CellQuery, starts_with
from grader.failures import CheckFailed
from grader.grade import Options, grade
from grader.submission.notebook import Cell

TOML = """\
slug = "cells"
title = "Top-level answers"
[exercises]
colsums = "Column sums"
shape = "A shape"
broken = "A cell that raises"
[timeouts]
cell = 10.0
call = 5.0
"""

CHECKS = """\
import pytest
import torch

from grader.checks import assert_tensor
from grader.failures import CheckFailed


@pytest.mark.exercise("colsums")
def test_heading_then_next_code_cell(nb):
    value = nb.cell(starting_with="## Exercise 1").value
    assert_tensor(value, torch.tensor([[3.0, 5.0, 7.0]]), what="your column sums")


@pytest.mark.exercise("colsums")
def test_word_boundary(nb):
    # "## Exercise 1" must not find "## Exercise 10"
    assert nb.cell(starting_with="## Exercise 10").value == "ten"
    assert nb.cell(starting_with="## Exercise 1").value is not None


@pytest.mark.exercise("shape")
def test_tag_value_and_output(nb):
    cell = nb.cell(tag="shape-answer")
    assert cell.value == (2, 4), f"expected (2, 4), got {cell.value!r}"
    assert cell.output == "the shape is (2, 4)\\n", repr(cell.output)


@pytest.mark.exercise("shape")
def test_code_first_line_and_no_value(nb):
    cell = nb.cell(starting_with="# Exercise 4")
    assert cell.output == "hello\\n"
    assert cell.value is None          # print(...) is not a value
    assert nb.cell(starting_with="silenced =").value is None      # a trailing ';' hides the value


@pytest.mark.exercise("broken")
def test_cell_that_raised(nb):
    nb.cell(starting_with="## Exercise 3").value


@pytest.mark.exercise("broken")
def test_missing_cell(nb):
    nb.cell(tag="no-such-tag")
"""

CELLS = [
    ("markdown", "# Answers in top-level cells", []),
    ("code", "import torch", []),
    ("markdown", "## Exercise 1: column sums\n\nSum the columns of `m`, keeping a row.", []),
    (
        "code",
        "m = torch.arange(6.0).reshape(2, 3)\nmy_very_own_name = m.sum(dim=0, keepdim=True)\nmy_very_own_name",
        [],
    ),
    ("markdown", "## Exercise 10: a trap for prefix matching", []),
    ("code", "'ten'", []),
    ("code", "whatever_i_like = (2, 4)\nprint('the shape is', whatever_i_like)\nwhatever_i_like", ["shape-answer"]),
    ("markdown", "## Exercise 3", []),
    ("code", "1 / 0", []),
    ("code", "# Exercise 4: printed\nprint('hello')", []),
    ("code", "silenced = 5\nsilenced;", []),
]


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["grader"] = {"slug": "cells", "version": "1"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("cells")
    root = tmp / "assignments" / "cells"
    (root / "checks").mkdir(parents=True)
    (root / "assignment.toml").write_text(TOML)
    (root / "checks" / "test_cells.py").write_text(CHECKS)
    result = grade(write_notebook(tmp / "answers.ipynb"), load_assignment(root), Options(device="cpu"))
    return {c.name: c for c in result.checks}, result


def test_answers_in_top_level_cells_are_graded(graded) -> None:
    checks, result = graded
    for name in (
        "test_heading_then_next_code_cell",
        "test_word_boundary",
        "test_tag_value_and_output",
        "test_code_first_line_and_no_value",
    ):
        assert checks[name].passed, (name, checks[name].message)
    assert result.score == 4 and result.max_score == 6


def test_a_cell_that_raised_fails_with_its_error(graded) -> None:
    check = graded[0]["test_cell_that_raised"]
    assert not check.passed
    assert check.message == (
        'cell 9 (under "Exercise 3") raised ZeroDivisionError: division by zero, so it has no value. '
        "Fix it so that it runs to the end: its last line is your answer."
    )


def test_a_missing_cell_says_what_was_looked_for(graded) -> None:
    check = graded[0]["test_missing_cell"]
    assert not check.passed
    assert "No cell with tag 'no-such-tag' was found" in check.message


def test_matching_rules() -> None:
    cells = [
        Cell(0, "## Exercise 10", "markdown"),
        Cell(1, "ten", "code"),
        Cell(2, "## Exercise 1: sums\nmore", "markdown"),
        Cell(3, "   ", "code"),
        Cell(4, "one", "code"),
        Cell(5, "x = 1", "code", tags=("t",)),
    ]
    assert CellQuery(starting_with="## Exercise 1").first(cells).index == 4
    assert CellQuery(starting_with="## Exercise 10").first(cells).index == 1
    assert CellQuery(tag="t").first(cells).index == 5
    assert starts_with("\n  x_1 = 2", "x_1") and not starts_with("x_10 = 2", "x_1") and starts_with("# Ex 1.", "# Ex 1")
    with pytest.raises(CheckFailed):
        CellQuery(starting_with="## Exercise 2").first(cells)
    with pytest.raises(TypeError):
        CellQuery(tag="t", starting_with="x")
