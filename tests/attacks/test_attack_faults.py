"""Faults cost only what they touch: an endless cell, an endless function, a cell that kills
the kernel, a memory hog, input(), an output flood, a fork bomb, daemons.

In each notebook the attack sits among right answers: they must still earn their points.
Cell indexes count the notebook's title (markdown) as cell 0.
"""

from __future__ import annotations

import json
import os

import pytest

from attack_support import Attacks, MINI, host_problems, needs_sandbox


def full_marks(attack) -> None:  # type: ignore[no-untyped-def]
    assert (attack.result.score, attack.result.max_score) == (4, 4), [
        (c.name, c.message) for c in attack.result.checks if not c.passed
    ] + [c.message for c in attack.result.cells]


def test_an_endless_cell_is_stopped_at_its_timeout_and_the_cells_after_it_run(attacks: Attacks) -> None:
    attack = attacks.grade("endless_cell")
    full_marks(attack)  # reshape_weights is defined after the endless cell
    (issue,) = attack.cell(3)
    assert issue.kind == "timeout" and "timeout" in issue.message
    assert host_problems(attack) == []


def test_a_function_that_never_returns_and_ignores_interrupts_fails_by_timeout(attacks: Attacks) -> None:
    attack = attacks.grade("endless_function_ignores_interrupt")
    assert attack.exercise("activation") == (0, 2)
    for check in attack.checks("activation"):
        assert "timeout" in check.message, check.message
    assert attack.exercise("reshape_weights") == (2, 2), [c.message for c in attack.checks("reshape_weights")]
    assert host_problems(attack) == []


@pytest.mark.parametrize(
    "name, words",
    [
        ("kernel_os_exit", "exited with code 3"),
        ("kernel_kill_self", "SIGKILL"),
    ],
)
def test_a_cell_that_kills_the_kernel_is_dropped_and_grading_goes_on(attacks: Attacks, name: str, words: str) -> None:
    from grader.feedback import render_html, render_text

    attack = attacks.grade(name)
    full_marks(attack)  # activation (before, replayed) and reshape_weights (after) both count
    (issue,) = attack.cell(3)
    assert issue.kind == "dropped"
    assert words in issue.message and "restarted" in issue.message, issue.message
    assert any("restarted" in e for e in attack.result.errors)
    for page in (render_text(attack.result, title="mini"), render_html(attack.result, title="mini")):
        assert "dropped" in page and "Cell 4" in page.replace("CELL 4", "Cell 4")
    assert host_problems(attack) == []


@pytest.mark.parametrize("_", [pytest.param(None, marks=needs_sandbox)])
def test_a_signal_to_the_parent_cannot_reach_the_grader(attacks: Attacks, _: None) -> None:
    attack = attacks.grade("kernel_kill_parent")
    full_marks(attack)
    # inside its pid namespace, the kernel's parent is the sandbox's init: not ours to kill, not the grader
    (issue,) = attack.cell(3)
    assert issue.kind in ("error", "dropped"), issue
    assert host_problems(attack) == []  # and this process, the grader, is still here to say so


def test_a_memory_hog_is_stopped_by_the_limit_not_the_oom_killer(attacks: Attacks) -> None:
    attack = attacks.grade("memory_hog")
    full_marks(attack)
    for index in (3, 4):  # a Python hog and a torch hog
        (issue,) = attack.cell(index)
        assert issue.kind == "error", issue  # an error in the cell: the kernel lived on
        assert "memory limit is 2048 MB" in issue.message, issue.message
    assert not any(c.kind == "dropped" for c in attack.result.cells)
    assert host_problems(attack) == []


def test_input_fails_at_once_instead_of_waiting(attacks: Attacks) -> None:
    attack = attacks.grade("input_call")
    full_marks(attack)
    (issue,) = attack.cell(3)
    assert issue.kind == "error" and "StdinNotImplementedError" in issue.message, issue
    assert attack.result.timings.get("cells", 0) < 4.0  # under the cell timeout: it did not wait
    assert host_problems(attack) == []


def test_fifty_megabytes_of_output_are_cut_to_a_bounded_size(attacks: Attacks) -> None:
    from grader.feedback import render_html, render_markdown, render_text

    attack = attacks.grade("output_flood")
    result = attack.result
    full_marks(attack)  # activation prints 20 MB per call and is right
    kinds = {(c.index, c.kind) for c in result.cells}
    assert (2, "output") in kinds and (3, "output") in kinds, kinds
    verdict = json.dumps(result.to_dict())
    assert len(verdict) < 256 * 1024, len(verdict)
    for page in (
        render_html(result, title="mini"),
        render_text(result, title="mini"),
        render_markdown(result, title="mini"),
    ):
        assert len(page) < 256 * 1024
    for check in result.checks:
        assert len(check.output) <= 17 * 1024
    assert attack.seconds < 240, attack.seconds
    assert host_problems(attack) == []


@pytest.mark.parametrize("_", [pytest.param(None, marks=needs_sandbox)])
def test_a_fork_bomb_is_bounded_by_the_process_limit(attacks: Attacks, _: None) -> None:
    from grader.course import load_assignment

    attack = attacks.grade("fork_bomb")
    full_marks(attack)
    report = attack.report()
    started = int(report.split("started=")[1].split()[0])
    assert started < load_assignment(MINI).limits.processes, report
    assert host_problems(attack) == []


@pytest.mark.parametrize("_", [pytest.param(None, marks=needs_sandbox)])
def test_no_process_the_student_started_outlives_the_grading(attacks: Attacks, _: None) -> None:
    attack = attacks.grade("daemon_processes")
    full_marks(attack)
    if os.geteuid() == 0:
        assert attack.uids, "as root, the kernel runs as a uid of its own"  # what host_problems looks for
    assert host_problems(attack) == []


def test_limits_come_from_assignment_toml(attacks: Attacks) -> None:
    attack = attacks.grade("limits_from_toml")
    assert (attack.result.score, attack.result.max_score) == (4, 4)
    limits = attack.report()
    mb = 1024 * 1024
    assert min(limits["as"], limits["data"]) <= 2048 * mb
    assert limits["nproc"] == 48 or os.geteuid() != 0
    assert limits["fsize"] == 16 * mb and limits["cpu"] == 120 and limits["core"] == 0
    big = [c for c in attack.result.cells if c.index == 4]
    assert big and ("File too large" in big[0].message or "EFBIG" in big[0].message), big
    assert host_problems(attack) == []
