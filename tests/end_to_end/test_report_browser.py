"""report.html in a real browser (Debian's chromium, headless): it renders, the plots are in the
DOM, a screenshot is taken, and the console stays clean."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.feedback.classstats import ClassRow
from grader.feedback.report import render_report
from grader.results import CheckResult, Result

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "tests" / "fixtures" / "batch" / "assignments" / "tiny-tensors"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PLOTS = ("plot-scores", "plot-statuses", "plot-exercises", "plot-checks", "plot-failures", "plot-slowest")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium on PATH (apt-get install chromium; .ci/run does)"),
]


def _check(name: str, exercise: str, points: float, ok: bool, message: str = "", hidden: bool = False) -> CheckResult:
    return CheckResult(
        name=name,
        exercise=exercise,
        points=points,
        score=points if ok else 0.0,
        status="passed" if ok else "failed",
        hidden=hidden,
        message="Passed." if ok else message,
    )


def _class() -> list[ClassRow]:
    """A class of 14: a spread of scores, every status, and a message that tries to inject markup."""
    rows = []
    wrong_shape = "relu returned shape (4,) but (4, 4) was expected; keep the input's shape."
    for i in range(14):
        scale_ok, relu_ok, keep_ok = i % 3 != 0, i % 4 != 1, i % 5 != 2
        checks = [
            _check("test_scale_values", "scale", 2, scale_ok, "scale(x, 3.0) is wrong at 12 of 12 values."),
            _check(
                "test_scale_keeps_input",
                "scale",
                1,
                keep_ok,
                "scale changed its input x in place; return a new tensor.",
            ),
            _check(
                "test_relu_values",
                "relu",
                2,
                relu_ok,
                wrong_shape if i % 8 == 5 else "<script>alert('x')</script> values differ",
            ),
            _check("test_relu_zero_is_zero", "relu", 1, relu_ok, "hidden detail", hidden=True),
        ]
        score = sum(c.score for c in checks)
        result = Result(
            submission=f"class/s{i:02}.ipynb",
            assignment="tiny-tensors",
            checks=checks,
            score=score,
            max_score=6,
            exercises={"scale": "Scale a tensor", "relu": "ReLU by hand"},
            execution_time=2.0 + (i * 7 % 11) / 3,
        )
        rows.append(
            ClassRow(
                f"student{i:02}", result.status, result, result.submission, feedback=f"feedback/student{i:02}.html"
            )
        )
    for status, reason in (
        ("unreadable", "The notebook file is truncated: its JSON ends early."),
        ("crashed", "Grading stopped: the worker grading it died: killed by SIGKILL (out of memory?)."),
        ("timeout", "Grading this submission took longer than 210 s."),
    ):
        result = Result(
            submission=f"class/{status}.ipynb",
            assignment="tiny-tensors",
            max_score=6,
            errors=[reason],
            readable=status != "unreadable",
            exercises={"scale": "Scale a tensor", "relu": "ReLU by hand"},
            checks=[_check("test_scale_values", "scale", 2, False, f"Not graded: {reason}")],
        )
        rows.append(ClassRow(status, status, result, result.submission, feedback=f"feedback/{status}.html"))
    rows.append(ClassRow("nobody", "not graded", None, "class/nobody.ipynb"))
    return rows


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(profile)},
    )


def test_report_renders_in_chromium_with_its_plots(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text(render_report(load_assignment(ASSIGNMENT), _class()), encoding="utf-8")
    shot = tmp_path / "report.png"
    proc = _chromium(
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        "--enable-logging=stderr",
        "--v=0",
        report.as_uri(),
        profile=tmp_path / "profile1",
    )
    assert shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    dom = _chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile2").stdout
    for ident in PLOTS:
        assert f'id="{ident}"' in dom, ident
    assert dom.count("<rect") > 40  # the bars are there, not empty frames
    assert "<script>alert" not in dom and "&lt;script&gt;alert" in dom  # student text is escaped
    assert "hidden detail" not in dom  # hidden checks show their public message only
    assert dom.count('class="student ') == 18
