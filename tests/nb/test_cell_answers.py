"""Answers in top-level cells, as students leave them: `cell.names` (each name as it was right
after its cell), `cell.answer` (last expression, what a final print shows, else the last name
assigned), `cell.rerun(...)` (the cell's source on the check's own inputs, in a copy of the
namespace as it was before the cell), and finding the cell with `after=` and `containing=`.

One notebook in the walkthrough's style is graded in a real kernel; each check states one
behaviour, and the tests read the verdicts and the words a student would read."""

from __future__ import annotations


import re

import nbformat
import pytest

from grader.nb.cellcode import CellCode
from grader.nb.cellfind import CellQuery
from grader.course import load_assignment
from grader.grade import Options, grade
from grader.submission.notebook import Cell

TOML = """\
slug = "answers"
title = "Answers in cells"
[exercises]
cells = "Cells"
[timeouts]
cell = 20.0
call = 4.0
"""

CHECKS = """\
import pytest
import torch

from grader.checks import assert_tensor
from grader.failures import CheckFailed, StudentError


def neuron(f, w, b):
    return torch.sigmoid(torch.sum(f * w) + b)


def seeded(seed, n=5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn((1, n), generator=g), torch.randn((1, n), generator=g), torch.randn((1, 1), generator=g))


def data_edited():
    torch.manual_seed(7)
    f = torch.rand((1, 5))
    return {"features": f}


def original():
    torch.manual_seed(7)
    f = torch.randn((1, 5))
    return f, torch.randn_like(f), torch.randn((1, 1))


@pytest.mark.exercise("cells")
def test_after_skips_the_scratch_cell_and_names_keep_y(nb):
    cell = nb.cell(after="the output of a single neuron")
    assert cell.source.startswith("# Your solution here"), cell.source
    assert list(cell.names) == ["y"], list(cell.names)
    f, w, b = original()
    assert_tensor(cell.names["y"], neuron(f, w, b), what="y of exercise 1")
    assert_tensor(cell.answer, neuron(f, w, b), what="exercise 1's answer")
    # exercise 2 rebinds y (without the bias): the notebook's final y is that one
    assert_tensor(nb.y, torch.sigmoid(torch.mm(f, w.view(5, 1))), what="the final y")


@pytest.mark.exercise("cells")
def test_names_are_as_right_after_the_cell(nb):
    data = nb.cell(containing="torch.randn_like").names
    assert list(data) == ["features", "weights", "bias"], list(data)
    f, w, b = original()
    assert_tensor(data["features"], f, what="features as the data cell left it")
    changed = nb.cell(containing="features.add_(1)")
    assert "features" in changed.names and "scale" in changed.names, list(changed.names)
    assert_tensor(changed.names["features"], f + 1, what="features after the in-place cell")
    # the namespace just before a cell: its inputs as the student had them then
    before = nb.cell(after="Exercise 3").before
    assert "features" in before and "answer" not in before and "activation" in before
    assert_tensor(before["features"], data_edited()["features"], what="features before exercise 3")
    assert_tensor(nb.cell(after="Exercise 2").before["features"], f, what="features before exercise 2")


@pytest.mark.exercise("cells")
def test_answer_of_each_ending(nb):
    f, w, b = original()
    right = neuron(f, w, b)
    assert_tensor(nb.cell(after="Exercise 2").answer, torch.sigmoid(torch.mm(f, w.view(5, 1))),
                  what="the value print(y) shows")
    assert_tensor(nb.cell(containing="print(\\"output:\\", out)").answer, right, what="print with a label")
    assert_tensor(nb.cell(starting_with="# silenced").answer, right, what="a silenced last expression")
    assert_tensor(nb.cell(containing="def my_neuron").answer, right, what="a function defined and called")


@pytest.mark.exercise("cells")
def test_no_answer_says_how_to_show_it(nb):
    nb.cell(containing="for step in range(3)").answer


@pytest.mark.exercise("cells")
def test_a_name_the_cell_does_not_assign(nb):
    cell = nb.cell(after="the output of a single neuron")
    assert "output" not in cell.names and cell.names.get("output") is None
    cell.names["output"]


@pytest.mark.exercise("cells")
def test_rerun_on_unseen_inputs(nb):
    cell = nb.cell(after="the output of a single neuron")
    f, w, b = seeded(1, n=7)
    again = cell.rerun(features=f, weights=w, bias=b)
    assert again.status == "ok" and again.error == ""
    assert_tensor(again.answer, neuron(f, w, b), what="exercise 1 on new inputs")
    assert list(again.names) == ["y"]
    assert again.answer.device.type == nb.device
    fn = nb.cell(containing="def my_neuron").rerun(features=f, weights=w, bias=b)
    assert_tensor(fn.answer, neuron(f, w, b), what="a function defined and called, on new inputs")


@pytest.mark.exercise("cells")
def test_rerun_leaves_the_notebook_as_it_was(nb):
    f, w, b = original()
    features, y = nb.features, nb.y
    nb.cell(containing="features.add_(1)").rerun()
    nb.cell(after="the output of a single neuron").rerun(features=torch.zeros(1, 5), weights=w, bias=b)
    assert_tensor(nb.features, features, what="features after reruns")
    assert_tensor(nb.y, y, what="y after reruns")
    # the cell ran again in the namespace as it was just before it (features as the data cell made
    # them), not in the notebook's final one (features rebound since) nor after its own first run
    again = nb.cell(containing="features.add_(1)").rerun()
    assert_tensor(again.names["features"], f + 1, what="features in the rerun of the in-place cell")


@pytest.mark.exercise("cells")
def test_right_formula_over_edited_data(nb):
    data = nb.cell(containing="torch.rand_like").names
    cell = nb.cell(after="Exercise 3")
    assert_tensor(cell.answer, neuron(data["features"], data["weights"], data["bias"]), what="over the edited data")
    f, w, b = seeded(2)
    assert_tensor(cell.rerun(features=f, weights=w, bias=b).answer, neuron(f, w, b), what="on new inputs")


@pytest.mark.exercise("cells")
def test_hard_coded_answer_fails_on_new_inputs(nb):
    cell = nb.cell(after="Exercise 4")
    f, w, b = seeded(3)
    assert_tensor(cell.rerun(features=f, weights=w, bias=b).answer, neuron(f, w, b), what="your answer on new inputs")


@pytest.mark.exercise("cells")
def test_rerun_error_is_the_students(nb):
    again = nb.cell(after="Exercise 2").rerun(features=torch.ones(1, 7), weights=torch.ones(1, 7))
    assert again.status == "error" and again.error.startswith("RuntimeError"), (again.status, again.error)
    again.answer


@pytest.mark.exercise("cells")
def test_rerun_of_a_cell_that_makes_its_own_inputs(nb):
    assert nb.cell(containing="k = 3").rerun(k=3, j=1).answer == 6      # k given as the cell sets it: fine
    again = nb.cell(containing="k = 3").rerun(k=5, j=1)
    assert again.status == "ok" and again.names["k"] == 3
    again.answer


@pytest.mark.exercise("cells")
def test_an_answer_in_two_cells(nb):
    def net(x, a, b):
        return torch.sigmoid(torch.sigmoid(x @ a) @ b)

    section = nb.section(after="Exercise 5")
    assert [c.index for c in section.cells] == [23, 25], [c.index for c in section.cells]
    assert section.label == 'cells 24, 26 (under "Exercise 5: two layers, in two cells")', section.label
    data = nb.cell(containing="V2 = torch.randn").names
    expected = net(data["x2"], data["V1"], data["V2"])
    assert_tensor(section.answer, expected, what="the section's answer")
    assert_tensor(section.names["final"], expected, what="final, as the section left it")
    assert nb.final is None and list(section.names) == ["hidden", "final"]
    assert nb.cell(after="Exercise 5").answer.shape == (1, 2)       # one cell: the hidden layer only
    assert_tensor(nb.cell(containing="the hidden layer is").answer, torch.sigmoid(data["x2"] @ data["V1"]),
                  what="the one value an f-string prints")
    g = torch.Generator().manual_seed(5)
    x, a, b = torch.randn(4, 6, generator=g), torch.randn(6, 3, generator=g), torch.randn(3, 2, generator=g)
    assert_tensor(section.rerun(x2=x, V1=a, V2=b).answer, net(x, a, b), what="the section on new inputs")


@pytest.mark.exercise("cells")
def test_values_that_cannot_be_copied_do_not_disturb_the_cell(nb):
    cell = nb.cell(containing="class Odd")
    assert cell.status == "ok" and cell.output == "after the odd values\\n", (cell.status, cell.output)
    assert list(cell.names) == ["Odd", "NoCopy", "odd", "odd_list"], list(cell.names)


@pytest.mark.exercise("cells")
def test_rerun_timeout(nb):
    again = nb.cell(containing="while n < limit").rerun(slow=True)
    assert again.status == "timeout", again.status
    again.answer


@pytest.mark.exercise("cells")
def test_values_lists_every_value_in_order(nb):
    cell = nb.cell(after="Exercise 6")
    hows = [(v.how, v.line) for v in cell.values]
    assert hows == [("assigned y6", 1), ("assigned scratch", 2), ("printed", 3), ("displayed", 4)], hows
    assert_tensor(cell.answer_like(torch.empty(1, 1)), cell.names["y6"], what="the last (1, 1) value")
    f, w, b = seeded(2)
    again = cell.rerun(features=f, weights=w, bias=b)
    assert [v.how for v in again.values] == ["assigned y6", "assigned scratch", "printed", "displayed"]
    assert_tensor(again.answer_like(torch.Size([1, 1])), neuron(f, w, b), what="the rerun's (1, 1) value")


@pytest.mark.exercise("cells")
def test_answer_like_lists_what_the_cell_produced(nb):
    nb.cell(after="Exercise 6").answer_like(torch.empty(3, 3))
"""

