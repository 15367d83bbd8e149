"""The checks API for assignment authors.

    import pytest
    from grader.checks import assert_tensor, randn

    pytestmark = pytest.mark.exercise("activation")

    @pytest.mark.points(2)
    def test_activation_values(nb):
        x = randn(4, 3, seed=1)
        assert_tensor(nb.activation(x), 1 / (1 + (-x).exp()))

`nb` is the student's notebook, live in its kernel (see grader.bridge.client.Notebook).
"""
from __future__ import annotations

from grader.checks.celldata import data_cell, data_if_it_fits, typed_in
from grader.checks.context import current
from grader.checks.inputs import generator, randn, seeded_draws
from grader.checks.mistakes import Diagnosis, Mistake
from grader.checks.tensors import (
    assert_close,
    assert_depends_on_inputs,
    assert_shares_storage,
    assert_tensor,
    assert_unchanged,
    assert_values,
    summarize,
)
from grader.failures import CheckFailed

__all__ = [
    "CheckFailed", "Diagnosis", "Mistake", "assert_close", "assert_depends_on_inputs", "assert_shares_storage", "assert_tensor", "assert_unchanged",
    "assert_values", "current", "data_cell", "data_if_it_fits", "generator", "randn", "seeded_draws", "summarize",
    "typed_in",
]
