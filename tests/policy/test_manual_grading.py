"""Grading by question, through the service the desk calls (grader.policy.grading), on SQLite and
on a real PostgreSQL: answers listed with a not-graded filter and next/previous, rubric items and
comments applied, comments kept for reuse with their counts, a rubric item's points changed and
every grade that used it totalled again, an item in use not removed, two graders on one answer
without a lost update; then `grader release` refused while answers wait, done with --partial."""

from __future__ import annotations

from typing import Any

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from grader.batch.gradebook import Gradebook
from grader.config import Assignment
from grader.course import load_assignment
from grader.policy.grading import ManualGrading, RubricInUse, StaleGrade
from grader.policy.manual import final_of
from grader.policy.questions import RubricItem
from grader.results import CheckResult, ManualAnswer, Result

from test_manual_questions import RUBRIC, answered, assigned, write_toml

SLUG = "tiny"


def verdict(student: str, written: str | None, double_ok: bool = True) -> Result:
    """A verdict as `grader batch` stores it: the automatic check, the answers as found."""
    check = CheckResult(
        name="test_double",
        exercise="double",
        points=1.0,
        score=1.0 if double_ok else 0.0,
        status="passed" if double_ok else "failed",
    )
    why = ManualAnswer(
        question="why_linear",
        title="Why is doubling linear?",
        points=2.0,
        found=written is not None,
        cell=3 if written is not None else None,
        where="cell 4",
        kind="markdown",
        text=written or "",
    )
    return Result(
        submission=f"{student}.ipynb",
        assignment=SLUG,
        checks=[check],
        score=check.score,
        max_score=1.0,
        manual=[why],
        exercises={"double": "Double"},
    )


CLASS = {
    "ada": "Because 2(x + y) = 2x + 2y and 2(ax) = a(2x).",
    "bob": "It just is.",
    "cy": None,
    "dee": "2 times a sum is the sum of 2 times each.",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gradebook]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.url(server.new_database())
    opened = Gradebook(url)
    for n, (student, written) in enumerate(CLASS.items()):
        opened.record(
            assignment=SLUG,
            student=student,
            sha256=f"{n:064d}",
            source=f"{student}.ipynb",
            status="passed",
            result=verdict(student, written),
        )
    yield opened
    opened.close()


@pytest.fixture
def assignment(tmp_path: Path) -> Assignment:
    return load_assignment(write_toml(tmp_path, RUBRIC))


def totals(grading: ManualGrading) -> dict[str, float]:
    return {student: final_of(result).final for student, (_, result) in grading.results().items()}


def test_answers_by_question_with_filter_and_order(book: Gradebook, assignment: Assignment) -> None:
    grading = ManualGrading(book, assignment)
    rows = grading.answers("why_linear")
    assert [(r.student, r.status) for r in rows] == [
        ("ada", "waiting"),
        ("bob", "waiting"),
        ("cy", "no answer"),
        ("dee", "waiting"),
    ]
    assert rows[0].answer.text == CLASS["ada"] and rows[0].version == 0
    assert grading.waiting() == 3
    grading.grade("why_linear", "bob", items=["vague"], comment="Show the algebra.", by="ta1", version=0)
    assert [r.student for r in grading.answers("why_linear", "not graded")] == ["ada", "cy", "dee"]
    assert [r.student for r in grading.answers("why_linear", "graded")] == ["bob"]
    assert grading.neighbours("why_linear", "ada", "not graded") == (None, "cy")
    assert grading.neighbours("why_linear", "bob", "not graded") == ("ada", "cy")
    assert grading.neighbours("why_linear", "dee") == ("cy", None)


