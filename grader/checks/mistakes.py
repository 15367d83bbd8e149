"""Mistakes an instructor expects: wrong variants of an answer, recognised by their values.

Beside a check, an author lists what students really get wrong, each as a function computed
here, in the grader process, on the same inputs the check sent to the student's function:

    assert_tensor(nb.single_neuron(f, w, b), neuron(f, w, b), what="single_neuron(f, w, b)",
                  inputs=(f, w, b), mistakes=[
                      Mistake("the bias is left out", lambda f, w, b: sigmoid((f * w).sum()),
                              hint="add `+ bias` after the sum"),
                  ])

When the student's value has the mistake's values within the tolerance, the check's message
names the mistake and says what to change; where the shapes differ only by dimensions of size 1
(the student reshaped on the way out: `.view(1, 1)`, `.squeeze()`, `keepdim=True`), the values
still match and the message also names the shape ("...; the result was also reshaped to (1, 1)").
A mistake of the same shape is preferred to a reshaped one. A mistake's function that raises
(it does not apply to these inputs) is passed over, never blamed on the student.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Mistake:
    """A likely wrong answer: `compute(*inputs)` gives its value; `hint` says what to change."""

    name: str
    compute: Callable[..., Any]
    hint: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """What the student's value looks like: a mistake's name and what to change."""

    name: str
    hint: str = ""
    recognised_by: str = "catalogue"  # "catalogue": an instructor's Mistake; "shape", "values": the grader's own
    label: str = ""  # the name without numbers or shapes, where the name has some

    @property
    def public(self) -> str:
        """What a hidden check may say, and what the class report counts: no values."""
        return self.label or self.name

    def sentence(self) -> str:
        """The words a student reads after the mismatch."""
        text = f"It looks like {self.name}"
        return text + (f": {self.hint.rstrip('.')}." if self.hint else ".")


def _clone(value: Any) -> Any:
    import torch

    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def shape_text(shape: Any) -> str:
    """A shape as a student writes it: (1, 1), (5,), ()."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def same_but_size_one(a: Any, b: Any) -> bool:
    """Two shapes that differ only by dimensions of size 1: (1, 1) and (), (3,) and (3, 1)."""
    return tuple(a) != tuple(b) and [s for s in a if s != 1] == [s for s in b if s != 1]


def matches(actual: Any, candidate: Any, rtol: float, atol: float, *, reshaped: bool = False) -> bool:
    """Same shape (`reshaped`: or one that differs only by dimensions of size 1), and every value
    within the tolerance (NaN never matches)."""
    import torch

    if not isinstance(candidate, torch.Tensor) or not isinstance(actual, torch.Tensor):
        return False
    if actual.numel() == 0 or actual.numel() != candidate.numel():
        return False
    if tuple(actual.shape) != tuple(candidate.shape) and not (
        reshaped and same_but_size_one(actual.shape, candidate.shape)
    ):
        return False
    a = actual.detach().to(torch.float64).reshape(candidate.shape)
    c = candidate.detach().to(torch.float64)
    return bool(torch.isclose(a, c, rtol=rtol, atol=atol).all())


def reshaped_to(diagnosis: Diagnosis, shape: Any) -> Diagnosis:
    """The same mistake, its name also saying the shape the student's result was given."""
    return Diagnosis(
        f"{diagnosis.name}; the result was also reshaped to {shape_text(shape)}",
        diagnosis.hint,
        diagnosis.recognised_by,
        diagnosis.label or diagnosis.name,
    )


def recognise(
    actual: Any, mistakes: Sequence[Mistake], inputs: Sequence[Any] | None, rtol: float, atol: float
) -> Diagnosis | None:
    """The first listed mistake whose value, on fresh copies of `inputs`, the student's value matches;
    else the first it matches once dimensions of size 1 are set aside, named with that shape."""
    if not mistakes or inputs is None:
        return None
    candidates = []
    for mistake in mistakes:
        try:
            candidates.append((mistake, mistake.compute(*[_clone(x) for x in inputs])))
        except Exception:  # an author's variant that does not fit these inputs
            continue
    for mistake, candidate in candidates:
        if matches(actual, candidate, rtol, atol):
            return Diagnosis(mistake.name, mistake.hint)
    for mistake, candidate in candidates:
        if matches(actual, candidate, rtol, atol, reshaped=True):
            return reshaped_to(Diagnosis(mistake.name, mistake.hint), actual.shape)
    return None
