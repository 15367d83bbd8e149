"""Exercise 1, public checks: one neuron with torch.sum, answered in a top-level cell.

The answer cell is the first code cell under the heading "## Exercise 1" (scratch cells that only
print or inspect shapes are passed over). Its answer is checked twice: on the notebook's own data,
as the data cell left `features`, `weights` and `bias` (so an edited data cell with a right formula
passes), and run again on data the student never saw, which a number typed in cannot pass.
"""

import pytest
import torch

from grader.checks import Mistake, assert_tensor, data_cell, data_if_it_fits, seeded_draws, typed_in

pytestmark = pytest.mark.exercise("neuron_sum")

HEADING = "## Exercise 1"
DATA_HEADING = "## The data for one neuron"
NAMES = ("features", "weights", "bias")
s = torch.sigmoid

# What students really write instead (each computed here, on the inputs the check used)
MISTAKES = [
    Mistake(
        "the activation is left out",
        lambda f, w, b: torch.sum(f * w) + b,
        hint="pass the total through activation(...): y = activation(torch.sum(features * weights) + bias)",
    ),
    Mistake(
        "the bias is left out",
        lambda f, w, b: s(torch.sum(f * w)),
        hint="add `+ bias` after the sum: activation(torch.sum(features * weights) + bias)",
    ),
    Mistake(
        "the bias is added inside the sum (once per feature)",
        lambda f, w, b: s(torch.sum(f * w + b)),
        hint="add the bias once, after the sum: torch.sum(features * weights) + bias",
    ),
    Mistake(
        "the products are not added up: one output per feature",
        lambda f, w, b: s(f * w + b),
        hint="add the products up with torch.sum(features * weights) before adding the bias",
    ),
    Mistake(
        "the features and weights are added, not multiplied",
        lambda f, w, b: s(torch.sum(f + w) + b),
        hint="multiply them element by element: features * weights",
    ),
]


def neuron(features, weights, bias):
    """Reference: sigmoid(sum_i w_i x_i + b), one output per row of features, computed in float64."""
    z = features.double() @ weights.double().reshape(-1, 1) + bias.double()
    return s(z).to(features.dtype)


@pytest.mark.points(1)
def test_exercise_1_gives_one_number(nb):
    answer = nb.cell(after=HEADING).answer
    data = data_if_it_fits(nb, NAMES, neuron, after=DATA_HEADING)
    assert_tensor(
        answer,
        torch.empty(1, 1),
        what="your answer to Exercise 1",
        check_values=False,
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(1)
def test_exercise_1_on_the_notebooks_data(nb):
    answer = nb.cell(after=HEADING).answer
    data, expected = data_cell(nb, NAMES, neuron, after=DATA_HEADING)
    assert_tensor(
        answer,
        expected,
        what="your answer to Exercise 1 on the notebook's data",
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(3)
def test_exercise_1_on_new_data(nb):
    cell = nb.cell(after=HEADING)
    for seed, n in ((11, 5), (12, 7), (13, 3)):
        features, weights, bias = seeded_draws(seed, (1, n), (1, n), (1, 1))
        answer = cell.rerun(features=features, weights=weights, bias=bias).answer
        assert_tensor(
            answer,
            neuron(features, weights, bias),
            what=f"your Exercise 1 cell, run again on new data with {n} features",
            mistakes=[typed_in(cell, *NAMES, result="y"), *MISTAKES],
            inputs=(features, weights, bias),
        )
