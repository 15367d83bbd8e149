"""What a running check knows about its grading: device and tolerances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from grader.config import Tolerance


@dataclass(frozen=True)
class CheckContext:
    device: str = "cpu"
    tolerance: Tolerance = Tolerance()
    uses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # [exercises.<name>] uses
    carried_forward: Literal["none", "half", "full"] = "none"  # [grading] carried_forward


_current = CheckContext()


def current() -> CheckContext:
    return _current


def set_current(ctx: CheckContext) -> None:
    global _current
    _current = ctx
