"""Exercise 4, public checks: torch.mm(features, weights as a column) + bias, of shape (1, 1).

The inputs are those of the notebook, remade here with the same seed: seeded_draws(7, ...) draws
what `torch.manual_seed(7)` then torch.randn/randn_like draw, in that order.
"""

import pytest
import torch

from grader.checks import assert_tensor, seeded_draws


def expected():
    features, weights, bias = seeded_draws(7, (1, 5), (1, 5), (1, 1))
    return torch.mm(features, weights.view(5, 1)) + bias


def the_answer(nb):
    return nb.cell(starting_with="## Exercise 4").value


@pytest.mark.points(1)
def test_product_has_shape_1_by_1(nb):
    assert_tensor(the_answer(nb), expected(), what="your product", check_values=False)


@pytest.mark.points(2)
def test_product_values(nb):
    assert_tensor(the_answer(nb), expected(), what="your product")
