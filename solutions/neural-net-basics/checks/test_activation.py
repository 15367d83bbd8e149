"""Hidden checks of `activation`: values on inputs the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, randn, reference

pytestmark = pytest.mark.exercise("activation")


@reference("activation")  # error carried forward: the checks of later exercises may ask for its values
def sigmoid(x):
    """Reference, computed in float64 and returned in x's dtype."""
    return (1.0 / (1.0 + torch.exp(-x.to(torch.float64)))).to(x.dtype)


@pytest.mark.points(2)
def test_activation_matches_sigmoid_on_unseen_inputs(nb):
    for seed, shape, scale in ((101, (4, 6), 3.0), (102, (10,), 1.0), (103, (2, 3, 4), 5.0)):
        x = randn(*shape, seed=seed) * scale
        assert_tensor(nb.activation(x), sigmoid(x), what=f"activation(x) for x of shape {tuple(shape)}")


@pytest.mark.points(1)
def test_activation_saturates_for_large_inputs(nb):
    x = torch.tensor([[-100.0, -50.0, -20.0], [20.0, 50.0, 100.0]])
    assert_tensor(nb.activation(x), sigmoid(x), what="activation(x) for large |x|")


@pytest.mark.points(1)
def test_activation_keeps_float64(nb):
    x = randn(5, 5, seed=104, dtype=torch.float64) * 4
    assert_tensor(nb.activation(x), sigmoid(x), what="activation(x) for a float64 x", rtol=1e-10, atol=1e-12)
