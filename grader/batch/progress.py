"""How a batch shows its progress: rich's live display on a terminal, plain lines elsewhere.

On a terminal: a bar with the submissions done of all, their rate, the time spent and the time
left, and the student graded last with their score; a note (a submission tried again) prints
above it. Anywhere else (a log file, CI, a pipe): one plain line per submission,
`[ 3/10] alice  4/5  passed  1.2s`, and `note: ...` lines, nothing else.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """A progress display on a terminal; elsewhere one plain line per submission."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.count = total, stream, 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.width = len(str(max(total, 1)))
        self.started = time.monotonic()
        self._live: Any = None  # rich's Progress, started on a terminal once there is work
        self._task: Any = None

    def note(self, text: str) -> None:
        """A line that is not a verdict (a submission tried again), above the bar on a terminal."""
        if self.tty:
            self._display().console.print(f"note: {text}", markup=False, highlight=False)
            return
        self.stream.write(f"note: {text}\n")
        self.stream.flush()

    def done(
        self, student: str, status: str, score: float | None, max_score: float | None, seconds: float, note: str = ""
    ) -> None:
        self.count += 1
        pts = f"{score:g}/{max_score:g}" if score is not None and max_score is not None else "-"
        if not self.tty:
            line = f"[{self.count:>{self.width}}/{self.total}] {student}  {pts}  {status}  {seconds:.1f}s"
            print(line + (f"  ({note})" if note else ""), file=self.stream, flush=True)
            return
        display = self._display()
        display.update(self._task, completed=self.count, description=f"{student}: {pts} {status}")
        if self.count >= self.total:
            self.close()

    def close(self) -> None:
        """Stop the live display (the batch ended, or stopped early); the bar stays as it was."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _display(self) -> Any:
        if self._live is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress as Live,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                TextColumn("{task.description}", markup=False),
                console=console,
            )
            self._task = self._live.add_task("", total=self.total, completed=self.count, rate="")
            self._live.start()
        self._refresh_rate()
        return self._live

    def _refresh_rate(self) -> None:
        elapsed = time.monotonic() - self.started
        rate = f"{self.count / elapsed * 60:.1f}/min" if self.count and elapsed > 0 else "-/min"
        self._live.update(self._task, rate=rate)
