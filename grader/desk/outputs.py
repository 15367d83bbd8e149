"""The batch's files rewritten after a grader's change: the student's results/ and feedback/ at
once, then grades.csv and report.html (the whole class) in the background, coalesced: ten saves
in a row cost one rewrite of the class's files, not ten. The class's files wait until no save
came for SETTLE seconds, so that the page a save leads to (the redirect, save-and-next) is not
made while the whole class is written (nearly a second of a class of 1,000 on one core)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from grader.batch.adjustments import current_adjustments
from grader.config import Assignment

SETTLE = 0.5  # seconds without a save before the class's files are rewritten

if TYPE_CHECKING:
    from grader.batch.classfolder import Entry
    from grader.batch.gradebook import Gradebook
    from grader.desk.studentrow import StudentRow


def entries_of(book: "Gradebook", assignment: Assignment, out: Path, submissions: Path | None) -> list["Entry"]:
    """The class as the batch saw it: the class folder when the desk was given it (students without
    a verdict included), else each student's latest graded submission in the gradebook."""
    from grader.batch.classfolder import Entry, opened
    from grader.desk.classlist import current_verdicts

    if submissions is not None:
        with opened(submissions, assignment.notebook, exclude=(out,)) as (entries, _warnings):
            return list(entries)
    latest = current_verdicts(book, assignment.slug)
    return [
        Entry(student=name, path=None, sha256=row.sha256, source=row.source) for name, row in sorted(latest.items())
    ]


def rewrite_students(
    book: "Gradebook", out: Path, assignment: Assignment, students: list[str], due: Mapping[str, str] | None = None
) -> None:
    """results/<student>.json and feedback/<student>.html of `students`, with their final grade
    (`due`: the students' extensions, grader serve --extensions)."""
    from dataclasses import replace

    from grader.batch.outputs import write_student_outputs
    from grader.desk.classlist import current_verdicts
    from grader.policy.grading import with_manual_grades

    for student in students:
        latest = current_verdicts(book, assignment.slug, student).get(student)
        if latest is None:
            continue
        found = book.verdicts_of(assignment.slug, [(student, latest.sha256)])
        stored = with_manual_grades(book, assignment, found).get((student, latest.sha256))  # and its manual points
        if stored is None:
            continue
        adjustments = current_adjustments(book, assignment.slug, {student: latest.sha256}).get(student, [])
        result = replace(stored.result, due=due[student]) if due and student in due else stored.result
        write_student_outputs(out, assignment, student, result, adjustments)


def rewrite_class(
    out: Path, assignment: Assignment, entries: list["Entry"], rows: list["StudentRow"], similarity: str = ""
) -> None:
    """grades.csv and report.html, as a batch ends by writing them, from the desk's rows (the
    verdicts as the checks table holds them; the changed students' own files are rewritten whole
    by rewrite_students). `similarity`: the report's section of shared code, which no adjustment
    changes."""
    from grader.batch.gradebook import StoredVerdict
    from grader.batch.outputs import write_class_outputs

    verdicts = {}
    for row in rows:
        assert row.result is not None
        verdicts[(row.student, row.sha256)] = StoredVerdict(
            row.student,
            row.sha256,
            row.source,
            row.status,
            row.score,
            row.max_score,
            row.reason,
            row.graded_at,
            row.result,
        )
    from grader.staleness import checks_digest

    adjustments = {row.student: row.adjustments for row in rows if row.adjustments}
    write_class_outputs(
        out,
        assignment,
        entries,
        verdicts,
        checks_digest(assignment, True),
        adjustments=adjustments,
        student_files=False,
        similarity=similarity,
    )


def shared_code(book: "Gradebook", assignment: Assignment, entries: list["Entry"]) -> str:
    """The class report's similarity section, as the batch that wrote the report made it."""
    from grader.similarity.classwide import section

    return section(book, assignment, [(e.student, e.sha256, None) for e in entries], log=sys.stderr)


class Rewriter:
    """One background thread that rewrites a class's files whenever asked, at most once at a time."""

    def __init__(
        self, book: "Gradebook", out: Path, submissions: Path | None, rows_of: Callable[[str], list["StudentRow"]]
    ) -> None:
        self.book, self.out, self.submissions, self.rows_of = book, out, submissions, rows_of
        self.entries: dict[str, list["Entry"]] = {}  # the class folder, read once per assignment
        self.similarity: dict[str, str] = {}  # the report's shared-code section, compared once per assignment
        self.pending: dict[str, Assignment] = {}
        self.cond = threading.Condition()
        self.busy = False
        self.asked = 0.0  # time.monotonic() of the latest ask
        self.thread = threading.Thread(target=self.loop, name="desk-rewriter", daemon=True)
        self.thread.start()

    def ask(self, assignment: Assignment) -> None:
        with self.cond:
            self.pending[assignment.slug] = assignment
            self.asked = time.monotonic()
            self.cond.notify_all()

    def loop(self) -> None:
        while True:
            with self.cond:
                while not self.pending or time.monotonic() - self.asked < SETTLE:
                    self.cond.wait(timeout=SETTLE - (time.monotonic() - self.asked) if self.pending else None)
                slug, assignment = self.pending.popitem()
                self.busy = True
            try:
                if slug not in self.entries:
                    self.entries[slug] = entries_of(self.book, assignment, self.out, self.submissions)
                    self.similarity[slug] = shared_code(self.book, assignment, self.entries[slug])
                rewrite_class(self.out, assignment, self.entries[slug], self.rows_of(slug), self.similarity[slug])
            except Exception as exc:  # a full disk must not stop the desk; the next save tries again
                print(f"grader serve: could not rewrite {self.out}/grades.csv for {slug}: {exc}", file=sys.stderr)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def wait(self, timeout: float = 60.0) -> bool:
        """Until nothing is pending (tests, and a server that stops)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.pending and not self.busy, timeout=timeout)
