"""CSV cells a spreadsheet will not run: text that starts like a formula (=, +, -, @, a tab or a
carriage return) gets a leading apostrophe, as OWASP advises. Numbers stay numbers. Every CSV the
grader writes (grades.csv, the LMS exports) goes through `inert`."""
from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "inert", "inert_row"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """`value` as a cell no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inert_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: inert(value) for key, value in row.items()}
