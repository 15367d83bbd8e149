"""The instructor's desk (`grader serve`) on a class graded by the real `grader batch`: adjustments
through the pages and the API and the final grade in every output, refusals (no session, a forged
POST, a stale save, a TA's limits), the login token kept out of pages and logs, and the command's
exit status for what cannot be served."""

from __future__ import annotations

from typing import Any

import csv
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")

# starlette's TestClient over httpx warns that it prefers httpx2: the client, not the desk
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from desk_fixtures import ROOT, SLUG, Graded, copy_graded, session_class, start_server  # noqa: E402


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    # one real batch of four notebooks (~20 s here), shared by the module's tests
    return session_class(tmp_path_factory)


@pytest.fixture
def book(graded: Graded, tmp_path: Path) -> Graded:
    return copy_graded(graded, tmp_path)


def make_client(book: Graded, users: Path | None = None) -> tuple[Any, Any]:  # (TestClient, State)
    from starlette.testclient import TestClient

    from grader.desk.app import ServeConfig, build_app, make_state

    state = make_state(ServeConfig(gradebook=str(book.out), course=ROOT, submissions=book.classdir, users=users))
    return TestClient(build_app(state, log=False)), state


def logged_in(book: Graded) -> tuple[Any, Any]:  # (TestClient, State)
    client, state = make_client(book)
    assert client.get(f"/?token={state.auth.token}").status_code == 200
    return client, state


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found
    return found.group(1)


STUDENT = f"/assignments/{SLUG}/students/sigmoid_sign_error"
CHECK = "test_activation_known_values"


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


# -- adjustments and the final grade everywhere ---------------------------------------------
def test_an_adjustment_through_the_page_changes_the_grade_everywhere(book: Graded) -> None:
    batch_rows = read_csv(book.out / "grades.csv")
    client, state = logged_in(book)
    page = client.get(STUDENT).text
    # error carried forward: where the desk lists checks, each one right given a correct activation says so
    assert page.count('<span class="tag carried">right given a correct activation</span>') == 6
    before = client.get(f"/api{STUDENT}").json()
    failed = next(c for c in before["checks"] if c["status"] == "failed")
    reply = client.post(
        f"{STUDENT}/adjust",
        data={
            "csrf": csrf(page),
            "version": version(page),
            "check": failed["name"],
            "points": str(failed["max_score"]),
            "reason": "Your sigmoid is right for x >= 0; accepted.",
        },
    )
    assert reply.status_code == 200 and "Saved." in reply.text
    after = client.get(f"/api{STUDENT}").json()
    assert after["score"] == before["score"] == 17.0
    assert after["final"] == before["final"] + failed["max_score"] - failed["score"]
    assert [c["adjusted"] for c in after["checks"] if c["name"] == failed["name"]] == [True]
    assert after["history"][0]["by"] == "instructor" and "accepted" in after["history"][0]["detail"]
    state.desk.settle()
    desk_rows = read_csv(book.out / "grades.csv")
    row = desk_rows.pop("sigmoid_sign_error")
    assert float(row["total"]) == 17.0 and float(row["adjusted"]) == after["final"]
    batch_rows.pop("sigmoid_sign_error")
    assert desk_rows == batch_rows  # the others' rows as the batch wrote them
    results = json.loads((book.out / "results" / "sigmoid_sign_error.json").read_text())
    assert results["score"] == after["final"] and results["extra_data"]["automatic_score"] == 17.0
    assert results["extra_data"]["adjustments"][0]["reason"] == "Your sigmoid is right for x >= 0; accepted."
    feedback = (book.out / "feedback" / "sigmoid_sign_error.html").read_text()
    assert "Your sigmoid is right for x &gt;= 0; accepted." in feedback and f"{after['final']:g} / 38" in feedback
    assert f"{after['final']:g}/38" in (book.out / "report.html").read_text()
    # the assignment page shows it too
    assert f"{after['final']:g} / 38" in client.get(f"/assignments/{SLUG}").text


def test_an_adjustment_needs_a_reason(book: Graded) -> None:
    client, state = make_client(book)
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    reply = client.post(
        f"/api{STUDENT}/adjustments", headers=bearer, json={"check": CHECK, "points": 1, "reason": "  "}
    )
    assert reply.status_code == 400 and "reason" in reply.json()["error"]
    assert client.get(f"/api{STUDENT}", headers=bearer).json()["adjustments"] == []


