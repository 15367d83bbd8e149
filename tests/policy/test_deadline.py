"""The late policy: [deadline] in assignment.toml as an instructor meets its errors, and the
penalty's arithmetic at its edges, in the words a student reads."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.policy.deadline import Deadline, duration_words, late_penalty

EST = timezone(timedelta(hours=-5))
DUE = datetime(2026, 12, 4, 23, 59, tzinfo=EST)
DAILY = Deadline(due=DUE, grace_minutes=15, penalty_per_day=10, penalty_max=30, zero_after=DUE + timedelta(days=7))
TOML = """\
title = "Tiny"
slug = "tiny"
notebook = "tiny.ipynb"

[exercises]
double = "Double"

[deadline]
"""


def at(**late: float) -> datetime:
    return DUE + timedelta(**late)


def test_on_time_and_inside_grace_cost_nothing() -> None:
    assert late_penalty(DAILY, at(minutes=-5)).percent == 0
    assert late_penalty(DAILY, at(minutes=-5)).words == "submitted on time"
    inside = late_penalty(DAILY, at(minutes=15))
    assert (inside.percent, inside.late_by_seconds) == (0, 900)
    assert inside.words == "submitted 15 minutes late, within the 15-minute grace period: no penalty"
    past = late_penalty(DAILY, at(minutes=15, seconds=1))
    assert past.percent == 10 and past.words == "submitted 15 minutes late: -10%"


def test_each_day_started_counts_and_exactly_a_day_is_one() -> None:
    assert late_penalty(DAILY, at(days=1)).percent == 10
    assert late_penalty(DAILY, at(days=1, seconds=1)).percent == 20
    assert late_penalty(DAILY, at(days=1, hours=3)).words == "submitted 1 day 3 hours late: -20%"


def test_penalty_max_and_zero_after() -> None:
    assert late_penalty(DAILY, at(days=5)).percent == 30  # 50% capped at penalty_max
    assert late_penalty(DAILY, at(days=7)).percent == 30  # exactly at zero_after: still counts
    zero = late_penalty(DAILY, at(days=7, seconds=1))
    assert zero.percent == 100 and "scored 0" in zero.words


def test_per_hour() -> None:
    hourly = Deadline(due=DUE, penalty_per_hour=2)
    assert late_penalty(hourly, at(minutes=1)).percent == 2
    assert late_penalty(hourly, at(hours=3)).percent == 6
    assert late_penalty(hourly, at(hours=3, minutes=1)).percent == 8
    assert late_penalty(hourly, at(days=3)).percent == 100  # 144% is never more than everything


def test_an_extension_moves_due_and_zero_after() -> None:
    extension = DUE + timedelta(days=3)
    moved = late_penalty(DAILY, at(days=2), extension)
    assert moved.percent == 0 and moved.words.startswith("submitted on time (extended to 2026-12-07T23:59:00-05:00")
    assert late_penalty(DAILY, at(days=3, hours=2), extension).percent == 10
    assert late_penalty(DAILY, at(days=9), extension).percent == 30  # zero_after moved by 3 days too
    assert late_penalty(DAILY, at(days=10, seconds=1), extension).percent == 100


def test_unknown_time_is_flagged_never_penalised() -> None:
    unknown = late_penalty(DAILY, None)
    assert unknown.unknown and unknown.percent == 0 and "unknown" in unknown.words


def test_duration_words() -> None:
    assert duration_words(20) == "20 seconds"
    assert duration_words(3600 * 27 + 60 * 5) == "1 day 3 hours"
    assert duration_words(3600 + 60) == "1 hour 1 minute"


def write_assignment(tmp_path: Path, deadline: str) -> Path:
    folder = tmp_path / "assignments" / "tiny"
    (folder / "checks").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML + deadline)
    return folder


def test_deadline_read_from_assignment_toml(tmp_path: Path) -> None:
    folder = write_assignment(
        tmp_path,
        "due = 2026-12-04T23:59:00-05:00\ngrace_minutes = 15\npenalty_per_day = 10\n"
        'penalty_max = 30\nzero_after = "2026-12-11T23:59:00-05:00"\n',
    )
    assert load_assignment(folder).deadline == DAILY


@pytest.mark.parametrize(
    "deadline, words",
    [
        (
            "due = 2026-12-04T23:59:00-05:00\npenalty_per_dya = 10\n",
            ["unknown key 'penalty_per_dya' in [deadline]", "did you mean 'penalty_per_day'?"],
        ),
        ("due = 2026-12-04T23:59:00\n", ["[deadline] due = ", "has no time zone", "2026-12-04T23:59:00-05:00"]),
        ('due = "2026-12-04 23:59"\n', ["[deadline] due = '2026-12-04 23:59' has no time zone"]),
        ('due = "Friday"\n', ["is not an ISO 8601 date and time"]),
        ("grace_minutes = 5\n", ["[deadline] has no due"]),
        (
            "due = 2026-12-04T23:59:00Z\npenalty_per_day = 5\npenalty_per_hour = 1\n",
            ["both penalty_per_day and penalty_per_hour"],
        ),
        ("due = 2026-12-04T23:59:00Z\npenalty_max = 150\n", ["penalty_max = 150 is not a number from 0 to 100"]),
        ("due = 2026-12-04T23:59:00Z\nzero_after = 2026-12-01T00:00:00Z\n", ["is not after due"]),
    ],
)
def test_a_bad_deadline_names_file_table_and_key(tmp_path: Path, deadline: str, words: list[str]) -> None:
    folder = write_assignment(tmp_path, deadline)
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(notebook), "--assignment", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(folder / "assignment.toml") in proc.stderr
    for word in words:
        assert word in proc.stderr
