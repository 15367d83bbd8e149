"""Checks on models: `nb.model(x)` for an nn.Module (inputs on the grading device, outputs back as
data), `nb.module(name)` (its parameters' names, shapes, dtypes and count, as data),
`evaluate(...)` in batches in eval() mode under no_grad, and `assert_accuracy` against labels that
stay in the grader, with partial credit by thresholds and its messages in words. One notebook with
a few small modules, graded once, in a real sandboxed kernel, on the best device present."""

from __future__ import annotations

from pathlib import Path
import nbformat
import pytest
import torch

from grader.course import load_assignment
from grader.feedback import render_text
from grader.grade import Options, grade
from grader.integrations.gradescope_results import to_gradescope
from grader.results import CheckResult, Result

TOML = """\
slug = "models"
title = "Models"
[exercises]
model = "A classifier"
[timeouts]
cell = 20.0
call = 10.0
"""

CHECKS = '''\
import pytest
import torch

from grader.checks import assert_accuracy, assert_tensor, evaluate

pytestmark = pytest.mark.exercise("model")
gen = torch.Generator().manual_seed(3)
X = torch.randn(100, 4, generator=gen)
RIGHT = X[:, :3].argmax(dim=1)                # what `model` answers: its scores are X[:, :3]


def labels(right):
    """The labels with only the first `right` of 100 as the model answers them."""
    y = RIGHT.clone()
    y[right:] = (y[right:] + 1) % 3
    return y


def test_calling_the_module(nb):
    x = X[:5]
    assert_tensor(nb.model(x), x[:, :3], what="model(x)")


def test_its_parameters_as_data(nb):
    info = nb.module("model")
    assert info.type == "__main__.Net", info.type
    assert info.shapes == {"fc.weight": (3, 4), "fc.bias": (3,)}, info.shapes
    assert (info.count, info.trainable, info.training) == (15, 15, True)
    assert [p.dtype for p in info.parameters] == ["float32", "float32"]
    assert "Linear(in_features=4, out_features=3, bias=True)" in info.text


def test_evaluation_is_in_eval_mode_under_no_grad_in_batches(nb):
    scores = evaluate(nb.probe, X, batch_size=32)
    assert torch.equal(scores, X[:, :3]), "dropout was on: not in eval() mode"
    seen = nb.value("seen")
    assert seen == [[False, False, nb.device, n] for n in (32, 32, 32, 4)], seen
    assert nb.module("probe").training, "the training flag was not put back"


def test_full_marks(nb):
    assert assert_accuracy(nb.model, X, labels(100), what="held-out points") == 1.0


@pytest.mark.points(4)
def test_part_of_the_points(nb):
    assert_accuracy(nb.model, X, labels(72), at_least=0.9, thresholds={0.7: 0.5, 0.5: 0.25}, what="held-out points")


@pytest.mark.points(4)
def test_below_every_threshold(nb):
    assert_accuracy(nb.model, X, labels(45), at_least=0.9, thresholds={0.5: 0.25}, what="held-out points")


def test_an_untrained_model(nb):
    assert_accuracy(nb.untrained, X, RIGHT, what="held-out points")


def test_the_wrong_output_size(nb):
    assert_accuracy(nb.small, X, RIGHT, what="held-out points")


def test_a_forward_that_raises(nb):
    assert_accuracy(nb.broken, X, RIGHT)


def test_a_tensor_is_not_a_module(nb):
    nb.module("X_train")
'''

NET = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        with torch.no_grad():
            self.fc.weight.copy_(torch.eye(3, 4))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(x)


model = Net()
X_train = torch.zeros(2, 4)
"""

OTHERS = '''\
seen = []


class Probe(nn.Module):
    """Notes, for each batch, whether grad is on, the training flag, the device and the batch size."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(p=0.99)
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x):
        seen.append([torch.is_grad_enabled(), self.training, x.device.type, len(x)])
        return self.drop(x[:, :3]) * self.w


