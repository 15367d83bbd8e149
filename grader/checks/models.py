"""Checks on trained models: accuracy against labels that stay in the grader, partial credit by
thresholds.

    @pytest.mark.points(4)
    def test_accuracy_on_held_out_digits(nb, assignment_files):
        X, y = torch.load(assignment_files / "data/digits-test.pt").values()
        assert_accuracy(nb.model, X, y, at_least=0.9, thresholds={0.8: 0.5, 0.6: 0.25},
                        what="held-out digits")

The model runs in the kernel in batches, in eval() mode and under torch.no_grad(), on the
grading device (grader.nb.models.evaluate); only its outputs come back. The labels never
enter the kernel, and the accuracy is computed here, in the grader process.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from grader.nb.models import evaluate
from grader.checks.mistakes import Diagnosis
from grader.failures import CheckFailed, PartialCredit

UNTRAINED = Diagnosis(
    name="a model that was never trained: it scores what guessing scores",
    label="an untrained model",
    recognised_by="values",
)


def percent(fraction: float) -> str:
    """71% for 0.7193: rounded down, so that a score just under a bar never reads as the bar."""
    return f"{math.floor(fraction * 100 + 1e-9):d}%"


def _check_thresholds(at_least: float, thresholds: Mapping[float, float]) -> list[tuple[float, float]]:
    if not 0 < at_least <= 1:
        raise ValueError(f"assert_accuracy: at_least={at_least!r} is not an accuracy between 0 and 1")
    steps = sorted((float(bar), float(credit)) for bar, credit in thresholds.items())
    for bar, credit in steps:
        if not 0 <= bar < at_least or not 0 < credit < 1:
            raise ValueError(
                f"assert_accuracy: threshold {bar!r}: {credit!r} must be an accuracy below at_least "
                f"({at_least!r}) and a part of the points between 0 and 1"
            )
    return steps


def _scores_for(model: Any, inputs: Any, classes: int, batch_size: int) -> Any:
    """The model's scores, one row of `classes` per input (else the check fails, saying which shape came)."""
    import torch

    scores = evaluate(model, inputs, batch_size=batch_size)
    n = len(inputs)
    if scores.dim() != 2 or tuple(scores.shape) != (n, classes):
        shape = "(" + ", ".join(map(str, scores.shape)) + ("," if scores.dim() == 1 else "") + ")"
        hint = (
            f" The last layer gives {scores.shape[1]} outputs: make it give {classes} (out_features={classes})."
            if scores.dim() == 2 and scores.shape[0] == n
            else ""
        )
        raise CheckFailed(
            f"Your model's output for {n} inputs has shape {shape}; expected ({n}, {classes}): one "
            f"score per class for each input, {classes} classes.{hint}"
        )
    if not torch.isfinite(scores).all(dim=1).any():
        raise CheckFailed(f"Your model's outputs are NaN or infinite for all {n} inputs: did training diverge?")
    return scores.to(torch.float64)


def accuracy_of(scores: Any, labels: Any) -> float:
    """The fraction of rows whose highest score is at the label's class (a row with NaN counts as wrong)."""
    import torch

    finite = torch.isfinite(scores).all(dim=1)
    right = (scores.argmax(dim=1) == labels.to(torch.long)) & finite
    return float(right.to(torch.float64).mean()) if len(labels) else 0.0


def assert_accuracy(
    model: Any,
    inputs: Any,
    labels: Any,
    *,
    at_least: float = 0.9,
    batch_size: int = 256,
    thresholds: Mapping[float, float] | None = None,
    what: str = "held-out data",
    classes: int | None = None,
) -> float:
    """Full marks when `model` classifies at least `at_least` of `inputs` as `labels` say; else the
    part of the points of the highest of `thresholds` ({accuracy: part}) it reaches, else none.
    Returns the accuracy. The message says it in words: "Your model reaches 71% on held-out digits;
    90% is needed for full marks (70% earns 50% of the points)."

    `model` is `nb.<name>` (run in the kernel) or a callable of the grader's; `labels` are class
    numbers, `classes` their count (default: the largest label + 1)."""
    steps = _check_thresholds(at_least, thresholds or {})
    if len(inputs) != len(labels) or len(labels) == 0:
        raise ValueError(f"assert_accuracy: {len(inputs)} inputs and {len(labels)} labels")
    classes = int(labels.max()) + 1 if classes is None else classes
    accuracy = accuracy_of(_scores_for(model, inputs, classes, batch_size), labels)
    if accuracy >= at_least:
        return accuracy
    reached = [(bar, credit) for bar, credit in steps if accuracy >= bar]
    message = f"Your model reaches {percent(accuracy)} on {what}; {percent(at_least)} is needed for full marks"
    if reached:
        bar, credit = reached[-1]
        message += f" ({percent(bar)} earns {credit * 100:g}% of the points)."
    else:
        message += f" ({percent(steps[0][0])} for part of them)." if steps else "."
    diagnosis = UNTRAINED if classes > 1 and accuracy <= 1.25 / classes else None
    if diagnosis is not None:
        message += (
            f" That is about what guessing scores ({percent(1 / classes)} with {classes} classes): is your "
            "trained model loaded from its checkpoint, in a cell that runs at grading time?"
        )
    if reached:
        raise PartialCredit(message, reached[-1][1], diagnosis=diagnosis)
    raise CheckFailed(message, diagnosis=diagnosis)
