"""Exercise 1, public checks: a tensor that shares memory with a NumPy array, changed in place.

The answer is the pair `your_tensor, a` on the last line of the cell after "## Exercise 1".
The exercise is this module's name (test_numpy_bridge.py -> numpy_bridge).
"""

import numpy as np
import pytest
import torch

from grader.checks import CheckFailed, assert_tensor, summarize

EXPECTED = torch.arange(10.0, 121.0, 10.0, dtype=torch.float64).reshape(4, 3)
ORIGINAL = EXPECTED / 10


def the_pair(nb):
    value = nb.cell(starting_with="## Exercise 1").value
    if not (isinstance(value, tuple) and len(value) == 2):
        raise CheckFailed(
            "The last line of your Exercise 1 cell should be a pair, `your_tensor, a`, "
            f"but its value is {summarize(value).type}.",
            actual=summarize(value),
        )
    return value


@pytest.mark.points(1)
def test_the_tensor_holds_ten_times_a(nb):
    tensor, _ = the_pair(nb)
    assert_tensor(tensor, EXPECTED, what="your tensor (the first item of the pair)")


@pytest.mark.points(2)
def test_the_array_changed_with_the_tensor(nb):
    _, array = the_pair(nb)
    if not isinstance(array, np.ndarray):
        raise CheckFailed(
            f"The second item of the pair should be the NumPy array `a`, but it is {summarize(array).type}.",
            actual=summarize(array),
        )
    got = torch.from_numpy(array)
    if got.shape == ORIGINAL.shape and torch.equal(got, ORIGINAL):
        raise CheckFailed(
            "`a` still holds 1, 2, ..., 12: the tensor you changed does not share memory with it. "
            "`torch.tensor(a)` copies (use `torch.from_numpy(a)`), and `t = t * 10` makes a new "
            "tensor (use `t.mul_(10)` or `t *= 10`).",
            actual=summarize(got),
            expected=summarize(EXPECTED),
        )
    if got.shape == EXPECTED.shape and torch.equal(got, EXPECTED * 10):
        raise CheckFailed(
            "`a` holds 100, 200, ...: the cell ran twice. Run the cell that makes `a` again, then your cell once.",
            actual=summarize(got),
            expected=summarize(EXPECTED),
        )
    assert_tensor(got, EXPECTED, what="the array `a` (the second item of the pair)")
