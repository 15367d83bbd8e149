"""Public checks of `activation` (students see these checks and their messages)."""
import pytest
import torch

from grader.checks import assert_tensor, randn

pytestmark = pytest.mark.exercise("activation")


@pytest.mark.points(2)
def test_activation_keeps_shape_and_dtype(nb):
    x = randn(3, 4, seed=1)
    assert_tensor(nb.activation(x), torch.empty(3, 4), what="activation(x) for x of shape (3, 4)",
                  check_values=False)


@pytest.mark.points(1)
def test_activation_of_zero_is_one_half(nb):
    assert_tensor(nb.activation(torch.zeros(2, 3)), torch.full((2, 3), 0.5), what="activation(zeros)")


@pytest.mark.points(2)
def test_activation_known_values(nb):
    x = torch.tensor([[-2.0, -1.0, 0.0, 1.0, 2.0]])
    expected = torch.tensor([[0.11920292, 0.26894142, 0.5, 0.73105858, 0.88079708]])
    assert_tensor(nb.activation(x), expected, what="activation([[-2, -1, 0, 1, 2]])")
