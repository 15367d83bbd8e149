"""The verdict, pure: the one place that scores, orders and hides hidden checks.

Every front end (`grader check`, `grader batch`, Gradescope, the pytest plugin, `grader.check()`
in Jupyter) makes its Result here from what its check run gave: `conclude` orders the checks by
the assignment's exercises (hidden after public within one), adds the grader's notes and sums
the score; `public_view` is all that may leave the grader of a hidden check. Nothing here reads
a file or starts a process.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, replace
from typing import Any, ClassVar, Iterable, Mapping, Protocol, Sequence, TypeVar


class CheckResult(Protocol):
    """What this module reads of a check (grader.results.CheckResult, which delegates its hiding and
    totals here: described, not imported, so that the two modules do not import each other)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    exercise: str
    points: float
    score: float
    hidden: bool
    diagnosis: str
    carried_forward: Any

    @property
    def passed(self) -> bool: ...


class Result(Protocol):
    """What this module reads of a verdict (grader.results.Result)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    checks: list[Any]
    errors: list[str]
    score: float


HIDDEN_MESSAGE_PASS = "Hidden check passed."
HIDDEN_MESSAGE_FAIL = "Hidden check failed. Hidden checks reveal nothing but their name and pass/fail."
HIDDEN_NOTHING_ELSE = "Hidden checks reveal nothing else: not their inputs, not their values."
R = TypeVar("R", bound=Result)
C = TypeVar("C", bound=CheckResult)
NOTE = "Grader note: "  # a check that crashed (a fault of the check): said in the verdict's errors


@dataclass
class CheckRun:
    """What running an assignment's checks gave: a CheckResult each, and the faults of the checks."""

    checks: Sequence[CheckResult] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)  # the checks could not be loaded or run
    crashes: list[str] = field(default_factory=list)  # a check raised something other than a verdict


# -- scoring ---------------------------------------------------------------------------------
def totals(checks: Iterable["CheckResult"]) -> tuple[float, float]:
    """(score, max_score) of some checks."""
    checks = list(checks)
    return round(sum(c.score for c in checks), 6), round(sum(c.points for c in checks), 6)


def exercise_totals(groups: Mapping[str, Sequence["CheckResult"]]) -> dict[str, tuple[float, float]]:
    """(score, points) of each exercise's checks, unrounded (as the CSV and reports always had them)."""
    return {name: (sum(c.score for c in checks), sum(c.points for c in checks)) for name, checks in groups.items()}


def earned(points: float, passed: bool, credit: object = None) -> float:
    """The points a check earns: all of them when it passed; when it failed, the part its
    `credit` says (a fraction of them, from a PartialCredit: kept between 0 and 1), else none."""
    if passed:
        return points
    if isinstance(credit, (int, float)) and not isinstance(credit, bool) and credit == credit:
        return round(points * min(1.0, max(0.0, float(credit))), 6)
    return 0.0


def points_total(results: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(score, max_score) from (points, earned) pairs: the pytest plugin's checks."""
    pairs = list(results)
    return (round(sum(got for _, got in pairs), 6), round(sum(points for points, _ in pairs), 6))


# -- ordering --------------------------------------------------------------------------------
def ordered(checks: Iterable[C], exercises: Sequence[str]) -> list[C]:
    """The assignment's exercise order (unknown exercises last), public before hidden in each."""
    known = list(exercises)
    return sorted(checks, key=lambda c: (known.index(c.exercise) if c.exercise in known else len(known), c.hidden))


# -- hiding ----------------------------------------------------------------------------------
def hidden_message(passed: bool) -> str:
    return HIDDEN_MESSAGE_PASS if passed else HIDDEN_MESSAGE_FAIL


def hidden_failure(diagnosis: str) -> str:
    """A failed hidden check's words: the recognised mistake's name where the verdict kept one
    ([visibility] hidden_checks = "mistake"), else pass/fail only."""
    return (
        f"Hidden check failed. It looks like {diagnosis}. {HIDDEN_NOTHING_ELSE}" if diagnosis else HIDDEN_MESSAGE_FAIL
    )


def carried_words(exercise: str, wrong: Sequence[str], mistake: str = "") -> str:
    """What the student reads on a check whose only problem is an earlier exercise's."""
    names = " and ".join(f"`{name}`" for name in wrong)
    owner = f"{names}'s" if len(wrong) == 1 else f"those of {names}"
    looks = f" (it looks like {mistake})" if mistake else ""
    verb = "is" if len(wrong) == 1 else "are"
    return f"`{exercise}` is right once {names} {verb}: its only problem is {owner}{looks}."


def public_check(check: C) -> C:
    """What may be shown outside the grader: a hidden check keeps its name, points and status only
    (and the name of a recognised mistake, where `conclude` kept it)."""
    if not check.hidden:
        return check
    message = hidden_message(True) if check.passed else hidden_failure(check.diagnosis)
    if check.carried_forward and not check.passed:  # says nothing of the hidden inputs or values
        message = f"{carried_words(check.exercise, check.carried_forward.split(', '))} {message}"
    return replace(
        check, message=message, expected=None, actual=None, mismatches=[], traceback="", output="", nodeid=""
    )


def public_view(result: R) -> R:
    return replace(result, checks=[public_check(c) for c in result.checks])


# -- the verdict -----------------------------------------------------------------------------
def conclude(
    header: R, run: CheckRun, exercises: Sequence[str], *, score: bool = True, hidden_feedback: str = "pass_fail"
) -> R:
    """The Result: `header` (the submission's facts) with the run's checks in order, the notes of
    checks that crashed, and the score. `score=False` keeps the header's score (a verdict made
    without grading scores 0 whatever a check says). A hidden check keeps its recognised mistake
    (and whether it is right given a correct earlier exercise, its `carried_forward`) only with
    `hidden_feedback="mistake"` ([visibility] hidden_checks): results.json, grades.csv,
    the report and feedback all read it from here."""
    checks = ordered(run.checks, exercises)
    if hidden_feedback != "mistake":  # the default: a hidden check shows its name and pass/fail only
        checks = [replace(c, diagnosis="", carried_forward="") if c.hidden else c for c in checks]
    got, out_of = totals(checks)
    return replace(
        header,
        checks=checks,
        errors=header.errors + [NOTE + c for c in run.crashes],
        score=got if score else header.score,
        max_score=out_of,
    )
