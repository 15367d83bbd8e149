"""Where a batch meets the similarity check: a verdict's fingerprints written with it, the
class's pairs compared at the end of the batch (or on demand: `grader similarity`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, TextIO

from grader.batch.gradebook import Gradebook
from grader.config import Assignment
from grader.similarity import store
from grader.similarity.compare import Findings, compare
from grader.similarity.fingerprint import fingerprint_path


def record(
    book: Gradebook, assignment: Assignment, student: str, sha256: str, path: Path, log: TextIO | None = None
) -> bool:
    """Fingerprint one graded submission into the gradebook. A failure is a note, never the
    batch's end: the verdict stands without its fingerprints, and the next batch tries again."""
    try:
        store.write(book, assignment.slug, student, sha256, fingerprint_path(path, assignment))
        return True
    except Exception as exc:  # a fingerprint is never worth a verdict: say so and go on
        print(
            f"note: {student}: no fingerprints for the similarity check ({type(exc).__name__}: {exc})",
            file=log or sys.stderr,
        )
        return False


def for_class(
    book: Gradebook,
    assignment: Assignment,
    submissions: Iterable[tuple[str, str, Path | None]],
    earlier: list[Gradebook] | None = None,
    log: TextIO | None = None,
) -> Findings:
    """Compare the class's submissions (student, sha256, where it is), fingerprinting first any
    that the gradebook holds a verdict for but no fingerprints (graded before they were kept)."""
    wanted = list(submissions)
    have = store.fingerprinted(book, assignment.slug)
    graded = book.graded(assignment.slug)
    for student, sha256, path in wanted:
        if (student, sha256) not in have and (student, sha256) in graded and path is not None:
            record(book, assignment, student, sha256, path, log)
    current = store.read(book, assignment.slug, [(s, h) for s, h, _ in wanted])
    return compare(current, assignment.similarity, earlier_prints(assignment, earlier or []))


def section(
    book: Gradebook,
    assignment: Assignment,
    submissions: Iterable[tuple[str, str, Path | None]],
    log: TextIO | None = None,
) -> str:
    """The report's section for the class; a comparison that fails is a note, and a report without it."""
    from grader.similarity.view import render_section

    try:
        return render_section(for_class(book, assignment, submissions, log=log))
    except Exception as exc:  # the class's verdicts and report matter more than the comparison
        print(
            f"note: the similarity check could not run ({type(exc).__name__}: {exc}); the report leaves it out",
            file=log or sys.stderr,
        )
        return ""


def earlier_prints(assignment: Assignment, books: list[Gradebook]) -> list[store.Prints]:
    found: list[store.Prints] = []
    for book in books:
        found += store.read(book, assignment.slug, earlier=earlier_label(book.url))
    return found


def earlier_label(url: str) -> str:
    """A short name for an earlier gradebook: its folder, or its database's name."""
    from grader.batch.gradebook import safe_url

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        return path.parent.name if path.name == "gradebook.sqlite" else path.stem
    return safe_url(url).rsplit("/", 1)[-1]
