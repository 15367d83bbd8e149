"""Diagnoses that need no catalogue: what a wrong tensor looks like, read from its shape and values.

`assert_tensor` asks these once a check has failed, so they cost nothing on a right answer.
Each returns a `Diagnosis` (a mistake's name and what to change) or None. They compare values
computed here, in the grader, with the tolerance of the check.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from grader.checks.mistakes import Diagnosis, matches, same_but_size_one, shape_text

__all__ = ["Diagnosis", "of_reshaped_values", "of_shape", "of_values", "shape_text"]


def of_reshaped_values(
    actual: Any,
    expected: Any,
    rtol: float,
    atol: float,
    *,
    reference: Callable[..., Any] | None = None,
    inputs: Sequence[Any] | None = None,
) -> Diagnosis | None:
    """A wrong shape that differs only by dimensions of size 1, whose values (set in the expected
    shape) have a mistake of their own: that mistake, named with the shape."""
    if not same_but_size_one(actual.shape, expected.shape) or actual.numel() != expected.numel():
        return None
    found = of_values(actual.reshape(expected.shape), expected, rtol, atol, reference=reference, inputs=inputs)
    if found is None:
        return None
    return Diagnosis(
        f"{found.name}, and the result has shape {shape_text(actual.shape)} where "
        f"{shape_text(expected.shape)} is asked for",
        found.hint,
        found.recognised_by,
        found.label or found.name,
    )


def of_shape(actual: Any, expected: Any) -> Diagnosis | None:
    """A wrong shape, named: a scalar for a (1, 1), a dimension summed away or added, transposed, outer."""
    got, want = tuple(actual.shape), tuple(expected.shape)
    if actual.numel() == 1 and expected.numel() == 1:
        kind = "a 0-d tensor (a bare number)" if not got else f"a tensor of shape {shape_text(got)}"
        return Diagnosis(
            f"the result is {kind} where a {shape_text(want)} tensor is asked for",
            f"keep every dimension (a matrix product, `keepdim=True`, or `.reshape{shape_text(want)}`)",
            "shape",
            "a bare number (or a 1-d tensor) where a matrix is asked for",
        )
    if len(got) + 1 == len(want) and any(want[:i] + want[i + 1 :] == got for i in range(len(want))):
        return Diagnosis(
            "a dimension was summed (or squeezed) away", "sum with `keepdim=True`, or leave out the `squeeze`", "shape"
        )
    if len(got) == len(want) + 1 and any(got[:i] + got[i + 1 :] == want and got[i] == 1 for i in range(len(got))):
        return Diagnosis(
            "the result has an extra dimension of size 1",
            f"return a {shape_text(want)} tensor (no `unsqueeze`, or `squeeze` the extra one)",
            "shape",
            "the result has an extra dimension of size 1",
        )
    if len(got) == 2 and len(want) == 2 and got == want[::-1]:
        return Diagnosis(
            "the result is transposed",
            "swap the operands of the matrix product, or transpose where the formula does",
            "shape",
        )
    if len(got) == 2 and actual.numel() > expected.numel() and got[0] > 1 and got[1] > 1 and 1 in want:
        return Diagnosis(
            "an outer product where an inner one was meant",
            "a (1, n) row times an (n, 1) column gives one number; the other order gives a matrix",
            "shape",
        )
    return None


def _finite_where_expected(actual: Any, expected: Any) -> Diagnosis | None:
    import torch

    if bool(torch.isfinite(expected).all()) and not bool(torch.isfinite(actual).all()):
        what = "NaN" if bool(torch.isnan(actual).any()) else "infinite"
        return Diagnosis(
            f"some values are {what} where finite values were expected",
            "look for a division by zero, the log of a non-positive number, or exp of a large input "
            "(torch.sigmoid is stable where 1 / (1 + exp(-x)) overflows)",
            "values",
        )
    return None


def _factor_or_offset(a: Any, e: Any, rtol: float, atol: float) -> Diagnosis | None:
    import torch

    if a.numel() < 2:
        return None
    offset = (a - e).mean()
    if not torch.isclose(offset, torch.zeros((), dtype=offset.dtype), atol=atol) and matches(a, e + offset, rtol, atol):
        return Diagnosis(
            f"the right values shifted by a constant {float(offset):.4g}",
            "look for a term added (or left out) once, such as a bias",
            "values",
            "the right values shifted by a constant",
        )
    nonzero = e.abs() > atol
    if bool(nonzero.any()):
        factor = (a[nonzero] / e[nonzero]).mean()
        if abs(float(factor) - 1.0) > rtol and matches(a, e * factor, rtol, atol):
            return Diagnosis(
                f"the right values scaled by a constant factor {float(factor):.4g}",
                "look for a mean where a sum belongs (or the other way), or a stray constant",
                "values",
                "the right values scaled by a constant factor",
            )
    return None


def of_values(
    actual: Any,
    expected: Any,
    rtol: float,
    atol: float,
    *,
    reference: Callable[..., Any] | None = None,
    inputs: Sequence[Any] | None = None,
) -> Diagnosis | None:
    """Same shape, wrong values: NaN or inf, a sign flip, transposed, off by a factor or an offset."""
    import torch

    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    found = _finite_where_expected(a, e)
    if found is not None:
        return found
    if _is_sign_flip(a, e, rtol, atol, reference, inputs):
        return Diagnosis(
            "a sign flip (these are the right formula's values for -z)",
            "check the sign inside exp; the sigmoid is 1 / (1 + torch.exp(-z))",
            "values",
        )
    if a.dim() == 2 and a.shape[0] == a.shape[1] > 1 and matches(a, e.T, rtol, atol):
        return Diagnosis("the result is transposed", "swap the operands of the matrix product", "values")
    return _factor_or_offset(a, e, rtol, atol)


def _is_sign_flip(
    a: Any, e: Any, rtol: float, atol: float, reference: Callable[..., Any] | None, inputs: Sequence[Any] | None
) -> bool:
    """The right function of -x: with a reference and one tensor input, computed; for values in
    (0, 1) (a sigmoid's), 1 - expected is what sigmoid(-z) gives for every z."""
    import torch

    if reference is not None and inputs is not None and len(inputs) == 1 and isinstance(inputs[0], torch.Tensor):
        try:
            return matches(a, reference(-inputs[0].detach().clone()), rtol, atol)
        except Exception:  # a reference that does not take a negated input
            return False
    in_unit = bool(((e > 0) & (e < 1)).all())
    half = bool(torch.isclose(e, torch.full_like(e, 0.5), atol=atol).all())
    return in_unit and not half and matches(a, 1 - e, rtol, atol)