def test_an_exercise_adjustment_replaces_its_total_and_a_batch_keeps_it(book: Graded) -> None:
    from grader.batch.adjustments import current_adjustments
    from grader.batch.gradebook import Gradebook

    client, state = make_client(book)
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    reply = client.post(
        f"/api{STUDENT}/adjustments",
        headers=bearer,
        json={"check": "activation", "points": 0, "reason": "copied from a classmate"},
    )
    assert reply.status_code == 201
    data = reply.json()
    assert data["adjustments"][0]["kind"] == "exercise" and data["final"] < data["score"]
    gradebook = Gradebook(f"sqlite:///{book.out / 'gradebook.sqlite'}")
    kept = current_adjustments(gradebook, SLUG, {"sigmoid_sign_error": data["sha256"], "correct": "x"})
    gradebook.close()
    assert [a.name for a in kept["sigmoid_sign_error"]] == ["activation"] and "correct" not in kept


# -- no lost update ------------------------------------------------------------------------
def test_a_stale_save_is_refused_with_who_changed_it_and_when(book: Graded) -> None:
    client, state = logged_in(book)
    page = client.get(STUDENT).text  # two graders open the same student
    other = client.get(STUDENT).text
    first = client.post(
        f"{STUDENT}/adjust",
        data={"csrf": csrf(page), "version": version(page), "check": CHECK, "points": "2", "reason": "first grader"},
    )
    assert "Saved." in first.text
    second = client.post(
        f"{STUDENT}/adjust",
        data={"csrf": csrf(other), "version": version(other), "check": CHECK, "points": "0", "reason": "second grader"},
    )
    assert re.search(r"Not saved: instructor changed this at \d\d:\d\d", second.text)
    current = client.get(f"/api{STUDENT}").json()
    assert [(a["points"], a["reason"]) for a in current["adjustments"]] == [(2.0, "first grader")]
    # the API says the same, with 409
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    stale = client.post(
        f"/api{STUDENT}/adjustments",
        headers=bearer,
        json={"check": CHECK, "points": 0, "reason": "stale", "version": 0},
    )
    assert stale.status_code == 409 and "instructor changed this at" in stale.json()["error"]


