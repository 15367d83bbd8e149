"""The similarity check where the batch runs: fingerprints made with each verdict and kept in the
gradebook, a late submission compared with the class on the next run, `grader similarity` on
demand (--json, --earlier), and the report's section seen in a real browser."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLASS = ROOT / "tests" / "submissions" / "similarity" / "forward-pass"
ASSIGNMENT = ROOT / "assignments" / "forward-pass"
CHROMIUM = Path("/usr/bin/chromium")


def grader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=900, cwd=ROOT
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The forward-pass similarity class graded by `grader batch`, then a late submission graded on
    a second run (a copy of pair A's notebook, handed in by another student)."""
    base = tmp_path_factory.mktemp("similarity")
    classdir, out = base / "class", base / "out"
    shutil.copytree(CLASS, classdir)
    first = grader("batch", str(classdir), "--assignment", str(ASSIGNMENT), "--out", str(out), "--no-sandbox")
    assert first.returncode == 0, first.stderr
    shutil.copy(CLASS / "pair_a_helper_functions.ipynb", classdir / "late_student.ipynb")
    second = grader("batch", str(classdir), "--assignment", str(ASSIGNMENT), "--out", str(out), "--no-sandbox")
    assert second.returncode == 0, second.stderr
    assert "graded 1 of 18 submissions" in second.stdout
    return out


@pytest.mark.slow  # two batches of a class of 17 and 18 in real kernels (about a minute here)
def test_each_verdict_keeps_its_fingerprints_and_a_late_submission_is_compared_with_the_class(graded: Path) -> None:
    with sqlite3.connect(graded / "gradebook.sqlite") as conn:
        kept = conn.execute("SELECT count(DISTINCT submission_id) FROM fingerprints").fetchone()[0]
        parts = dict(
            conn.execute(
                "SELECT f.exercise, f.tokens FROM fingerprints f JOIN submissions s "
                "ON s.id = f.submission_id WHERE s.student = 'late_student'"
            ).fetchall()
        )
    assert kept == 18
    assert set(parts) == {"neuron_sum", "neuron_mm", "two_layer"} and parts["neuron_mm"] == 86
    report = (graded / "report.html").read_text()
    assert "<b>late_student</b> and <b>pair_a_helper_functions</b>: these two share 100% of their own code" in report
    assert (
        "late_student, pair_a_helper_functions, pair_b_renamed_reordered_recommented share code with one another"
        in report
    )


@pytest.mark.slow  # uses the batches above
def test_grader_similarity_writes_the_pairs_as_json_and_compares_with_an_earlier_term(
    graded: Path, tmp_path: Path
) -> None:
    proc = grader("similarity", str(ASSIGNMENT), "--gradebook", str(graded), "--json", str(tmp_path / "pairs.json"))
    assert proc.returncode == 0, proc.stderr
    assert "18 submissions of forward-pass compared; 6 pairs share 50% or more of their own code" in proc.stdout
    rows = json.loads((tmp_path / "pairs.json").read_text())
    trio = [r for r in rows if r["exercise"] is None and r["a"].startswith("trio_1")]
    assert [(r["b"], r["a_share"], r["b_share"]) for r in trio] == [
        ("trio_2_stepwise_renamed", 1.0, 1.0),
        ("trio_3_stepwise_recommented", 1.0, 1.0),
    ]
    # next term: one student hands in pair B's notebook; the earlier term is its kept fingerprints
    nextdir, nextout = tmp_path / "next", tmp_path / "next-out"
    nextdir.mkdir()
    shutil.copy(CLASS / "pair_b_renamed_reordered_recommented.ipynb", nextdir / "newcomer.ipynb")
    shutil.copy(
        ROOT / "tests" / "submissions" / "forward-pass" / "function_defined_and_called.ipynb", nextdir / "another.ipynb"
    )
    assert (
        grader("batch", str(nextdir), "--assignment", str(ASSIGNMENT), "--out", str(nextout), "--no-sandbox").returncode
        == 0
    )
    proc = grader(
        "similarity",
        str(ASSIGNMENT),
        "--gradebook",
        str(nextout),
        "--earlier",
        str(graded),
        "--json",
        str(tmp_path / "next.json"),
    )
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in json.loads((tmp_path / "next.json").read_text()) if r["exercise"] is None]
    assert {(r["a"], r["b"], r["b_earlier"]) for r in rows} == {
        ("newcomer", "pair_b_renamed_reordered_recommented", graded.name),
        ("newcomer", "pair_a_helper_functions", graded.name),
        ("newcomer", "late_student", graded.name),
    }


@pytest.mark.slow  # uses the batches above
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_the_report_section_in_a_real_browser(graded: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto((graded / "report.html").as_uri())
        section = page.locator("#similarity")
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(tmp_path / "similarity.png"))
        first = section.locator("details.pair").first
        assert first.get_attribute("open") is not None and first.locator("mark").first.is_visible()
        assert "these two share 100% of their own code" in first.locator("summary").inner_text()
        assert section.locator("details.pair").count() == 6
        assert section.locator("#similarity-clusters li").count() == 2
        assert "neuron_sum: 9 answers of fewer than 40 tokens" in section.locator("#similarity-too-short").inner_text()
        assert (tmp_path / "similarity.png").stat().st_size > 10_000 and not errors
        browser.close()
