"""Hidden checks of `two_layer_forward`: batches and sizes the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("two_layer_forward")


def sigmoid(z):
    return 1.0 / (1.0 + torch.exp(-z))


def network(features, W1, B1, W2, B2):
    """Reference forward pass, computed in float64."""
    x, W1, B1, W2, B2 = (t.double() for t in (features, W1, B1, W2, B2))
    hidden = sigmoid(x @ W1 + B1)
    return sigmoid(hidden @ W2 + B2).to(features.dtype)


def draws(seed, batch, n_in, n_hidden, n_out):
    features, W1, B1, W2, B2 = seeded_draws(
        seed, (batch, n_in), (n_in, n_hidden), (1, n_hidden), (n_hidden, n_out), (1, n_out)
    )
    return features, W1, B1, W2, B2


@pytest.mark.points(3)
def test_two_layer_forward_on_a_batch(nb):
    args = draws(401, 6, 4, 3, 2)
    assert_tensor(nb.two_layer_forward(*args), network(*args), what="two_layer_forward(...) on a batch of 6 examples")


@pytest.mark.points(2)
def test_two_layer_forward_on_unseen_sizes(nb):
    for seed, sizes in ((402, (1, 7, 5, 3)), (403, (3, 2, 8, 1))):
        args = draws(seed, *sizes)
        assert_tensor(
            nb.two_layer_forward(*args),
            network(*args),
            what=f"two_layer_forward(...) with batch, n_input, n_hidden, n_output = {sizes}",
        )
