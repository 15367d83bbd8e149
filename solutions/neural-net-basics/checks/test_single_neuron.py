"""Hidden checks of `single_neuron`: values on data the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("single_neuron")


def neuron(features, weights, bias):
    """Reference: sigmoid(sum_i w_i x_i + b) as a (1, 1) tensor, computed in float64."""
    z = (features.double() * weights.double()).sum() + bias.double().reshape(())
    return (1.0 / (1.0 + torch.exp(-z))).reshape(1, 1).to(features.dtype)


@pytest.mark.points(3)
def test_single_neuron_on_unseen_inputs(nb):
    for seed, n in ((301, 5), (302, 3), (303, 10), (304, 1)):
        features, weights, bias = seeded_draws(seed, (1, n), (1, n), (1, 1))
        assert_tensor(
            nb.single_neuron(features, weights, bias),
            neuron(features, weights, bias),
            what=f"single_neuron(...) with {n} features",
        )


@pytest.mark.points(1)
def test_single_neuron_adds_the_bias(nb):
    features = torch.zeros(1, 4)
    weights = torch.tensor([[0.5, -1.0, 2.0, 0.25]])
    bias = torch.tensor([[0.7]])
    assert_tensor(
        nb.single_neuron(features, weights, bias),
        neuron(features, weights, bias),
        what="single_neuron(...) with zero features",
    )
