"""Mistakes an instructor expects: wrong variants of an answer, recognised by their values.

Beside a check, an author lists what students really get wrong, each as a function computed
here, in the grader process, on the same inputs the check sent to the student's function:

    assert_tensor(nb.single_neuron(f, w, b), neuron(f, w, b), what="single_neuron(f, w, b)",
                  inputs=(f, w, b), mistakes=[
                      Mistake("the bias is left out", lambda f, w, b: sigmoid((f * w).sum()),
                              hint="add `+ bias` after the sum"),
                  ])

When the student's value has the mistake's shape and its values within the tolerance, the
check's message names the mistake and says what to change. A mistake's function that raises
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
    recognised_by: str = "catalogue"     # "catalogue": an instructor's Mistake; "shape", "values": the grader's own
    label: str = ""                      # the name without numbers or shapes, where the name has some

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


def matches(actual: Any, candidate: Any, rtol: float, atol: float) -> bool:
    """Same shape, and every value within the tolerance (NaN never matches)."""
    import torch

    if not isinstance(candidate, torch.Tensor) or not isinstance(actual, torch.Tensor):
        return False
    if tuple(actual.shape) != tuple(candidate.shape) or actual.numel() == 0:
        return False
    a = actual.detach().to(torch.float64)
    c = candidate.detach().to(torch.float64)
    return bool(torch.isclose(a, c, rtol=rtol, atol=atol).all())


def recognise(actual: Any, mistakes: Sequence[Mistake], inputs: Sequence[Any] | None,
              rtol: float, atol: float) -> Diagnosis | None:
    """The first listed mistake whose value, on fresh copies of `inputs`, the student's value matches."""
    if not mistakes or inputs is None:
        return None
    for mistake in mistakes:
        try:
            candidate = mistake.compute(*[_clone(x) for x in inputs])
        except Exception:   # an author's variant that does not fit these inputs
            continue
        if matches(actual, candidate, rtol, atol):
            return Diagnosis(mistake.name, mistake.hint)
    return None
