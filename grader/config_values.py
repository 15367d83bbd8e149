"""The checked values of assignment.toml's tables, and the words of their errors (grader.config
reads the file with them).

A table that is not a table, a number of the wrong type, or a key a table does not have is an
AssignmentError that names the file, the table and the key, lists the known keys and suggests the
closest.
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any

from grader.errors import AssignmentError

__all__ = ["known_words", "read_number", "read_record", "read_table", "unknown_key"]


def known_words(word: str, known: tuple[str, ...] | list[str], brackets: bool = False) -> str:
    show = [f"[{k}]" if brackets else k for k in known]
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    guess = f"did you mean {'[' + close[0] + ']' if brackets else repr(close[0])}? " if close else ""
    return f"{guess}known {'tables' if brackets else 'keys'}: {', '.join(show)}"


def unknown_key(where: Path, table: str, key: str, known: tuple[str, ...] | list[str]) -> AssignmentError:
    place = f"in [{table}]" if table else "at the top level"
    return AssignmentError(f"{where}: unknown key '{key}' {place}", hint=known_words(key, known))


def read_table(raw: object, where: Path, name: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AssignmentError(
            f"{where}: [{name}] must be a table, not {type(raw).__name__} {raw!r}",
            hint=f"write it as a table: [{name}] on a line of its own, then key = value lines",
        )
    return raw


def read_number(where: Path, table: str, key: str, value: object, kind: type) -> float | int:
    """A TOML number as `kind` (float: int or float; int: int only); bool is not a number."""
    ok = (isinstance(value, (int, float)) if kind is float else isinstance(value, int)) and not isinstance(value, bool)
    if not ok:
        noun = "a number" if kind is float else "a whole number"
        raise AssignmentError(
            f"{where}: [{table}] {key} = {value!r} is not {noun}",
            hint=f"write {key} = " + ("30.0" if kind is float else "64") + ", without quotes",
        )
    assert isinstance(value, (int, float))
    return kind(value)


def read_record(where: Path, table: str, raw: object, cls: type) -> Any:
    """A table of numbers as the dataclass `cls`: unknown keys and wrong types are errors."""
    data = read_table(raw, where, table)
    names = [f.name for f in fields(cls)]
    values: dict[str, float | int] = {}
    for key, value in data.items():
        if key not in names:
            raise unknown_key(where, table, key, names)
        kind = float if isinstance(getattr(cls(), key), float) else int
        values[key] = read_number(where, table, key, value, kind)
    return cls(**values)
