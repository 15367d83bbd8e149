"""Exercise 2, public checks: the same neuron with a matrix product, answered in a top-level cell.

A matrix product is required, not only the right number: the cell is run again with `weights` as
the notebook has it, a (1, 5) row (so the cell itself must make it a column: a `weights` reshaped
in another cell does not count), and with several examples in `features` at once, where
`torch.mm(features, weights.view(5, 1))` gives one output per example and `torch.sum` one number.
"""
import pytest
import torch

from grader.checks import CheckFailed, Mistake, assert_tensor, seeded_draws
from grader.failures import StudentError

pytestmark = pytest.mark.exercise("neuron_mm")

HEADING = "## Exercise 2"
DATA_HEADING = "## The data for one neuron"
NAMES = ("features", "weights", "bias")
s = torch.sigmoid

# What students really write instead (each computed here, on the inputs the check used)
MISTAKES = [
    Mistake("the products are added up with torch.sum, not a matrix product: one number for all the examples",
            lambda f, w, b: s(torch.sum(f * w) + b),
            hint="use torch.mm(features, weights.view(5, 1)), which gives one output per row of features"),
    Mistake("an elementwise product with the weight column (a table of every feature times every weight), summed",
            lambda f, w, b: s(torch.sum(f * w.view(-1, 1)) + b),
            hint="`*` multiplies element by element; the matrix product is torch.mm(features, weights.view(5, 1))"),
    Mistake("an elementwise product with the weight column, not a matrix product",
            lambda f, w, b: s(f * w.view(-1, 1) + b),
            hint="`*` multiplies element by element; the matrix product is torch.mm(features, weights.view(5, 1))"),
    Mistake("the operands of the matrix product swapped (an outer product)",
            lambda f, w, b: s(torch.mm(w.view(-1, 1), f) + b),
            hint="torch.mm(features, weights.view(5, 1)): a (1, 5) row times a (5, 1) column is one number"),
    Mistake("the activation is left out", lambda f, w, b: torch.mm(f, w.view(-1, 1)) + b,
            hint="pass the total through activation(...)"),
    Mistake("the bias is left out", lambda f, w, b: s(torch.mm(f, w.view(-1, 1))),
            hint="add `+ bias` after the matrix product"),
]


def neuron(features, weights, bias):
    """Reference: sigmoid(features . weights + b), one output per row of features, computed in float64."""
    z = features.double() @ weights.double().reshape(-1, 1) + bias.double()
    return s(z).to(features.dtype)


def on_the_notebooks_data(nb):
    """features, weights and bias as the notebook's data cell left them, and the right answer for them."""
    names = nb.cell(after=DATA_HEADING).names
    missing = [f"`{n}`" for n in NAMES if n not in names]
    if missing:
        raise CheckFailed(f"The data cell under '{DATA_HEADING}' does not define {', '.join(missing)}. "
                          "Keep that cell as given, run all cells, and check again.")
    data = tuple(names[n] for n in NAMES)
    try:
        return data, neuron(*data)
    except (RuntimeError, TypeError, AttributeError):
        shapes = described(NAMES, data)
        raise CheckFailed(f"The data under '{DATA_HEADING}' do not fit together: {shapes}. In your own kernel "
                          "grader.check() sees each name as it is now, which a later cell may have changed; when your "
                          "work is graded the notebook runs from the top. Keep the data cell as given, run all cells, "
                          "and check again.") from None


def described(names, values):
    return ", ".join(f"`{n}` is {tuple(v.shape)}" if isinstance(v, torch.Tensor) else f"`{n}` is a {type(v).__name__}"
                     for n, v in zip(names, values))


def inputs_if_they_fit(nb):
    """The notebook's data, to name a mistake by; None where they do not fit together (the shape is checked all the same)."""
    try:
        return on_the_notebooks_data(nb)[0]
    except CheckFailed:
        return None


def typed_in(cell):
    """The cell's answer on the notebook's data, given back whatever the data: a number typed in."""
    return Mistake("a number typed in: the same answer whatever the data", lambda *_: cell.answer,
                   hint="compute the output from `features`, `weights` and `bias`; the grader runs your cell with other values")


def rerun_answer(cell, features, weights, bias):
    """The cell's answer on the check's data; a shape error says where the column must be made."""
    try:
        return cell.rerun(features=features, weights=weights, bias=bias).answer
    except StudentError as error:
        if "cannot be multiplied" in error.message:
            error.message += (" The grader runs this cell with `weights` as the data cell makes it, a (1, 5) row: "
                              "make the column inside this cell, as in torch.mm(features, weights.view(5, 1)).")
            error.args = (error.message,)
        raise


@pytest.mark.points(1)
def test_exercise_2_gives_one_number(nb):
    answer = nb.cell(after=HEADING).answer
    data = inputs_if_they_fit(nb)
    assert_tensor(answer, torch.empty(1, 1), what="your answer to Exercise 2",
                  check_values=False, check_device=False, mistakes=MISTAKES, inputs=data)


@pytest.mark.points(1)
def test_exercise_2_on_the_notebooks_data(nb):
    answer = nb.cell(after=HEADING).answer
    data, expected = on_the_notebooks_data(nb)
    assert_tensor(answer, expected, what="your answer to Exercise 2 on the notebook's data",
                  check_device=False, mistakes=MISTAKES, inputs=data)


@pytest.mark.points(2)
def test_exercise_2_on_new_data(nb):
    cell = nb.cell(after=HEADING)
    for seed in (21, 22):
        features, weights, bias = seeded_draws(seed, (1, 5), (1, 5), (1, 1))
        assert_tensor(rerun_answer(cell, features, weights, bias), neuron(features, weights, bias),
                      what="your Exercise 2 cell, run again on new data (weights a (1, 5) row, as in the notebook)",
                      mistakes=[typed_in(cell), *MISTAKES], inputs=(features, weights, bias))


@pytest.mark.points(3)
def test_exercise_2_gives_one_output_per_example(nb):
    features, weights, bias = seeded_draws(23, (3, 5), (1, 5), (1, 1))
    assert_tensor(rerun_answer(nb.cell(after=HEADING), features, weights, bias), neuron(features, weights, bias),
                  what="your Exercise 2 cell, run again with 3 examples in `features` (shape (3, 5))",
                  mistakes=MISTAKES, inputs=(features, weights, bias))
