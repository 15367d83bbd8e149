"""The late policy: a deadline, a submission time and an extension -> a LatePenalty. Pure.

    due            when the work is due (aware datetime)
    grace_minutes  lateness that costs nothing
    penalty_per_day | penalty_per_hour   percent of the score for each day (hour) started past `due`
    penalty_max    the most the rate can take, percent
    zero_after     a submission after this scores 0

A day (an hour) is "started" the moment it begins: 1 second late is one day started, exactly 24 hours
late is still one day, 24 hours and 1 second is two. The grace period only decides whether a
submission is late at all; once past it, days are counted from `due`. An extension moves `due` for
one student, and `zero_after` by the same amount. A submission whose time is unknown is never
penalised: its LatePenalty says so (`unknown`), for a person to look at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from grader.policy.final import LatePenalty

__all__ = ["Deadline", "duration_words", "late_penalty", "parse_time"]


@dataclass(frozen=True)
class Deadline:
    """[deadline] of assignment.toml, validated (grader.policy.deadline_table)."""

    due: datetime
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    penalty_per_hour: float = 0.0
    penalty_max: float = 100.0
    zero_after: datetime | None = None


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time with a time zone ("2026-12-04T23:59:00-05:00", "...Z"); None when it is not one."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def duration_words(seconds: float) -> str:
    """'1 day 3 hours', '45 minutes', '20 seconds': the largest units, down to minutes (seconds under one)."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return _plural(seconds, "second")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [_plural(n, w) for n, w in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts[:2] if days else parts)


def _percent_words(percent: float) -> str:
    return f"-{percent:g}%"


def late_penalty(deadline: Deadline, submitted: datetime | None, extension: datetime | None = None) -> LatePenalty:
    """What `deadline` takes from a submission made at `submitted` (None: unknown), with `extension`
    (a new due time for this student) when one was granted."""
    if submitted is None:
        return LatePenalty(
            percent=0.0, unknown=True, words="submission time unknown: no late penalty applied (check when it came in)"
        )
    due = extension if extension is not None else deadline.due
    late = (submitted - due).total_seconds()
    extended = f" (extended to {due.isoformat()})" if extension is not None else ""
    if late <= 0:
        return LatePenalty(percent=0.0, words="submitted on time" + extended)
    late_words = f"submitted {duration_words(late)} late{extended}"
    zero_after = deadline.zero_after
    if zero_after is not None and extension is not None:
        zero_after = zero_after + (extension - deadline.due)
    if zero_after is not None and submitted > zero_after:
        return LatePenalty(
            percent=100.0, late_by_seconds=late, words=f"{late_words}, after {zero_after.isoformat()}: -100% (scored 0)"
        )
    if late <= deadline.grace_minutes * 60:
        return LatePenalty(
            percent=0.0,
            late_by_seconds=late,
            words=f"{late_words}, within the {deadline.grace_minutes:g}-minute grace period: no penalty",
        )
    if deadline.penalty_per_hour:
        started, rate = math.ceil(late / 3600), deadline.penalty_per_hour
    else:
        started, rate = math.ceil(late / 86400), deadline.penalty_per_day
    percent = min(started * rate, deadline.penalty_max, 100.0)
    return LatePenalty(
        percent=round(percent, 6) + 0.0, late_by_seconds=late, words=f"{late_words}: {_percent_words(percent)}"
    )
