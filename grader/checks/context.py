"""What a running check knows about its grading: device and tolerances."""
from __future__ import annotations

from dataclasses import dataclass

from grader.config import Tolerance


@dataclass(frozen=True)
class CheckContext:
    device: str = "cpu"
    tolerance: Tolerance = Tolerance()


_current = CheckContext()


def current() -> CheckContext:
    return _current


def set_current(ctx: CheckContext) -> None:
    global _current
    _current = ctx
