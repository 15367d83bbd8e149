"""Exercise 2, public checks: the sum of each row of x, kept as a (3, 1) column."""

import pytest
import torch

from grader.checks import assert_tensor

X = torch.arange(12.0).reshape(3, 4)


def the_answer(nb):
    return nb.cell(starting_with="## Exercise 2").value


@pytest.mark.points(1)
def test_row_sums_is_a_column(nb):
    assert_tensor(the_answer(nb), torch.empty(3, 1), what="your row sums", check_values=False)


@pytest.mark.points(2)
def test_row_sums_values(nb):
    assert_tensor(the_answer(nb), X.sum(dim=1, keepdim=True), what="your row sums")
