"""Exercise 1, hidden check: the notebook's `a` itself changed (not a scaled copy in the pair)."""

import pytest
import torch

from grader.checks import assert_tensor

pytestmark = pytest.mark.exercise("numpy_bridge")


@pytest.mark.points(1)
def test_a_itself_changed(nb):
    nb.cell(starting_with="## Exercise 1").value  # the answer cell must have run
    assert_tensor(
        torch.from_numpy(nb.a), torch.arange(10.0, 121.0, 10.0, dtype=torch.float64).reshape(4, 3), what="the array `a`"
    )
