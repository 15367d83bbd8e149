"""`grader batch`: a class of twenty-odd submissions, graded once per session and checked against
`grader check`; resume after SIGKILL; regrade; a Dask LocalCluster; workers that crash or hang; zips."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "batch"
ASSIGNMENT = FIXTURE / "assignments" / "tiny-tensors"
PYTHON = sys.executable

_spec = importlib.util.spec_from_file_location("batch_make_class", FIXTURE / "make_class.py")
assert _spec is not None and _spec.loader is not None
make_class_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_class_mod)
make_class = make_class_mod.make_class

# What each submission must score (out of 6) and its status: the class's ground truth.
EXPECTED = {
    "ada": ("passed", 6),
    "alan": ("passed", 6),
    "grace": ("passed", 6),
    "edsger": ("passed", 6),
    "barbara": ("passed", 6),
    "script": ("passed", 6),
    "maria": ("passed", 6),
    "nbg_student": ("passed", 6),
    "raises": ("passed", 6),  # a cell raised, yet every function is right: the checks decide
    "os_exit": ("passed", 6),
    "hostile_flood": ("passed", 6),
    "infinite_loop": ("passed", 6),
    "wrong_values": ("failed", 4),
    "relu_abs": ("failed", 3),
    "mutates": ("failed", 5),
    "float64": ("failed", 3),
    "missing_relu": ("failed", 3),
    "stub": ("failed", 0),
    "syntax_error": ("failed", 3),
    "slow_call": ("failed", 3),
    "lonely": ("failed", 4),
    "hostile_allclose": ("failed", 1),
    "truncated": ("unreadable", 0),
    "binary": ("unreadable", 0),
    "empty": ("unreadable", 0),
    "confused": ("unreadable", 0),
    "no_notebook": ("unreadable", 0),
}


def run_cli(*args: str, timeout: float = 900, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw
    )


def batch_args(submissions: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", str(submissions), "--assignment", str(ASSIGNMENT), "--out", str(out), *extra]


def log_students(stderr: str) -> list[str]:
    """Students named by the per-submission log lines: `[ 3/24] alice  6/6  passed  1.9s`."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("[") and "]" in line:
            out.append(line.split("]", 1)[1].split()[0])
    return out


def verdict_rows(db: Path) -> list[tuple[str, str, str, float]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT s.student, s.sha256, v.status, v.score FROM verdicts v "
            "JOIN submissions s ON s.id = v.submission_id ORDER BY s.student"
        ).fetchall()


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


@dataclass
class Graded:
    classdir: Path
    out: Path
    proc: subprocess.CompletedProcess[str]
    seconds: float


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("batchclass")
    classdir = base / "class"
    shows = make_class(classdir)
    assert set(shows) == set(EXPECTED)
    started = time.monotonic()
    proc = run_cli(*batch_args(classdir, base / "out", "--workers", "2"))
    return Graded(classdir, base / "out", proc, time.monotonic() - started)


# -- the whole class --------------------------------------------------------------------
def test_batch_grades_the_class_and_writes_every_output(graded_class: Graded) -> None:
    proc, out = graded_class.proc, graded_class.out
    assert proc.returncode == 0, proc.stderr
    assert "report:" in proc.stdout and str(out / "report.html") in proc.stdout
    assert sorted(log_students(proc.stderr)) == sorted(EXPECTED)  # one plain log line per submission
    for student in EXPECTED:
        assert (out / "results" / f"{student}.json").is_file()
        assert (out / "feedback" / f"{student}.html").is_file()
    rows = read_csv(out / "grades.csv")
    assert set(rows) == set(EXPECTED)
    assert list(next(iter(rows.values())))[-2:] == ["scale", "relu"]  # a column per exercise
    report = (out / "report.html").read_text()
    for ident in ("plot-scores", "plot-exercises", "plot-checks", "plot-failures", "plot-slowest"):
        assert f'id="{ident}"' in report
    assert "<script" not in report and "http://" not in report.replace("http://www.w3.org/2000/svg", "")


def test_each_verdict_is_what_the_submission_shows(graded_class: Graded) -> None:
    rows = {
        student: (status, score) for student, _sha, status, score in verdict_rows(graded_class.out / "gradebook.sqlite")
    }
    expected = {s: (st, float(sc)) for s, (st, sc) in EXPECTED.items()}
    assert rows == expected


