"""Exercise 2, hidden check: x was left as given."""

import pytest
import torch

from grader.checks import assert_tensor

pytestmark = pytest.mark.exercise("row_sums")


@pytest.mark.points(1)
def test_x_left_as_given(nb):
    nb.cell(starting_with="## Exercise 2").value
    assert_tensor(nb.x, torch.arange(12.0).reshape(3, 4), what="x")
