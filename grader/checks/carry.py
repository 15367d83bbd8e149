"""Error carried forward: a failed check run again with the wrong exercises it reached stood in for.

When a check of exercise B fails while an exercise A that B's calls reached (as the kernel says,
or as `[exercises.B] uses` fixes it) has failed checks of its own, and a reference of A is
registered (grader/checks/references.py), the check runs once more with A replaced in the kernel
by a stand-in that asks the grader for the reference's value (grader/bridge/asks.py). If it then
passes, B's only problem is A's: the failure says so, records `carried_forward`, and earns what
`[grading] carried_forward` gives ("none": the words only). A submission with nothing failing,
or whose failed checks reached no failed exercise, makes no extra request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from grader.bridge.asks import Asks
from grader.checks.context import current
from grader.checks.references import references
from grader.failures import CallTimeout, CheckFailed, KernelDied
from grader.results import CheckResult
from grader.verdict import carried_words

CREDIT = {"none": None, "half": 0.5, "full": 1.0}


def wrong_reached(
    exercise: str, reached: Sequence[str], earlier: Sequence[CheckResult], known: dict[str, Any]
) -> list[str]:
    """The exercises this check's calls reached that failed a check of their own and have a reference."""
    uses = current().uses.get(exercise)
    failed = {c.exercise for c in earlier if c.status == "failed"}
    return [
        name
        for name in (uses if uses is not None else reached)
        if name != exercise and name in failed and name in known
    ]


def retry(item: Any, failure: CheckFailed, bridge: Any, exercise: str, earlier: Sequence[CheckResult]) -> None:
    """Run `item` once more with stand-ins, and mark `failure` carried forward where it then passes.
    A check that timed out or killed the kernel is not run again (it would cost as much again)."""
    if isinstance(failure, (CallTimeout, KernelDied)):
        return
    files = {Path(str(i.fspath)).resolve() for i in item.session.items}
    known = references(files)
    wrong = wrong_reached(exercise, list(bridge.reached), earlier, known)
    if not wrong:
        return
    asks = Asks({name: known[name] for name in wrong})
    bridge.asks, first_call = asks, bridge.last_call  # what the check reports is the first run's
    try:
        item.runtest()
    except CheckFailed:
        if asks.problems:
            failure.message = (
                f"{failure.message} (Whether `{exercise}` is right once `{wrong[0]}` is could not be "
                f"tried: {asks.problems[0]}.)"
            )
            failure.args = (failure.message,)
        return
    except Exception:
        return
    finally:
        bridge.asks, bridge.last_call = None, first_call
    if asks.count == 0:  # passed without asking: not the stand-in's doing
        return
    mark(failure, exercise, wrong, earlier)


def mark(failure: CheckFailed, exercise: str, wrong: list[str], earlier: Sequence[CheckResult]) -> None:
    named = [
        re.sub(r"\s*\([^()]*\)$", "", c.diagnosis)
        for c in earlier
        if c.exercise in wrong and c.status == "failed" and c.diagnosis
    ]
    mistake = min(named, key=len) if named else ""  # the shortest name the exercise's mistake was given
    failure.message = f"{carried_words(exercise, wrong, mistake)} {failure.message}"
    failure.args = (failure.message,)
    failure.details["carried_forward"] = ", ".join(wrong)
    credit = CREDIT[current().carried_forward]
    if credit is not None:
        failure.details["credit"] = credit
