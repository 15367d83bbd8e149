"""Grading by question in a real browser (Playwright driving Debian's chromium): log in with the
printed address, open a question's answers not graded yet, grade two students with the rubric's
buttons and keys and a comment (kept and reused), see "not graded yet" shrink and the grade in
grades.csv; a student's answer that is script is shown as text and nothing runs; a plot shows. The screenshot
goes to build/screenshots/desk-question.png (desk_fixtures.screenshot)."""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")
try:
    import playwright.sync_api as playwright
except ImportError:
    if os.environ.get("GRADER_REQUIRE_BROWSER_TESTS"):  # CI (.ci/run) installs it
        raise
    pytest.skip("Playwright is not installed (pip install -c constraints.txt playwright)", allow_module_level=True)

from desk_fixtures import FP_SLUG, screenshot, session_question_class, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium on PATH (apt-get install chromium; .ci/run does)"),
]


def why_view(out: Path) -> dict[str, str]:
    with open(out / "grades.csv", newline="") as fh:
        return {row["student"]: row["why_view"] for row in csv.DictReader(fh)}


def wait_for(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow  # a real batch of four forward-pass notebooks, a real server and a browser (~40 s)
def test_grade_a_question_with_rubric_buttons_keys_and_a_kept_comment(tmp_path_factory: pytest.TempPathFactory) -> None:
    book = session_question_class(tmp_path_factory)
    server = start_server(book)
    dialogs: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server.url)
            page.goto(f"{server.base}/assignments/{FP_SLUG}")
            assert page.inner_text("#questions tr[data-question='why_view'] td.waiting") == "4"
            page.click("#questions tr[data-question='why_view'] a:has-text('Grade the 4 waiting')")
            assert page.inner_text("#waiting") == "4 of 4 not graded yet"
            assert page.inner_text("#answer h2").startswith("ada")
            page.click("label.rubric-item:has-text('view: the same numbers')")  # a rubric button
            page.keyboard.press("2")  # ... and a key
            assert page.locator("label.rubric-item.on").count() == 2
            page.fill("#comment", "Both halves, well put.")
            page.click("#save-next")
            assert page.inner_text("#flash") == "Saved ada's grade."
            assert page.inner_text("#answer h2").startswith("bob")  # the next not graded yet
            assert page.inner_text("#waiting") == "3 of 4 not graded yet"
            assert "Both work, `view` is just shorter to type." in page.inner_text("#answer-text")
            page.keyboard.press("1")
            page.keyboard.press("3")
            page.click("button.reuse:has-text('Both halves, well put.')")
            assert "used 1 time" in page.inner_text("#reusable")
            page.fill("#comment", "Half of it: what does resize_ do to weights?")
            with page.expect_navigation():  # a key press does not wait for the page it loads
                page.keyboard.press("Control+Enter")  # save and next
            assert page.inner_text("#answer h2").startswith("cy")
            assert page.inner_text("#waiting") == "2 of 4 not graded yet"
            assert page.locator("#previous").count() == 0  # among those not graded yet, cy is the first
            page.click("#show-all")
            page.click("#previous")
            assert page.inner_text("#answer h2").startswith("bob")
            assert page.inner_text("#answer-status") == "graded" and page.inner_text("#answer-points") == "0.5 / 2"
            assert "Graded by instructor" in page.inner_text("#graded-by")
            page.click("#next")
            page.wait_for_load_state("load")
            page.keyboard.press("1")
            assert page.locator("label.rubric-item.on").count() == 1
            page.screenshot(path=screenshot("desk-question.png"), full_page=False)
            assert wait_for(lambda: why_view(book.out)["ada"] == "2.0" and why_view(book.out)["bob"] == "0.5")

            page.goto(f"{server.base}/assignments/{FP_SLUG}/questions/why_view/students/dee")
            assert "<script>window.__pwned=9</script>" in page.inner_text("#answer-text")
            assert page.locator("#answer script, #answer img[onerror]").count() == 0
            time.sleep(0.5)
            assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
            page.goto(
                f"{server.base}/assignments/{FP_SLUG}/questions/why_mm/students/dee"
            )  # a plot, loaded under the CSP
            assert page.evaluate("document.querySelector('img.answer-image').naturalWidth") == 1
            assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
            page.goto(f"{server.base}/assignments/{FP_SLUG}")
            assert page.inner_text("#questions tr[data-question='why_view'] td.waiting") == "2"
            browser.close()
    finally:
        server.stop()
