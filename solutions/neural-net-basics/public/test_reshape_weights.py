"""Public checks of `reshape_weights` (students see these checks and their messages)."""

import pytest
import torch

from grader.checks import assert_shares_storage, assert_tensor, assert_unchanged, seeded_draws

pytestmark = pytest.mark.exercise("reshape_weights")


def walkthrough_weights():
    """The notebook's `weights`: torch.manual_seed(7), features, then weights, both (1, 5)."""
    _features, weights = seeded_draws(7, (1, 5), (1, 5))
    return weights


@pytest.mark.points(2)
def test_reshape_weights_gives_a_column(nb):
    weights = walkthrough_weights()
    assert_tensor(
        nb.reshape_weights(weights),
        torch.empty(5, 1),
        what="reshape_weights(weights) for weights of shape (1, 5)",
        check_values=False,
    )


@pytest.mark.points(1)
def test_reshape_weights_walkthrough_values(nb):
    weights = walkthrough_weights()
    expected = torch.tensor([[v] for v in weights[0].tolist()])
    assert_tensor(nb.reshape_weights(weights), expected, what="reshape_weights(weights) on the notebook's weights")


@pytest.mark.points(2)
def test_reshape_weights_returns_a_view(nb):
    weights = walkthrough_weights()
    column = nb.reshape_weights(weights)
    assert_shares_storage(column, nb.last_call.args_after[0], what="reshape_weights(weights)")


@pytest.mark.points(2)
def test_reshape_weights_leaves_input_unchanged(nb):
    weights = walkthrough_weights()
    nb.reshape_weights(weights)
    assert_unchanged(nb.last_call.args_after[0], weights, what="`weights`")
