"""Tensor assertions that explain themselves to a student.

Type first, then shape, dtype and device, then values: `torch.allclose` broadcasts, so a
(1,) answer with the right number would pass a value check on a (1, 1) expectation.
All comparisons run here, in the grader, on plain tensors that came back as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from grader.bridge.codec import Opaque, Remote, tensor_meta
from grader.checks import diagnose
from grader.checks.context import current
from grader.checks.mistakes import Diagnosis, Mistake, recognise
from grader.checks.references import register_for_running
from grader.failures import CheckFailed
from grader.results import TensorSummary

SHOW = 6


def _typename(value: Any) -> str:
    if isinstance(value, Opaque):
        return value.type
    if isinstance(value, Remote):
        return f"function ({value.type})"
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def summarize(value: Any) -> TensorSummary:
    import torch

    if isinstance(value, torch.Tensor):
        meta = tensor_meta(value)
        flat = value.detach().reshape(-1)[:SHOW]
        values = [float(v) if not v.is_complex() else str(v.item()) for v in flat] if value.numel() else []
        return TensorSummary(
            type="torch.Tensor" if meta is None else meta.cls,
            shape=list(value.shape),
            dtype=str(value.dtype).replace("torch.", ""),
            device=meta.device if meta else str(value.device),
            values=values,
        )
    try:
        import numpy

        if isinstance(value, numpy.ndarray):
            return TensorSummary(
                type="numpy.ndarray",
                shape=list(value.shape),
                dtype=str(value.dtype),
                values=[float(v) for v in value.reshape(-1)[:SHOW]] if value.dtype.kind in "biuf" else None,
            )
    except ImportError:
        pass
    text = value.repr if isinstance(value, Opaque) else repr(value)
    return TensorSummary(type=_typename(value), values=[text[:80]])


def _fail(message: str, actual: Any, expected: Any, *, expected_values: bool = True, **extra: Any) -> CheckFailed:
    """`expected_values` False: the expectation is a shape and dtype only (often torch.empty, whose
    numbers are whatever memory held), so the student is shown none of its values."""
    wanted = summarize(expected)
    if not expected_values:
        wanted.values = None
    return CheckFailed(message, actual=summarize(actual), expected=wanted, **extra)


def _type_hint(actual: Any) -> str:
    """What to change when a result is not a tensor at all."""
    if type(actual).__module__ == "numpy":
        return " Keep the computation in torch (no .numpy()), or convert back with torch.from_numpy."
    if isinstance(actual, (float, int)):
        return " Return the tensor itself, not a Python number (no .item())."
    if actual is None:
        return " Did you forget a `return`?"
    return ""


_shape = diagnose.shape_text


@dataclass(frozen=True)
class _Compared:
    """One assert_tensor call: the values it compares, and what its failures may show and recognise."""

    actual: Any
    expected: Any
    what: str
    expected_values: bool  # False: the expectation is a shape and dtype only (see _fail)
    mistakes: Sequence[Mistake]
    inputs: Sequence[Any] | None
    reference: Callable[..., Any] | None
    rtol: float
    atol: float

    def fail(self, message: str, diagnosis: Diagnosis | None = None) -> CheckFailed:
        if diagnosis is not None:
            message = f"{message} {diagnosis.sentence()}"
        return _fail(message, self.actual, self.expected, expected_values=self.expected_values, diagnosis=diagnosis)

    def recognised(self) -> Diagnosis | None:
        """The first of the author's mistakes the result matches (computed on the check's inputs)."""
        return recognise(self.actual, self.mistakes, self.inputs, self.rtol, self.atol)


def _shape_failure(compared: _Compared) -> CheckFailed:
    """A result of the wrong shape, with what it looks like: a listed mistake, reshaped values, a lost dimension."""
    actual, expected = compared.actual, compared.expected
    diagnosis = (
        compared.recognised()
        or diagnose.of_reshaped_values(
            actual, expected, compared.rtol, compared.atol, reference=compared.reference, inputs=compared.inputs
        )
        or diagnose.of_shape(actual, expected)
    )
    hint = ""
    if diagnosis is None and actual.numel() == expected.numel():
        hint = " It has the right number of elements: check how you reshape or which dimension you sum over."
    return compared.fail(
        f"{compared.what} has shape {_shape(actual.shape)}, expected {_shape(expected.shape)}.{hint}", diagnosis
    )


def _assert_values_diagnosed(compared: _Compared) -> None:
    """assert_values, its failure naming what the values look like where that is recognised."""
    try:
        assert_values(compared.actual, compared.expected, what=compared.what, rtol=compared.rtol, atol=compared.atol)
    except CheckFailed as failed:
        diagnosis = compared.recognised() or diagnose.of_values(
            compared.actual,
            compared.expected,
            compared.rtol,
            compared.atol,
            reference=compared.reference,
            inputs=compared.inputs,
        )
        if diagnosis is None:
            raise
        failed.message = f"{failed.message} {diagnosis.sentence()}"
        failed.args = (failed.message,)
        failed.details["diagnosis"] = diagnosis
        raise


def assert_tensor(
    actual: Any,
    expected: Any,
    *,
    what: str = "the result",
    check_dtype: bool = True,
    check_device: bool = True,
    check_values: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    mistakes: Sequence[Mistake] = (),
    inputs: Sequence[Any] | None = None,
    reference: Callable[..., Any] | None = None,
) -> None:
    """Assert `actual` is a plain torch.Tensor like `expected`: shape, dtype, device, values.

    A failure says what the value looks like: one of the `mistakes` (computed on `inputs`, the
    arguments the check passed), else what the grader recognises on its own (a sign flip, with
    `reference` the right function; transposed; a dimension summed away; a constant factor ...)."""
    import torch

    ctx = current()
    rtol_, atol_ = _tolerance(rtol, atol)
    if reference is not None:
        register_for_running(reference)
    compared = _Compared(actual, expected, what, check_values, mistakes, inputs, reference, rtol_, atol_)
    if not isinstance(actual, torch.Tensor):
        raise compared.fail(f"{what} should be a torch.Tensor, but it is a {_typename(actual)}.{_type_hint(actual)}")
    meta = tensor_meta(actual)
    if meta is not None and meta.cls not in ("torch.Tensor", "torch.nn.parameter.Parameter"):
        raise compared.fail(f"{what} is a {meta.cls}, a subclass of torch.Tensor; return a plain torch.Tensor.")
    if tuple(actual.shape) != tuple(expected.shape):
        raise _shape_failure(compared)
    if check_dtype and actual.dtype != expected.dtype:
        raise compared.fail(
            f"{what} has dtype {str(actual.dtype).replace('torch.', '')}, expected "
            f"{str(expected.dtype).replace('torch.', '')}. Keep the input's dtype: avoid converting "
            "to Python numbers, numpy, or another precision."
        )
    if check_device and meta is not None:
        want = ctx.device
        if meta.device.split(":")[0] != want.split(":")[0]:
            raise compared.fail(
                f"{what} is on {meta.device}, but the inputs were on {want}. Create new tensors on "
                "the input's device (e.g. torch.ones_like(x) or device=x.device)."
            )
    if check_values:
        _assert_values_diagnosed(compared)


def _tolerance(rtol: float | None, atol: float | None) -> tuple[float, float]:
    tol = current().tolerance
    return (tol.rtol if rtol is None else rtol), (tol.atol if atol is None else atol)


def assert_values(
    actual: Any, expected: Any, *, what: str = "the result", rtol: float | None = None, atol: float | None = None
) -> None:
    """Values within tolerance (shapes must already agree); reports the worst differences."""
    import torch

    rtol, atol = _tolerance(rtol, atol)
    a = actual.detach().to(torch.float64) if not actual.is_complex() else actual.detach()
    e = expected.detach().to(a.dtype)
    if a.shape != e.shape:
        raise _fail(f"{what} has shape {_shape(a.shape)}, expected {_shape(e.shape)}.", actual, expected)
    close = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=False)
    if bool(close.all()):
        return
    diff = (a - e).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    bad = (~close).nonzero()
    count = bad.shape[0]
    order = diff[~close].argsort(descending=True)[:SHOW]
    worst = []
    for k in order.tolist():
        idx = tuple(bad[k].tolist())
        worst.append(
            {
                "index": list(idx),
                "expected": float(e[idx]) if e.dim() else float(e),
                "actual": float(a[idx]) if a.dim() else float(a),
            }
        )
    nan_note = " Some values are NaN." if bool(torch.isnan(a).any()) else ""
    raise _fail(
        f"{what} has the right shape but {count} of {a.numel()} values differ from the expected ones "
        f"(beyond rtol={rtol:g}, atol={atol:g}).{nan_note}",
        actual,
        expected,
        mismatches=worst,
    )


def assert_close(actual: Any, expected: Any, **kwargs: Any) -> None:
    """Alias of assert_tensor, for authors who know torch.testing.assert_close."""
    assert_tensor(actual, expected, **kwargs)


def assert_shares_storage(view: Any, base: Any, *, what: str = "the result") -> None:
    """`view` must be a view of `base`'s memory (as `view`/`reshape` of a contiguous tensor give)."""
    m_view, m_base = tensor_meta(view), tensor_meta(base)
    if m_view is None or m_base is None or m_view.storage is None or m_base.storage is None:
        raise CheckFailed(f"could not tell whether {what} shares memory with the input")
    if m_view.storage != m_base.storage:
        raise CheckFailed(
            f"{what} is a copy, not a view of the input's memory. Use `.view(...)` "
            "(not `.clone()`, `resize_` on a copy, or building a new tensor).",
            actual=summarize(view),
            expected=summarize(base),
        )


