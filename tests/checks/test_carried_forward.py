"""Error carried forward, graded for real: a function right in itself is told so (and, where the
instructor asks, credited) when its only problem is an earlier exercise's.

neural-net-basics: `single_neuron` calls the student's `activation`, `two_layer_forward` calls it
twice; the hidden checks register the reference of `activation` (@reference). The kernel says
which of the notebook's functions each call reached; a failed check that reached a failed
exercise runs once more with a stand-in that asks the grader for the reference's values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from grader.config import Assignment
from grader.course import load_assignment
from grader.grade import grade
from grader.integrations.gradescope_results import to_gradescope
from grader.results import Result, mistakes_of

ROOT = Path(__file__).resolve().parents[2]
SLUG = "neural-net-basics"
SAMPLES = ROOT / "tests" / "submissions" / SLUG
SIGN_ERROR = SAMPLES / "sigmoid_sign_error.ipynb"
OWN_MISTAKE = SAMPLES / "sigmoid_sign_error_and_forgot_bias_in_neuron.ipynb"
# the checks that call the student's function (the notebook's own y and output are values, not calls)
CALLING = {
    "single_neuron": (
        "test_single_neuron_walkthrough_value",
        "test_single_neuron_on_unseen_inputs",
        "test_single_neuron_adds_the_bias",
    ),
    "two_layer_forward": (
        "test_two_layer_forward_walkthrough_value",
        "test_two_layer_forward_on_a_batch",
        "test_two_layer_forward_on_unseen_sizes",
    ),
}


@pytest.fixture(scope="module")
def assignment() -> Assignment:
    return load_assignment(ROOT / "assignments" / SLUG)


def checks_of(result: Result, exercise: str) -> dict[str, Any]:
    return {c.name: c for c in result.checks if c.exercise == exercise}


def with_mode(assignment: Assignment, mode: str) -> Assignment:
    return dataclasses.replace(assignment, carried_forward=mode)  # type: ignore[arg-type]


@pytest.mark.slow  # grades the sign-error sample in a real kernel, three times (none, full, half)
def test_the_sign_error_is_told_where_its_one_mistake_is_and_earns_credit_only_under_full(
    assignment: Assignment,
) -> None:
    words = grade(SIGN_ERROR, assignment)
    for exercise, names in CALLING.items():
        checks = checks_of(words, exercise)
        for name in names:
            check = checks[name]
            assert check.status == "failed" and check.score == 0  # "none": the words, no points
            assert check.carried_forward == "activation"
            view = check.public_view()
            assert view.message.startswith(
                f"`{exercise}` is right once `activation` is: its only problem is `activation`'s"
            ), view.message
        hidden = checks[names[1]]
        assert "(it looks like a sign flip)" in hidden.message
    assert all(not c.carried_forward for c in words.checks if c.exercise == "activation")
    tests = {t["extra_data"]["check"]: t for t in to_gradescope(words)["tests"]}
    assert tests["test_two_layer_forward_on_a_batch"]["extra_data"]["carried_forward"] == "activation"
    assert "carried_forward" not in tests["test_activation_known_values"]["extra_data"]
    # the feedback shows each later exercise as right given a correct `activation`
    from grader.feedback.render import render_html, render_markdown, render_text

    lines = render_text(words).splitlines()
    for exercise in CALLING:
        heading = next(line for line in lines if f"({exercise}): " in line)
        assert heading.endswith("  (right given a correct `activation`)"), heading
    assert not next(line for line in lines if "(activation): " in line).endswith(")")
    assert "> **single_neuron:** right given a correct `activation`." in render_markdown(words)
    html = render_html(words)
    assert html.count('<p class="carried">Right given a correct <code>activation</code>.</p>') == 2
    # the class report counts the mistake once, under `activation`
    assert {exercise for exercise, _ in mistakes_of(words)} == {"activation"}, mistakes_of(words)
    full = grade(SIGN_ERROR, with_mode(assignment, "full"))
    for exercise, names in CALLING.items():
        checks = checks_of(full, exercise)
        for name in names:
            assert checks[name].score == checks[name].points > 0, (name, checks[name].message)
    carried_points = sum(checks_of(full, e)[n].points for e, ns in CALLING.items() for n in ns)
    assert full.score == words.score + carried_points
    half = grade(SIGN_ERROR, with_mode(assignment, "half"))
    assert half.score == words.score + carried_points / 2


@pytest.mark.slow  # grades a sample in a real kernel
def test_a_function_that_raises_only_because_of_an_earlier_exercise_is_carried_forward(assignment: Assignment) -> None:
    result = grade(SAMPLES / "returns_numpy.ipynb", assignment)  # activation returns numpy: mm() raises
    check = checks_of(result, "two_layer_forward")["test_two_layer_forward_on_a_batch"]
    assert check.carried_forward == "activation"
    assert "raised TypeError" in check.message and check.message.startswith("`two_layer_forward` is right once")


@pytest.mark.slow  # grades a sample in a real kernel under "full"
def test_a_neuron_with_its_own_mistake_gets_no_carried_forward_credit(assignment: Assignment) -> None:
    result = grade(OWN_MISTAKE, with_mode(assignment, "full"))
    neuron = checks_of(result, "single_neuron")
    for name in CALLING["single_neuron"]:
        assert neuron[name].status == "failed" and neuron[name].score == 0
        assert not neuron[name].carried_forward
        assert "is right once" not in neuron[name].message
    network = checks_of(result, "two_layer_forward")  # its own code is right: it is carried forward
    for name in CALLING["two_layer_forward"]:
        assert network[name].carried_forward == "activation" and network[name].score == network[name].points


class Spy:
    """Counts the requests the bridge sends, and those that carry stand-ins."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from grader.nb.calls import AgentBridge

        self.requests: list[str] = []
        send = AgentBridge.send

        def spied(bridge: Any, op: str, request: str, timeout: float, got: Any) -> Any:
            self.requests.append(request)
            return send(bridge, op, request, timeout, got)

        monkeypatch.setattr(AgentBridge, "send", spied)

    @property
    def with_standins(self) -> list[str]:
        return [r for r in self.requests if '"standins"' in r]


