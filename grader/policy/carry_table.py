"""[exercises] and [grading] of assignment.toml, as far as error carried forward reads them.

    [exercises]
    activation = "Sigmoid activation"            # name = "title", or a table of its own:

    [exercises.two_layer_forward]
    title = "A network with a hidden layer"
    uses = ["activation"]                        # fixes which exercises its checks may carry forward from

    [grading]
    carried_forward = "none"                     # "none" (the words only, the default), "half" or "full"

Errors name the file, the table and the key, like the rest of grader.config.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal, get_args

from grader.errors import AssignmentError

__all__ = ["CARRY_MODES", "CarryMode", "read_carry_mode", "read_exercises"]

CarryMode = Literal["none", "half", "full"]
CARRY_MODES: tuple[str, ...] = get_args(CarryMode)
EXERCISE_KEYS = ("title", "uses")
GRADING_KEYS = ("carried_forward",)


def _unknown(where: Path, table: str, key: str, known: tuple[str, ...]) -> AssignmentError:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return AssignmentError(f"{where}: unknown key '{key}' in [{table}]", hint=f"{guess}known keys: {', '.join(known)}")


def read_exercises(where: Path, raw: object) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """name -> title in order, and name -> the exercises it uses (where a table says so)."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [exercises] must be a table", hint='write [exercises] then name = "A title" lines'
        )
    titles: dict[str, str] = {}
    tables: dict[str, dict[str, object]] = {}
    for name, written in raw.items():
        value = written
        if isinstance(written, dict):
            tables[str(name)] = written
            value = written.get("title", str(name))
        if not isinstance(value, str):
            raise AssignmentError(
                f"{where}: [exercises] {name} = {written!r} is not a title",
                hint=f'map each exercise name to its title: {name} = "A title"',
            )
        titles[str(name)] = value
    uses = {name: _uses(where, name, table, titles) for name, table in tables.items()}
    return titles, {name: used for name, used in uses.items() if used is not None}


def _uses(where: Path, name: str, table: dict[str, object], titles: dict[str, str]) -> tuple[str, ...] | None:
    for key in table:
        if key not in EXERCISE_KEYS:
            raise _unknown(where, f"exercises.{name}", key, EXERCISE_KEYS)
    if "uses" not in table:
        return None
    value = table["uses"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AssignmentError(
            f"{where}: [exercises.{name}] uses = {value!r} is not a list of exercise names",
            hint='write uses = ["activation"]',
        )
    for used in value:
        if used not in titles or used == name:
            close = difflib.get_close_matches(used, [t for t in titles if t != name], n=1, cutoff=0.6)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise AssignmentError(
                f"{where}: [exercises.{name}] uses names '{used}', which is not another exercise",
                hint=f"{guess}exercises: {', '.join(t for t in titles if t != name)}",
            )
    return tuple(value)


def read_carry_mode(where: Path, raw: object) -> CarryMode:
    """[grading] carried_forward: the points a check right given a correct earlier exercise earns."""
    if raw is None:
        return "none"
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [grading] must be a table", hint='write [grading] then carried_forward = "none"'
        )
    for key in raw:
        if key not in GRADING_KEYS:
            raise _unknown(where, "grading", key, GRADING_KEYS)
    mode = raw.get("carried_forward", "none")
    if mode not in CARRY_MODES:
        raise AssignmentError(
            f"{where}: [grading] carried_forward = {mode!r} is not one of {', '.join(CARRY_MODES)}",
            hint='write carried_forward = "none" (the words only), "half" or "full"',
        )
    return mode  # type: ignore[return-value]