CELLS = [
    ("markdown", "# A single neuron, cell by cell"),
    ("code", "import torch\n\ndef activation(x):\n    return 1 / (1 + torch.exp(-x))"),
    (
        "code",
        "torch.manual_seed(7)\nfeatures = torch.randn((1, 5))\nweights = torch.randn_like(features)\n"
        "bias = torch.randn((1, 1))",
    ),
    ("markdown", "## Exercise 1: the output of a single neuron\n\nUse `torch.sum`."),
    ("code", "features.shape"),
    ("code", "# Your solution here\ny = activation(torch.sum(features * weights) + bias)"),
    ("markdown", "## Exercise 2: with a matrix product"),
    ("code", "y = activation(torch.mm(features, weights.view(5, 1)))\nprint(y)"),
    ("code", 'out = activation(torch.sum(features * weights) + bias)\nprint("output:", out)'),
    ("code", "# silenced\nactivation(torch.sum(features * weights) + bias);"),
    ("code", "def my_neuron(f, w, b):\n    return activation((f * w).sum() + b)\n\nmy_neuron(features, weights, bias)"),
    ("code", "for step in range(3):\n    pass"),
    ("code", "scale = 2\nfeatures.add_(1)"),
    ("code", "slow = False\nlimit = 3\nj = 2"),
    ("code", "n = 0\nwhile n < limit:\n    n += 0 if slow else 1\nn"),
    (
        "code",
        "torch.manual_seed(7)\nfeatures = torch.rand((1, 5))\nweights = torch.rand_like(features)\n"
        "bias = torch.rand((1, 1))",
    ),
    ("markdown", "## Exercise 3: the same on other data"),
    ("code", "answer = activation(torch.sum(features * weights) + bias)"),
    ("markdown", "## Exercise 4: a number from the walkthrough"),
    ("code", "z = torch.tensor([[0.1595]])"),
    ("code", "k = 3\nj = j + 1\nk2 = k * j"),
    ("code", "torch.manual_seed(3)\nx2 = torch.randn(1, 3)\nV1 = torch.randn(3, 2)\nV2 = torch.randn(2, 1)"),
    ("markdown", "## Exercise 5: two layers, in two cells"),
    ("code", "hidden = activation(torch.mm(x2, V1))"),
    ("code", "x2.shape"),
    ("code", "final = activation(torch.mm(hidden, V2))"),
    ("markdown", "## The end"),
    ("code", "final = None"),
    (
        "code",
        "class Odd(torch.Tensor):\n    def numel(self):\n        raise RuntimeError('no size')\n\n"
        "class NoCopy:\n    def __deepcopy__(self, memo):\n        raise RuntimeError('no copy')\n\n"
        "odd = torch.zeros(2).as_subclass(Odd)\nodd_list = [NoCopy(), odd]\n"
        "print('after the odd values')\nlen(odd_list)",
    ),
    ("code", 'print(f"the hidden layer is {activation(torch.mm(x2, V1))}")'),
    ("markdown", "## Exercise 6: values as they come"),
    (
        "code",
        "y6 = activation(torch.sum(features * weights) + bias)\nscratch = torch.sum(features)\n"
        "print('y6 is', y6, y6.shape)\ny6.shape, scratch",
    ),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("answers")
    root = tmp / "assignments" / "answers"
    (root / "checks").mkdir(parents=True)
    (root / "assignment.toml").write_text(TOML)
    (root / "checks" / "test_answers.py").write_text(CHECKS)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) if k == "code" else nbformat.v4.new_markdown_cell(s) for k, s in CELLS]
    path = tmp / "walkthrough.ipynb"
    nbformat.write(nb, str(path))
    result = grade(path, load_assignment(root), Options(device="cpu"))
    return {c.name: c for c in result.checks}


