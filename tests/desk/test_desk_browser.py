"""The desk in a real browser (Playwright driving Debian's chromium): log in with the printed
address, adjust a check with a reason and see the grade change on the assignment page, in
grades.csv and in the student's feedback; regrade the student and keep the adjustment; the table
follows a batch writing the gradebook; a hostile class shown as text with no script run; a forged
POST and an unauthenticated page refused. Screenshots go to build/screenshots/
(desk_fixtures.screenshot; docs/desk.md shows them from docs/images/)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")
try:
    import playwright.sync_api as playwright
except ImportError:
    if os.environ.get("GRADER_REQUIRE_BROWSER_TESTS"):  # CI (.ci/run) installs it
        raise
    pytest.skip("Playwright is not installed (pip install -c constraints.txt playwright)", allow_module_level=True)

from desk_fixtures import (
    HOSTILE_NAME,
    SLUG,
    Graded,
    copy_graded,
    screenshot,
    session_class,
    session_hostile_class,
    start_server,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECK = "test_activation_known_values"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium on PATH (apt-get install chromium; .ci/run does)"),
]


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return session_class(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def wait_for(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow  # a real server, a browser, and a regrade through the batch engine (~30 s)
def test_adjust_a_check_see_it_everywhere_and_keep_it_through_a_regrade(
    graded: Graded, browser: Any, tmp_path: Path
) -> None:
    book = copy_graded(graded, tmp_path)
    server = start_server(book)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        assert page.url == server.base + "/"  # logged in; the token is gone from the address
        page.click(f"text={SLUG}")
        page.click("a:text-is('sigmoid_sign_error')")
        assert page.inner_text("#final").startswith("17 / 38")
        page.select_option("#adjust-check", CHECK)
        page.fill("#adjust-points", "3")
        page.fill("#adjust-reason", "Your sigmoid agrees with torch.sigmoid to 1e-6; accepted.")
        page.click("#adjust-save")
        assert page.inner_text("#flash") == "Saved."
        final = page.inner_text("#final")
        assert final.startswith("20 / 38"), final
        assert "Your sigmoid agrees with torch.sigmoid" in page.inner_text("#adjustments")
        assert "set check test_activation_known_values to 3 points" in page.inner_text("#history")
        frame = page.frame_locator("#feedback")
        assert "Your sigmoid agrees with torch.sigmoid to 1e-6; accepted." in frame.locator("#adjustments").inner_text()
        page.screenshot(path=screenshot("desk-student.png"), full_page=False)
        page.click(f"a:text-is('{SLUG}')")
        row = page.locator("#students tr[data-student='sigmoid_sign_error']")
        assert row.locator("td.final").inner_text() == "20 / 38" and "adjusted" in row.inner_text()
        page.screenshot(path=screenshot("desk-assignment.png"), full_page=False)
        assert wait_for(lambda: grades(book.out)["sigmoid_sign_error"]["adjusted"] == "20.0")
        assert grades(book.out)["sigmoid_sign_error"]["total"] == "17.0"
        assert (
            "Your sigmoid agrees with torch.sigmoid" in (book.out / "feedback" / "sigmoid_sign_error.html").read_text()
        )
        # regrade the student through the batch engine: the adjustment stays
        page.click("a:text-is('sigmoid_sign_error')")
        page.click("#regrade")
        # the page's CSP forbids eval, so Playwright's wait_for_function cannot run there: poll the text
        assert wait_for(lambda: "Regrade finished" in page.inner_text("#job"), 240), page.inner_text("#job")
        page.reload()
        assert page.inner_text("#final").startswith("20 / 38")
        assert "regrade: regrade started" in page.inner_text("#history")
        assert grades(book.out)["sigmoid_sign_error"]["adjusted"] == "20.0"
        results = json.loads((book.out / "results" / "sigmoid_sign_error.json").read_text())
        assert results["score"] == 20.0 and results["extra_data"]["automatic_score"] == 17.0
    finally:
        server.stop()


def test_the_assignment_page_follows_a_batch_writing_the_gradebook(
    graded: Graded, browser: Any, tmp_path: Path
) -> None:
    from grader.batch.gradebook import Gradebook

    book = copy_graded(graded, tmp_path)
    server = start_server(book)
    try:
        page = browser.new_page()
        page.goto(server.url)
        page.goto(f"{server.base}/assignments/{SLUG}")
        page.wait_for_selector("#students tr[data-student='correct']")
        assert page.locator("#students tr[data-student='late_comer']").count() == 0
        gradebook = Gradebook(f"sqlite:///{book.out / 'gradebook.sqlite'}")
        stored = next(v for (student, _sha), v in gradebook.verdicts_of(SLUG).items() if student == "forgot_bias")
        gradebook.record(
            assignment=SLUG,
            student="late_comer",
            sha256="f" * 64,
            source="late_comer.ipynb",
            status="failed",
            result=stored.result,
        )
        gradebook.close()
        page.wait_for_selector("#students tr[data-student='late_comer']", timeout=2000)  # within 2 s, no reload
        assert page.inner_text("#n-students") == "5"
    finally:
        server.stop()


@pytest.mark.slow  # grades a hostile class (~20 s)
def test_a_hostile_class_is_shown_as_text_and_no_script_runs(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    book = session_hostile_class(tmp_path_factory)
    server = start_server(book)
    dialogs: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server.url)
        page.goto(f"{server.base}/assignments/{SLUG}")
        page.wait_for_selector("#students tbody tr")
        assert HOSTILE_NAME in page.inner_text("#students")  # the file name, as text
        page.goto(f"{server.base}/assignments/{SLUG}/students/{quote(HOSTILE_NAME, safe='')}")
        notebook = page.inner_text("#notebook")
        assert "<script>window.__pwned=1;alert(1)</script>" in notebook  # markdown, as text
        assert "[text/html]" in notebook or "<script>window.__pwned=1" in notebook
        assert "<script>window.__pwned=8</script>" in notebook  # printed output
        assert "ValueError: <script>window.__pwned=3</script>" in page.inner_text("#cell-issues")  # the exception
        feedback = page.frame_locator("#feedback").locator("body").inner_text()
        assert "<script>window.__pwned=3</script>" in feedback  # ... as the student reads it
        assert page.locator("#notebook script, #notebook svg, #notebook img[onerror]").count() == 0
        page.frame_locator("#feedback").locator("body").wait_for()
        page.screenshot(path=screenshot("desk-hostile.png"), full_page=False)
        time.sleep(0.5)
        assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
        for frame in page.frames:
            try:
                assert frame.evaluate("typeof window.__pwned") == "undefined"
            except playwright.Error:
                pass  # the sandboxed frame runs no script at all, ours included
    finally:
        server.stop()


def test_a_forged_post_and_an_unauthenticated_page_are_refused(graded: Graded, browser: Any, tmp_path: Path) -> None:
    book = copy_graded(graded, tmp_path)
    server = start_server(book)
    try:
        context = browser.new_context()
        page = context.new_page()
        refused = page.goto(f"{server.base}/assignments/{SLUG}")
        assert refused is not None and refused.status == 401 and "Log in first" in page.inner_text("body")
        page.goto(server.url)  # the grader logs in ...
        evil = server.base.rsplit(":", 1)[0] + ":9/evil.html"  # ... and visits another site
        target = f"{server.base}/assignments/{SLUG}/students/sigmoid_sign_error/adjust"
        page.route(
            evil,
            lambda route: route.fulfill(
                content_type="text/html",
                body=(
                    f'<form id="f" method="post" action="{target}"><input name="check" value="{CHECK}">'
                    '<input name="points" value="3"><input name="reason" value="forged">'
                    '<input name="version" value="0"></form>'
                    '<script>document.getElementById("f").submit()</script>'
                ),
            ),
        )
        page.goto(evil)
        page.wait_for_url(target)
        assert "Refused" in page.inner_text("h1") and "CSRF" in page.inner_text("#error")
        api = page.request.get(f"{server.base}/api/assignments/{SLUG}/students/sigmoid_sign_error")
        assert api.json()["adjustments"] == []
    finally:
        server.stop()
