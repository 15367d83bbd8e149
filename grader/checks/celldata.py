"""Checking answers in top-level cells: the notebook's own data, and a number typed in.

    from grader.checks import data_cell, typed_in

    data, expected = data_cell(nb, ("features", "weights", "bias"), neuron, after="## The data")
    cell = nb.cell(after="## Exercise 1")
    assert_tensor(cell.answer, expected, check_device=False, inputs=data,
                  mistakes=[typed_in(cell, "features", "weights", "bias"), *MISTAKES])

The expected answer is computed from the data as the student's data cell left them (an edited
data cell with a right formula is right); a cell that gives back the same answer whatever its
inputs, found by `typed_in` when a rerun returns the notebook's own answer, is named as typed in.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from grader.checks.mistakes import Mistake
from grader.failures import CheckFailed


def described(names: Sequence[str], values: Sequence[Any]) -> str:
    """`features` is (1, 5), `n_input` is a int: the shapes (or types) of values, by name."""
    return ", ".join(
        f"`{n}` is {tuple(v.shape)}" if hasattr(v, "shape") else f"`{n}` is a {type(v).__name__}"
        for n, v in zip(names, values)
    )


def data_cell(
    nb: Any, names: Sequence[str], reference: Callable[..., Any], **where: str
) -> tuple[tuple[Any, ...], Any]:
    """The values of `names` as the data cell (found as `nb.cell(**where)` finds it) left them, and
    `reference(*values)`. A name the cell does not define, or values that do not fit together, fail
    the check in words that say to keep the data cell as given."""
    cell = nb.cell(**where)
    place = f"under '{where['after']}'" if "after" in where else f"({cell.label})"
    bound = cell.names
    missing = [f"`{n}`" for n in names if n not in bound]
    if missing:
        raise CheckFailed(
            f"The data cell {place} does not define {', '.join(missing)}. Keep that cell as given, "
            "run all cells, and check again."
        )
    data = tuple(bound[n] for n in names)
    try:
        return data, reference(*data)
    except (RuntimeError, TypeError, AttributeError, ValueError):
        raise CheckFailed(
            f"The data {place} do not fit together: {described(names, data)}. In your own kernel "
            "grader.check() sees each name as it is now, which a later cell may have changed; when your "
            "work is graded the notebook runs from the top. Keep the data cell as given, run all cells, "
            "and check again."
        ) from None


def data_if_it_fits(
    nb: Any, names: Sequence[str], reference: Callable[..., Any], **where: str
) -> tuple[Any, ...] | None:
    """The data cell's values, to name a mistake by; None where they are missing or do not fit together."""
    try:
        return data_cell(nb, names, reference, **where)[0]
    except CheckFailed:
        return None


def typed_in(cell: Any, *names: str, result: str = "the output") -> Mistake:
    """A Mistake: the cell's answer on the notebook's data, given back whatever the inputs (a number
    typed in). `names` are the inputs the hint tells the student to compute `result` from."""
    quoted = [f"`{n}`" for n in names]
    inputs = (
        ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
        if len(quoted) > 1
        else quoted[0]
        if quoted
        else "the exercise's inputs"
    )
    return Mistake(
        "a number typed in: the same answer whatever the data",
        lambda *_: cell.answer,
        hint=f"compute {result} from {inputs}; the grader runs your cell with other values",
    )