PASSING = [
    "test_values_lists_every_value_in_order",
    "test_an_answer_in_two_cells",
    "test_values_that_cannot_be_copied_do_not_disturb_the_cell",
    "test_after_skips_the_scratch_cell_and_names_keep_y",
    "test_names_are_as_right_after_the_cell",
    "test_answer_of_each_ending",
    "test_rerun_on_unseen_inputs",
    "test_rerun_leaves_the_notebook_as_it_was",
    "test_right_formula_over_edited_data",
]


@pytest.mark.parametrize("name", PASSING)
def test_behaviour(graded, name: str) -> None:
    assert graded[name].passed, graded[name].message


def test_answer_like_without_a_match_lists_what_the_cell_produced(graded) -> None:
    check = graded["test_answer_like_lists_what_the_cell_produced"]
    assert not check.passed
    assert check.message.startswith(
        'cell 32 (under "Exercise 6: values as they come") produced no tensor of shape '
        "(3, 3). It produced: line 1 assigned y6: a tensor of shape (1, 1); line 2 assigned "
        "scratch: a tensor of shape (); line 3 printed: a tensor of shape (1, 1); line 4 "
        "displayed: a tuple of 2 items."
    ), check.message


def test_no_answer_tells_the_student_how_to_show_it(graded) -> None:
    check = graded["test_no_answer_says_how_to_show_it"]
    assert not check.passed
    assert check.message == (
        "cell 12 shows no answer: its last line is neither an expression nor an assignment. "
        "End the cell with the answer, as `y = ...` or a last line `y`, run it, and check again."
    )


