"""Public checks of `single_neuron` (students see these checks and their messages)."""

import pytest
import torch

from grader.checks import Mistake, assert_depends_on_inputs, assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("single_neuron")

WALKTHROUGH_Y = torch.tensor([[0.15950657]])  # the notebook's y: tensor([[0.1595]])

# What students really get wrong (on the walkthrough's data: -1.6619, 0.4034, 0.1214, a 5x5 matrix)
MISTAKES = [
    Mistake(
        "the activation is left out",
        lambda f, w, b: torch.sum(f * w) + b,
        hint="pass the weighted sum through activation(...): y = activation(torch.sum(features * weights) + bias)",
    ),
    Mistake(
        "the bias is added inside the sum (once per feature)",
        lambda f, w, b: torch.sigmoid(torch.sum(f * w + b)),
        hint="add the bias once, after the sum: torch.sum(features * weights) + bias",
    ),
    Mistake(
        "the bias is left out",
        lambda f, w, b: torch.sigmoid(torch.sum(f * w)).reshape(1, 1),
        hint="add `+ bias` after the sum",
    ),
    Mistake(
        "the features are not summed: one output per feature",
        lambda f, w, b: torch.sigmoid(f * w + b),
        hint="sum the products before the activation: torch.sum(features * weights) + bias",
    ),
    Mistake(
        "the operands of the matrix product swapped (an outer product)",
        lambda f, w, b: torch.sigmoid(torch.mm(w.view(-1, 1), f) + b),
        hint="torch.mm(features, weights.view(5, 1)): a (1, 5) row times a (5, 1) column is one number",
    ),
]


def walkthrough_data():
    """torch.manual_seed(7); features (1, 5); weights like features; bias (1, 1)."""
    return seeded_draws(7, (1, 5), (1, 5), (1, 1))


@pytest.mark.points(2)
def test_single_neuron_returns_a_1x1_tensor(nb):
    features, weights, bias = walkthrough_data()
    assert_tensor(
        nb.single_neuron(features, weights, bias),
        torch.empty(1, 1),
        what="single_neuron(features, weights, bias)",
        check_values=False,
        mistakes=MISTAKES,
        inputs=(features, weights, bias),
    )


@pytest.mark.points(2)
def test_single_neuron_walkthrough_value(nb):
    features, weights, bias = walkthrough_data()
    assert_tensor(
        nb.single_neuron(features, weights, bias),
        WALKTHROUGH_Y,
        what="single_neuron(features, weights, bias) on the notebook's data",
        mistakes=MISTAKES,
        inputs=(features, weights, bias),
    )


@pytest.mark.points(0)  # names a hard-coded answer; the points are the other checks'
def test_single_neuron_computes_from_its_inputs(nb):
    assert_depends_on_inputs(
        nb.single_neuron,
        walkthrough_data(),
        seeded_draws(8, (1, 5), (1, 5), (1, 1)),
        what="single_neuron(features, weights, bias)",
    )


@pytest.mark.points(1)
def test_notebook_computes_y(nb):
    assert_tensor(
        nb.y, WALKTHROUGH_Y, what="the notebook's `y`", check_device=False, mistakes=MISTAKES, inputs=walkthrough_data()
    )
