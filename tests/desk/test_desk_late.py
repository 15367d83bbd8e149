"""The late penalty on the desk (issue 30): an instructor waives it on a student page with a reason
(kept as an adjustment: who, when, the history), and the final grade everywhere (the desk,
grades.csv, results.json, the feedback page, grader export) then takes no penalty and tells the student why; a TA
cannot waive. `grader serve --extensions` reads the file `grader batch --extensions` takes, so a
student's due time and penalty on the desk are the batch's."""

from __future__ import annotations

from typing import Any

import csv
import json
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from desk_fixtures import ROOT, SLUG, Graded, copy_graded, session_class  # noqa: E402

NAME = "sigmoid_sign_error"
STUDENT = f"/assignments/{SLUG}/students/{NAME}"
REASON = "You were in hospital that week; no penalty."
DUE = datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    # one real batch of four notebooks (~20 s here), shared by the module's tests
    return session_class(tmp_path_factory)


@pytest.fixture
def book(graded: Graded, tmp_path: Path) -> Graded:
    """A copy of the class where sigmoid_sign_error's verdict says it came in 1 day 11 hours late."""
    from grader.batch.gradebook import Gradebook

    book = copy_graded(graded, tmp_path)
    gradebook = Gradebook(f"sqlite:///{book.out / 'gradebook.sqlite'}")
    (_student, sha), stored = next((k, v) for k, v in gradebook.verdicts_of(SLUG).items() if k[0] == NAME)
    late = replace(stored.result, submitted_at="2026-12-06T11:00:00+00:00", submitted_from="--submitted-at")
    gradebook.record(
        assignment=SLUG, student=NAME, sha256=sha, source=stored.source, status="failed", result=late, replace=True
    )
    gradebook.close()
    return book


def client_of(book: Graded, users: Path | None = None, extensions: Path | None = None) -> tuple[Any, Any]:
    """(TestClient, State) of a desk whose assignment has a deadline: 10% a day started."""
    from starlette.testclient import TestClient

    from grader.desk.app import ServeConfig, build_app, make_state
    from grader.policy.deadline import Deadline

    state = make_state(
        ServeConfig(gradebook=str(book.out), course=ROOT, submissions=book.classdir, users=users, extensions=extensions)
    )
    state.desk.configs[SLUG] = replace(state.desk.assignment(SLUG), deadline=Deadline(due=DUE, penalty_per_day=10))
    state.desk.rows.clear()
    state.desk.cache.students.clear()
    return TestClient(build_app(state, log=False)), state


def form_value(page: str, name: str, form: str) -> str:
    found = re.search(rf'<form[^>]*id="{form}".*?name="{name}" value="([^"]*)"', page, re.S)
    assert found, f"no {name} in the form {form}"
    return found.group(1)


def grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def test_an_instructor_waives_a_late_penalty_with_a_reason_and_every_output_drops_it(book: Graded) -> None:
    client, state = client_of(book)
    assert client.get(f"/?token={state.auth.token}").status_code == 200
    page = client.get(STUDENT).text
    assert "submitted 1 day 11 hours late: -20%" in page and 'id="final">13.6 / 38' in page  # 17 - 20%
    no_reason = client.post(
        f"{STUDENT}/waive",
        data={
            "csrf": form_value(page, "csrf", "waive"),
            "version": form_value(page, "version", "waive"),
            "reason": " ",
        },
    )
    assert "Not saved: a waiver needs a reason" in no_reason.text
    saved = client.post(
        f"{STUDENT}/waive",
        data={
            "csrf": form_value(page, "csrf", "waive"),
            "version": form_value(page, "version", "waive"),
            "reason": REASON,
        },
    )
    assert "Late penalty waived." in saved.text and 'id="final">17 / 38' in saved.text
    assert f"the 20% late penalty is waived ({REASON})" in saved.text.replace("&#39;", "'")
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    row = client.get(f"/api{STUDENT}", headers=bearer).json()
    assert (row["score"], row["final"], row["late"]["waived"], row["late"]["penalty_percent"]) == (
        17.0,
        17.0,
        True,
        0.0,
    )
    assert [(a["kind"], a["by"], a["reason"]) for a in row["adjustments"]] == [("late", "instructor", REASON)]
    assert (
        row["history"][0]["action"] == "waive" and row["history"][0]["detail"] == f"waived the late penalty: {REASON}"
    )
    assert state.desk.settle()
    csv_row = grades(book.out)[NAME]
    assert (csv_row["total"], csv_row["penalty"], csv_row["final"], csv_row["late_by"]) == (
        "17.0",
        "waived",
        "17.0",
        "1 day 11 hours",
    )
    results = json.loads((book.out / "results" / f"{NAME}.json").read_text())
    assert results["score"] == 17.0 and results["extra_data"]["late"]["waived"] is True
    assert REASON in results["extra_data"]["late"]["words"]
    feedback = (book.out / "feedback" / f"{NAME}.html").read_text()
    assert "waived (You were in hospital that week; no penalty.)" in feedback.replace("&#39;", "'")
    # ... and in what grader export sends to the LMS (the same gradebook, the same final grade)
    from grader.lms.grades import class_grades

    exported = {
        g.student: g for g in class_grades(state.desk.assignment(SLUG), f"sqlite:///{book.out / 'gradebook.sqlite'}")
    }
    assert exported[NAME].final == 17.0 and "waived" in exported[NAME].comment()
    # restored through the API: the penalty is back everywhere
    back = client.post(f"/api{STUDENT}/waiver", headers=bearer, json={"remove": True, "reason": "entered by mistake"})
    assert back.status_code == 201 and back.json()["final"] == 13.6 and back.json()["adjustments"] == []
    assert state.desk.settle() and grades(book.out)[NAME]["final"] == "13.6"


