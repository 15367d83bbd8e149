"""Public checks of `activation` (students see these checks and their messages)."""

import pytest
import torch

from grader.checks import Mistake, assert_tensor, randn

pytestmark = pytest.mark.exercise("activation")

# What students really write instead of the sigmoid (values computed here, on the check's input)
MISTAKES = [
    Mistake(
        "1 / (1 + exp(x)), with the sign inside exp flipped",
        lambda x: 1 / (1 + torch.exp(x)),
        hint="the sigmoid is 1 / (1 + torch.exp(-x)), with a minus sign before x",
    ),
    Mistake(
        "exp(-x) without `1 + ...` and the division",
        lambda x: torch.exp(-x),
        hint="the sigmoid is 1 / (1 + torch.exp(-x))",
    ),
    Mistake("1 + exp(-x), not its reciprocal", lambda x: 1 + torch.exp(-x), hint="divide: 1 / (1 + torch.exp(-x))"),
    Mistake(
        "tanh instead of the sigmoid",
        torch.tanh,
        hint="tanh maps to (-1, 1); the sigmoid 1 / (1 + torch.exp(-x)) maps to (0, 1)",
    ),
    Mistake("ReLU instead of the sigmoid", torch.relu, hint="use 1 / (1 + torch.exp(-x))"),
]


@pytest.mark.points(2)
def test_activation_keeps_shape_and_dtype(nb):
    x = randn(3, 4, seed=1)
    assert_tensor(nb.activation(x), torch.empty(3, 4), what="activation(x) for x of shape (3, 4)", check_values=False)


@pytest.mark.points(1)
def test_activation_of_zero_is_one_half(nb):
    x = torch.zeros(2, 3)
    assert_tensor(nb.activation(x), torch.full((2, 3), 0.5), what="activation(zeros)", mistakes=MISTAKES, inputs=(x,))


@pytest.mark.points(2)
def test_activation_known_values(nb):
    x = torch.tensor([[-2.0, -1.0, 0.0, 1.0, 2.0]])
    expected = torch.tensor([[0.11920292, 0.26894142, 0.5, 0.73105858, 0.88079708]])
    assert_tensor(
        nb.activation(x),
        expected,
        what="activation([[-2, -1, 0, 1, 2]])",
        mistakes=MISTAKES,
        inputs=(x,),
        reference=torch.sigmoid,
    )
