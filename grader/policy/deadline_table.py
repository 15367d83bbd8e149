"""[deadline] of assignment.toml, validated into a grader.policy.deadline.Deadline.

    [deadline]
    due = 2026-12-04T23:59:00-05:00      # ISO 8601 with a time zone (a TOML date-time or a string)
    grace_minutes = 15
    penalty_per_day = 10                 # or penalty_per_hour; percent of the score per day (hour) started
    penalty_max = 50
    zero_after = 2026-12-11T23:59:00-05:00

Errors name the file, the table and the key, like the rest of grader.config.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path

from grader.errors import AssignmentError
from grader.policy.deadline import Deadline, parse_time

__all__ = ["DEADLINE_KEYS", "read_deadline"]

DEADLINE_KEYS = ("due", "grace_minutes", "penalty_per_day", "penalty_per_hour", "penalty_max", "zero_after")
EXAMPLE_TIME = "2026-12-04T23:59:00-05:00"


def _unknown(where: Path, key: str) -> AssignmentError:
    close = difflib.get_close_matches(key, DEADLINE_KEYS, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return AssignmentError(
        f"{where}: unknown key '{key}' in [deadline]", hint=f"{guess}known keys: {', '.join(DEADLINE_KEYS)}"
    )


def _time(where: Path, key: str, value: object) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else None
    elif isinstance(value, str):
        aware = parse_time(value)
    else:
        aware = None
    if aware is None:
        why = (
            "has no time zone"
            if isinstance(value, (datetime, date)) or (isinstance(value, str) and _naive(value))
            else "is not an ISO 8601 date and time"
        )
        raise AssignmentError(
            f"{where}: [deadline] {key} = {value!r} {why}",
            hint=f"write {key} = {EXAMPLE_TIME} (a date, a time and the offset from UTC, or Z for UTC)",
        )
    return aware


def _naive(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return False


def _percent(where: Path, key: str, value: object, top: float = 100.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
        raise AssignmentError(
            f"{where}: [deadline] {key} = {value!r} is not a number from 0 to {top:g}",
            hint=f"write {key} = 10, without quotes" + (" (percent)" if top == 100 else " (minutes)"),
        )
    return float(value)


def read_deadline(where: Path, raw: object) -> Deadline | None:
    """The [deadline] table as a Deadline; None when the file has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [deadline] must be a table, not {type(raw).__name__} {raw!r}",
            hint=f"write [deadline] on a line of its own, then due = {EXAMPLE_TIME}",
        )
    for key in raw:
        if key not in DEADLINE_KEYS:
            raise _unknown(where, key)
    if "due" not in raw:
        raise AssignmentError(f"{where}: [deadline] has no due", hint=f"write due = {EXAMPLE_TIME}")
    if "penalty_per_day" in raw and "penalty_per_hour" in raw:
        raise AssignmentError(
            f"{where}: [deadline] sets both penalty_per_day and penalty_per_hour",
            hint="keep one: a penalty for each day started, or for each hour started",
        )
    due = _time(where, "due", raw["due"])
    zero_after = _time(where, "zero_after", raw["zero_after"]) if "zero_after" in raw else None
    if zero_after is not None and zero_after <= due:
        raise AssignmentError(
            f"{where}: [deadline] zero_after = {zero_after.isoformat()} is not after due = {due.isoformat()}",
            hint="zero_after is when late work stops counting: a time after due",
        )
    return Deadline(
        due=due,
        zero_after=zero_after,
        grace_minutes=_percent(where, "grace_minutes", raw.get("grace_minutes", 0), top=10_000_000),
        penalty_per_day=_percent(where, "penalty_per_day", raw.get("penalty_per_day", 0)),
        penalty_per_hour=_percent(where, "penalty_per_hour", raw.get("penalty_per_hour", 0)),
        penalty_max=_percent(where, "penalty_max", raw.get("penalty_max", 100)),
    )