def test_a_missing_name_is_the_students_to_fix(graded) -> None:
    check = graded["test_a_name_the_cell_does_not_assign"]
    assert not check.passed
    assert check.message == (
        'cell 6 (under "Exercise 1: the output of a single neuron") does not assign `output` (it assigns `y`). '
        "Keep the name the exercise asks for: `output = ...`."
    )


def test_hard_coded_answer_fails_the_rerun(graded) -> None:
    check = graded["test_hard_coded_answer_fails_on_new_inputs"]
    assert not check.passed
    assert "your answer on new inputs" in check.message, check.message


def test_rerun_error_reads_like_a_function_error(graded) -> None:
    check = graded["test_rerun_error_is_the_students"]
    assert not check.passed
    assert check.message.startswith(
        'cell 8 (under "Exercise 2: with a matrix product"), run again on new inputs, '
        "raised RuntimeError: shape '[5, 1]' is invalid for input of size 7. view(5, 1) asks for 5 elements"
    ), check.message
    assert "cell 8" in (check.traceback or ""), check.traceback


def test_a_cell_that_makes_its_own_inputs_cannot_be_tried(graded) -> None:
    check = graded["test_rerun_of_a_cell_that_makes_its_own_inputs"]
    assert not check.passed
    assert check.message == (
        "cell 21 assigns `k` itself before using it, so it could not be tried on other inputs. "
        "Keep the exercise's data cell as given and compute your answer in a cell of its own, "
        "from those names."
    )


def test_rerun_timeout_is_a_timeout(graded) -> None:
    check = graded["test_rerun_timeout"]
    assert not check.passed
    assert "did not finish within 4 s (timeout)" in check.message, check.message
    # where it was when time ran out, in the cell's own numbering (the loop's test or its body)
    assert re.search(
        r"it was stuck in cell 15, line [23]: `(while n < limit:|n \+= 0 if slow else 1)`\.", check.message
    ), check.message


def test_reading_a_cell() -> None:
    code = CellCode.of("import torch\nfor i in range(2):\n    acc = i\na, b = 1, 2\nprint('b is', b)")
    assert code.assigned == ("torch", "i", "acc", "a", "b") and code.last_assigned == "b" and code.ending == "print"
    assert CellCode.of("%matplotlib inline\nx = 1\nx").ending == "expression"
    assert CellCode.of("print y").ending == "unparsable"
    assert CellCode.of("print('done')").ending == "statement"
    assert CellCode.of("print(f'y is {y}')").ending == "print"
    assert CellCode.of("print(f'{a} and {b}')").ending == "statement"
    assert CellCode.of("features.shape\nprint(weights.size(), bias.dtype)").only_inspects
    assert not CellCode.of("print(activation(torch.sum(features * weights)))").only_inspects
    assert CellCode.of("# only a comment").empty
    merged = CellCode.of(
        "torch.manual_seed(7)\nfeatures = torch.randn(1, 5)\nweights = weights.view(5, 1)\n"
        "bias += 1\ny = f(features, weights, bias)"
    )
    assert merged.overwritten(["features", "weights", "bias", "y", "other"]) == ["features", "y"]


def test_finding_rules() -> None:
    cells = [
        Cell(0, "## Exercise 1: single neuron", "markdown"),
        Cell(1, "   ", "code"),
        Cell(2, "x.shape", "code"),
        Cell(3, "# answer\ny = f(x)", "code"),
        Cell(4, "y = g(x)", "code"),
    ]
    assert CellQuery(after="single neuron").first(cells).index == 3
    assert CellQuery(starting_with="## Exercise 1").first(cells).index == 2  # the old rule: next non-empty
    assert [c.index for c in CellQuery(containing="y = ").matches(cells)] == [3, 4]
    assert CellQuery(containing="y = ").first(cells).index == 3  # two matches: the first
    with pytest.raises(TypeError):
        CellQuery(after="x", containing="y")
