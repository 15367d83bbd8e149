"""assignment.toml as an instructor meets its errors: through `grader check`, exit 2, in words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_assignment

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
title = "Tiny"
slug = "tiny"
notebook = "tiny.ipynb"

[exercises]
double = "Double"
"""


def check_with(tmp_path: Path, toml: str) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "assignments" / "tiny"
    (folder / "checks").mkdir(parents=True)
    (folder / "assignment.toml").write_text(toml)
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(notebook), "--assignment", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    "extra, words",
    [
        (
            "[limit]\nmemory_mb = 1024\n",
            ["unknown table [limit]", "did you mean [limits]?", "known tables: [exercises]"],
        ),
        (
            "[tolerances.cuda]\nrtoll = 1e-3\n",
            ["unknown key 'rtoll' in [tolerances.cuda]", "did you mean 'rtol'?", "known keys: rtol, atol"],
        ),
        (
            "[tolerances.cdua]\nrtol = 1e-3\n",
            ["unknown table [tolerances.cdua]", "did you mean 'cuda'?", "known devices: cpu, cuda, mps"],
        ),
        ("[limits]\nmemry_mb = 1024\n", ["unknown key 'memry_mb' in [limits]", "did you mean 'memory_mb'?"]),
        ('[timeouts]\ncell = "30"\n', ["[timeouts] cell = '30' is not a number", "without quotes"]),
        ("[limits]\nmemory_mb = 1.5\n", ["[limits] memory_mb = 1.5 is not a whole number"]),
        ('[visibility]\nhiden = "visible"\n', ["unknown key 'hiden' in [visibility]", "did you mean 'hidden'?"]),
        ("[exercises.more]\ntitle = 3\n", ["[exercises] more = {'title': 3} is not a title"]),
        (
            '[feedback]\nhidden_checks = "everything"\n',
            ["[feedback] hidden_checks = 'everything' is not one of the choices", '"mistake"', '"nothing"'],
        ),
        (
            '[feedback]\nhiden_checks = "nothing"\n',
            ["unknown key 'hiden_checks' in [feedback]", "did you mean 'hidden_checks'?"],
        ),
        (
            '[visibility]\nhidden_checks = "everything"\n',
            ["[visibility] hidden_checks = 'everything' is not one of the choices", '"pass_fail"', '"mistake"'],
        ),
        (
            '[visibility]\nhidden_check = "mistake"\n',
            ["unknown key 'hidden_check' in [visibility]", "did you mean 'hidden_checks'?"],
        ),
        (
            '[exercises.triple]\ntitle = "Triple"\nuses = ["doubel"]\n',
            ["[exercises.triple] uses names 'doubel', which is not another exercise", "did you mean 'double'?"],
        ),
        (
            '[exercises.triple]\ntitle = "Triple"\nuse = ["double"]\n',
            ["unknown key 'use' in [exercises.triple]", "did you mean 'uses'?"],
        ),
        (
            '[exercises.triple]\nuses = "double"\n',
            ["[exercises.triple] uses = 'double' is not a list of exercise names"],
        ),
        ('[grading]\ncarried_forward = "all"\n', ["[grading] carried_forward = 'all' is not one of none, half, full"]),
        (
            '[grading]\ncarry_forward = "full"\n',
            ["unknown key 'carry_forward' in [grading]", "did you mean 'carried_forward'?"],
        ),
        (
            '[visibility]\nhidden_checks = "mistake"\n[feedback]\nhidden_checks = "nothing"\n',
            ["hidden_checks is set twice, in [visibility] and in [feedback]"],
        ),
    ],
)
def test_a_misspelled_or_mistyped_table_or_key_is_named(tmp_path: Path, extra: str, words: list[str]) -> None:
    proc = check_with(tmp_path, GOOD + extra)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "assignment.toml" in proc.stderr  # the file is named
    for word in words:
        assert word in proc.stderr


def test_a_misspelled_top_level_key_is_named(tmp_path: Path) -> None:
    proc = check_with(tmp_path, "titel = 'Tiny'\n" + GOOD.split("\n", 1)[1])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown key 'titel' at the top level" in proc.stderr and "did you mean 'title'?" in proc.stderr


def test_an_unknown_schema_says_which_this_grader_reads(tmp_path: Path) -> None:
    proc = check_with(tmp_path, "schema = 2\n" + GOOD + "[newer_table]\nx = 1\n")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "schema = 2 is not a version of assignment.toml this grader reads" in proc.stderr
    assert "this grader reads schema 1" in proc.stderr


def test_schema_1_is_the_default_and_may_be_written(tmp_path: Path) -> None:
    folder = tmp_path / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(GOOD)
    assert load_assignment(folder).schema == 1
    (folder / "assignment.toml").write_text("schema = 1\n" + GOOD + "[tolerances.cuda]\nrtol = 1e-3\n")
    assignment = load_assignment(folder)
    assert assignment.schema == 1 and assignment.tolerance("cuda:0").rtol == 1e-3
    assert assignment.tolerance("cuda").atol == 1e-5 and assignment.tolerance("cpu").rtol == 1e-4


@pytest.mark.parametrize(
    "toml",
    sorted(
        str(p.relative_to(ROOT))
        for folder in ("assignments", "solutions", "tests/fixtures")
        for p in (ROOT / folder).rglob("assignment.toml")
    ),
)
def test_every_assignment_toml_of_the_project_loads(toml: str) -> None:
    assignment = load_assignment((ROOT / toml).parent)
    assert assignment.slug and assignment.exercises


def test_authoring_md_shows_the_real_defaults_of_timeouts_and_limits() -> None:
    """authoring.md's [timeouts] and [limits] example is what a file that sets none gets: an
    instructor who copies it changes nothing by accident (it once said total = 300 for 600)."""
    import dataclasses
    import tomllib

    from grader.config import Limits, Timeouts

    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    start = text.index("    [timeouts]")
    block = text[start : text.index("\n\n", text.index("    [limits]", start))]
    shown = tomllib.loads("\n".join(line[4:] for line in block.splitlines()))
    for table, cls in (("timeouts", Timeouts), ("limits", Limits)):
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        assert shown[table] == defaults, f"authoring.md's [{table}] is not the defaults of {cls.__name__}"
