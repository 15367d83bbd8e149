"""A submission is read once per grade: `grader check` reads the notebook for its slug and grades
those same bytes, whose sha256 is the verdict's."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

import grader.checking
from grader.checking import check_notebook
from grader.submission.notebook import read_submission
from grader.results import Result

ROOT = Path(__file__).resolve().parents[2]


def count_opens(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    opened: list[str] = []
    real = io.open

    def counting(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() == path.resolve():
            opened.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting)
    monkeypatch.setattr(io, "open", counting)
    return opened


def test_grader_check_reads_the_notebook_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "mine.ipynb"
    notebook.write_text(
        json.dumps(
            {"cells": [], "metadata": {"grader": {"slug": "neural-net-basics"}}, "nbformat": 4, "nbformat_minor": 5}
        )
    )
    graded: list[Any] = []

    def fake_grade(path: Path, assignment: Any, options: Any, *, submission: Any = None) -> Result:
        graded.append(submission)
        return Result(submission=str(path), assignment=assignment.slug, sha256=submission.sha256)

    monkeypatch.setattr(grader.checking, "grade", fake_grade)
    monkeypatch.chdir(ROOT)  # the slug is found under ./assignments
    opened = count_opens(monkeypatch, notebook)
    result, assignment = check_notebook(notebook)
    assert assignment.slug == "neural-net-basics"
    assert len(opened) == 1
    assert graded[0] is not None and result.sha256 == hashlib.sha256(notebook.read_bytes()).hexdigest()


def test_read_submission_opens_the_file_once_and_hashes_all_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tmp_path / "big.ipynb"
    notebook.write_bytes(b"{" + b" " * (3 << 20))
    monkeypatch.setattr("grader.submission.notebook.MAX_BYTES", 1 << 20)
    opened = count_opens(monkeypatch, notebook)
    submission = read_submission(notebook)
    assert len(opened) == 1
    assert not submission.readable and "larger than" in submission.problems[0]
    assert submission.sha256 == hashlib.sha256(notebook.read_bytes()).hexdigest()
