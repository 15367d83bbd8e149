"""How a check's answers were read, kept while the check runs, for its message.

When `cell.answer` picks a value out of a line (the first item of `output, output.shape`, the
value `"{}".format(y)` fills in) or passes over trailing lines that only show a shape, it notes
that here in words; the pytest plugin clears the notes when a check starts and adds them to the
message of a check that fails, so that the student reads which value was judged.
"""

from __future__ import annotations

_noted: list[str] = []


def note(text: str) -> None:
    """One reading, said once per check."""
    if text and text not in _noted:
        _noted.append(text)


def clear() -> None:
    _noted.clear()


def sentence() -> str:
    """The readings as one sentence for a message ("" when nothing was picked)."""
    if not _noted:
        return ""
    return "How the answer was read: " + "; ".join(_noted) + "."