def test_folder_problems_are_verdicts_that_say_so(graded_class: Graded) -> None:
    confused = json.loads((graded_class.out / "results" / "confused.json").read_text())
    assert "neither" not in confused["output"] and "none is named tiny-tensors.ipynb" in confused["output"]
    nothing = json.loads((graded_class.out / "results" / "no_notebook.json").read_text())
    assert "holds no notebook" in nothing["output"]
    assert all(t["status"] == "failed" and t["score"] == 0 for t in nothing["tests"])
    assert nothing["extra_data"]["max_score"] == 6


def test_gradebook_csv_and_json_agree_with_grader_check(graded_class: Graded, tmp_path: Path) -> None:
    from grader.batch.classfolder import discover
    from grader.cli.main import main as grader_main

    entries = {e.student: e for e in discover(graded_class.classdir, "tiny-tensors.ipynb")}
    book = {
        student: (sha, status, score)
        for student, sha, status, score in verdict_rows(graded_class.out / "gradebook.sqlite")
    }
    rows = read_csv(graded_class.out / "grades.csv")
    gradable = [s for s in sorted(entries) if entries[s].path is not None]
    assert len(gradable) == len(EXPECTED) - 2
    for student in gradable:
        # `grader check`, in this process (its kernels come quicker here than from a fresh command)
        results = tmp_path / f"{student}.json"
        code = grader_main(
            ["check", str(entries[student].path), "--assignment", str(ASSIGNMENT), "--results", str(results), "--quiet"]
        )
        assert code in (0, 1), student
        mine = json.loads(results.read_text())
        theirs = json.loads((graded_class.out / "results" / f"{student}.json").read_text())
        mine.pop("execution_time"), theirs.pop("execution_time")
        assert theirs == mine, student  # the same results.json, all but the time
        sha, status, score = book[student]
        assert sha == mine["extra_data"]["sha256"] == entries[student].sha256
        assert score == mine["score"] and float(rows[student]["total"]) == mine["score"]
        assert status == rows[student]["status"]
        assert (status == "passed") == (code == 0), student  # check's exit status says the same


def test_rerun_grades_nothing_and_keeps_one_verdict_each(graded_class: Graded) -> None:
    before = verdict_rows(graded_class.out / "gradebook.sqlite")
    proc = run_cli(*batch_args(graded_class.classdir, graded_class.out))
    assert proc.returncode == 0, proc.stderr
    assert "nothing to grade" in proc.stderr and log_students(proc.stderr) == []
    assert verdict_rows(graded_class.out / "gradebook.sqlite") == before


# -- resume, regrade --------------------------------------------------------------------
RESUME_CLASS = [
    "ada",
    "alan",
    "barbara",
    "edsger",
    "grace",
    "relu_abs",
    "wrong_values",
    "mutates",
    "truncated",
    "binary",
]


