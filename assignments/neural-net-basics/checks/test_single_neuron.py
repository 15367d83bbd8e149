"""Public checks of `single_neuron` (students see these checks and their messages)."""
import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("single_neuron")

WALKTHROUGH_Y = torch.tensor([[0.15950657]])   # the notebook's y: tensor([[0.1595]])


def walkthrough_data():
    """torch.manual_seed(7); features (1, 5); weights like features; bias (1, 1)."""
    return seeded_draws(7, (1, 5), (1, 5), (1, 1))


@pytest.mark.points(2)
def test_single_neuron_returns_a_1x1_tensor(nb):
    features, weights, bias = walkthrough_data()
    assert_tensor(nb.single_neuron(features, weights, bias), torch.empty(1, 1),
                  what="single_neuron(features, weights, bias)", check_values=False)


@pytest.mark.points(2)
def test_single_neuron_walkthrough_value(nb):
    features, weights, bias = walkthrough_data()
    assert_tensor(nb.single_neuron(features, weights, bias), WALKTHROUGH_Y,
                  what="single_neuron(features, weights, bias) on the notebook's data")


@pytest.mark.points(1)
def test_notebook_computes_y(nb):
    assert_tensor(nb.y, WALKTHROUGH_Y, what="the notebook's `y`", check_device=False)