def assert_unchanged(after: Any, before: Any, *, what: str = "the input") -> None:
    """An argument after the call must still equal what was sent (shape and values)."""
    import torch

    if not isinstance(after, torch.Tensor) or tuple(after.shape) != tuple(before.shape):
        shape = _shape(after.shape) if isinstance(after, torch.Tensor) else _typename(after)
        raise CheckFailed(
            f"your function changed {what}: it was {_shape(before.shape)} and is now {shape}. "
            "Do not modify the argument in place (`resize_`, `.t_()`, `+=` ...); return a new view or tensor.",
            actual=summarize(after),
            expected=summarize(before),
        )
    if not torch.equal(after.detach().cpu(), before.detach().cpu()):
        raise CheckFailed(
            f"your function changed the values of {what}. Do not modify arguments in place.",
            actual=summarize(after),
            expected=summarize(before),
        )


def assert_depends_on_inputs(
    function: Callable[..., Any], *argument_sets: Sequence[Any], what: str = "the function"
) -> None:
    """`function` must give different results for different inputs: the same value for every
    set of arguments is an answer typed in, not computed (a walkthrough's 0.1595, say)."""
    import torch

    results = [function(*args) for args in argument_sets]
    for result in results:
        if not isinstance(result, torch.Tensor):
            raise CheckFailed(
                f"{what} should be a torch.Tensor, but it is a {_typename(result)}.{_type_hint(result)}",
                actual=summarize(result),
            )
    tensors = results
    if len(tensors) < 2:
        return
    first = tensors[0].detach().to(torch.float64)
    if all(
        tuple(t.shape) == tuple(first.shape) and torch.equal(t.detach().to(torch.float64), first) for t in tensors[1:]
    ):
        diagnosis = Diagnosis(
            "a hard-coded answer",
            "compute the result from the function's arguments instead of typing in a number",
            "values",
        )
        raise CheckFailed(
            f"{what} gives the same value for {len(tensors)} different inputs: is the answer hard-coded? "
            f"{diagnosis.sentence()}",
            actual=summarize(tensors[0]),
            diagnosis=diagnosis,
        )