def test_batch_killed_half_way_resumes_with_every_verdict_once(tmp_path: Path) -> None:
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=RESUME_CLASS)
    db = out / "gradebook.sqlite"
    proc = subprocess.Popen(
        [PYTHON, "-m", "grader.cli", *batch_args(classdir, out, "--workers", "2")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    first: list = []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        if db.exists():
            try:
                first = verdict_rows(db)
            except sqlite3.OperationalError:
                continue
            if len(first) >= 3:
                break
    assert proc.poll() is None, "the batch ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    first = verdict_rows(db)
    assert 3 <= len(first) < len(RESUME_CLASS)
    again = run_cli(*batch_args(classdir, out, "--workers", "2"))
    assert again.returncode == 0, again.stderr
    resumed = log_students(again.stderr)
    assert f"{len(first)} already in the gradebook, grading {len(RESUME_CLASS) - len(first)}" in again.stderr
    assert sorted(resumed) == sorted(set(RESUME_CLASS) - {row[0] for row in first})  # only what was missing
    final = verdict_rows(db)
    assert sorted(row[0] for row in final) == sorted(RESUME_CLASS)  # each student exactly once
    assert set(first) <= set(final)  # earlier verdicts kept as they were
    assert set(read_csv(out / "grades.csv")) == set(RESUME_CLASS)
    assert all((out / "results" / f"{s}.json").is_file() for s in RESUME_CLASS)


def _batch_here(classdir: Path, out: Path, **kw) -> tuple[object, str]:
    """`grader batch` in this process (quicker than a command: its process server stays up)."""
    import io

    from grader.batch.run import BatchConfig, run_batch

    log = io.StringIO()
    summary = run_batch(BatchConfig(classdir, ASSIGNMENT, out, workers=2, **kw), log=log)
    return summary, log.getvalue()


def test_new_content_is_graded_and_regrade_replaces(tmp_path: Path) -> None:
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=["wrong_values", "binary"])
    db = tmp_path / "book.sqlite"
    url = f"sqlite:///{db}"
    first, _ = _batch_here(classdir, out, db=url)
    assert first.exit_code == 0 and first.graded == 2
    assert not (out / "gradebook.sqlite").exists()  # the gradebook is where the URL says
    (classdir / "wrong_values.ipynb").write_text(json.dumps(make_class_mod.MASTER))  # the student resubmits, fixed
    second, log = _batch_here(classdir, out, db=url)
    assert log_students(log) == ["wrong_values"]
    rows = verdict_rows(db)
    assert [r[0] for r in rows].count("wrong_values") == 2  # both contents keep their verdict (history)
    assert read_csv(out / "grades.csv")["wrong_values"]["total"] == "6.0"  # the CSV shows the current one
    third, log = _batch_here(classdir, out, db=url, regrade=True)
    assert third.exit_code == 0
    assert sorted(log_students(log)) == ["binary", "wrong_values"]
    assert len(verdict_rows(db)) == 3  # replaced, not duplicated
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM checks").fetchone()[0] == 3 * 4


def test_verdicts_made_with_other_checks_are_regraded_or_kept_and_marked(tmp_path: Path) -> None:
    import shutil

    from grader.batch.run import BatchConfig, run_batch

    course = tmp_path / "course"
    for part in ("assignments", "solutions"):
        shutil.copytree(FIXTURE / part, course / part)
    assignment = course / "assignments" / "tiny-tensors"
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=["wrong_values", "binary"])

    def batch(**kw) -> tuple[object, str]:
        import io

        log = io.StringIO()
        return run_batch(BatchConfig(classdir, assignment, out, workers=2, **kw), log=log), log.getvalue()

    first, _ = batch()
    assert first.graded == 2 and read_csv(out / "grades.csv")["wrong_values"]["max_score"] == "6.0"
    check = assignment / "checks" / "test_relu.py"
    check.write_text(check.read_text().replace("@pytest.mark.points(2)", "@pytest.mark.points(4)", 1))
    second, log = batch()  # a check's points changed: both verdicts are stale
    assert "2 verdicts in the gradebook were made with other checks" in log and "grading them again" in log
    assert second.stale == 2 and second.graded == 2 and sorted(log_students(log)) == ["binary", "wrong_values"]
    rows = read_csv(out / "grades.csv")
    assert rows["wrong_values"]["max_score"] == "8.0" and rows["wrong_values"]["stale"] == ""
    third, log = batch()  # the same checks: nothing to do
    assert third.stale == 0 and third.graded == 0 and "all already in the gradebook" in log
    check.write_text(check.read_text().replace("@pytest.mark.points(4)", "@pytest.mark.points(3)", 1))
    kept, log = batch(keep_stale=True)
    assert kept.stale == 2 and kept.graded == 0 and "kept (--keep-stale)" in log
    rows = read_csv(out / "grades.csv")
    assert rows["wrong_values"]["stale"] == "yes" and rows["wrong_values"]["max_score"] == "8.0"
    report = (out / "report.html").read_text()
    assert "2 verdicts made with other checks than the current ones" in report
    assert report.count("stale: graded with other checks than the current ones") == 2


# -- a Dask cluster ---------------------------------------------------------------------
CLUSTER_CLASS = ["ada", "relu_abs", "hostile_allclose", "script", "maria", "confused", "truncated", "lonely"]
FAULTS = ("crash", "hang", "bug", "fine", "grader_fault")


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import dask

    # a task that kills its worker is retried once elsewhere, then recorded (dask's default: 3 retries)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as local:
            yield local


