"""No false pass: whatever the student patches in their kernel, a wrong answer fails and a right one passes.

Every comparison happens in the grader process on plain tensors that crossed the boundary
as data, so patches to torch, builtins or the student's globals only change the kernel.
Each notebook pairs a patch with a wrong `activation` and a right `reshape_weights`.
"""

from __future__ import annotations

import re

import pytest

from attack_support import Attacks, host_problems

PATCHES = [
    "patch_allclose",  # torch.allclose / torch.isclose always True
    "patch_tensor_eq",  # Tensor.__eq__ / __ne__ / torch.equal claim equality
    "patch_assert_close",  # torch.testing.assert_close is a no-op
    "patch_math_isclose",  # math.isclose always True
    "patch_builtins_abs",  # builtins.abs / round replaced
    "tensor_subclass_claims_equality",  # a Tensor subclass that equals anything and calls itself torch.Tensor
    "shadow_globals",  # json, os, sys, print, len, isinstance, repr, str, get_ipython shadowed
]


@pytest.mark.parametrize("name", PATCHES)
def test_a_patch_neither_passes_the_wrong_answer_nor_fails_the_right_one(attacks: Attacks, name: str) -> None:
    attack = attacks.grade(name)
    result = attack.result
    assert result.readable
    assert attack.exercise("activation") == (0, 2), [c.message for c in attack.checks("activation")]
    assert attack.exercise("reshape_weights") == (2, 2), [c.message for c in attack.checks("reshape_weights")]
    assert result.score == 2 and result.max_score == 4 and not result.passed
    assert not [e for e in result.errors if "Grader note" in e], result.errors  # no check crashed
    assert host_problems(attack) == []


def test_a_tensor_subclass_is_named_for_what_it_is(attacks: Attacks) -> None:
    attack = attacks.grade("tensor_subclass_claims_equality")
    messages = " ".join(c.message for c in attack.checks("activation"))
    # its values were compared as a plain tensor: relu is not a sigmoid
    assert "differ" in messages or "subclass" in messages, messages


def test_every_patch_at_once_with_wrong_answers_scores_zero(attacks: Attacks) -> None:
    attack = attacks.grade("all_patches_wrong")
    assert (attack.result.score, attack.result.max_score) == (0, 4)
    assert all(c.status == "failed" for c in attack.result.checks)
    assert host_problems(attack) == []


def test_every_patch_at_once_with_right_answers_scores_full(attacks: Attacks) -> None:
    attack = attacks.grade("all_patches_right")
    assert (attack.result.score, attack.result.max_score) == (4, 4), [c.message for c in attack.result.checks]
    assert attack.result.passed
    assert host_problems(attack) == []


def test_printed_passing_verdict_changes_nothing_and_cannot_redraw_the_terminal(attacks: Attacks) -> None:
    from grader.feedback import render_html, render_text

    attack = attacks.grade("fake_passing_verdict")
    result = attack.result
    assert (result.score, result.max_score) == (0, 4) and result.status == "failed"
    text = render_text(result, title="mini")
    # the student's text may be shown, but with no escape sequence or carriage return in it
    assert "\x1b" not in text and "\r" not in text
    score_lines = [line for line in text.splitlines() if line.startswith("Score:")]
    assert score_lines[0].startswith("Score: 0/4"), score_lines
    html = render_html(result, title="mini")
    assert "<h1>Score: 4/4" not in html and "\x1b" not in html
    from grader.feedback import render_markdown

    markdown = render_markdown(result, title="mini")
    headings = [line for line in markdown.splitlines() if line.lstrip("> ").startswith("#")]
    assert headings == ["### mini: 0/4 ❌"], headings  # no heading, HTML or link of the student's
    assert "<h1>" not in markdown and "\n::" not in markdown
    from xml.etree import ElementTree

    from grader.junit import to_junit

    suite = ElementTree.fromstring(to_junit(result))  # a CI can still read it: NUL and ESC are gone
    assert suite.get("failures") == "4"
    assert host_problems(attack) == []


def active_workflow_commands(stdout: str) -> list[str]:
    """The lines GitHub Actions would run as workflow commands (honouring ::stop-commands::)."""
    stopped, found = None, []
    for line in stdout.splitlines():
        text = line.strip()
        if stopped is not None:
            if text == f"::{stopped}::":
                stopped = None
            continue
        if text.startswith("::stop-commands::"):
            stopped = text[len("::stop-commands::") :]
        elif text.startswith("::"):
            found.append(text)
    return found


def test_quoted_workflow_commands_stay_inert_in_github_actions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from attack_support import MINI, NOTEBOOKS

    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["GITHUB_ACTIONS"] = "true"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(NOTEBOOKS / "fake_passing_verdict.ipynb"),
            "--assignment",
            str(MINI),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "::set-output name=result::" in proc.stdout  # quoted, for the student to see ...
    assert active_workflow_commands(proc.stdout) == []  # ... but never run


def test_a_forged_agent_reply_is_data_that_fails(attacks: Attacks) -> None:
    attack = attacks.grade("forge_agent_reply")
    assert (attack.result.score, attack.result.max_score) == (0, 4)
    assert host_problems(attack) == []


def test_a_pickle_payload_in_a_reply_is_refused_not_run(attacks: Attacks) -> None:
    attack = attacks.grade("pickle_payload")
    assert attack.exercise("activation") == (0, 2)
    assert attack.exercise("reshape_weights") == (2, 2), [c.message for c in attack.checks("reshape_weights")]
    for check in attack.checks("activation"):
        assert re.search(r"refused|could not be read|torch.Tensor", check.message), check.message
    assert host_problems(attack) == []
