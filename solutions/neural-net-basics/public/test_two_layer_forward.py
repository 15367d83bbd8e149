"""Public checks of `two_layer_forward` (students see these checks and their messages)."""

import pytest
import torch

from grader.checks import Mistake, assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("two_layer_forward")

WALKTHROUGH_OUTPUT = torch.tensor([[0.31708315]])  # the notebook's output: tensor([[0.3171]])
s = torch.sigmoid

# What students really get wrong (on the walkthrough's data: 0.3627 for the hidden layer summed to one unit)
MISTAKES = [
    Mistake(
        "the hidden units are summed into one before the output layer",
        lambda x, W1, B1, W2, B2: s(s(torch.sum(torch.mm(x, W1)) + B1) @ W2 + B2),
        hint="keep one value per hidden unit: hidden = activation(torch.mm(features, W1) + B1), no torch.sum",
    ),
    Mistake(
        "the hidden layer has no activation",
        lambda x, W1, B1, W2, B2: s((x @ W1 + B1) @ W2 + B2),
        hint="hidden = activation(torch.mm(features, W1) + B1)",
    ),
    Mistake(
        "the output layer has no activation",
        lambda x, W1, B1, W2, B2: s(x @ W1 + B1) @ W2 + B2,
        hint="output = activation(torch.mm(hidden, W2) + B2)",
    ),
    Mistake(
        "the biases are left out",
        lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2),
        hint="add B1 in the hidden layer and B2 in the output layer",
    ),
    Mistake(
        "B1 is left out of the hidden layer",
        lambda x, W1, B1, W2, B2: s(s(x @ W1) @ W2 + B2),
        hint="hidden = activation(torch.mm(features, W1) + B1)",
    ),
    Mistake(
        "B2 is left out of the output layer",
        lambda x, W1, B1, W2, B2: s(s(x @ W1 + B1) @ W2),
        hint="output = activation(torch.mm(hidden, W2) + B2)",
    ),
    Mistake(
        "the two biases are swapped",
        lambda x, W1, B1, W2, B2: s(s(x @ W1 + B2) @ W2 + B1),
        hint="B1 (1, n_hidden) belongs to the hidden layer, B2 (1, n_output) to the output layer",
    ),
]


def walkthrough_network():
    """torch.manual_seed(7); features (1, 3), W1 (3, 2), W2 (2, 1), B1 (1, 2), B2 (1, 1), in that order."""
    features, W1, W2, B1, B2 = seeded_draws(7, (1, 3), (3, 2), (2, 1), (1, 2), (1, 1))
    return features, W1, B1, W2, B2


@pytest.mark.points(2)
def test_two_layer_forward_returns_one_output_per_example(nb):
    assert_tensor(
        nb.two_layer_forward(*walkthrough_network()),
        torch.empty(1, 1),
        what="two_layer_forward(features, W1, B1, W2, B2)",
        check_values=False,
    )


@pytest.mark.points(2)
def test_two_layer_forward_walkthrough_value(nb):
    args = walkthrough_network()
    assert_tensor(
        nb.two_layer_forward(*args),
        WALKTHROUGH_OUTPUT,
        what="two_layer_forward(features, W1, B1, W2, B2) on the notebook's data",
        mistakes=MISTAKES,
        inputs=args,
    )


@pytest.mark.points(1)
def test_notebook_computes_output(nb):
    assert_tensor(
        nb.output,
        WALKTHROUGH_OUTPUT,
        what="the notebook's `output`",
        check_device=False,
        mistakes=MISTAKES,
        inputs=walkthrough_network(),
    )
