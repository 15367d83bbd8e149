"""Exercise 3, public check: the shape of torch.mm((2, 3), (3, 4)), answered as a tuple.

The answer cell is found by its tag, `mm-shape`, whatever its first line.
"""

import pytest
import torch

from grader.checks import CheckFailed, summarize


@pytest.mark.points(2)
def test_mm_shape(nb):
    value = nb.cell(tag="mm-shape").value
    if isinstance(value, torch.Tensor):
        raise CheckFailed(
            "Your answer is a tensor. Answer with the shape itself, a tuple of two integers "
            "such as (7, 7) (a tensor's shape is `t.shape`).",
            actual=summarize(value),
        )
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailed(
            f"Your answer should be a tuple of two integers, such as (7, 7), but it is {value!r}."
            + (" Is the answer the last line of the cell?" if value is None else "")
        )
    if tuple(value) != (2, 4):
        raise CheckFailed(
            f"{tuple(value)} is not the shape of torch.mm(A, B) for A (2, 3) and B (3, 4). "
            "An (n, k) matrix times a (k, m) matrix is an (n, m) matrix."
        )
