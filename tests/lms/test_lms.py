"""The round trip to the LMS as an instructor makes it: a Canvas (or Moodle) download graded by a
real `grader batch` under a late policy, then `grader export` into the file the LMS imports,
checked cell by cell against the file the LMS exported; and the bad input on the way."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.lms.canvas import parse_canvas_name, upload_name
from grader.lms.moodle import parse_moodle_name

ROOT = Path(__file__).resolve().parents[2]
LMS = ROOT / "tests" / "fixtures" / "lms"
BATCH = ROOT / "tests" / "fixtures" / "batch"
ROSTER = LMS / "canvas_gradebook_export.csv"
WORKSHEET = LMS / "moodle_grading_worksheet.csv"
DEADLINE = """
[deadline]
due = 2026-12-04T23:59:00-05:00
grace_minutes = 15
penalty_per_day = 10
penalty_max = 50
"""


def grader(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def by_student(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-tensors with a late policy, and the instructor's CSVs (students named by either id)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(BATCH / "assignments", root / "assignments")
    shutil.copytree(BATCH / "solutions", root / "solutions")  # the hidden check: 6 points in all
    toml = root / "assignments" / "tiny-tensors" / "assignment.toml"
    toml.write_text(toml.read_text() + DEADLINE)
    (root / "times.csv").write_text(
        "student,submitted_at\n"
        "turingalan,2026-12-06T03:00:00-05:00\n"  # the grader's id
        "12348,2026-12-06T10:00:00-05:00\n"
    )  # Barbara's Canvas id
    (root / "extensions.csv").write_text("student,due\n12348,2026-12-07T23:59:00-05:00\n")
    return root


@pytest.fixture(scope="module")
def canvas_graded(course: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = course / "canvas-out"
    proc = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        str(course / "assignments" / "tiny-tensors"),
        "--out",
        str(out),
        "--submitted-at",
        str(course / "times.csv"),
        "--extensions",
        str(course / "extensions.csv"),
        "--workers",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_canvas_names_parse() -> None:
    late = parse_canvas_name("turingalan_LATE_12346_900002_tiny-tensors.ipynb")
    assert late is not None and (late.key, late.user_id, late.attachment_id, late.late) == (
        "turingalan",
        "12346",
        900002,
        True,
    )
    assert late.filename == "tiny-tensors.ipynb"
    assert parse_canvas_name("alice.ipynb") is None
    assert upload_name("tiny-tensors-1.ipynb", {"tiny-tensors.ipynb"}) == "tiny-tensors.ipynb"
    assert upload_name("model-2.pt", {"tiny-tensors.ipynb"}) == "model-2.pt"
    moodle = parse_moodle_name("Ada Lovelace_501_assignsubmission_file_", folder=True)
    assert moodle is not None and (moodle.display_name, moodle.participant, moodle.plugin) == (
        "Ada Lovelace",
        "501",
        "file",
    )
    assert parse_moodle_name("Ada Lovelace_501_assignsubmission_file_", folder=False) is None
    flat = parse_moodle_name("Ada Lovelace_501_assignsubmission_file_tiny-tensors.ipynb", folder=False)
    assert flat is not None and (flat.participant, flat.filename) == ("501", "tiny-tensors.ipynb")


def test_cells_a_spreadsheet_would_run_are_inert() -> None:
    from grader.lms.sheet import inert

    for cell in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'):
        assert inert(cell) == "'" + cell
    for cell in ("-1.5", "+2", "-", "Ada", "4.8", 4.8, "1=1"):
        assert inert(cell) == cell


@pytest.mark.slow  # grades a Canvas download of five in real kernels (~15 s)
def test_canvas_download_graded_with_late_work(canvas_graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, proc = canvas_graded
    grades = by_student(out / "grades.csv")
    assert sorted(grades) == ["dijkstraedsger", "hoppergrace", "liskovbarbara", "lovelaceada", "turingalan"]
    # resubmitted: the second upload (right) is graded, the first (wrong) left out, and the batch says so
    assert grades["hoppergrace"]["total"] == "6.0"
    assert "hoppergrace: graded the latest upload; left out hoppergrace_12347_900003_tiny-tensors.ipynb" in proc.stderr
    alan = grades["turingalan"]
    assert (alan["submitted_at"], alan["late_by"], alan["penalty"], alan["final"]) == (
        "2026-12-06T03:00:00-05:00",
        "1 day 3 hours",
        "20%",
        "4.8",
    )
    barbara = grades["liskovbarbara"]  # late by Canvas, inside her extension
    assert (barbara["penalty"], barbara["final"], barbara["late_by"]) == ("0%", "4.0", "")
    edsger = grades["dijkstraedsger"]  # Canvas says LATE; nobody says when: flagged
    assert (edsger["submitted_at"], edsger["final"]) == ("unknown", "6.0")
    assert "1 submission(s) came in at an unknown time and get no late penalty: dijkstraedsger" in proc.stderr
    assert grades["lovelaceada"]["final"] == "6.0"
    results = json.loads((out / "results" / "turingalan.json").read_text())
    assert results["score"] == 4.8
    assert results["extra_data"]["lms"] == {"lms": "canvas", "id": "12346", "name": "turingalan"}
    page = (out / "feedback" / "turingalan.html").read_text()
    assert "submitted 1 day 3 hours late: -20%" in page and 'id="score">4.8 / 6<' in page
    report = (out / "report.html").read_text()
    assert "submitted 1 day 3 hours late: -20%" in report and "Canvas marks it late, but its time is unknown" in report


@pytest.mark.slow  # needs the graded Canvas download above
def test_canvas_import_csv_cell_by_cell(
    course: Path, canvas_graded: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, _ = canvas_graded
    target = course / "canvas-import.csv"
    proc = grader(
        "export",
        "canvas",
        str(course / "assignments" / "tiny-tensors"),
        "--gradebook",
        str(out),
        "--roster",
        str(ROSTER),
        "--out",
        str(target),
    )
    assert proc.returncode == 0, proc.stderr
    assert "column: Tiny tensors (batch fixture) (4242); 4 students matched" in proc.stderr
    assert "'dijkstraedsger' (canvas id 12349, dijkstraedsger): final 6/6" in proc.stderr  # not in the roster: listed
    before, after = rows(ROSTER.read_text()), rows(target.read_text())
    assert after[0] == before[0] and len(after) == len(before)
    column = before[0].index("Tiny tensors (batch fixture) (4242)")
    filled = {"Lovelace, Ada": "6", "Turing, Alan": "4.8", "Hopper, Grace": "6", "Liskov, Barbara": "4"}
    for old, new in zip(before, after):
        for i, (was, now) in enumerate(zip(old, new)):
            if i == column and old[0] in filled:
                assert now == filled[old[0]], old[0]
            elif was.startswith("="):
                assert now == "'" + was  # a name a spreadsheet would run: inert
            else:
                assert now == was, (old[0], before[0][i])
    assert after[1][column] == "6.00" and after[1][0] == "    Points Possible"


@pytest.mark.slow  # grades a Moodle download of three in real kernels (~12 s)
def test_moodle_download_and_worksheet(course: Path) -> None:
    out = course / "moodle-out"
    (course / "moodle-times.csv").write_text("student,submitted_at\n502,2026-12-05T01:00:00-05:00\n")
    proc = grader(
        "batch",
        str(LMS / "moodle_download"),
        "--assignment",
        str(course / "assignments" / "tiny-tensors"),
        "--out",
        str(out),
        "--lms",
        "moodle",
        "--workers",
        "2",
        "--submitted-at",
        str(course / "moodle-times.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    grades = by_student(out / "grades.csv")
    assert sorted(grades) == ["ada-lovelace", "alan-turing", "hyperlink-x-evil"]
    assert (grades["alan-turing"]["total"], grades["alan-turing"]["final"]) == ("4.0", "3.6")
    target = course / "worksheet.csv"
    proc = grader(
        "export",
        "moodle",
        str(course / "assignments" / "tiny-tensors"),
        "--gradebook",
        str(out),
        "--roster",
        str(WORKSHEET),
        "--out",
        str(target),
    )
    assert proc.returncode == 0, proc.stderr
    sheet = {r["Identifier"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
    assert sheet["Participant 501"]["Grade"] == "6"
    assert sheet["Participant 502"]["Grade"] == "3.6"
    assert sheet["Participant 502"]["Feedback comments"] == (
        "Checks: 4/6; submitted 1 hour 1 minute late: -10%; final: 3.6/6"
    )
    assert sheet["Participant 503"]["Full name"] == "'=HYPERLINK(x) Evil"
    assert sheet["Participant 504"]["Grade"] == "" and sheet["Participant 504"]["Last modified (submission)"] == "-"
    assert (
        list(csv.reader(io.StringIO(target.read_text())))[0] == list(csv.reader(io.StringIO(WORKSHEET.read_text())))[0]
    )


def notebook() -> str:
    return json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.slow  # grades three (empty) notebooks in real kernels
def test_formula_looking_ids_are_inert_in_grades_csv(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("=1+1", "@SUM(A1)", "+cmd"):
        (folder / f"{name}.ipynb").write_text(notebook())
    proc = grader(
        "batch",
        str(folder),
        "--assignment",
        str(BATCH / "assignments" / "tiny-tensors"),
        "--out",
        str(tmp_path / "out"),
        "--workers",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "fit no LMS download format" in proc.stderr
    students = [r[0] for r in rows((tmp_path / "out" / "grades.csv").read_text())[1:]]
    assert sorted(students) == ["'+cmd", "'=1+1", "'@SUM(A1)"]


def test_bad_input_says_which_line(tmp_path: Path, course: Path) -> None:
    assignment = str(course / "assignments" / "tiny-tensors")
    (tmp_path / "ext.csv").write_text("student,due\nlovelaceada,2026-12-06T00:00:00Z\nnobody,2026-12-06T00:00:00Z\n")
    proc = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        assignment,
        "--out",
        str(tmp_path / "o"),
        "--extensions",
        str(tmp_path / "ext.csv"),
    )
    assert proc.returncode == 2 and "ext.csv, line 3: no student 'nobody' in this class" in proc.stderr
    (tmp_path / "ext.csv").write_text("student,due\n12345,2026-12-06 00:00\n")
    proc = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        assignment,
        "--out",
        str(tmp_path / "o"),
        "--extensions",
        str(tmp_path / "ext.csv"),
    )
    assert (
        proc.returncode == 2
        and "line 2: due '2026-12-06 00:00' is not an ISO 8601 time with a time zone" in proc.stderr
    )
    proc = grader(
        "batch",
        str(LMS / "moodle_download"),
        "--assignment",
        assignment,
        "--out",
        str(tmp_path / "o"),
        "--lms",
        "canvas",
    )
    assert proc.returncode == 2 and "--lms canvas: no name in" in proc.stderr and "lastfirst_[LATE_]" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # needs the graded Canvas download above
def test_a_bad_roster_or_column_says_which_line(
    tmp_path: Path, course: Path, canvas_graded: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, _ = canvas_graded
    base = [
        "export",
        "canvas",
        str(course / "assignments" / "tiny-tensors"),
        "--gradebook",
        str(out),
        "--out",
        str(tmp_path / "x.csv"),
    ]
    proc = grader(*base, "--roster", str(ROSTER), "--column", "Homework 2")
    assert proc.returncode == 2 and "line 1: no column 'Homework 2'" in proc.stderr
    assert "Tiny tensors (batch fixture) (4242), Homework 1 (4101)" in proc.stderr
    broken = tmp_path / "broken.csv"
    broken.write_text(ROSTER.read_text().replace('"Turing, Alan",12346,', '"Turing, Alan,12346,', 1))
    proc = grader(*base, "--roster", str(broken))
    assert proc.returncode == 2 and "broken.csv, line " in proc.stderr and "Traceback" not in proc.stderr
    short = tmp_path / "short.csv"
    short.write_text(ROSTER.read_text().replace(",CS 101 Fall 2026,,8.00", ",CS 101 Fall 2026,8.00", 1))
    proc = grader(*base, "--roster", str(short))
    assert proc.returncode == 2 and "short.csv, line 4: 10 values, the header has 11" in proc.stderr
    proc = grader(*base, "--roster", str(WORKSHEET))
    assert proc.returncode == 2 and "line 1: not a Canvas gradebook export" in proc.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow  # grades a Canvas download of five in real kernels, then runs the batch again (~20 s)
def test_times_given_later_reach_the_gradebook_without_regrading(tmp_path: Path, course: Path) -> None:
    assignment = str(course / "assignments" / "tiny-tensors")
    out = tmp_path / "out"
    first = grader(
        "batch", str(LMS / "canvas_download"), "--assignment", assignment, "--out", str(out), "--workers", "2"
    )
    assert first.returncode == 0, first.stderr
    assert by_student(out / "grades.csv")["turingalan"]["submitted_at"] == "unknown"
    again = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        assignment,
        "--out",
        str(out),
        "--submitted-at",
        str(course / "times.csv"),
    )
    assert again.returncode == 0, again.stderr
    assert "all already in the gradebook; nothing to grade" in again.stderr
    assert by_student(out / "grades.csv")["turingalan"]["final"] == "4.8"
    proc = grader("export", "csv", assignment, "--gradebook", str(out), "--out", str(tmp_path / "final.csv"))
    assert proc.returncode == 0, proc.stderr
    final = by_student(tmp_path / "final.csv")
    assert (final["turingalan"]["final"], final["turingalan"]["late"]) == ("4.8", "submitted 1 day 3 hours late: -20%")
    assert (final["turingalan"]["lms"], final["turingalan"]["lms_id"]) == ("canvas", "12346")


@pytest.mark.slow  # regrades one notebook in a real kernel
def test_a_regrade_without_the_flags_keeps_the_times_and_extensions_it_was_given(
    tmp_path: Path, course: Path, canvas_graded: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    """The desk's regrade (and an instructor's re-run) names no --submitted-at or --extensions: the
    times and due dates the verdicts recorded stay, and so do the penalties; a run given the file
    anew says anew."""
    out = tmp_path / "out"
    shutil.copytree(canvas_graded[0], out)
    assignment = str(course / "assignments" / "tiny-tensors")
    again = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        assignment,
        "--out",
        str(out),
        "--regrade",
        "--student",
        "turingalan",
        "--student",
        "liskovbarbara",
        "--workers",
        "2",
    )
    assert again.returncode == 0, again.stderr
    assert "grading 2" in again.stderr
    grades = by_student(out / "grades.csv")
    alan, barbara = grades["turingalan"], grades["liskovbarbara"]
    assert (alan["submitted_at"], alan["late_by"], alan["penalty"], alan["final"]) == (
        "2026-12-06T03:00:00-05:00",
        "1 day 3 hours",
        "20%",
        "4.8",
    )
    assert (barbara["submitted_at"], barbara["penalty"], barbara["final"]) == ("2026-12-06T10:00:00-05:00", "0%", "4.0")
    assert json.loads((out / "results" / "turingalan.json").read_text())["score"] == 4.8
    (tmp_path / "times.csv").write_text("student,submitted_at\nturingalan,2026-12-04T20:00:00-05:00\n")
    anew = grader(
        "batch",
        str(LMS / "canvas_download"),
        "--assignment",
        assignment,
        "--out",
        str(out),
        "--submitted-at",
        str(tmp_path / "times.csv"),
    )
    assert anew.returncode == 0, anew.stderr
    grades = by_student(out / "grades.csv")
    assert (grades["turingalan"]["penalty"], grades["turingalan"]["final"]) == ("0%", "6.0")
    assert grades["liskovbarbara"]["submitted_at"] == "unknown"  # no longer listed: Canvas's LATE mark alone
    assert grades["liskovbarbara"]["final"] == "4.0"  # her extension was not given again: kept


@pytest.mark.slow  # grades three notebooks in real kernels (~12 s)
def test_nbgrader_timestamp_then_the_list_then_mtime(tmp_path: Path, course: Path) -> None:
    right = (LMS / "canvas_download" / "lovelaceada_12345_900001_tiny-tensors.ipynb").read_text()
    folder = tmp_path / "submitted"
    carol = folder / "carol" / "tiny-tensors"  # nbgrader's submitted/<student>/<assignment>/
    carol.mkdir(parents=True)
    (carol / "tiny-tensors.ipynb").write_text(right)
    (carol / "timestamp.txt").write_text("2026-12-05 05:10:00.123456 UTC\n")  # 11 minutes late: inside the grace
    (folder / "dan.ipynb").write_text(right)
    (folder / "erin.ipynb").write_text(right)
    os.utime(folder / "erin.ipynb", (1796713200, 1796713200))  # 2026-12-08T07:00:00Z: 3 days 2 hours late
    (tmp_path / "times.csv").write_text("student,submitted_at\ncarol,2026-12-01T00:00:00Z\n")  # the timestamp wins
    out = tmp_path / "out"
    proc = grader(
        "batch",
        str(folder),
        "--assignment",
        str(course / "assignments" / "tiny-tensors"),
        "--out",
        str(out),
        "--submitted-at",
        str(tmp_path / "times.csv"),
        "--times-from-mtime",
        "--workers",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    grades = by_student(out / "grades.csv")
    carol = grades["carol"]
    assert (carol["submitted_at"], carol["late_by"], carol["penalty"]) == (
        "2026-12-05T05:10:00.123456+00:00",
        "11 minutes",
        "0%",
    )
    erin = json.loads((out / "results" / "erin.json").read_text())["extra_data"]["late"]
    assert (erin["submitted_from"], erin["words"]) == ("mtime", "submitted 3 days 2 hours late: -40%")
    dan = json.loads((out / "results" / "dan.json").read_text())["extra_data"]["late"]
    assert dan["submitted_from"] == "mtime" and dan["words"].startswith("submitted ")
