"""The gradebook on a real PostgreSQL (a throwaway server: the `postgres_server` fixture in
conftest.py, tests/pg_server.py): `grader batch --db postgresql://...` gives the grades SQLite
gives; killed with SIGKILL half-way and run again, every verdict once; `--regrade`; two batches
grading two halves of one class into one gradebook at the same time; writers racing on one
submission; the tables as docs/batch.md lists them. Skipped, with the reason, where PostgreSQL
or psycopg is missing."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from test_batch import (
    ASSIGNMENT,
    EXPECTED,
    PYTHON,
    RESUME_CLASS,
    ROOT,
    batch_args,
    log_students,
    make_class,
    make_class_mod,
    read_csv,
    run_cli,
    verdict_rows,
)

VERDICTS = (
    "SELECT s.student, s.sha256, v.status, v.score FROM verdicts v "
    "JOIN submissions s ON s.id = v.submission_id ORDER BY s.student"
)
CHECKS = (
    "SELECT s.student, c.exercise, c.name, c.hidden, c.points, c.score, c.status, c.message FROM checks c "
    "JOIN verdicts v ON v.id = c.verdict_id JOIN submissions s ON s.id = v.submission_id "
    "ORDER BY s.student, c.name"
)

# right, wrong, hostile, unreadable, folders; quick ones (no endless cells, no sleeping calls)
PG_CLASS = [
    "ada",
    "alan",
    "maria",
    "wrong_values",
    "relu_abs",
    "mutates",
    "float64",
    "stub",
    "raises",
    "hostile_allclose",
    "truncated",
    "binary",
    "confused",
    "no_notebook",
]
# relu raises with a NUL character in its message: PostgreSQL text refuses NUL, SQLite takes it
NUL_STUDENT = "nul_message"
NUL_RELU = 'def relu(x):\n    raise ValueError("bad\\x00byte")'


def add_nul_student(classdir: Path) -> None:
    nb = make_class_mod.notebook(make_class_mod.IMPORTS, make_class_mod.SCALE, NUL_RELU)
    (classdir / f"{NUL_STUDENT}.ipynb").write_text(json.dumps(nb))


def pg_rows(server, database: str, query: str = VERDICTS) -> list[tuple]:
    with server.connect(database) as conn:
        return [tuple(row) for row in conn.execute(query).fetchall()]


@pytest.fixture
def pg_url(postgres_server) -> tuple[str, str]:
    """A fresh, empty database on the session's server: (its name, its URL)."""
    name = postgres_server.new_database()
    return name, postgres_server.url(name)


# -- the same grades as SQLite ----------------------------------------------------------
@pytest.mark.slow
def test_batch_on_postgresql_gives_the_grades_sqlite_gives(postgres_server, pg_url, tmp_path: Path) -> None:
    database, url = pg_url
    classdir = tmp_path / "class"
    make_class(classdir, only=PG_CLASS)
    add_nul_student(classdir)
    on_pg = run_cli(*batch_args(classdir, tmp_path / "pg", "--workers", "2", "--db", url))
    assert on_pg.returncode == 0, on_pg.stderr
    assert f"gradebook: postgresql://grader@/{database}" in on_pg.stdout
    assert not (tmp_path / "pg" / "gradebook.sqlite").exists()
    on_sqlite = run_cli(*batch_args(classdir, tmp_path / "sqlite", "--workers", "2"))
    assert on_sqlite.returncode == 0, on_sqlite.stderr

    expected = {s: (st, float(sc)) for s, (st, sc) in EXPECTED.items() if s in PG_CLASS}
    expected[NUL_STUDENT] = ("failed", 3.0)  # scale right, relu raises
    pg, lite = pg_rows(postgres_server, database), verdict_rows(tmp_path / "sqlite" / "gradebook.sqlite")
    assert {student: (status, score) for student, _sha, status, score in pg} == expected
    assert pg == lite  # students, contents, statuses, scores
    with sqlite3.connect(tmp_path / "sqlite" / "gradebook.sqlite") as conn:
        lite_checks = [tuple(r[:3]) + (bool(r[3]),) + tuple(r[4:]) for r in conn.execute(CHECKS).fetchall()]
    pg_checks = pg_rows(postgres_server, database, CHECKS)
    assert len(pg_checks) == 4 * len(expected) and pg_checks == lite_checks  # every check, word for word
    nul_checks = [row[-1] for row in pg_checks if row[0] == NUL_STUDENT and row[6] == "failed"]
    assert nul_checks and all("bad\ufffdbyte" in message for message in nul_checks)

    assert read_csv(tmp_path / "pg" / "grades.csv") == read_csv(tmp_path / "sqlite" / "grades.csv")
    for student in expected:
        mine, theirs = (
            json.loads((tmp_path / side / "results" / f"{student}.json").read_text()) for side in ("pg", "sqlite")
        )
        mine.pop("execution_time"), theirs.pop("execution_time")
        assert mine == theirs, student
    # the student's own feedback keeps the exact message (result_json holds the whole verdict)
    nul_json = (tmp_path / "pg" / "results" / f"{NUL_STUDENT}.json").read_text()
    assert "bad\\u0000byte" in nul_json


