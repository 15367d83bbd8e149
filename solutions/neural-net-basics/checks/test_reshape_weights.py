"""Hidden checks of `reshape_weights`: other sizes and dtypes."""

import pytest
import torch

from grader.checks import assert_shares_storage, assert_tensor, assert_unchanged, randn

pytestmark = pytest.mark.exercise("reshape_weights")


def column(weights):
    """Reference: the (1, n) row as an (n, 1) column."""
    return weights.reshape(-1, 1).clone()


@pytest.mark.points(2)
def test_reshape_weights_on_unseen_sizes(nb):
    for seed, n in ((201, 1), (202, 3), (203, 8), (204, 17)):
        weights = randn(1, n, seed=seed)
        result = nb.reshape_weights(weights)
        assert_tensor(result, column(weights), what=f"reshape_weights(weights) for weights of shape (1, {n})")
        assert_shares_storage(result, nb.last_call.args_after[0], what=f"reshape_weights(weights) for n={n}")
        assert_unchanged(nb.last_call.args_after[0], weights, what="`weights`")


@pytest.mark.points(1)
def test_reshape_weights_keeps_float64(nb):
    weights = randn(1, 6, seed=205, dtype=torch.float64)
    assert_tensor(nb.reshape_weights(weights), column(weights), what="reshape_weights(weights) for float64 weights")
