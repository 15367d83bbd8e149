"""CSV cells a spreadsheet will not run: text that starts like a formula (=, +, -, @, a tab or a
carriage return) gets a leading apostrophe, as OWASP advises. Numbers stay numbers. Every CSV the
grader writes (grades.csv, the LMS exports) goes through `inert`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from grader.errors import UsageError

__all__ = ["FORMULA_STARTS", "csv_rows", "csv_text", "inert", "inert_row"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def inert(value: Any) -> Any:
    """`value` as a cell no spreadsheet runs as a formula (a plain number such as -1.5, or a lone "-"
    as Moodle writes for "never", stays as it is)."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _NUMBER.fullmatch(value)
        and value not in ("-", "+")
    ):
        return "'" + value
    return value


def inert_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: inert(value) for key, value in row.items()}


def csv_rows(path: Path, read_hint: str, parse_hint: str = "") -> list[list[str]]:
    """The rows of an LMS's CSV file (a roster, a worksheet); one that cannot be read or parsed is a
    UsageError naming the file (and the line)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--roster {path}: cannot be read ({exc})", hint=read_hint) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return list(reader)
    except csv.Error as exc:
        raise UsageError(f"{path}, line {reader.line_num}: not CSV ({exc})", hint=parse_hint) from None


def csv_text(rows: list[list[str]]) -> str:
    """`rows` as the text of a CSV file, every cell made inert: what an LMS export hands back."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return out.getvalue()
