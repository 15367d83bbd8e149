"""The checks API for assignment authors.

    import pytest
    from grader.checks import assert_tensor, randn

    pytestmark = pytest.mark.exercise("activation")

    @pytest.mark.points(2)
    def test_activation_values(nb):
        x = randn(4, 3, seed=1)
        assert_tensor(nb.activation(x), 1 / (1 + (-x).exp()))

`nb` is the student's notebook, live in its kernel (see grader.nb.proxy.Notebook).
Models: `nb.module("model")` (its parameters as data), `evaluate(nb.model, X)` and
`assert_accuracy(nb.model, X, y, at_least=0.9, thresholds={0.8: 0.5})` (grader/checks/models.py).
What `nb` hands back is named here too: a cell (`CellView`, its `Rerun`), a `Section`, a module's
`ModuleInfo`, a function not called (`Remote`), an object that is not data (`Opaque`), and what
the kernel said of a tensor (`tensor_meta(t)`, a `TensorMeta`).
"""

from __future__ import annotations

from grader.checks.celldata import data_cell, data_if_it_fits, typed_in
from grader.checks.context import current
from grader.checks.inputs import generator, randn, seeded_draws
from grader.checks.mistakes import Diagnosis, Mistake
from grader.checks.models import accuracy_of, assert_accuracy
from grader.checks.references import reference
from grader.checks.tensors import (
    assert_close,
    assert_depends_on_inputs,
    assert_shares_storage,
    assert_tensor,
    assert_unchanged,
    assert_values,
    summarize,
)
from grader.bridge.codec import Opaque, Remote, TensorMeta, tensor_meta
from grader.failures import CheckFailed, PartialCredit
from grader.nb.answers import Rerun
from grader.nb.cells import CellView
from grader.nb.values import Shown
from grader.nb.models import ModuleInfo, Parameter, evaluate
from grader.nb.proxy import Notebook
from grader.nb.sections import Section

__all__ = [
    "CellView",
    "CheckFailed",
    "Diagnosis",
    "Mistake",
    "ModuleInfo",
    "Notebook",
    "Opaque",
    "Parameter",
    "PartialCredit",
    "Remote",
    "Rerun",
    "Section",
    "Shown",
    "TensorMeta",
    "accuracy_of",
    "assert_accuracy",
    "assert_close",
    "assert_depends_on_inputs",
    "assert_shares_storage",
    "assert_tensor",
    "assert_unchanged",
    "assert_values",
    "current",
    "data_cell",
    "data_if_it_fits",
    "evaluate",
    "generator",
    "randn",
    "reference",
    "seeded_draws",
    "summarize",
    "tensor_meta",
    "typed_in",
]