@pytest.mark.slow  # grades two samples in real kernels
def test_a_passing_submission_makes_no_extra_request(assignment: Assignment, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    correct = grade(SAMPLES / "correct.ipynb", assignment)
    assert correct.score == correct.max_score
    assert spy.requests and spy.with_standins == []
    spy.requests.clear()
    grade(SIGN_ERROR, assignment)
    assert len(spy.with_standins) >= 6  # the failed checks that reached `activation`, re-run


@pytest.mark.slow  # grades the sign-error sample with references that break the exchange's budget
@pytest.mark.parametrize("which", ["inputs", "outputs"])
def test_a_reference_over_the_budget_fails_the_check_in_words(
    assignment: Assignment, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    import torch

    from grader.bridge import asks
    from grader.bridge.budget import Budget
    from grader.checks import carry

    if which == "inputs":  # what the student's code passes to the stand-in is more than a question may hold
        monkeypatch.setattr(carry, "Asks", lambda refs: asks.Asks(refs, budget=Budget(reply_chars=64)))
        words = "the arguments your code passed to `activation` are too large to send to the grader"
    else:  # the reference's value is more than a stand-in may receive
        monkeypatch.setattr(carry, "references", lambda files: {"activation": lambda x: torch.zeros(4_000_000)})
        words = "a correct `activation`'s value is 16,000,000 bytes, more than the"
    result = grade(SIGN_ERROR, assignment)
    for exercise, names in CALLING.items():
        for name in names:
            check = checks_of(result, exercise)[name]
            assert check.status == "failed" and not check.carried_forward
            assert words in check.message and "could not be tried" in check.message, check.message
    assert not result.errors


def test_the_reference_answers_only_for_the_exercises_stood_in_for() -> None:
    """A kernel that asks for another exercise's reference (an oracle for a later answer) is refused."""
    from grader.bridge.asks import Asks

    asked = Asks({"activation": lambda x: x})
    frame = json.dumps(
        {
            "ask": "two_layer_forward",
            "reply": json.dumps(
                {
                    "ok": True,
                    "value": {"t": "list", "items": [{"t": "list", "items": []}, {"t": "dict", "items": []}]},
                    "blob": "",
                }
            ),
        }
    ).encode()
    answer = json.loads(asked.answer(frame) or b"{}")
    assert answer["ok"] is False and "does not stand in for" in answer["why"]
    assert asked.answer(b'{"id": 3, "replies": []}') is None  # an ordinary answer is not a question
