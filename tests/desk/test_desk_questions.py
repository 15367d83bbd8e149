"""Grading by question on the desk: forward-pass's written questions graded through the /api and
the page over grader.policy.grading, the manual points in the desk's student JSON, grades.csv and
results.json, a stale save refused with who and when, a rubric item's points changed and every
grade following, and a student's hostile answer shown as text."""

from __future__ import annotations

from typing import Any

import csv
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from desk_fixtures import FP_SLUG, ROOT, TINY_PNG, Graded, copy_graded, session_question_class  # noqa: E402

QUESTION = f"/assignments/{FP_SLUG}/questions/why_view"


@pytest.fixture(scope="session")
def question_class(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    # one real batch of four forward-pass notebooks, shared by the module's tests
    return session_question_class(tmp_path_factory)


@pytest.fixture
def book(question_class: Graded, tmp_path: Path) -> Graded:
    return copy_graded(question_class, tmp_path)


def client_of(book: Graded) -> tuple[Any, Any, dict[str, str]]:  # (TestClient, State, the Bearer headers)
    from starlette.testclient import TestClient

    from grader.desk.app import ServeConfig, build_app, make_state

    state = make_state(ServeConfig(gradebook=str(book.out), course=ROOT, submissions=book.classdir))
    return TestClient(build_app(state, log=False)), state, {"Authorization": f"Bearer {state.auth.token}"}


def csv_rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def finals(client: Any, headers: dict[str, str], out: Path) -> dict[str, tuple[float, float, float]]:
    """Each student's total as the desk's JSON, grades.csv and results/<student>.json give it."""
    rows = csv_rows(out)
    out_of = {}
    for student in ("ada", "bob", "cy", "dee"):
        desk = client.get(f"/api/assignments/{FP_SLUG}/students/{student}", headers=headers).json()["final"]
        results = json.loads((out / "results" / f"{student}.json").read_text())["score"]
        out_of[student] = (float(desk), float(rows[student]["final"]), float(results))
    return out_of


def test_grading_by_rubric_through_the_api_counts_in_every_total(book: Graded) -> None:
    client, state, headers = client_of(book)
    listed = client.get(f"/api/assignments/{FP_SLUG}/questions", headers=headers).json()["questions"]
    assert [(q["question"], q["waiting"], q["answers"]) for q in listed] == [("why_view", 4, 4), ("why_mm", 4, 4)]
    before = finals(client, headers, book.out)
    assert all(a == b == c for a, b, c in before.values()), before

    waiting = client.get(f"/api{QUESTION}?only=not-graded", headers=headers).json()
    assert [a["student"] for a in waiting["answers"]] == ["ada", "bob", "cy", "dee"]
    assert [i["id"] for i in waiting["rubric"]] == ["same-memory", "in-place", "wrong-claim"]
    assert waiting["answers"][1]["text"] == "Both work, `view` is just shorter to type."

    saved = client.post(
        f"/api{QUESTION}/students/ada/grade",
        headers=headers,
        json={"items": ["same-memory", "in-place"], "comment": "Both halves, well put.", "version": 0},
    )
    assert saved.status_code == 201, saved.text
    assert (saved.json()["points"], saved.json()["version"], saved.json()["graded_by"]) == (2.0, 1, "instructor")
    saved = client.post(
        f"/api{QUESTION}/students/bob/grade",
        headers=headers,
        json={"items": ["same-memory"], "extra": 0.5, "comment": "Say what resize_ does.", "version": 0},
    )
    assert saved.json()["points"] == 1.5

    stale = client.post(f"/api{QUESTION}/students/bob/grade", headers=headers, json={"items": [], "version": 0})
    assert stale.status_code == 409
    assert stale.json()["by"] == "instructor" and stale.json()["version"] == 1 and stale.json()["at"]
    assert "your grade was not saved" in stale.json()["error"]

    left = client.get(f"/api{QUESTION}?only=not-graded", headers=headers).json()
    assert [a["student"] for a in left["answers"]] == ["cy", "dee"] and left["waiting"] == 2
    assert {c["text"]: c["uses"] for c in left["comments"]} == {
        "Both halves, well put.": 1,
        "Say what resize_ does.": 1,
    }
    assert state.desk.settle()
    after = finals(client, headers, book.out)
    assert after["ada"] == tuple(x + 2.0 for x in before["ada"]) and after["bob"] == tuple(
        x + 1.5 for x in before["bob"]
    )
    assert after["cy"] == before["cy"] and all(a == b == c for a, b, c in after.values()), after
    assert csv_rows(book.out)["ada"]["why_view"] == "2.0" and csv_rows(book.out)["cy"]["why_view"] == ""
    tests = json.loads((book.out / "results" / "bob.json").read_text())["tests"]
    assert next(t for t in tests if t.get("extra_data", {}).get("question") == "why_view")["score"] == 1.5


def test_a_rubric_items_points_changed_every_grade_follows_and_a_ta_may_not(book: Graded, tmp_path: Path) -> None:
    client, state, headers = client_of(book)
    for student, items in (("ada", ["same-memory", "in-place"]), ("bob", ["same-memory"]), ("cy", ["in-place"])):
        assert (
            client.post(
                f"/api{QUESTION}/students/{student}/grade", headers=headers, json={"items": items, "version": 0}
            ).status_code
            == 201
        )
    assert state.desk.settle()
    before = finals(client, headers, book.out)
    changed = client.post(f"/api{QUESTION}/rubric", headers=headers, json={"item": "same-memory", "points": 0.5})
    assert changed.json() == {"item": "same-memory", "points": 0.5, "grades_changed": 2}
    assert state.desk.settle()
    after = finals(client, headers, book.out)
    assert after["ada"] == tuple(x - 0.5 for x in before["ada"]) and after["bob"] == tuple(
        x - 0.5 for x in before["bob"]
    )
    assert after["cy"] == before["cy"] and all(a == b == c for a, b, c in after.values()), after

    users = tmp_path / "users.toml"
    from grader.desk.auth import hash_password

    users.write_text(
        f'[[user]]\nname = "lee"\nrole = "instructor"\npassword = "{hash_password("pw-lee-123")}"\n'
        f'[[user]]\nname = "sam"\nrole = "ta"\npassword = "{hash_password("pw-sam-123")}"\n'
    )
    from starlette.testclient import TestClient

    from grader.desk.app import ServeConfig, build_app, make_state

    ta_state = make_state(ServeConfig(gradebook=str(book.out), course=ROOT, submissions=book.classdir, users=users))
    ta = TestClient(build_app(ta_state, log=False))
    login = ta.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    ta.post("/login", data={"csrf": token, "name": "sam", "password": "pw-sam-123"})
    page = ta.get(QUESTION + "/students/ada").text
    assert "Change a rubric item" not in page
    refused = ta.post(
        f"/api{QUESTION}/rubric",
        json={"item": "in-place", "points": 2},
        headers={"X-CSRF-Token": re.search(r'name="csrf" value="([^"]+)"', page).group(1)},
    )
    assert refused.status_code == 403 and "only an instructor" in refused.json()["error"]


def test_the_page_grades_shows_a_stale_save_in_words_and_a_hostile_answer_as_text(book: Graded) -> None:
    client, state, headers = client_of(book)
    assert client.get(f"/?token={state.auth.token}").status_code == 200
    listing = client.get(f"/assignments/{FP_SLUG}").text
    assert 'href="/assignments/forward-pass/questions/why_view?only=not-graded">Grade the 4 waiting' in listing

    page = client.get(QUESTION + "/students/dee").text
    assert "<script>window.__pwned" not in page and "&lt;script&gt;window.__pwned=9&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<script" not in page.split("</head>")[1]

    plot = client.get(f"/assignments/{FP_SLUG}/questions/why_mm/students/dee").text  # a code cell's image
    assert f'src="data:image/png;base64,{TINY_PNG}"' in plot and "<script>window.__pwned=11" not in plot

    page = client.get(QUESTION + "?only=not-graded").text  # the first answer not graded yet: ada's
    assert "<b>4</b> of 4 not graded yet" in page and "ada" in page
    form = {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
        "version": "0",
        "only": "not-graded",
        "item": ["same-memory", "in-place"],
        "comment": "Both halves.",
        "next": "1",
    }
    reply = client.post(QUESTION + "/students/ada/grade", data=form, follow_redirects=False)
    assert reply.headers["location"] == QUESTION + "/students/bob?only=not-graded"
    page = client.get(reply.headers["location"]).text
    assert "Saved ada&#39;s grade." in page and "<b>3</b> of 4 not graded yet" in page
    assert "Both halves." in page and "used 1 time" in page

    # someone else (a script with the token) grades bob while the page is open; the page's save is refused
    client.post(f"/api{QUESTION}/students/bob/grade", headers=headers, json={"items": ["same-memory"], "version": 0})
    reply = client.post(QUESTION + "/students/bob/grade", data={**form, "item": ["in-place"]})
    assert re.search(r"Not saved: instructor changed this at \d\d:\d\d\. This is the grade as it is now\.", reply.text)
    assert 'id="answer-points">1 / 2<' in reply.text
