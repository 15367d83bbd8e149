"""The batch's files rewritten after a grader's change: the student's results/ and feedback/ at
once, then grades.csv and report.html (the whole class) in the background, coalesced: ten saves
in a row cost one rewrite of the class's files, not ten."""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.adjustments import current_adjustments
from grader.config import Assignment

if TYPE_CHECKING:
    from grader.batch.classfolder import Entry
    from grader.batch.gradebook import Gradebook


def entries_of(book: "Gradebook", assignment: Assignment, out: Path, submissions: Path | None) -> list["Entry"]:
    """The class as the batch saw it: the class folder when the desk was given it (students without
    a verdict included), else each student's latest graded submission in the gradebook."""
    from grader.batch.classfolder import Entry, opened
    from grader.desk.classlist import current_verdicts

    if submissions is not None:
        with opened(submissions, assignment.notebook, exclude=(out,)) as (entries, _warnings):
            return list(entries)
    latest = current_verdicts(book, assignment.slug)
    return [Entry(student=name, path=None, sha256=row.sha256, source=row.source) for name, row in sorted(latest.items())]


def rewrite_students(book: "Gradebook", out: Path, assignment: Assignment, students: list[str]) -> None:
    """results/<student>.json and feedback/<student>.html of `students`, with their final grade."""
    from grader.batch.outputs import write_student_outputs
    from grader.desk.classlist import current_verdicts
    from grader.policy.final import final_grade

    for student in students:
        latest = current_verdicts(book, assignment.slug, student).get(student)
        if latest is None:
            continue
        stored = book.verdicts_of(assignment.slug, [(student, latest.sha256)]).get((student, latest.sha256))
        if stored is None:
            continue
        adjustments = current_adjustments(book, assignment.slug, {student: latest.sha256}).get(student, [])
        write_student_outputs(out, assignment, student, stored.result, final_grade(stored.result, adjustments))


def rewrite_class(book: "Gradebook", out: Path, assignment: Assignment, submissions: Path | None) -> None:
    """Every student's files, grades.csv and report.html, as a batch ends by writing them."""
    from grader.batch.outputs import write_class_outputs

    entries = entries_of(book, assignment, out, submissions)
    verdicts = book.verdicts_of(assignment.slug, [(e.student, e.sha256) for e in entries])
    adjustments = current_adjustments(book, assignment.slug, {e.student: e.sha256 for e in entries})
    write_class_outputs(out, assignment, entries, verdicts, adjustments)


class Rewriter:
    """One background thread that rewrites a class's files whenever asked, at most once at a time."""

    def __init__(self, book: "Gradebook", out: Path, submissions: Path | None) -> None:
        self.book, self.out, self.submissions = book, out, submissions
        self.pending: dict[str, Assignment] = {}
        self.cond = threading.Condition()
        self.busy = False
        self.thread = threading.Thread(target=self.loop, name="desk-rewriter", daemon=True)
        self.thread.start()

    def ask(self, assignment: Assignment) -> None:
        with self.cond:
            self.pending[assignment.slug] = assignment
            self.cond.notify_all()

    def loop(self) -> None:
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                slug, assignment = self.pending.popitem()
                self.busy = True
            try:
                rewrite_class(self.book, self.out, assignment, self.submissions)
            except Exception as exc:      # a full disk must not stop the desk; the next save tries again
                print(f"grader serve: could not rewrite {self.out}/grades.csv for {slug}: {exc}", file=sys.stderr)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def wait(self, timeout: float = 60.0) -> bool:
        """Until nothing is pending (tests, and a server that stops)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.pending and not self.busy, timeout=timeout)
