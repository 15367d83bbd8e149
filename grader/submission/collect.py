"""The bounds on what comes with a notebook: [limits] submitted_files and submitted_mb, names made
safe (grader.submission.names), and names that clash with each other or with the assignment's
own files. Folders and zips both go through one Collector, which decides before any byte is copied."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.config import Limits
from grader.submission.names import is_junk, safe_name
from grader.submission.values import Received, Refused, SubmittedFiles, size_words

__all__ = ["Collector", "LOOK_AT_MOST", "file_sha256"]

LOOK_AT_MOST = 10  # entries looked at, per file allowed: past that the rest is not even listed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _clashes(name: str, other: str) -> bool:
    """A file and a folder of the same name: `data` and `data/x.pt`."""
    return name.startswith(other + "/") or other.startswith(name + "/")


@dataclass
class Collector:
    """Decides, file by file, what of a submission the kernel gets."""

    limits: Limits
    reserved: dict[str, Path] = field(default_factory=dict)  # the assignment's public files: name -> its copy
    received: list[Received] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    looked: int = 0
    unlisted: bool = False  # the walk stopped before the end
    total: int = 0

    @property
    def max_bytes(self) -> int:
        return self.limits.submitted_mb * 2**20

    @property
    def full(self) -> bool:
        """Enough entries looked at: the walk may stop (what is left is counted, not listed)."""
        return self.looked >= LOOK_AT_MOST * max(1, self.limits.submitted_files)

    def refuse(self, name: str, reason: str, size: int | None = None) -> None:
        self.refused.append(Refused(name, reason, size))

    def consider(self, sent: str, size: int, digest: Callable[[], str]) -> str | None:
        """The name to take the file under, or None: skipped (litter, another notebook, the
        assignment's own copy) or refused (recorded with the reason)."""
        self.looked += 1
        if is_junk(sent) or sent.lower().endswith(".ipynb"):
            return None
        safe = safe_name(sent)
        if safe.reason:
            self.refuse(sent, safe.reason, size)
            return None
        name = safe.name
        if not self._fits_assignment(sent, name, size, digest):
            return None
        if any(r.name == name or _clashes(name, r.name) for r in self.received):
            self.refuse(sent, "another file sent with the notebook has the same name", size)
            return None
        return name if self._fits_bounds(sent, size) else None

    def _fits_assignment(self, sent: str, name: str, size: int, digest: Callable[[], str]) -> bool:
        for own, copy in self.reserved.items():
            if own == name:
                if copy.is_file() and copy.stat().st_size == size and file_sha256(copy) == digest():
                    return False  # the assignment's own file, unchanged: it is given anyway
                self.refuse(sent, f"the assignment provides {own} itself, and its copy is the one graded with", size)
                return False
            if _clashes(name, own):
                self.refuse(sent, f"it clashes with the assignment's own {own}", size)
                return False
        return True

    def _fits_bounds(self, sent: str, size: int) -> bool:
        limit = self.limits.submitted_files
        if len(self.received) >= limit:
            self.refuse(
                sent, f"more than {limit} files came with the notebook ([limits] submitted_files = {limit})", size
            )
            return False
        if self.total + size > self.max_bytes:
            self.refuse(
                sent,
                f"it is {size_words(size)}, and with it the files would come to more than "
                f"{self.limits.submitted_mb} MB ([limits] submitted_mb = {self.limits.submitted_mb})",
                size,
            )
            return False
        return True

    def take(self, name: str, size: int, source: Path, sent: str) -> None:
        self.total += size
        self.received.append(Received(name, size, str(source), sent if sent != name else ""))

    def result(self) -> SubmittedFiles:
        refused = list(self.refused)
        if self.unlisted:
            refused.append(
                Refused(
                    "...",
                    f"the submission holds more than the {self.looked} entries the grader looks "
                    "at; the rest were not taken",
                )
            )
        return SubmittedFiles(tuple(sorted(self.received, key=lambda r: r.name)), tuple(refused))