def test_rubric_grades_count_in_every_total_and_follow_a_changed_item(book: Gradebook, assignment: Assignment) -> None:
    grading = ManualGrading(book, assignment)
    assert totals(grading) == {"ada": 1.0, "bob": 1.0, "cy": 1.0, "dee": 1.0}  # no answer: 0 so far
    ada = grading.grade("why_linear", "ada", items=["sum", "scale"], comment="Clear and complete.", by="ta1", version=0)
    assert (ada.points, ada.by, ada.version, [i.id for i in ada.items]) == (2.0, "ta1", 1, ["sum", "scale"])
    grading.grade("why_linear", "dee", items=["sum"], comment="Clear and complete.", by="ta2", version=0)
    grading.grade("why_linear", "bob", items=["sum", "vague"], by="ta2", version=0)
    assert totals(grading) == {"ada": 3.0, "bob": 1.5, "cy": 1.0, "dee": 2.5}
    assert grading.comments("why_linear") == [("Clear and complete.", 2)]
    assert [(i.id, i.uses) for i in grading.rubric("why_linear")] == [("sum", 3), ("scale", 1), ("vague", 1)]

    assert grading.set_item_points("why_linear", "sum", 1.0) == 3  # three grades used it
    assert totals(grading) == {"ada": 2.5, "bob": 1.0, "cy": 1.0, "dee": 2.0}
    _, result = grading.results()["dee"]
    assert result.manual[0].rubric == [{"id": "sum", "text": "Shows 2(x + y) = 2x + 2y", "points": 1.0}]
    assert result.manual[0].graded_by == "ta2" and result.manual[0].comment == "Clear and complete."


def test_a_rubric_item_in_use_is_not_removed_and_one_unused_is(book: Gradebook, assignment: Assignment) -> None:
    grading = ManualGrading(book, assignment)
    grading.grade("why_linear", "bob", items=["vague"], by="ta1", version=0)
    grading.grade("why_linear", "ada", items=["sum", "vague"], by="ta1", version=0)
    with pytest.raises(RubricInUse, match=r"rubric item 'vague' of 'why_linear' is applied by 2 grade\(s\)"):
        grading.remove_item("why_linear", "vague")
    grading.add_item("why_linear", RubricItem("typo", "Spelling", -0.25))
    grading.remove_item("why_linear", "typo")
    assert [i.id for i in grading.rubric("why_linear")] == ["sum", "scale", "vague"]


def test_two_graders_on_one_answer_the_second_save_is_refused_with_who_and_when(
    book: Gradebook, assignment: Assignment
) -> None:
    first, second = ManualGrading(book, assignment), ManualGrading(book, assignment)
    seen_by_both = second.answers("why_linear")[0].version  # both opened ada's answer: no grade
    first.grade("why_linear", "ada", items=["sum"], comment="Good.", by="ta1", version=seen_by_both)
    with pytest.raises(StaleGrade) as refused:
        second.grade("why_linear", "ada", items=["vague"], by="ta2", version=seen_by_both)
    assert refused.value.by == "ta1" and refused.value.at and "graded by ta1 at" in str(refused.value)
    assert "your grade was not saved" in str(refused.value)
    row = second.answers("why_linear")[0]
    assert (row.answer.score, row.answer.graded_by, row.version) == (1.5, "ta1", 1)  # the first one's, kept
    second.grade("why_linear", "ada", items=["vague"], by="ta2", version=row.version)  # after reloading: saved
    assert second.answers("why_linear")[0].answer.score == 0.0  # a mixed rubric starts at 0; never below 0