@pytest.mark.slow
def test_local_cluster_gives_the_same_grades(graded_class: Graded, cluster, tmp_path: Path) -> None:
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=CLUSTER_CLASS)
    proc = run_cli(*batch_args(classdir, out, "--scheduler", cluster.scheduler_address))
    assert proc.returncode == 0, proc.stderr
    assert "Dask cluster" in proc.stderr
    local, remote = read_csv(graded_class.out / "grades.csv"), read_csv(out / "grades.csv")
    assert set(remote) == set(CLUSTER_CLASS)
    for student in CLUSTER_CLASS:
        assert remote[student] == local[student], student
        assert (
            json.loads((out / "results" / f"{student}.json").read_text())["tests"]
            == json.loads((graded_class.out / "results" / f"{student}.json").read_text())["tests"]
        )


def _fault_class(tmp_path: Path) -> Path:
    classdir = tmp_path / "class"
    classdir.mkdir()
    for name in FAULTS:
        (classdir / f"{name}.ipynb").write_text(json.dumps(make_class_mod.MASTER))
    return classdir


def _assert_fault_verdicts(out: Path, summary) -> None:
    rows = read_csv(out / "grades.csv")
    assert {s: r["status"] for s, r in rows.items()} == {
        "crash": "crashed",
        "hang": "timeout",
        "bug": "crashed",
        "fine": "passed",
        "grader_fault": "not graded",
    }
    assert (
        rows["crash"]["total"] == "0.0" and rows["crash"]["max_score"] == "6.0"
    )  # every check failed, with the reason
    hang = json.loads((out / "results" / "hang.json").read_text())
    assert "longer than" in hang["output"]
    bug = json.loads((out / "results" / "bug.json").read_text())
    assert "RuntimeError: a bug in the grader" in bug["output"]
    assert summary.exit_code == 2 and list(summary.grader_errors) == ["grader_fault"]  # a grader fault is no verdict
    assert not (out / "results" / "grader_fault.json").exists()


@pytest.mark.slow
def test_on_a_cluster_a_task_that_kills_or_hangs_its_worker_is_a_verdict(cluster, tmp_path: Path) -> None:
    from grader.batch.run import BatchConfig, run_batch

    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        summary = run_batch(
            BatchConfig(
                _fault_class(tmp_path),
                ASSIGNMENT,
                tmp_path / "out",
                time_limit=3.0,
                scheduler=cluster.scheduler_address,
                grade_fn=f"{FIXTURE / 'faults.py'}:grade",
            ),
            log=fh,
        )
    _assert_fault_verdicts(tmp_path / "out", summary)
    assert (
        "worker grading it failed: KilledWorker"
        in json.loads((tmp_path / "out" / "results" / "crash.json").read_text())["output"]
    )


# -- workers that crash or hang ---------------------------------------------------------
def test_a_worker_that_crashes_or_hangs_is_a_verdict_and_the_batch_goes_on(tmp_path: Path) -> None:
    from grader.batch.run import BatchConfig, run_batch

    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        summary = run_batch(
            BatchConfig(
                _fault_class(tmp_path),
                ASSIGNMENT,
                tmp_path / "out",
                workers=2,
                time_limit=3.0,
                grade_fn=f"{FIXTURE / 'faults.py'}:grade",
            ),
            log=fh,
        )
    _assert_fault_verdicts(tmp_path / "out", summary)
    crash = json.loads((tmp_path / "out" / "results" / "crash.json").read_text())
    assert "died: exit status 7" in crash["output"]


def test_watchdog_kills_the_kernels_of_its_process(tmp_path: Path) -> None:
    from grader.batch.tasks import Watchdog, kernel_children

    fake = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(60)", "ipykernel_launcher"], start_new_session=True)
    try:
        assert fake.pid in kernel_children()
        with Watchdog(0.3) as dog:
            fake.wait(timeout=10)
        assert dog.fired and fake.returncode == -signal.SIGKILL
    finally:
        if fake.poll() is None:
            fake.kill()


# -- finding submissions ----------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return path