def test_a_ta_cannot_waive_and_an_on_time_student_has_nothing_to_waive(book: Graded, tmp_path: Path) -> None:
    from grader.desk.auth import hash_password

    users = tmp_path / "users.toml"
    users.write_text(
        f'[[user]]\nname = "Ines"\nrole = "instructor"\npassword = "{hash_password("ines-pass-1")}"\n'
        f'[[user]]\nname = "Sam"\nrole = "ta"\npassword = "{hash_password("sam-pass-12")}"\n'
    )
    client, state = client_of(book, users)
    login = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login)
    assert csrf
    client.post("/login", data={"csrf": csrf.group(1), "name": "Sam", "password": "sam-pass-12"})
    page = client.get(STUDENT).text
    assert "Sam (ta)" in page and 'id="waive"' not in page  # no waiver form for a TA
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    refused = client.post(f"{STUDENT}/waive", data={"csrf": token.group(1), "version": "0", "reason": REASON})
    assert (
        "Not saved: only an instructor waives a late penalty" in refused.text and 'id="final">13.6 / 38' in refused.text
    )
    bearer = {"Authorization": f"Bearer {state.auth.token}"}  # Ines's token
    assert client.post(f"/api{STUDENT}/waiver", headers=bearer, json={}).status_code == 400
    on_time = client.post(f"/api/assignments/{SLUG}/students/correct/waiver", headers=bearer, json={"reason": REASON})
    assert on_time.status_code == 400 and "no late penalty to waive" in on_time.json()["error"]


def test_serve_reads_the_extensions_file_so_the_due_time_and_penalty_are_the_batchs(
    book: Graded, tmp_path: Path
) -> None:
    from grader.errors import UsageError

    extensions = tmp_path / "extensions.csv"
    extensions.write_text(f"student,due\n{NAME},2026-12-06T00:00:00+00:00\n")
    client, state = client_of(book, extensions=extensions)
    bearer = {"Authorization": f"Bearer {state.auth.token}"}
    row = client.get(f"/api{STUDENT}", headers=bearer).json()
    assert row["late"]["due"] == "2026-12-06T00:00:00+00:00" and row["final"] == 15.3  # 11 hours late: -10%
    assert row["late"]["words"] == "submitted 11 hours late (extended to 2026-12-06T00:00:00+00:00): -10%"
    client.post(
        f"/api{STUDENT}/adjustments",
        headers=bearer,
        json={"check": "test_activation_known_values", "points": 0, "reason": "as graded"},
    )
    assert state.desk.settle()
    assert grades(book.out)[NAME]["penalty"] == "10%" and grades(book.out)[NAME]["final"] == "15.3"
    assert (
        json.loads((book.out / "results" / f"{NAME}.json").read_text())["extra_data"]["late"]["due"]
        == "2026-12-06T00:00:00+00:00"
    )
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("student,due\nnobody,2026-12-06T00:00:00+00:00\n")
    with pytest.raises(UsageError, match="line 2: no student 'nobody' in this class"):
        client_of(book, extensions=unknown)
