"""Cells tagged skip-execution (the tag nbmake and MyST-NB honour; [execution] skip_tags in
assignment.toml) are not run at grading time, and every form of the feedback says so: a
training loop that would take an hour is skipped, the cell after it loads what it saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.course import load_assignment
from grader.errors import AssignmentError
from grader.feedback import render_html, render_markdown, render_text
from grader.grade import Options, grade
from grader.integrations.gradescope_results import to_gradescope
from grader.results import Result

TOML = """\
slug = "skipping"
title = "A notebook with a training cell"
[exercises]
trained = "The trained weights"
[timeouts]
cell = 5.0
call = 5.0
"""

CHECKS = """\
import pytest
import torch

pytestmark = pytest.mark.exercise("trained")


def test_the_loaded_weights(nb):
    assert torch.equal(nb.weights, torch.full((3,), 2.0)), "the weights are not the saved ones"


def test_the_training_cell_left_nothing(nb):
    nb.value("history")


def test_the_training_cell_has_no_answer(nb):
    nb.cell(tag="train").answer


def test_the_training_cell_is_said_skipped(nb):
    cell = nb.cell(tag="train")
    assert cell.status == "skipped", cell.status
"""

# the training cell would run past the 5 s cell timeout, and print, if it were run
TRAINING = "import time\nprint('training...')\ntime.sleep(60)\nhistory = [0.9, 0.5, 0.1]\nweights = torch.zeros(3)"
CELLS: list[tuple[str, str, list[str]]] = [
    ("markdown", "# Train, then load", []),
    ("code", "import torch", []),
    ("code", TRAINING, ["train", "skip-execution"]),
    ("code", "weights = torch.full((3,), 2.0)   # as the training cell saved them\nweights", []),
    ("code", "slow_total = sum(range(10))", ["slow"]),
]
SKIPPED = "cell 3 was not run at grading time (tagged skip-execution)"


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def make_assignment(root: Path, extra: str = "") -> Path:
    (root / "checks").mkdir(parents=True)
    (root / "assignment.toml").write_text(TOML + extra)
    (root / "checks" / "test_trained.py").write_text(CHECKS)
    return root


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("skip")
    root = make_assignment(tmp / "assignments" / "skipping")
    result = grade(write_notebook(tmp / "train.ipynb"), load_assignment(root), Options(device="cpu"))
    return result, {c.name: c for c in result.checks}


def test_a_tagged_cell_is_not_run_and_the_cells_after_it_are(graded: tuple[Result, dict[str, Any]]) -> None:
    result, checks = graded
    assert checks["test_the_loaded_weights"].passed, checks["test_the_loaded_weights"].message
    assert checks["test_the_training_cell_is_said_skipped"].passed
    # not run: no timeout, no output, nothing it assigns
    assert [(c.index, c.kind, c.message) for c in result.cells] == [(2, "skipped", SKIPPED)]
    assert result.score == 2 and result.max_score == 4


def test_what_a_skipped_cell_left_undefined_is_explained(graded: tuple[Result, dict[str, Any]]) -> None:
    _, checks = graded
    assert checks["test_the_training_cell_left_nothing"].message == (
        "Your notebook does not define `history`: `history` is not defined because cell 3, which assigns it, was not "
        "run at grading time (tagged skip-execution). Grading does not run that cell: define `history` in a cell "
        "that runs (load your saved checkpoint there), and check again."
    )
    assert checks["test_the_training_cell_has_no_answer"].message == (
        "cell 3 was not run at grading time (tagged skip-execution), so it has no value. Grading reads what the cells "
        "that run leave behind: compute or load this answer in a cell without that tag."
    )


def test_every_form_of_the_feedback_says_the_cell_was_skipped(graded: tuple[Result, dict[str, Any]]) -> None:
    result, _ = graded
    text = render_text(result)
    assert f"SKIPPED: {SKIPPED}\n" in text and "CELL 3" not in text
    html = render_html(result)
    assert "Cells not run at grading time" in html and SKIPPED in html
    assert "Notebook cells with problems" not in html  # a skipped cell is not a problem
    assert f"> **Skipped:** {SKIPPED}" in render_markdown(result)
    data = json.loads(json.dumps(to_gradescope(result)))
    assert SKIPPED in data["output"].splitlines()
    assert {"index": 2, "kind": "skipped", "message": SKIPPED} == {
        k: v for k, v in result.to_dict()["cells"][0].items() if k in ("index", "kind", "message")
    }
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))).cells == result.cells


def test_skip_tags_are_configurable(tmp_path: Path) -> None:
    # [] runs every cell: the training cell runs, into its timeout; "slow" skips the other one
    root = make_assignment(tmp_path / "a" / "skipping", '[execution]\nskip_tags = ["slow"]\n')
    result = grade(write_notebook(tmp_path / "train.ipynb"), load_assignment(root), Options(device="cpu"))
    kinds = {c.index: (c.kind, c.message) for c in result.cells}
    assert kinds[4] == ("skipped", "cell 5 was not run at grading time (tagged slow)")
    assert kinds[2][0] == "timeout" and "stopped after 5 s" in kinds[2][1]


@pytest.mark.parametrize(
    "table, words",
    [
        (
            '[execution]\nskip_tags = "skip-execution"\n',
            "[execution] skip_tags = 'skip-execution' is not a list of tags",
        ),
        ('[execution]\nskip_tag = ["x"]\n', "unknown key 'skip_tag' in [execution]"),
        ('[execution]\nskip_tags = [""]\n', "is not a list of tags"),
    ],
)
def test_a_bad_execution_table_is_an_error_that_names_it(tmp_path: Path, table: str, words: str) -> None:
    root = make_assignment(tmp_path / "skipping", table)
    with pytest.raises(AssignmentError) as info:
        load_assignment(root)
    assert words in str(info.value)


def test_the_default_and_an_empty_list(tmp_path: Path) -> None:
    assert load_assignment(make_assignment(tmp_path / "one" / "skipping")).execution.skip_tags == ("skip-execution",)
    empty = load_assignment(make_assignment(tmp_path / "two" / "skipping", "[execution]\nskip_tags = []\n"))
    assert empty.execution.skip_tags == () and empty.execution.skip_tag(("skip-execution",)) is None
