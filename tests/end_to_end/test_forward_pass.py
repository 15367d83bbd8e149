"""The third bundled assignment, forward-pass, in the walkthrough's own style: every answer is
computed in a top-level cell under its heading, with names of the student's choosing, and graded
through nb.cell(after=...): cell.answer on the notebook's own data, cell.rerun(...) on data the
student never saw. Each sample in tests/submissions/forward-pass/ (made by make_forward_pass.py)
is graded for real and gets the verdict a careful reader would give, with the words that name
its problem. Regenerate the samples with `python tests/submissions/make_forward_pass.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import torch

from grader.authoring.assign import assign, notebook_text
from grader.config import Assignment
from grader.course import load_assignment
from grader.grade import Options, grade, live_notebook
from grader.submission.notebook import read_submission
from grader.results import Result
from grader.sandbox.isolation import detect

ROOT = Path(__file__).resolve().parents[2]
SLUG = "forward-pass"
SAMPLES = ROOT / "tests" / "submissions" / SLUG
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
STUDENT = ROOT / "assignments" / SLUG / f"{SLUG}.ipynb"
EXERCISES = ("neuron_sum", "neuron_mm", "two_layer")
MAX_SCORE = 26.0
WALKTHROUGH_Y = torch.tensor([[0.15950657]])
WALKTHROUGH_OUTPUT = torch.tensor([[0.31708315]])

Grader = Callable[[str], Result]


@pytest.fixture(scope="module")
def assignment() -> Assignment:
    return load_assignment(ROOT / "assignments" / SLUG)


@pytest.fixture(scope="module")
def graded(assignment: Assignment) -> Grader:
    """Grade a sample (or "master") once per module; later calls reuse the result."""
    cache: dict[str, Result] = {}

    def get(name: str) -> Result:
        if name not in cache:
            cache[name] = grade(MASTER if name == "master" else SAMPLES / name, assignment, Options(device="cpu"))
        return cache[name]

    return get


def verdicts(result: Result) -> dict[str, str]:
    """Per exercise: "full", "partial" or "zero", as a gradebook would show it."""
    out = {}
    for name, (score, points) in result.exercise_scores().items():
        out[name] = "full" if score == points > 0 else "zero" if score == 0 else "partial"
    return out


def failed(result: Result) -> dict[str, str]:
    return {c.name: c.message for c in result.checks if not c.passed}


def passed(result: Result, name: str) -> bool:
    return next(c for c in result.checks if c.name == name).passed


def full(**others: str) -> dict[str, str]:
    return {**dict.fromkeys(EXERCISES, "full"), **others}


# What a careful reader gives each sample, exercise by exercise (and why, where it is not obvious).
EXPECTED = {
    "master": full(),
    "master_full_marks.ipynb": full(),
    "stub_zero.ipynb": dict.fromkeys(EXERCISES, "zero"),
    "ends_with_assignment.ipynb": full(),  # the answer is the name the cell assigned last
    "ends_with_print.ipynb": full(),  # ... or what its last print(...) shows
    "ends_with_bare_expression.ipynb": full(),  # ... or its last expression, with no name at all
    "function_defined_and_called.ipynb": full(),  # a def and a call: rerun makes the def anew, on new data
    "reuses_y_for_every_exercise.ipynb": full(),  # y of Exercise 1 is read as that cell left it
    "heading_comment_deleted.ipynb": full(),  # found under the markdown heading, not by the comment
    "scratch_cells_inserted.ipynb": full(),  # cells that only look at shapes are passed over
    "python2_kernelspec.ipynb": full(),  # Python 3 code, a stale kernel name
    "run_out_of_order.ipynb": full(),  # graded as run top to bottom, stale outputs ignored
    "edited_data_rand_like.ipynb": full(),  # right formulas over other data: right answers
    "at_operator_and_transpose.ipynb": full(),  # `@`, `.T` and `.sum()` are as good as mm, view, sum
    "hardcoded_answer.ipynb": dict.fromkeys(EXERCISES, "partial"),  # right on the page, wrong on any other data
    "forgot_bias.ipynb": full(neuron_sum="zero", neuron_mm="partial"),  # Exercise 2 keeps its matrix-product shape
    "forgot_activation.ipynb": full(neuron_sum="partial", two_layer="partial"),
    "sum_instead_of_mm.ipynb": full(neuron_mm="partial"),  # the right number, not the matrix product asked for
    "elementwise_instead_of_mm.ipynb": full(neuron_mm="partial"),
    "mm_without_reshape.ipynb": full(neuron_mm="zero"),  # the cell raises: no answer at all
    "weights_reshaped_in_an_earlier_cell.ipynb": full(
        neuron_mm="partial"
    ),  # works only with the notebook's own weights
    "hidden_layer_without_activation.ipynb": full(two_layer="partial"),
    "two_layer_in_two_cells.ipynb": full(),  # the hidden layer in one cell, the output in the next
    # answers as students leave them: read as a person reads them (issue 31)
    "displays_a_tuple_with_the_shape.ipynb": full(two_layer="partial"),  # `output, output.shape`: the tensor
    "prints_with_str_format.ipynb": full(),  # print("result: {}".format(y)): y
    "prints_several_arguments.ipynb": full(),  # print("y =", y, "of shape", y.shape): y
    "prints_with_percent_format.ipynb": full(),  # print("%s" % y): y
    "scratch_line_after_y.ipynb": full(),  # y = ... then print(features.shape): y
    "prints_shape_after_value.ipynb": full(),  # print(y) then print(y.shape): y
}


def test_every_sample_has_an_expected_verdict() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.ipynb")) == sorted(k for k in EXPECTED if k != "master")


def test_samples_are_generated_by_the_script() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_forward_pass", ROOT / "tests" / "submissions" / "make_forward_pass.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, nb in module.samples().items():
        committed = (SAMPLES / name).read_text(encoding="utf-8")
        assert committed == notebook_text(nb), f"run `python tests/submissions/make_forward_pass.py`: {name} is stale"


def test_assignment_folder_is_generated_from_the_master(tmp_path: Path) -> None:
    written = assign(ROOT / "solutions" / SLUG, tmp_path)
    committed_files = [
        p for p in (ROOT / "assignments" / SLUG).rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    assert sorted(str(p.relative_to(ROOT / "assignments")) for p in committed_files) == sorted(
        str(p.relative_to(tmp_path)) for p in written
    )
    assert sorted(p.name for p in written) == [
        "assignment.toml",
        f"{SLUG}.ipynb",
        "test_neuron_mm.py",
        "test_neuron_sum.py",
        "test_two_layer.py",
    ]  # no hidden check
    for path in written:
        committed = ROOT / "assignments" / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"run `grader assign solutions/{SLUG}`: {committed} is stale"
        )
    text = STUDENT.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "torch.sum(features * weights)" not in text
    assert text.count("# Exercise 1: your solution here") == 1 and text.count("raise NotImplementedError()") == 3


@pytest.mark.parametrize("name", list(EXPECTED))
def test_verdict_per_exercise(graded: Grader, name: str) -> None:
    result = graded(name)
    assert verdicts(result) == EXPECTED[name], failed(result)
    assert result.max_score == MAX_SCORE
    if EXPECTED[name] == full():
        assert result.score == result.max_score and result.passed


def test_master_runs_every_check_public_and_hidden(graded: Grader) -> None:
    result = graded("master")
    assert result.readable and result.hidden_ran and not result.cells and not result.errors
    assert (result.score, result.max_score) == (MAX_SCORE, MAX_SCORE)
    for exercise in EXERCISES:
        assert {c.hidden for c in result.checks if c.exercise == exercise} == {False, True}, exercise


def test_the_stub_scores_zero_and_says_replace_the_stub(graded: Grader) -> None:
    result = graded("stub_zero.ipynb")
    assert result.readable and result.score == 0 and result.status == "failed"
    public = [c for c in result.checks if not c.hidden]
    assert public and all(
        "Replace the `raise NotImplementedError()` stub with your answer." in c.message for c in public
    ), [c.message for c in public]
    assert {c.ename for c in result.cells} == {"NotImplementedError"}


def test_a_typed_in_answer_passes_on_the_page_and_fails_on_new_data(graded: Grader) -> None:
    result = graded("hardcoded_answer.ipynb")
    for n in (1, 2, 3):
        assert passed(result, f"test_exercise_{n}_on_the_notebooks_data")
        message = failed(result)[f"test_exercise_{n}_on_new_data"]
        assert f"your Exercise {n} cell, run again on " in message
        assert "It looks like a number typed in: the same answer whatever the data" in message
        assert "the grader runs your cell with other values" in message
    hidden = next(c for c in result.checks if c.name == "test_exercise_1_on_unseen_sizes")
    assert not hidden.passed and hidden.public_view().message.startswith("Hidden check failed")


def test_an_edited_data_cell_is_graded_on_its_own_data(graded: Grader) -> None:
    # rand_like instead of randn_like: y is no longer 0.1595, and the checks know it
    gen = torch.Generator().manual_seed(7)
    features = torch.randn((1, 5), generator=gen)
    weights = torch.rand((1, 5), generator=gen)
    bias = torch.randn((1, 1), generator=gen)
    y = torch.sigmoid(torch.sum(features * weights) + bias)
    assert not torch.allclose(y, WALKTHROUGH_Y, atol=1e-3)
    assert passed(graded("edited_data_rand_like.ipynb"), "test_exercise_1_on_the_notebooks_data")


def test_forgotten_bias_and_activation_are_named(graded: Grader) -> None:
    bias = failed(graded("forgot_bias.ipynb"))
    assert "your answer to Exercise 1 has shape (), expected (1, 1)." in bias["test_exercise_1_gives_one_number"]
    assert "It looks like the bias is left out: add `+ bias` after the sum" in bias["test_exercise_1_gives_one_number"]
    assert (
        "It looks like the bias is left out: add `+ bias` after the matrix product."
        in bias["test_exercise_2_on_the_notebooks_data"]
    )
    activation = failed(graded("forgot_activation.ipynb"))
    assert "It looks like the activation is left out" in activation["test_exercise_1_on_the_notebooks_data"]
    assert "It looks like the output layer has no activation" in activation["test_exercise_3_on_the_notebooks_data"]
    hidden = failed(graded("hidden_layer_without_activation.ipynb"))
    assert "It looks like the hidden layer has no activation" in hidden["test_exercise_3_on_new_data"]


def test_a_displayed_tuple_is_read_as_its_one_value_and_said_so(graded: Grader) -> None:
    result = graded("displays_a_tuple_with_the_shape.ipynb")
    message = failed(result)["test_exercise_3_on_the_notebooks_data"]
    assert "It looks like the output layer has no activation" in message
    assert "How the answer was read: cell " in message
    assert "read from `output, output.shape`: the first item." in message
    assert passed(result, "test_exercise_1_on_the_notebooks_data") and passed(result, "test_exercise_2_on_new_data")


def test_exercise_2_requires_a_matrix_product(graded: Grader) -> None:
    result = graded("sum_instead_of_mm.ipynb")
    for name in ("test_exercise_2_on_the_notebooks_data", "test_exercise_2_on_new_data"):
        assert passed(result, name)  # the right number for one example ...
    message = failed(result)["test_exercise_2_gives_one_output_per_example"]  # ... but not for three
    assert "run again with 3 examples in `features` (shape (3, 5)) has shape (1, 1), expected (3, 1)." in message
    assert "It looks like the products are added up with torch.sum, not a matrix product" in message
    elementwise = failed(graded("elementwise_instead_of_mm.ipynb"))["test_exercise_2_on_the_notebooks_data"]
    assert "It looks like an elementwise product with the weight column" in elementwise
    assert "torch.mm(features, weights.view(5, 1))" in elementwise


def test_a_product_without_reshape_says_which_shapes_disagree(graded: Grader) -> None:
    message = failed(graded("mm_without_reshape.ipynb"))["test_exercise_2_on_the_notebooks_data"]
    assert "mat1 and mat2 shapes cannot be multiplied (1x5 and 1x5)" in message
    # the cell's own error gets the hint a function's error gets, with the shapes before the cell
    assert "features is (1, 5) and weights is (1, 5): for a matrix product the inner sizes must agree" in message


def test_weights_reshaped_elsewhere_fail_when_the_cell_runs_on_new_data(graded: Grader) -> None:
    result = graded("weights_reshaped_in_an_earlier_cell.ipynb")
    assert passed(result, "test_exercise_2_on_the_notebooks_data")
    message = failed(result)["test_exercise_2_on_new_data"]
    assert "cannot be multiplied (1x5 and 1x5)" in message
    assert "features is (1, 5) and weights is (1, 5): for a matrix product the inner sizes must agree" in message
    assert "with `weights` as the data cell makes it, a (1, 5) row: make the column inside this cell" in message


def test_a_python2_kernelspec_is_run_with_python3_and_said_so(graded: Grader) -> None:
    result = graded("python2_kernelspec.ipynb")
    assert any("Python 2 kernel" in e for e in result.errors), result.errors


# -- the cell API on one live notebook -----------------------------------------------------------


@pytest.fixture(scope="module")
def reused(assignment: Assignment) -> Iterator[Any]:
    """The sample that reuses `y` for every exercise, live: its cells have run in a kernel."""
    submission = read_submission(SAMPLES / "reuses_y_for_every_exercise.ipynb")
    with live_notebook(submission, assignment, Options(device="cpu"), detect("auto")) as live:
        yield live.notebook


def test_names_keep_y_as_each_cell_left_it(reused: Any) -> None:
    assert torch.allclose(reused.y, WALKTHROUGH_OUTPUT, atol=1e-5)  # the last cell's y
    first = reused.cell(after="## Exercise 1")
    assert list(first.names) == ["y"]
    assert torch.allclose(first.names["y"], WALKTHROUGH_Y, atol=1e-5)  # Exercise 1's y, not the last one
    assert torch.allclose(reused.cell(after="## Exercise 3").names["y"], WALKTHROUGH_OUTPUT, atol=1e-5)
    assert list(reused.cell(after="## Exercise 3").names) == ["h", "y"]


def test_rerun_answers_on_new_data_and_leaves_the_notebook_as_it_was(reused: Any) -> None:
    gen = torch.Generator().manual_seed(99)
    features, weights, bias = (torch.randn(shape, generator=gen) for shape in ((1, 7), (1, 7), (1, 1)))
    again = reused.cell(after="## Exercise 1").rerun(features=features, weights=weights, bias=bias)
    assert again.status == "ok"
    assert torch.allclose(again.answer, torch.sigmoid(torch.sum(features * weights) + bias), atol=1e-6)
    assert tuple(reused.features.shape) == (1, 3)  # the notebook's own, untouched
    assert torch.allclose(reused.y, WALKTHROUGH_OUTPUT, atol=1e-5)
    assert torch.allclose(reused.cell(after="## Exercise 1").answer, WALKTHROUGH_Y, atol=1e-5)
