"""Public checks of `two_layer_forward` (students see these checks and their messages)."""
import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("two_layer_forward")

WALKTHROUGH_OUTPUT = torch.tensor([[0.31708315]])   # the notebook's output: tensor([[0.3171]])


def walkthrough_network():
    """torch.manual_seed(7); features (1, 3), W1 (3, 2), W2 (2, 1), B1 (1, 2), B2 (1, 1), in that order."""
    features, W1, W2, B1, B2 = seeded_draws(7, (1, 3), (3, 2), (2, 1), (1, 2), (1, 1))
    return features, W1, B1, W2, B2


@pytest.mark.points(2)
def test_two_layer_forward_returns_one_output_per_example(nb):
    assert_tensor(nb.two_layer_forward(*walkthrough_network()), torch.empty(1, 1),
                  what="two_layer_forward(features, W1, B1, W2, B2)", check_values=False)


@pytest.mark.points(2)
def test_two_layer_forward_walkthrough_value(nb):
    assert_tensor(nb.two_layer_forward(*walkthrough_network()), WALKTHROUGH_OUTPUT,
                  what="two_layer_forward(features, W1, B1, W2, B2) on the notebook's data")


@pytest.mark.points(1)
def test_notebook_computes_output(nb):
    assert_tensor(nb.output, WALKTHROUGH_OUTPUT, what="the notebook's `output`", check_device=False)
