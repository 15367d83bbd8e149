"""Exercise 2, public checks: the same neuron with a matrix product, answered in a top-level cell.

A matrix product is required, not only the right number: the cell is run again with `weights` as
the notebook has it, a (1, 5) row (so the cell itself must make it a column: a `weights` reshaped
in another cell does not count), and with several examples in `features` at once, where
`torch.mm(features, weights.view(5, 1))` gives one output per example and `torch.sum` one number.
"""

import pytest
import torch

from grader.checks import Mistake, assert_tensor, data_cell, data_if_it_fits, seeded_draws, typed_in
from grader.failures import StudentError

pytestmark = pytest.mark.exercise("neuron_mm")

HEADING = "## Exercise 2"
DATA_HEADING = "## The data for one neuron"
NAMES = ("features", "weights", "bias")
s = torch.sigmoid

# What students really write instead (each computed here, on the inputs the check used)
MISTAKES = [
    Mistake(
        "the products are added up with torch.sum, not a matrix product: one number for all the examples",
        lambda f, w, b: s(torch.sum(f * w) + b),
        hint="use torch.mm(features, weights.view(5, 1)), which gives one output per row of features",
    ),
    Mistake(
        "an elementwise product with the weight column (a table of every feature times every weight), summed",
        lambda f, w, b: s(torch.sum(f * w.view(-1, 1)) + b),
        hint="`*` multiplies element by element; the matrix product is torch.mm(features, weights.view(5, 1))",
    ),
    Mistake(
        "an elementwise product with the weight column, not a matrix product",
        lambda f, w, b: s(f * w.view(-1, 1) + b),
        hint="`*` multiplies element by element; the matrix product is torch.mm(features, weights.view(5, 1))",
    ),
    Mistake(
        "the operands of the matrix product swapped (an outer product)",
        lambda f, w, b: s(torch.mm(w.view(-1, 1), f) + b),
        hint="torch.mm(features, weights.view(5, 1)): a (1, 5) row times a (5, 1) column is one number",
    ),
    Mistake(
        "the activation is left out",
        lambda f, w, b: torch.mm(f, w.view(-1, 1)) + b,
        hint="pass the total through activation(...)",
    ),
    Mistake(
        "the bias is left out",
        lambda f, w, b: s(torch.mm(f, w.view(-1, 1))),
        hint="add `+ bias` after the matrix product",
    ),
]


def neuron(features, weights, bias):
    """Reference: sigmoid(features . weights + b), one output per row of features, computed in float64."""
    z = features.double() @ weights.double().reshape(-1, 1) + bias.double()
    return s(z).to(features.dtype)


def rerun_answer(cell, features, weights, bias):
    """The cell's answer on the check's data; a shape error says where the column must be made."""
    try:
        return cell.rerun(features=features, weights=weights, bias=bias).answer
    except StudentError as error:
        if "cannot be multiplied" in error.message:
            error.message += (
                " The grader runs this cell with `weights` as the data cell makes it, a (1, 5) row: "
                "make the column inside this cell, as in torch.mm(features, weights.view(5, 1))."
            )
            error.args = (error.message,)
        raise


@pytest.mark.points(1)
def test_exercise_2_gives_one_number(nb):
    answer = nb.cell(after=HEADING).answer
    data = data_if_it_fits(nb, NAMES, neuron, after=DATA_HEADING)
    assert_tensor(
        answer,
        torch.empty(1, 1),
        what="your answer to Exercise 2",
        check_values=False,
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(1)
def test_exercise_2_on_the_notebooks_data(nb):
    answer = nb.cell(after=HEADING).answer
    data, expected = data_cell(nb, NAMES, neuron, after=DATA_HEADING)
    assert_tensor(
        answer,
        expected,
        what="your answer to Exercise 2 on the notebook's data",
        check_device=False,
        mistakes=MISTAKES,
        inputs=data,
    )


@pytest.mark.points(2)
def test_exercise_2_on_new_data(nb):
    cell = nb.cell(after=HEADING)
    for seed in (21, 22):
        features, weights, bias = seeded_draws(seed, (1, 5), (1, 5), (1, 1))
        assert_tensor(
            rerun_answer(cell, features, weights, bias),
            neuron(features, weights, bias),
            what="your Exercise 2 cell, run again on new data (weights a (1, 5) row, as in the notebook)",
            mistakes=[typed_in(cell, *NAMES), *MISTAKES],
            inputs=(features, weights, bias),
        )


@pytest.mark.points(3)
def test_exercise_2_gives_one_output_per_example(nb):
    features, weights, bias = seeded_draws(23, (3, 5), (1, 5), (1, 1))
    assert_tensor(
        rerun_answer(nb.cell(after=HEADING), features, weights, bias),
        neuron(features, weights, bias),
        what="your Exercise 2 cell, run again with 3 examples in `features` (shape (3, 5))",
        mistakes=MISTAKES,
        inputs=(features, weights, bias),
    )
