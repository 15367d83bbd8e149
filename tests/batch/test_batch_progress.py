"""The batch's progress on a terminal: rich's live display (off a terminal, one plain line per
submission, as tests/batch/test_batch.py reads it)."""

from __future__ import annotations

import io
import re

from grader.batch.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def plain_text(ansi: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", ansi)


def test_on_a_terminal_the_bar_shows_the_rate_the_time_left_and_the_student_graded_last() -> None:
    screen = Terminal()
    progress = Progress(3, screen)
    progress.done("alice", "passed", 5, 5, 1.2)
    progress.note("bob: the kernel did not start; trying it again (2 of 3 tries)")
    progress.done("bob", "failed", 2, 5, 0.8)
    progress.done("[red]carol[/red]", "passed", 5, 5, 0.5)  # a student's name is text, never markup
    shown = plain_text(screen.getvalue())
    assert "3/3" in shown and "/min" in shown and "left" in shown
    assert "[red]carol[/red]: 5/5 passed" in shown
    assert "note: bob: the kernel did not start; trying it again (2 of 3 tries)" in shown
    assert "[1/3]" not in shown  # not the plain lines
