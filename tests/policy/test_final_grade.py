"""The final grade, the one number every output shows (grader.policy.final)."""

from __future__ import annotations

from grader.policy.final import Adjustment, LatePenalty, ManualScore, final_grade
from grader.results import CheckResult, Result


def _result() -> Result:
    def check(name: str, exercise: str, points: float, score: float) -> CheckResult:
        return CheckResult(
            name=name, exercise=exercise, points=points, score=score, status="passed" if score == points else "failed"
        )

    checks = [
        check("test_shape", "activation", 1, 1),
        check("test_values", "activation", 2, 0),
        check("test_neuron", "single_neuron", 3, 0),
        check("test_bias", "single_neuron", 1, 1),
    ]
    return Result(submission="s.ipynb", assignment="a", checks=checks, score=2, max_score=7)


def test_without_anything_the_final_grade_is_the_verdicts_score() -> None:
    grade = final_grade(_result())
    assert (grade.automatic, grade.adjusted, grade.final, grade.max_score) == (2, 2, 2, 7)
    assert not grade.changed and grade.applied == () and grade.unmatched == ()


def test_a_check_adjustment_replaces_that_checks_score_and_an_exercise_one_its_total() -> None:
    values = Adjustment("check", "test_values", 1.5, "alternative answer accepted")
    neuron = Adjustment("exercise", "single_neuron", 3.5, "right idea")
    grade = final_grade(_result(), [values, neuron])
    assert grade.adjusted == 1 + 1.5 + 3.5 and grade.final == 6.0
    assert grade.applied == (values, neuron) and grade.changed


def test_an_adjustment_of_a_check_that_no_longer_exists_is_kept_aside_not_applied() -> None:
    gone = Adjustment("check", "test_removed", 5, "was generous")
    grade = final_grade(_result(), [gone])
    assert grade.final == 2 and grade.unmatched == (gone,) and grade.applied == ()


def test_manual_points_count_once_given_and_waiting_ones_are_counted() -> None:
    manual = [ManualScore("why_view", 2, 1.5), ManualScore("why_mm", 2, None)]
    grade = final_grade(_result(), manual=manual)
    assert (grade.manual, grade.manual_waiting, grade.final, grade.max_score) == (1.5, 1, 3.5, 11)


def test_the_late_penalty_takes_its_percent_of_everything_else_unless_waived() -> None:
    manual = [ManualScore("why_view", 2, 2)]
    late = LatePenalty(percent=10, late_by_seconds=3600, words="submitted 1 hour late: -10%")
    grade = final_grade(_result(), [Adjustment("check", "test_values", 2, "ok")], manual, late)
    assert (grade.before_penalty, grade.penalty_percent, grade.penalty_points, grade.final) == (6, 10, 0.6, 5.4)
    waived = LatePenalty(percent=10, waived=True)
    assert final_grade(_result(), penalty=waived).final == 2
    assert final_grade(_result(), penalty=LatePenalty(percent=150)).final == 0  # never below zero


def test_an_instructors_waiver_is_an_adjustment_of_kind_late_that_shown_turns_into_no_penalty() -> None:
    from dataclasses import replace
    from datetime import datetime, timezone

    from grader.policy.deadline import Deadline
    from grader.policy.submitted import shown

    deadline = Deadline(due=datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc), penalty_per_day=10)
    late = replace(_result(), submitted_at="2026-12-05T10:00:00+00:00", submitted_from="--submitted-at")
    waiver = Adjustment("late", "late penalty", 0, "ill that week", by="Ines")
    assert shown(late, deadline).grade.final == 1.8
    grade = shown(late, deadline, [waiver])
    assert grade.grade.final == 2 and grade.grade.waiver == waiver and grade.grade.unmatched == ()
    assert grade.words == "submitted 10 hours 1 minute late: the 10% late penalty is waived (ill that week)"
    assert grade.csv_columns()["penalty"] == "waived" and grade.late_data()["waived"] is True
    on_time = replace(late, submitted_at="2026-12-04T10:00:00+00:00")
    assert shown(on_time, deadline, [waiver]).grade.waiver is None  # nothing to waive: kept aside, not shown