def test_two_first_grades_at_the_same_moment_the_later_insert_is_refused(
    book: Gradebook, assignment: Assignment, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = ManualGrading(book, assignment), ManualGrading(book, assignment)
    read = second.store.current
    calls: list[int] = []

    def before_the_first_saved(conn: Any, submission: int, question: str) -> Any:  # GradeStore.current's own
        calls.append(1)
        if len(calls) == 1:  # the second grader read "no grade" just before the first saved
            first.grade("why_linear", "ada", items=["sum"], by="ta1", version=0)
            return None
        return read(conn, submission, question)

    monkeypatch.setattr(second.store, "current", before_the_first_saved)
    with pytest.raises(StaleGrade, match="graded by ta1 at"):
        second.grade("why_linear", "ada", items=["vague"], by="ta2", version=0)
    assert first.answers("why_linear")[0].answer.graded_by == "ta1"


def test_a_no_answer_question_can_be_given_points_by_a_grader(book: Gradebook, assignment: Assignment) -> None:
    grading = ManualGrading(book, assignment)
    grading.grade("why_linear", "cy", extra=1.0, comment="Answer was in the wrong cell; found it.", by="ta1", version=0)
    assert totals(grading)["cy"] == 2.0


def csv_finals(out: Path) -> dict[str, str]:
    with (out / "grades.csv").open(newline="") as f:
        return {row["student"]: row["final"] for row in csv.DictReader(f)}


# -- a class, from `grader batch` to `grader release` ----------------------------------------------
def cli(*args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def csv_totals(out: Path) -> dict[str, tuple[str, str]]:
    with (out / "grades.csv").open(newline="") as f:
        return {row["student"]: (row["total"], row["waiting"]) for row in csv.DictReader(f)}


@pytest.mark.slow  # grades a class of three in real kernels, then releases it, all through the CLI
def test_a_class_graded_by_rubric_then_released(tmp_path: Path) -> None:
    folder = assigned(tmp_path)
    classdir, out, released = tmp_path / "class", tmp_path / "out", tmp_path / "released"
    answered(folder, classdir / "ada.ipynb", written="Because 2(x + y) = 2x + 2y <script>alert(1)</script>")
    answered(folder, classdir / "bob.ipynb", written="It just is.")
    answered(folder, classdir / "cy.ipynb", written=None, double="return x + 1")
    batch = cli("batch", str(classdir), "--assignment", str(folder), "--out", str(out), cwd=tmp_path)
    assert (out / "grades.csv").is_file(), batch.stderr
    assert csv_totals(out) == {
        "ada": ("1.0", "why_linear; print_task"),
        "bob": ("1.0", "why_linear; print_task"),
        "cy": ("0.0", "print_task"),
    }
    report = (out / "report.html").read_text()
    assert "answers waiting for a grader" in report and "(waiting: why_linear, print_task)" in report

    book = Gradebook(f"sqlite:///{out / 'gradebook.sqlite'}")
    grading = ManualGrading(book, load_assignment(folder))
    assert grading.answers("why_linear")[0].answer.text.startswith("Because 2(x + y)")
    assert grading.answers("print_task")[0].answer.outputs == [{"mime": "text/plain", "data": "42\n"}]
    grading.grade("why_linear", "ada", items=["sum", "scale"], comment="Clear & complete.", by="ta1", version=0)
    grading.grade("why_linear", "bob", items=["vague"], comment="Show the algebra.", by="ta1", version=0)
    grading.grade("print_task", "ada", extra=1.0, by="ta1", version=0)
    from grader.batch.adjustments import Change, save  # the desk's adjustment of a check, with its reason

    cy = grading.answers("why_linear")[2].sha256
    save(book, Change("tiny", "cy", "check", "test_double", 0.5, "x + 1 is close: half a point", "ta1", cy, None, True))
    book.close()

    refused = cli("release", str(folder), "--gradebook", str(out), "--out", str(released), cwd=tmp_path)
    assert refused.returncode == 1 and not released.exists()
    assert "2 answer(s) of 2 student(s) are still waiting for a grader: nothing was released" in refused.stderr
    done = cli("release", str(folder), "--gradebook", str(out), "--out", str(released), "--partial", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 answer(s) still waiting" in done.stdout
    page = (released / "ada" / "tiny.html").read_text()
    assert "Shows 2(x + y) = 2x + 2y" in page and "Shows 2(ax) = a(2x)" in page and "Clear &amp; complete." in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="score">4 / 4<' in page
    assert "x + 1 is close: half a point" in (released / "cy" / "tiny.html").read_text()
    bob_page = (released / "bob" / "tiny.html").read_text()
    assert "Says it without showing it" in bob_page and "Show the algebra." in bob_page
    assert "waiting for a grader" in bob_page

    cli("batch", str(classdir), "--assignment", str(folder), "--out", str(out), cwd=tmp_path)  # nothing to grade
    totals = csv_totals(out)
    assert totals == {
        "ada": ("4.0", ""),
        "bob": ("1.0", "print_task"),
        "cy": ("0.0", "print_task"),
    }  # before adjustments
    finals = csv_finals(out)
    assert finals == {"ada": "4.0", "bob": "1.0", "cy": "0.5"}
    for student, final in finals.items():
        released_json = json.loads((released / student / "results.json").read_text())
        batch_json = json.loads((out / "results" / f"{student}.json").read_text())
        assert released_json["score"] == batch_json["score"] == float(final)
        manual = {t["extra_data"]["question"]: t for t in released_json["tests"] if t["tags"] == ["manual"]}
        assert set(manual) == {"why_linear", "print_task"}
    assert json.loads((released / "ada" / "results.json").read_text())["extra_data"]["manual_waiting"] == []
    exported = cli(
        "export", "csv", str(folder), "--gradebook", str(out), "--out", str(tmp_path / "lms.csv"), cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "lms.csv").open(newline="") as f:
        assert {row["student"]: row["final"] for row in csv.DictReader(f)} == finals