def test_a_database_that_cannot_be_opened_is_a_message_without_the_password(postgres_server, tmp_path: Path) -> None:
    classdir = tmp_path / "class"
    make_class(classdir, only=["truncated"])
    url = f"postgresql://grader:s3cret@/no_such_db?host={postgres_server.root}"
    proc = run_cli(*batch_args(classdir, tmp_path / "out", "--db", url), timeout=300)
    assert proc.returncode == 2
    assert "cannot open the gradebook postgresql://grader:***@/no_such_db" in proc.stderr
    assert 'database "no_such_db" does not exist' in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


# -- resume after SIGKILL, regrade ------------------------------------------------------
def _count_verdicts(server, database: str) -> int:
    import psycopg

    try:
        return len(pg_rows(server, database))
    except psycopg.errors.UndefinedTable:  # the batch has not created the tables yet
        return 0


@pytest.mark.slow
def test_batch_killed_half_way_resumes_with_every_verdict_once(postgres_server, pg_url, tmp_path: Path) -> None:
    database, url = pg_url
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=RESUME_CLASS)
    proc = subprocess.Popen(
        [PYTHON, "-m", "grader.cli", *batch_args(classdir, out, "--workers", "2", "--db", url)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None and _count_verdicts(postgres_server, database) < 3:
        time.sleep(0.3)
    assert proc.poll() is None, "the batch ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    first = pg_rows(postgres_server, database)
    assert 3 <= len(first) < len(RESUME_CLASS)
    again = run_cli(*batch_args(classdir, out, "--workers", "2", "--db", url))
    assert again.returncode == 0, again.stderr
    assert f"{len(first)} already in the gradebook, grading {len(RESUME_CLASS) - len(first)}" in again.stderr
    assert sorted(log_students(again.stderr)) == sorted(set(RESUME_CLASS) - {row[0] for row in first})
    final = pg_rows(postgres_server, database)
    assert sorted(row[0] for row in final) == sorted(RESUME_CLASS)  # each student exactly once
    assert set(first) <= set(final)  # earlier verdicts kept
    assert {row[0]: (row[2], row[3]) for row in final} == {
        s: (EXPECTED[s][0], float(EXPECTED[s][1])) for s in RESUME_CLASS
    }
    counts = pg_rows(
        postgres_server,
        database,
        "SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM verdicts), (SELECT count(*) FROM checks)",
    )
    assert counts == [(len(RESUME_CLASS), len(RESUME_CLASS), 4 * len(RESUME_CLASS))]  # no half-written verdict
    assert set(read_csv(out / "grades.csv")) == set(RESUME_CLASS)


def _batch_here(classdir: Path, out: Path, url: str, **kw) -> tuple[object, str]:
    import io

    from grader.batch.run import BatchConfig, run_batch

    log = io.StringIO()
    summary = run_batch(BatchConfig(classdir, ASSIGNMENT, out, workers=2, db=url, **kw), log=log)
    return summary, log.getvalue()


@pytest.mark.slow
def test_new_content_is_graded_and_regrade_replaces(postgres_server, pg_url, tmp_path: Path) -> None:
    database, url = pg_url
    classdir, out = tmp_path / "class", tmp_path / "out"
    make_class(classdir, only=["wrong_values", "binary"])
    first, _ = _batch_here(classdir, out, url)
    assert first.exit_code == 0 and first.graded == 2
    (classdir / "wrong_values.ipynb").write_text(json.dumps(make_class_mod.MASTER))  # the student resubmits, fixed
    second, log = _batch_here(classdir, out, url)
    assert log_students(log) == ["wrong_values"]
    rows = pg_rows(postgres_server, database)
    assert sorted((r[0], r[2], r[3]) for r in rows) == [
        ("binary", "unreadable", 0.0),
        ("wrong_values", "failed", 4.0),
        ("wrong_values", "passed", 6.0),
    ]  # history kept
    assert read_csv(out / "grades.csv")["wrong_values"]["total"] == "6.0"
    before = pg_rows(postgres_server, database, "SELECT v.id, v.graded_at FROM verdicts v ORDER BY v.id")
    third, log = _batch_here(classdir, out, url, regrade=True)
    assert third.exit_code == 0 and third.graded == 2
    assert sorted(log_students(log)) == ["binary", "wrong_values"]
    after = pg_rows(postgres_server, database)
    assert len(after) == 3 and sorted(after) == sorted(rows)  # replaced, not duplicated
    replaced = pg_rows(postgres_server, database, "SELECT v.id, v.graded_at FROM verdicts v ORDER BY v.id")
    assert len({vid for vid, _ in replaced} - {vid for vid, _ in before}) == 2  # the two current ones are new rows
    assert pg_rows(postgres_server, database, "SELECT count(*) FROM checks") == [(3 * 4,)]


# -- two batches at once ----------------------------------------------------------------
HALVES = (
    ["ada", "wrong_values", "relu_abs", "stub", "maria"],
    ["alan", "mutates", "float64", "hostile_allclose", "no_notebook"],
)
BOTH = ["truncated", "binary", "confused"]  # in both halves: both batches write them at the start


def _graded_count(stdout: str) -> int:
    match = re.search(r"^graded (\d+) of \d+ submissions", stdout, re.M)
    assert match, stdout
    return int(match.group(1))


@pytest.mark.slow
def test_two_batches_grade_two_halves_into_one_gradebook_at_once(postgres_server, pg_url, tmp_path: Path) -> None:
    database, url = pg_url  # empty: the two batches also race to create the tables
    whole = HALVES[0] + HALVES[1] + BOTH
    make_class(tmp_path / "class", only=whole)
    for i, half in enumerate(HALVES):
        make_class(tmp_path / f"half{i}", only=half + BOTH)
    procs = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "grader.cli",
                *batch_args(tmp_path / f"half{i}", tmp_path / f"out{i}", "--workers", "1", "--db", url),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [proc.communicate(timeout=900) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr
    assert sum(_graded_count(stdout) for stdout, _ in outputs) == len(whole)  # each verdict written by one of them
    rows = pg_rows(postgres_server, database)
    assert sorted(row[0] for row in rows) == sorted(whole)  # no duplicate, none lost
    expected = {s: (EXPECTED[s][0], float(EXPECTED[s][1])) for s in whole}
    assert {row[0]: (row[2], row[3]) for row in rows} == expected
    per_verdict = pg_rows(
        postgres_server,
        database,
        "SELECT v.id, count(c.id) FROM verdicts v LEFT JOIN checks c ON c.verdict_id = v.id GROUP BY v.id",
    )
    assert sorted(n for _, n in per_verdict) == [4] * len(whole)  # every verdict whole
    assert pg_rows(postgres_server, database, "SELECT count(*) FROM submissions") == [(len(whole),)]
    for i, half in enumerate(HALVES):
        assert set(read_csv(tmp_path / f"out{i}" / "grades.csv")) == set(half + BOTH)
    # the whole class against the same gradebook: nothing left to grade, every grade there
    again = run_cli(*batch_args(tmp_path / "class", tmp_path / "whole", "--db", url))
    assert again.returncode == 0, again.stderr
    assert "all already in the gradebook; nothing to grade" in again.stderr
    grades = read_csv(tmp_path / "whole" / "grades.csv")
    assert {s: (r["status"], float(r["total"])) for s, r in grades.items()} == expected


# -- the gradebook itself ---------------------------------------------------------------
def _result(score: float):
    from grader.results import CheckResult, Result

    return Result(
        submission="a.ipynb",
        assignment="a1",
        score=score,
        max_score=2,
        checks=[
            CheckResult(name="t1", exercise="e", points=1, score=1, status="passed"),
            CheckResult(name="t2", exercise="e", points=1, score=score - 1, status="failed" if score < 2 else "passed"),
        ],
    )


def _at_once(n: int, work) -> list[object]:
    """`work(i)` in n threads released together; what each returned or raised."""
    barrier, out = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = work(i)
        except Exception as exc:  # reported by the assertion
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_writers_racing_on_one_submission_leave_one_whole_verdict(backend: str, request, tmp_path: Path) -> None:
    from grader.batch.gradebook import Gradebook

    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        url = server.url(server.new_database())
    else:
        url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    key = dict(assignment="a1", student="ada", sha256="0" * 64, source="a.ipynb")

    def open_and_record(i: int, replace: bool) -> bool:
        book = Gradebook(url)  # the first eight also race to create the tables
        try:
            return book.record(**key, status="failed", result=_result(1 + (i % 2)), replace=replace)
        finally:
            book.close()

    first = _at_once(8, lambda i: open_and_record(i, False))
    assert sorted(first, key=repr) == [False] * 7 + [True]  # one wrote it; the others were told it exists
    again = _at_once(8, lambda i: open_and_record(i, True))
    assert again == [True] * 8  # every --regrade writer replaced it, none crashed
    book = Gradebook(url)
    assert (book.count("submissions"), book.count("verdicts"), book.count("checks")) == (1, 1, 2)
    stored = book.verdicts_of("a1")[("ada", "0" * 64)]
    assert stored.graded_at.tzinfo is not None  # aware, on both
    assert [c.score for c in stored.result.checks] == [1, stored.result.score - 1]  # the checks of the verdict kept
    book.close()


def test_tables_are_the_ones_docs_batch_md_lists(postgres_server, pg_url) -> None:
    from grader.batch.gradebook import Gradebook

    database, url = pg_url
    Gradebook(url).close()
    columns: dict[str, list[str]] = {}
    for table, column in pg_rows(
        postgres_server,
        database,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    ):
        columns.setdefault(table, []).append(column)
    documented = {}
    for name, cols in re.findall(r"^- `(\w+)\(([^)]*)\)`", (ROOT / "docs" / "batch.md").read_text(), re.M):
        documented[name] = [c.split()[0] for c in cols.split(", ")]
    assert documented == columns


def test_a_role_with_the_documented_grants_can_write_verdicts(postgres_server, pg_url) -> None:
    """docs/batch.md: once the tables exist, a role needs only these grants (no ownership, no CREATE)."""
    from grader.batch.gradebook import Gradebook

    database, url = pg_url
    Gradebook(url).close()  # the owner creates the tables
    role = f"ta_{database[-8:]}"
    grants = re.search(r"```sql\n(GRANT.*?)```", (ROOT / "docs" / "batch.md").read_text(), re.S)
    assert grants, "docs/batch.md shows the grants in a ```sql block starting with GRANT"
    with postgres_server.connect(database) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for statement in grants.group(1).replace("grader_ta", role).split(";"):
            if statement.strip():
                conn.execute(statement)
    book = Gradebook(url.replace("grader@", f"{role}@"))
    key = dict(assignment="a1", student="ada", sha256="0" * 64, source="a.ipynb")
    assert book.record(**key, status="failed", result=_result(1))
    assert book.record(**key, status="passed", result=_result(2), replace=True)  # --regrade too
    assert not book.record(**key, status="passed", result=_result(2))
    assert book.verdicts_of("a1")[("ada", "0" * 64)].score == 2
    book.close()


@pytest.mark.slow
def test_a_server_lost_mid_batch_stops_it_and_the_same_command_grades_the_rest(postgres_server, tmp_path: Path) -> None:
    server = type(postgres_server).start()  # a server of its own: this test takes it down
    try:
        database = server.new_database()
        url = server.url(database)
        classdir, out = tmp_path / "class", tmp_path / "out"
        make_class(classdir, only=RESUME_CLASS)
        args = batch_args(classdir, out, "--workers", "2", "--db", url)
        proc = subprocess.Popen(
            [PYTHON, "-m", "grader.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None and _count_verdicts(server, database) < 3:
            time.sleep(0.3)
        assert proc.poll() is None, "the batch ended before the server could be stopped"
        server.halt()
        stdout, stderr = proc.communicate(timeout=300)
        if proc.returncode == 0:
            pytest.fail(f"the batch finished before it wrote again; nothing shown:\n{stderr}")
        assert proc.returncode == 2, stderr
        assert f"cannot write to the gradebook postgresql://grader@/{database}" in stderr
        assert "run the same command again to grade the rest" in stderr and "Traceback" not in stderr
        server.launch()
        kept = pg_rows(server, database)
        assert 3 <= len(kept) < len(RESUME_CLASS)
        again = run_cli(*args)
        assert again.returncode == 0, again.stderr
        assert f"{len(kept)} already in the gradebook" in again.stderr
        final = pg_rows(server, database)
        assert sorted(row[0] for row in final) == sorted(RESUME_CLASS) and set(kept) <= set(final)
    finally:
        server.stop()
