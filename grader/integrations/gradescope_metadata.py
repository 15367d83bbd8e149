"""Gradescope's submission_metadata.json, read in the autograder: when the submission came in
(`created_at`), who sent it (`users[0]`: id, name), and that student's own due date when
Gradescope holds an extension for them (`users[0].assignment.due_date` later than the
assignment's `due_date`). The [deadline] of assignment.toml stays the late policy; Gradescope
supplies the facts. A file that is missing or unreadable leaves the time "unknown" (flagged,
never penalised)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.policy.deadline import parse_time
from grader.policy.submitted import UNKNOWN, Stamp

__all__ = ["METADATA", "gradescope_stamp"]

METADATA = "submission_metadata.json"


def _user(data: dict[str, Any]) -> dict[str, Any]:
    users = data.get("users")
    return users[0] if isinstance(users, list) and users and isinstance(users[0], dict) else {}


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _extension(data: dict[str, Any], user: dict[str, Any]) -> str:
    assignment, own = _table(data, "assignment"), _table(user, "assignment")
    everyone = parse_time(str(assignment.get("due_date") or ""))
    theirs = parse_time(str(own.get("due_date") or ""))
    return theirs.isoformat() if theirs is not None and (everyone is None or theirs > everyone) else ""


def gradescope_stamp(root: Path) -> Stamp:
    """What <root>/submission_metadata.json says of this submission."""
    try:
        data = json.loads((root / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Stamp(submitted_from=UNKNOWN)
    if not isinstance(data, dict):
        return Stamp(submitted_from=UNKNOWN)
    created = parse_time(str(data.get("created_at") or ""))
    user = _user(data)
    return Stamp(
        submitted_at=created.isoformat() if created else "",
        submitted_from="gradescope" if created else UNKNOWN,
        due=_extension(data, user),
        lms="gradescope",
        lms_id=str(user.get("id") or ""),
        display_name=str(user.get("name") or ""),
    )