def test_zip_is_extracted_safely_and_unwrapped(tmp_path: Path) -> None:
    from grader.batch.classfolder import opened

    nb = json.dumps(make_class_mod.MASTER).encode()
    archive = _zip(
        tmp_path / "class.zip",
        {
            "export/ada.ipynb": nb,
            "export/bob/tiny-tensors.ipynb": nb,
            "export/bob/scratch.ipynb": b"{}",
            "../evil.ipynb": nb,
            "/abs.ipynb": nb,
            "export/../../up.ipynb": nb,
            "__MACOSX/export/._ada.ipynb": b"x",
        },
        links={"export/link.ipynb": "/etc/passwd"},
    )
    with opened(archive, "tiny-tensors.ipynb") as (entries, warnings):
        assert [e.student for e in entries] == ["ada", "bob"]
        assert entries[0].source == "class.zip:export/ada.ipynb"
        assert entries[1].source == "class.zip:export/bob/tiny-tensors.ipynb"
        root = entries[0].path.parent
        assert len(warnings) == 4 and all("refused" in w for w in warnings)
        assert not any(p.is_symlink() for p in root.rglob("*"))
    assert not root.exists()  # the temporary folder is gone
    assert not (tmp_path / "evil.ipynb").exists() and not Path("/abs.ipynb").exists()


def test_zip_of_a_class_is_graded_like_its_folder(tmp_path: Path) -> None:
    classdir = tmp_path / "class"
    make_class(classdir, only=["truncated", "binary", "confused"])  # no kernel needed: quick
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(classdir.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(classdir))
    proc = run_cli(*batch_args(archive, tmp_path / "out", "--workers", "2"))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert {s: r["status"] for s, r in rows.items()} == {
        "truncated": "unreadable",
        "binary": "unreadable",
        "confused": "unreadable",
    }
    page = (tmp_path / "out" / "feedback" / "truncated.html").read_text()
    assert "class.zip:truncated.ipynb" in page


def test_zip_of_student_zips_is_unwrapped_and_each_student_graded(tmp_path: Path) -> None:
    # an LMS export zipped once more: class.zip holds export/, which holds one zip per student
    # (batch.md: a zip whose only top-level entry is a folder of submissions is unwrapped)
    made = tmp_path / "made"
    make_class(made, only=["ada", "wrong_values"])
    student_zips = {
        "ada": _zip(tmp_path / "ada.zip", {"tiny-tensors.ipynb": (made / "ada.ipynb").read_bytes()}),
        "bob": _zip(tmp_path / "bob.zip", {"bob/tiny-tensors.ipynb": (made / "wrong_values.ipynb").read_bytes()}),
    }
    archive = _zip(
        tmp_path / "class.zip", {f"export/{name}.zip": path.read_bytes() for name, path in student_zips.items()}
    )
    proc = run_cli(*batch_args(archive, tmp_path / "out", "--workers", "2"))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert {s: (r["status"], r["total"]) for s, r in rows.items()} == {
        "ada": ("passed", "6.0"),
        "bob": ("failed", "4.0"),
    }
    assert "class.zip:export/bob.zip" in (tmp_path / "out" / "feedback" / "bob.html").read_text()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run_cli(*batch_args(tmp_path / "nope", tmp_path / "out"))
    assert missing.returncode == 2 and "no such folder or zip" in missing.stderr
    no_assignment = run_cli("batch", str(tmp_path), "--assignment", str(tmp_path), "--out", str(tmp_path / "o"))
    assert no_assignment.returncode == 2 and "assignment.toml is missing" in no_assignment.stderr
    bad_db = run_cli(*batch_args(tmp_path, tmp_path / "out", "--db", "nosuchdb://x"))
    assert bad_db.returncode == 2 and "gradebook" in bad_db.stderr
    help_text = run_cli("batch", "--help").stdout
    for flag in ("--assignment", "--out", "--workers", "--db", "--scheduler", "--regrade", "Exit status"):
        assert flag in help_text


def test_out_inside_the_class_folder_is_no_student(tmp_path: Path) -> None:
    from grader.batch.classfolder import discover

    (tmp_path / "out" / "results").mkdir(parents=True)
    (tmp_path / "ada.ipynb").write_text("{}")
    assert [e.student for e in discover(tmp_path, "x.ipynb", exclude=(tmp_path / "out",))] == ["ada"]


