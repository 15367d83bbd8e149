"""The checks API for assignment authors.

    import pytest
    from grader.checks import assert_tensor, randn

    pytestmark = pytest.mark.exercise("activation")

    @pytest.mark.points(2)
    def test_activation_values(nb):
        x = randn(4, 3, seed=1)
        assert_tensor(nb.activation(x), 1 / (1 + (-x).exp()))

`nb` is the student's notebook, live in its kernel (see grader.bridge.client.Notebook).
Models: `nb.module("model")` (its parameters as data), `evaluate(nb.model, X)` and
`assert_accuracy(nb.model, X, y, at_least=0.9, thresholds={0.8: 0.5})` (grader/checks/models.py).
"""
from __future__ import annotations

from grader.checks.celldata import data_cell, data_if_it_fits, typed_in
from grader.checks.context import current
from grader.checks.inputs import generator, randn, seeded_draws
from grader.checks.mistakes import Diagnosis, Mistake
from grader.checks.models import accuracy_of, assert_accuracy
from grader.checks.tensors import (
    assert_close,
    assert_depends_on_inputs,
    assert_shares_storage,
    assert_tensor,
    assert_unchanged,
    assert_values,
    summarize,
)
from grader.bridge.models import ModuleInfo, Parameter, evaluate
from grader.failures import CheckFailed, PartialCredit

__all__ = [
    "CheckFailed", "Diagnosis", "Mistake", "ModuleInfo", "Parameter", "PartialCredit", "accuracy_of",
    "assert_accuracy", "assert_close", "assert_depends_on_inputs", "assert_shares_storage", "assert_tensor",
    "assert_unchanged", "assert_values", "current", "data_cell", "data_if_it_fits", "evaluate", "generator",
    "randn", "seeded_draws", "summarize", "typed_in",
]
