"""What came with a notebook: the files received (shown read-only in the kernel's working folder)
and the ones refused, each with the reason in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Received", "Refused", "SubmittedFiles", "size_words"]


def size_words(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 2**20:
        return f"{n / 1024:.1f} kB"
    return f"{n / 2**20:.1f} MB"


@dataclass(frozen=True)
class Received:
    """A file the kernel sees at `name` (relative to its working folder); `sent_as` when the name
    had to be made safe; `source`: where its bytes are on this machine while grading."""

    name: str
    bytes: int
    source: str
    sent_as: str = ""

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "bytes": self.bytes}
        if self.sent_as:
            row["sent_as"] = self.sent_as
        return row


@dataclass(frozen=True)
class Refused:
    """A file that came with the notebook and was not given to the kernel, and why."""

    name: str
    reason: str
    bytes: int | None = None

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "reason": self.reason}
        if self.bytes is not None:
            row["bytes"] = self.bytes
        return row

    def words(self) -> str:
        return f"The file {self.name!r} sent with the notebook was not given to the kernel: {self.reason}."


@dataclass(frozen=True)
class SubmittedFiles:
    received: tuple[Received, ...] = ()
    refused: tuple[Refused, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.received or self.refused)

    def rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.received]

    def refused_rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.refused]

    def warnings(self) -> list[str]:
        return [r.words() for r in self.refused]