class Untrained(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.copy_(torch.tensor([0.0, 1.0, 0.0]))   # always class 1

    def forward(self, x):
        return self.fc(x)


class Broken(nn.Module):
    def forward(self, x):
        return x.view(-1, 7)


probe, untrained, small, broken = Probe(), Untrained(), nn.Linear(4, 2), Broken()
'''


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Models"),
        nbformat.v4.new_code_cell(NET),
        nbformat.v4.new_code_cell(OTHERS),
    ]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, dict[str, CheckResult]]:
    tmp = tmp_path_factory.mktemp("models")
    root = tmp / "assignments" / "models"
    (root / "checks").mkdir(parents=True)
    (root / "assignment.toml").write_text(TOML)
    (root / "checks" / "test_model.py").write_text(CHECKS)
    result = grade(write_notebook(tmp / "models.ipynb"), load_assignment(root), Options(device="auto"))
    return result, {c.name: c for c in result.checks}


def test_the_cells_ran(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    result, _ = graded
    assert not result.cells and not result.errors, (result.cells, result.errors)


@pytest.mark.parametrize(
    "name",
    [
        "test_calling_the_module",
        "test_its_parameters_as_data",
        "test_evaluation_is_in_eval_mode_under_no_grad_in_batches",
        "test_full_marks",
    ],
)
def test_what_passes(graded: tuple[Result, dict[str, CheckResult]], name: str) -> None:
    check = graded[1][name]
    assert check.passed and check.score == check.points, check.message


def test_partial_credit_by_thresholds(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    result, checks = graded
    part = checks["test_part_of_the_points"]
    assert (part.status, part.score, part.points) == ("failed", 2.0, 4.0)
    assert part.message == (
        "Your model reaches 72% on held-out points; 90% is needed for full marks (70% earns 50% of the points)."
    )
    below = checks["test_below_every_threshold"]
    assert (below.status, below.score) == ("failed", 0.0)
    assert (
        below.message
        == "Your model reaches 45% on held-out points; 90% is needed for full marks (50% for part of them)."
    )
    # the part is in the score, the exercise's total, the terminal text and results.json
    assert result.score == 4 + 2 and result.max_score == 8 + 2 * 4
    assert result.exercise_scores()["model"] == (6.0, 16.0)
    assert "FAIL  test_part_of_the_points  [2/4]" in render_text(result)
    tests = {t["name"]: t for t in to_gradescope(result)["tests"]}
    assert (tests["model: test_part_of_the_points"]["score"], tests["model: test_part_of_the_points"]["max_score"]) == (
        2.0,
        4.0,
    )


def test_an_untrained_model_is_named(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    check = graded[1]["test_an_untrained_model"]
    x = torch.randn(100, 4, generator=torch.Generator().manual_seed(3))  # the checks' X
    share = int((x[:, :3].argmax(dim=1) == 1).sum())  # the untrained model always says 1
    assert check.message == (
        f"Your model reaches {share}% on held-out points; 90% is needed for full marks. That is about "
        "what guessing scores (33% with 3 classes): is your trained model loaded from its "
        "checkpoint, in a cell that runs at grading time?"
    )
    assert check.diagnosis == "an untrained model"


def test_the_wrong_output_size_is_named(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    assert graded[1]["test_the_wrong_output_size"].message == (
        "Your model's output for 100 inputs has shape (100, 2); expected (100, 3): one score per class for each "
        "input, 3 classes. The last layer gives 2 outputs: make it give 3 (out_features=3)."
    )


def test_a_students_error_and_a_non_module(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    checks = graded[1]
    assert checks["test_a_forward_that_raises"].message.startswith(
        "`broken` raised RuntimeError: shape '[-1, 7]' is invalid for input of size"
    )
    assert "return x.view(-1, 7)" in checks["test_a_forward_that_raises"].traceback
    assert checks["test_a_tensor_is_not_a_module"].message == (
        "`X_train` in your notebook is a torch.Tensor, not a torch.nn.Module. Make `X_train` an instance of your "
        "network class: `X_train = YourNet(...)`."
    )


def test_accuracy_is_computed_in_the_grader() -> None:
    from grader.checks import accuracy_of, assert_accuracy
    from grader.failures import PartialCredit

    scores = torch.tensor([[1.0, 0.0], [0.0, 1.0], [float("nan"), 0.0], [1.0, 0.0]])
    assert accuracy_of(scores, torch.tensor([0, 1, 0, 1])) == 0.5  # NaN counts as wrong
    local = torch.nn.Linear(2, 2)
    with torch.no_grad():
        local.weight.copy_(torch.eye(2))
        local.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(PartialCredit) as info:
        assert_accuracy(local, x, torch.tensor([0, 1, 1, 1]), at_least=0.9, thresholds={0.7: 0.5}, batch_size=3)
    assert info.value.credit == 0.5 and "reaches 75% on held-out data" in info.value.message
    for bad in ({0.95: 0.5}, {0.5: 1.0}):
        with pytest.raises(ValueError):
            assert_accuracy(local, x, torch.tensor([0, 1, 1, 1]), at_least=0.9, thresholds=bad)


def test_a_hidden_partial_check_keeps_its_part_and_says_nothing(graded: tuple[Result, dict[str, CheckResult]]) -> None:
    from dataclasses import replace

    hidden = replace(graded[1]["test_part_of_the_points"], hidden=True).public_view()
    assert (hidden.score, hidden.message) == (
        2.0,
        "Hidden check failed. Hidden checks reveal nothing but their name and pass/fail.",
    )


def test_the_points_a_check_earns() -> None:
    from grader.verdict import earned, points_total

    assert earned(4.0, True) == 4.0 and earned(4.0, False) == 0.0
    assert earned(4.0, False, 0.5) == 2.0 and earned(3.0, False, 1 / 3) == 1.0
    assert earned(4.0, False, 7) == 4.0 and earned(4.0, False, -1) == 0.0  # kept between 0 and 1
    assert earned(4.0, False, float("nan")) == 0.0 and earned(4.0, False, True) == 0.0
    assert points_total([(4.0, 2.0), (1.0, 1.0), (2.0, 0.0)]) == (3.0, 7.0)  # what `pytest --notebook` prints
