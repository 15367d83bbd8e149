"""Exercise 3, hidden checks: the cell run again on batches and sizes the student never saw."""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws

pytestmark = pytest.mark.exercise("two_layer")

HEADING = "## Exercise 3"
NAMES = ("features", "W1", "B1", "W2", "B2")


def network(features, W1, B1, W2, B2):
    """Reference forward pass, computed in float64."""
    x, W1, B1, W2, B2 = (t.double() for t in (features, W1, B1, W2, B2))
    return torch.sigmoid(torch.sigmoid(x @ W1 + B1) @ W2 + B2).to(features.dtype)


def rerun(nb, seed, batch, n_input, n_hidden, n_output):
    features, W1, W2, B1, B2 = seeded_draws(
        seed, (batch, n_input), (n_input, n_hidden), (n_hidden, n_output), (1, n_hidden), (1, n_output)
    )
    args = (features, W1, B1, W2, B2)
    answer = (
        nb.section(after=HEADING)
        .rerun(**dict(zip(NAMES, args)), n_input=n_input, n_hidden=n_hidden, n_output=n_output)
        .answer
    )
    return answer, network(*args)


@pytest.mark.points(2)
def test_exercise_3_on_a_batch(nb):
    answer, expected = rerun(nb, 301, 6, 3, 2, 1)
    assert_tensor(answer, expected, what="your Exercise 3 cell on a batch of 6 examples")


@pytest.mark.points(1)
def test_exercise_3_on_unseen_sizes(nb):
    for seed, sizes in ((302, (2, 7, 5, 3)), (303, (4, 1, 8, 1))):
        answer, expected = rerun(nb, seed, *sizes)
        assert_tensor(answer, expected, what=f"your Exercise 3 cell with batch, n_input, n_hidden, n_output = {sizes}")
