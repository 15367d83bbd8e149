"""Exercise 1, hidden checks: the cell run again on sizes and values the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("neuron_sum")

HEADING = "## Exercise 1"


def neuron(features, weights, bias):
    """Reference: sigmoid(sum_i w_i x_i + b), one output per row of features, computed in float64."""
    z = features.double() @ weights.double().reshape(-1, 1) + bias.double()
    return torch.sigmoid(z).to(features.dtype)


@pytest.mark.points(2)
def test_exercise_1_on_unseen_sizes(nb):
    cell = nb.cell(after=HEADING)
    for seed, n in ((101, 1), (102, 10), (103, 16)):
        features, weights, bias = seeded_draws(seed, (1, n), (1, n), (1, 1))
        assert_tensor(
            cell.rerun(features=features, weights=weights, bias=bias).answer,
            neuron(features, weights, bias),
            what=f"your Exercise 1 cell with features of shape (1, {n})",
        )


@pytest.mark.points(1)
def test_exercise_1_adds_the_bias(nb):
    features = torch.zeros(1, 4)
    weights = torch.tensor([[0.5, -1.0, 2.0, 0.25]])
    bias = torch.tensor([[0.7]])
    assert_tensor(
        nb.cell(after=HEADING).rerun(features=features, weights=weights, bias=bias).answer,
        neuron(features, weights, bias),
        what="your Exercise 1 cell with zero features",
    )
