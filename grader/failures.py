"""Failures of student code as checks see them. These are verdict data, not grader faults.

Each is an AssertionError so that pytest records a failed check, and carries the words a
student reads plus the structured details feedback shows side by side.
"""

from __future__ import annotations

from typing import Any


class CheckFailed(AssertionError):
    """A check's verdict is 'failed'; `message` is what the student reads."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MissingName(CheckFailed):
    """The notebook does not define a name a check needs."""


class StudentError(CheckFailed):
    """The student's function raised; `traceback` is trimmed to their code."""


class CallTimeout(CheckFailed):
    """The student's function did not return in time."""


class KernelDied(CheckFailed):
    """The kernel died while the student's code ran."""


class NameNotInCell(MissingName, KeyError):
    """A check asked a cell's names for one the cell does not bind (a KeyError too, so that
    `cell.names.get("y")` and `"y" in cell.names` work as for any mapping)."""

    def __str__(self) -> str:
        return self.message


class NoAnswer(CheckFailed):
    """A cell neither ends with an expression nor assigns a name: it shows no answer."""


class PartialCredit(CheckFailed):
    """A check that is not passed but earns part of its points: `credit`, a fraction between 0 and 1
    (grader.verdict.earned turns it into points). Raised by checks that grade by thresholds
    (grader.checks.assert_accuracy)."""

    def __init__(self, message: str, credit: float, **details: Any) -> None:
        super().__init__(message, credit=credit, **details)
        self.credit = credit
