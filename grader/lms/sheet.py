"""CSV cells a spreadsheet will not run: text that starts like a formula (=, +, -, @, a tab or a
carriage return) gets a leading apostrophe, as OWASP advises. Numbers stay numbers. Every CSV the
grader writes (grades.csv, the LMS exports) goes through `inert`."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_STARTS", "inert", "inert_row"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def inert(value: Any) -> Any:
    """`value` as a cell no spreadsheet runs as a formula (a plain number such as -1.5, or a lone "-"
    as Moodle writes for "never", stays as it is)."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value)
            and value not in ("-", "+")):
        return "'" + value
    return value


def inert_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: inert(value) for key, value in row.items()}