def test_two_graders_saving_at_once_on_postgresql_lose_nothing(graded: Graded, postgres_server) -> None:
    """Both saves start from version 0 at the same moment: one is written, the other refused."""
    import threading

    from grader.batch.adjustments import Change, StaleEdit, adjustments_of, save
    from grader.batch.gradebook import Gradebook

    url = postgres_server.url(postgres_server.new_database())
    lite, pg = Gradebook(f"sqlite:///{graded.out / 'gradebook.sqlite'}"), Gradebook(url)
    for (student, sha), stored in lite.verdicts_of(SLUG).items():
        pg.record(
            assignment=SLUG,
            student=student,
            sha256=sha,
            source=stored.source,
            status=stored.status,  # type: ignore[arg-type]
            result=stored.result,
        )
    lite.close()
    sha = next(sha for (student, sha) in pg.graded(SLUG) if student == "sigmoid_sign_error")
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def grader_saves(name: str, points: float) -> None:
        start.wait()
        try:
            save(pg, Change(SLUG, "sigmoid_sign_error", "check", CHECK, points, f"by {name}", name, sha, 0, True))
            outcomes.append(f"saved {name}")
        except StaleEdit as exc:
            outcomes.append(f"refused: {exc.message}")

    threads = [threading.Thread(target=grader_saves, args=(n, p)) for n, p in (("sam", 2.0), ("kim", 0.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = [o for o in outcomes if o.startswith("saved")]
    assert len(saved) == 1, outcomes
    winner = saved[0].split()[1]
    assert any(re.fullmatch(rf"refused: {winner} changed this at \d\d:\d\d", o) for o in outcomes), outcomes
    stored = adjustments_of(pg, SLUG)["sigmoid_sign_error"]
    assert [(a.author, a.reason) for a in stored] == [(winner, f"by {winner}")]
    pg.close()


# -- who may do what -------------------------------------------------------------------------
def test_a_ta_adjusts_but_cannot_change_an_instructors_adjustment_or_regrade_a_class(
    book: Graded, tmp_path: Path
) -> None:
    from grader.desk.auth import hash_password

    users = tmp_path / "users.toml"
    users.write_text(
        f'[[user]]\nname = "Ines"\nrole = "instructor"\npassword = "{hash_password("ines-pass-1")}"\n'
        f'[[user]]\nname = "Sam"\nrole = "ta"\npassword = "{hash_password("sam-pass-12")}"\n'
    )
    client, state = make_client(book, users)
    login = client.get("/login").text
    wrong = client.post("/login", data={"csrf": csrf(login), "name": "Sam", "password": "nope"})
    assert "Wrong name or password." in wrong.text and client.get("/").status_code == 401
    client.post("/login", data={"csrf": csrf(client.get("/login").text), "name": "Sam", "password": "sam-pass-12"})
    page = client.get(STUDENT).text
    assert "Sam (ta)" in page
    mine = client.post(
        f"{STUDENT}/adjust",
        data={"csrf": csrf(page), "version": version(page), "check": CHECK, "points": "2", "reason": "TA: accepted"},
    )
    assert "Saved." in mine.text
    bearer = {"Authorization": f"Bearer {state.auth.token}"}  # the token is Ines's, the first instructor
    over = client.post(
        f"/api{STUDENT}/adjustments", headers=bearer, json={"check": CHECK, "points": 1, "reason": "Ines: half"}
    )
    assert over.status_code == 201 and over.json()["adjustments"][0]["by"] == "Ines"
    page = client.get(STUDENT).text
    refused = client.post(
        f"{STUDENT}/adjust",
        data={"csrf": csrf(page), "version": version(page), "check": CHECK, "points": "2", "reason": "TA again"},
    )
    assert "Not saved: Ines made this adjustment; only an instructor may change it" in refused.text
    whole = client.post(f"/assignments/{SLUG}/regrade", data={"csrf": csrf(page), "status": "failed"})
    assert "Not started: only an instructor regrades a whole class" in whole.text


# -- refusals --------------------------------------------------------------------------------
def test_every_page_and_api_call_without_a_session_or_token_is_refused(book: Graded) -> None:
    client, _state = make_client(book)
    for path in ("/", f"/assignments/{SLUG}", STUDENT, f"{STUDENT}/feedback"):
        reply = client.get(path)
        assert reply.status_code == 401 and "Log in first" in reply.text and "sigmoid_sign_error" not in reply.text
    for path in ("/api/assignments", f"/api/assignments/{SLUG}/students", f"/api{STUDENT}"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert client.get("/?token=not-the-token").status_code == 401
    assert (
        client.post(f"/api{STUDENT}/adjustments", json={"check": CHECK, "points": 2, "reason": "x"}).status_code == 401
    )


def test_a_forged_post_is_refused(book: Graded) -> None:
    """A page elsewhere posts to the desk with the grader's cookie but without the form's token."""
    client, _state = logged_in(book)
    forged = client.post(f"{STUDENT}/adjust", data={"version": "0", "check": CHECK, "points": "2", "reason": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    wrong = client.post(
        f"{STUDENT}/adjust", data={"csrf": "guessed", "version": "0", "check": CHECK, "points": "2", "reason": "forged"}
    )
    assert wrong.status_code == 403
    as_json = client.post(f"/api{STUDENT}/adjustments", json={"check": CHECK, "points": 2, "reason": "forged"})
    assert as_json.status_code == 403
    assert client.get(f"/api{STUDENT}").json()["adjustments"] == []


def test_a_student_who_does_not_exist_is_a_404_with_a_link_back(book: Graded) -> None:
    client, _state = logged_in(book)
    reply = client.get(f"/assignments/{SLUG}/students/nobody")
    assert reply.status_code == 404 and "no student &#39;nobody&#39;" in reply.text
    assert f'href="/assignments/{SLUG}" id="back"' in reply.text
    assert client.get("/assignments/no-such-thing").status_code == 404
    assert client.get(f"/api/assignments/{SLUG}/students/nobody").status_code == 404


def test_every_page_forbids_inline_script_and_shows_the_notebook_as_text(book: Graded) -> None:
    client, _state = logged_in(book)
    for path in ("/", f"/assignments/{SLUG}", STUDENT):
        reply = client.get(path)
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
        assert "<script>" not in reply.text.replace('<script src="/static/desk.js" defer></script>', "")
    page = client.get(STUDENT).text
    assert "def sigmoid" in page or "sigmoid" in page
    assert 'sandbox title="the student' in page


# -- the command -----------------------------------------------------------------------------
def test_serve_prints_a_login_address_whose_token_no_page_or_log_carries(book: Graded) -> None:
    server = start_server(book)
    try:
        assert server.url.startswith("http://127.0.0.1:") and len(server.token) > 30
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(server.url, timeout=30) as reply:  # follows the redirect without the token
            assert reply.status == 200 and "?token=" not in reply.url and reply.url == server.base + "/"
            course = reply.read().decode()
        with opener.open(server.base + f"/assignments/{SLUG}", timeout=30) as reply:
            assignment = reply.read().decode()
        with opener.open(server.base + STUDENT, timeout=30) as reply:
            student = reply.read().decode()
    finally:
        log = server.stop()
    assert SLUG in course and "sigmoid_sign_error" in assignment and "Adjust" in student
    for text in (course, assignment, student, log):
        assert server.token not in text
    assert "GET /assignments/" in log  # the log is there, without the token


def run_serve(*args: str, extra_code: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{extra_code}\nfrom grader.cli.main import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "serve", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_serve_refuses_in_words_what_it_cannot_serve(book: Graded, tmp_path: Path) -> None:
    missing = run_serve(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no gradebook in" in missing.stderr and "Traceback" not in missing.stderr
    unreachable = run_serve("postgresql://grader:s3cret@127.0.0.1:1/course")
    assert unreachable.returncode == 2 and "cannot open the gradebook" in unreachable.stderr
    assert "s3cret" not in unreachable.stderr and "Traceback" not in unreachable.stderr
    (tmp_path / "course" / "assignments").mkdir(parents=True)
    no_assignment = run_serve(str(book.out), "--course", str(tmp_path / "course"))
    assert no_assignment.returncode == 2 and f"has no assignment '{SLUG}'" in no_assignment.stderr
    no_extra = run_serve(str(book.out), extra_code="sys.modules['uvicorn'] = None")
    assert no_extra.returncode == 2 and "pip install 'grader[desk]'" in no_extra.stderr


def test_hash_password_makes_a_hash_users_toml_takes() -> None:
    from grader.desk.auth import verify_password

    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "serve", "--hash-password"],
        input="correct horse\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0
    made = proc.stdout.strip()
    assert made.startswith("scrypt$") and verify_password("correct horse", made) and not verify_password("wrong", made)


def test_a_gradebook_made_by_the_release_before_the_desk_is_upgraded_in_place_and_served(tmp_path: Path) -> None:
    """made-by-204690a-at-0001_baseline.sqlite: `grader batch` of main at 204690a (revision
    0001_baseline), three students of neural-net-basics."""
    import shutil
    import sqlite3

    from grader.batch.migrate import head

    (tmp_path / "out").mkdir()
    db = tmp_path / "out" / "gradebook.sqlite"
    shutil.copy(ROOT / "tests" / "fixtures" / "gradebooks" / "made-by-204690a-at-0001_baseline.sqlite", db)
    query = (
        "SELECT s.student, s.sha256, v.status, v.score, v.result_json FROM submissions s "
        "JOIN verdicts v ON v.submission_id = s.id ORDER BY s.student"
    )
    with sqlite3.connect(db) as conn:
        before = conn.execute(query).fetchall()
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001_baseline",)]
    (tmp_path / "class").mkdir()  # the notebooks are not part of the fixture
    client, state = make_client(Graded(tmp_path / "class", tmp_path / "out"))
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    listed = client.get(f"/api/assignments/{SLUG}/students", headers=bearer).json()["students"]
    assert [(s["student"], s["status"], s["final"]) for s in listed] == [
        ("correct", "passed", 38.0),
        ("sigmoid_sign_error", "failed", 17.0),
        ("truncated", "unreadable", 0.0),
    ]
    saved = client.post(
        f"/api{STUDENT}/adjustments", headers=bearer, json={"check": CHECK, "points": 2, "reason": "ok"}
    )
    assert saved.status_code == 201 and saved.json()["final"] == 19.0
    state.desk.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute(query).fetchall() == before
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]


def test_behind_a_proxy_every_link_carries_the_root_path(book: Graded) -> None:
    """--root-path /desk, as docs/desk.md's reverse proxy (which strips /desk) serves it."""
    server = start_server(book, root_path="/desk")
    try:
        assert server.url.endswith("/desk/?token=" + server.token)
        import http.client

        port = int(server.base.rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/?token={server.token}")  # as the proxy passes it on: /desk stripped
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 303 and reply.getheader("location") == "/desk/"
        cookie = reply.getheader("set-cookie", "").split(";")[0]
        conn.request("GET", f"/assignments/{SLUG}", headers={"Cookie": cookie})
        reply = conn.getresponse()
        page = reply.read().decode()
        assert reply.status == 200
    finally:
        server.stop()
    assert 'href="/desk/static/desk.css"' in page and f'href="/desk/assignments/{SLUG}/students/correct"' in page
    assert f'data-api="/desk/api/assignments/{SLUG}/students?checks=0"' in page


def test_a_session_expires(book: Graded, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from grader.desk import web
    from grader.desk.auth import SESSION_SECONDS

    client, _state = logged_in(book)
    assert client.get(f"/assignments/{SLUG}").status_code == 200
    later = time.time() + SESSION_SECONDS + 60
    monkeypatch.setattr(web.time, "time", lambda: later)
    assert client.get(f"/assignments/{SLUG}").status_code == 401


@pytest.mark.slow  # a regrade through the batch engine (a real kernel, ~15 s)
def test_a_regrade_through_the_api_keeps_the_adjustment_and_records_who(book: Graded) -> None:
    import time

    client, state = make_client(book)
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    client.post(f"/api{STUDENT}/adjustments", headers=bearer, json={"check": CHECK, "points": 2, "reason": "accepted"})
    before = client.get(f"/api{STUDENT}", headers=bearer).json()
    job = client.post(f"/api/assignments/{SLUG}/regrade", headers=bearer, json={"student": "sigmoid_sign_error"}).json()
    assert job["state"] == "running" and job["total"] == 1
    deadline = time.monotonic() + 300
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/api/jobs/{job['id']}", headers=bearer).json()
    assert job["state"] == "done" and job["done"] == 1, job
    after = client.get(f"/api{STUDENT}", headers=bearer).json()
    assert after["graded_at"] > before["graded_at"]  # a new verdict ...
    assert after["final"] == before["final"] == 19.0 and after["adjustments"] == before["adjustments"]  # ... same grade
    assert [(h["by"], h["action"]) for h in after["history"]][:2] == [
        ("instructor", "regrade"),
        ("instructor", "adjust"),
    ]
    assert float(read_csv(book.out / "grades.csv")["sigmoid_sign_error"]["adjusted"]) == 19.0  # the batch's own files


def test_an_adjustment_and_a_late_penalty_make_one_final_grade_everywhere(book: Graded) -> None:
    """Adjustments first, then the late policy's percent (grader.policy.final): the desk, grades.csv
    and results.json show the same number."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from grader.batch.gradebook import Gradebook
    from grader.policy.deadline import Deadline

    gradebook = Gradebook(f"sqlite:///{book.out / 'gradebook.sqlite'}")
    (_student, sha), stored = next(
        (k, v) for k, v in gradebook.verdicts_of(SLUG).items() if k[0] == "sigmoid_sign_error"
    )
    late = replace(stored.result, submitted_at="2026-12-05T12:00:00+00:00", submitted_from="--submitted-at")
    gradebook.record(
        assignment=SLUG,
        student="sigmoid_sign_error",
        sha256=sha,
        source=stored.source,
        status="failed",
        result=late,
        replace=True,
    )
    gradebook.close()
    client, state = make_client(book)
    assignment = state.desk.assignment(SLUG)
    state.desk.configs[SLUG] = replace(
        assignment, deadline=Deadline(due=datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc), penalty_per_day=10)
    )
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    reply = client.post(
        f"/api{STUDENT}/adjustments", headers=bearer, json={"check": CHECK, "points": 2, "reason": "accepted"}
    )
    assert reply.status_code == 201
    assert reply.json()["score"] == 17.0 and reply.json()["final"] == 17.1  # (17 + 2) - 10%
    state.desk.settle()
    row = read_csv(book.out / "grades.csv")["sigmoid_sign_error"]
    assert (row["total"], row["adjusted"], row["penalty"], row["final"]) == ("17.0", "19.0", "10%", "17.1")
    results = json.loads((book.out / "results" / "sigmoid_sign_error.json").read_text())
    assert results["score"] == 17.1 and results["extra_data"]["late"]["final"] == 17.1
