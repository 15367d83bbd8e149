"""[similarity] of assignment.toml, validated into Similarity (docs/similarity.md).

    [similarity]
    threshold = 0.5      # a pair is listed when this share of either side's own code matches
    min_tokens = 40      # an answer with fewer tokens is too short to be evidence: left out
    common = 0.1         # a fingerprint held by more than this share of the class (and more than 10) counts for nobody

Errors name the file, the table and the key, like the rest of grader.config.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from grader.errors import AssignmentError

__all__ = ["Similarity", "read_similarity"]


@dataclass(frozen=True)
class Similarity:
    """[similarity]: which pairs of a class the similarity section lists."""

    threshold: float = 0.5  # a pair is listed when this share of either side's own code matches
    min_tokens: int = 40  # an answer with fewer tokens is too short to be evidence: left out
    common: float = 0.1  # code held by more than this share of the class (and more than 10) is common


def read_similarity(where: Path, raw: object) -> Similarity:
    """[similarity] threshold (a share, 0 to 1), min_tokens (a whole number, 1 or more), common (a share)."""
    if raw is None:
        return Similarity()
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [similarity] must be a table, not {type(raw).__name__} {raw!r}",
            hint="write it as a table: [similarity] on a line of its own, then key = value lines",
        )
    known = [f.name for f in fields(Similarity)]
    values: dict[str, float | int] = {}
    for key, value in raw.items():
        if key not in known:
            raise AssignmentError(
                f"{where}: unknown key '{key}' in [similarity]", hint=f"known keys: {', '.join(known)}"
            )
        whole = key == "min_tokens"
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            raise AssignmentError(
                f"{where}: [similarity] {key} = {value!r} is not {'a whole number' if whole else 'a number'}",
                hint=f"write {key} = {getattr(Similarity(), key)}, without quotes",
            )
        values[key] = int(value) if whole else float(value)
    found = Similarity(**values)  # type: ignore[arg-type]
    for key in ("threshold", "common"):
        if not 0 < getattr(found, key) <= 1:
            raise AssignmentError(
                f"{where}: [similarity] {key} = {getattr(found, key):g} is not a share between 0 and 1",
                hint=f"write {key} = {getattr(Similarity(), key)}: a share of the code (or of the class)",
            )
    if found.min_tokens < 1:
        raise AssignmentError(
            f"{where}: [similarity] min_tokens = {found.min_tokens} must be at least 1", hint="write min_tokens = 40"
        )
    return found
