"""Exercise 3, hidden check: the answer is a tuple of Python ints (a torch.Size is one too)."""

import pytest

from grader.checks import CheckFailed

pytestmark = pytest.mark.exercise("mm_shape")


@pytest.mark.points(1)
def test_mm_shape_is_a_tuple_of_ints(nb):
    value = nb.cell(tag="mm-shape").value
    if not (isinstance(value, tuple) and all(type(v) is int for v in value) and value == (2, 4)):
        raise CheckFailed("the answer is not the tuple of ints asked for")
