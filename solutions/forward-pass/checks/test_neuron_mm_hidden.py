"""Exercise 2, hidden checks: the cell run again on batches and values the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("neuron_mm")

HEADING = "## Exercise 2"


def neuron(features, weights, bias):
    """Reference: sigmoid(features . weights + b), one output per row of features, computed in float64."""
    z = features.double() @ weights.double().reshape(-1, 1) + bias.double()
    return torch.sigmoid(z).to(features.dtype)


@pytest.mark.points(2)
def test_exercise_2_on_unseen_batches(nb):
    cell = nb.cell(after=HEADING)
    for seed, batch in ((201, 2), (202, 8), (203, 1)):
        features, weights, bias = seeded_draws(seed, (batch, 5), (1, 5), (1, 1))
        assert_tensor(
            cell.rerun(features=features, weights=weights, bias=bias).answer,
            neuron(features, weights, bias),
            what=f"your Exercise 2 cell with {batch} examples",
        )
