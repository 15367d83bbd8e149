"""What a failed hidden check may say besides its name and pass/fail: [visibility] hidden_checks
of assignment.toml, or [feedback] hidden_checks, its older spelling (read by grader.config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.errors import AssignmentError

# nothing more (the default), or the name of a recognised mistake (never inputs or values)
HIDDEN_FEEDBACK = ("pass_fail", "mistake")
OLD_HIDDEN_FEEDBACK = {"nothing": "pass_fail", "mistake": "mistake"}  # [feedback] hidden_checks, the older spelling


def hidden_feedback(where: Path, new: object, feedback: dict[str, Any]) -> str:
    """[visibility] hidden_checks = "pass_fail" (the default: a hidden check shows its name and
    passed/failed, nothing more) or "mistake" (a failed one also names a recognised mistake, never
    its inputs or values). [feedback] hidden_checks = "nothing" | "mistake" is the older spelling."""
    if "hidden_checks" in feedback:
        if new is not None:
            raise AssignmentError(
                f"{where}: hidden_checks is set twice, in [visibility] and in [feedback]",
                hint="keep [visibility] hidden_checks and delete the [feedback] table",
            )
        old = feedback["hidden_checks"]
        if old not in OLD_HIDDEN_FEEDBACK:
            raise AssignmentError(
                f"{where}: [feedback] hidden_checks = {old!r} is not one of the choices",
                hint='write hidden_checks = "mistake" (name a recognised mistake) or "nothing"; '
                'better, in [visibility]: hidden_checks = "pass_fail" or "mistake"',
            )
        return OLD_HIDDEN_FEEDBACK[str(old)]
    if new is None:
        return HIDDEN_FEEDBACK[0]
    if new not in HIDDEN_FEEDBACK:
        raise AssignmentError(
            f"{where}: [visibility] hidden_checks = {new!r} is not one of the choices",
            hint='write hidden_checks = "pass_fail" (name and passed/failed only, the default) '
            'or "mistake" (also name a recognised mistake, never values)',
        )
    return str(new)