def test_gradebook_keeps_one_verdict_per_submission(tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook
    from grader.results import CheckResult, Result

    book = Gradebook(f"sqlite:///{tmp_path / 'g.sqlite'}")
    result = Result(
        submission="a.ipynb",
        assignment="a1",
        score=1,
        max_score=2,
        checks=[
            CheckResult(name="t1", exercise="e", points=1, score=1, status="passed"),
            CheckResult(name="t2", exercise="e", points=1, score=0, status="failed", message="no"),
        ],
    )
    key = dict(assignment="a1", student="ada", sha256="0" * 64, source="a.ipynb")
    assert book.record(**key, status="failed", result=result)
    assert not book.record(**key, status="failed", result=result)  # never twice
    assert book.graded("a1") == {("ada", "0" * 64)} and book.graded("other") == set()
    result.score = 2
    assert book.record(**key, status="passed", result=result, replace=True)  # --regrade replaces
    stored = book.verdicts_of("a1")[("ada", "0" * 64)]
    assert (stored.status, stored.score, stored.result.score) == ("passed", 2.0, 2)
    assert (book.count("verdicts"), book.count("submissions"), book.count("checks")) == (1, 1, 2)
    book.close()


def test_a_grader_that_cannot_run_stops_the_batch(tmp_path: Path) -> None:
    from grader.batch.run import BatchConfig, run_batch
    from grader.errors import GraderError

    classdir = tmp_path / "class"
    for i in range(6):  # faults.py fails (a grader fault) on every notebook named grader_fault
        (classdir / f"s{i}").mkdir(parents=True)
        (classdir / f"s{i}" / "grader_fault.ipynb").write_text(json.dumps(make_class_mod.MASTER))
    with (
        open(tmp_path / "log.txt", "w") as fh,
        pytest.raises(
            GraderError,
            match=r"failed the same way on 3 submissions \(on each of its 3 tries\) and graded none: "
            r"the kernel could not be started \(simulated\)",
        ),
    ):
        run_batch(
            BatchConfig(classdir, ASSIGNMENT, tmp_path / "out", workers=1, grade_fn=f"{FIXTURE / 'faults.py'}:grade"),
            log=fh,
        )
    log = (tmp_path / "log.txt").read_text()
    assert "[3/6]" in log and "[4/6]" not in log
    assert log.count("trying it again") == 6  # a kernel that did not start: each tried 3 times


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
@pytest.mark.parametrize("students", [2, 4])
def test_device_cuda_without_a_gpu_says_what_to_do_not_retry(tmp_path: Path, students: int) -> None:
    """`grader batch --device cuda` on a machine without CUDA: the advice is `grader check`'s
    (--device auto or cpu), never "run the same command again to retry them" (it would fail the
    same way); with more than three submissions the batch stops after the third."""
    classdir = tmp_path / "class"
    classdir.mkdir()
    for i in range(students):
        (classdir / f"s{i}.ipynb").write_text(json.dumps(make_class_mod.MASTER))
    proc = run_cli(*batch_args(classdir, tmp_path / "out", "--device", "cuda", "--workers", "1"), timeout=300)
    assert proc.returncode == 2
    assert "sees no CUDA device" in proc.stderr
    assert "use --device auto (the best device present) or --device cpu" in proc.stderr
    assert "retry them" not in proc.stderr and "Traceback" not in proc.stderr
    if students > 3:
        assert "failed the same way on 3 submissions and graded none" in proc.stderr
        assert "[3/4]" in proc.stderr and "[4/4]" not in proc.stderr


def test_a_class_of_one_is_one_submission(tmp_path: Path) -> None:
    classdir = tmp_path / "class"
    classdir.mkdir()
    (classdir / "ada.ipynb").write_text(json.dumps(make_class_mod.MASTER))
    proc = run_cli(*batch_args(classdir, tmp_path / "out", "--workers", "1"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "1 submission of tiny-tensors:" in proc.stderr and "graded 1 of 1 submission in" in proc.stdout
    assert "submissions" not in proc.stdout + proc.stderr
