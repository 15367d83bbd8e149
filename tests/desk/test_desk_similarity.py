"""The desk's page of code shared between students, on the forward-pass similarity class
(tests/submissions/similarity, built by make_similarity.py) graded by the real `grader batch`,
with one more student: a copy of an independent notebook handed in under a file name that carries
script, with script in a comment of its code. Through the API (the pairs, the trio, the answers
too short to compare) and in a real browser (the pair and the trio side by side, highlighted,
escaped, no script run; the screenshot docs/desk.md shows)."""

from __future__ import annotations

from typing import Any

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("starlette", reason="the desk's extra is not installed (pip install -e '.[desk]')")
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from desk_fixtures import HOSTILE_NAME, Graded, screenshot, start_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLASS = ROOT / "tests" / "submissions" / "similarity" / "forward-pass"
ASSIGNMENT = ROOT / "assignments" / "forward-pass"
SLUG = "forward-pass"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCRIPT_COMMENT = "# <script>window.__pwned=1</script>"
PAIR = ("pair_a_helper_functions", "pair_b_renamed_reordered_recommented")
TRIO = ("trio_1_stepwise", "trio_2_stepwise_renamed", "trio_3_stepwise_recommented")


def hostile_copy(source: Path) -> dict:
    """`source` with a comment carrying script at the end of every code cell."""
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = text.rstrip("\n") + "\n" + SCRIPT_COMMENT + "\n"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    # one real batch of 18 notebooks in real kernels (about a minute here), shared by the module
    base = tmp_path_factory.mktemp("desksimilarity")
    classdir = base / "class"
    shutil.copytree(CLASS, classdir)
    (classdir / f"{HOSTILE_NAME}.ipynb").write_text(json.dumps(hostile_copy(CLASS / "independent_einsum.ipynb")))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "batch",
            str(classdir),
            "--assignment",
            str(ASSIGNMENT),
            "--out",
            str(base / "out"),
            "--workers",
            "2",
            "--no-sandbox",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Graded(classdir, base / "out")


def client_of(book: Graded) -> tuple[Any, Any]:  # (TestClient, State)
    from starlette.testclient import TestClient

    from grader.desk.app import ServeConfig, build_app, make_state

    state = make_state(ServeConfig(gradebook=str(book.out), course=ROOT, submissions=book.classdir))
    return TestClient(build_app(state, log=False)), state


@pytest.mark.slow  # the class's batch above
def test_the_similarity_api_ranks_the_pair_and_the_trio_and_lists_the_short_answers(graded: Graded) -> None:
    client, state = client_of(graded)
    assert client.get(f"/api/assignments/{SLUG}/similarity").status_code == 401
    reply = client.get(f"/api/assignments/{SLUG}/similarity", headers={"Authorization": f"Bearer {state.auth.token}"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["compared"] == 18 and body["threshold"] == 0.5
    whole = [p for p in body["pairs"] if p["exercise"] is None]
    assert {(p["a"], p["b"]) for p in whole} == {
        PAIR,
        TRIO[:2],
        (TRIO[0], TRIO[2]),
        TRIO[1:],
        (HOSTILE_NAME, "independent_einsum"),
    }
    tops = [max(p["a_share"], p["b_share"]) for p in whole]
    assert tops == sorted(tops, reverse=True)  # ranked
    pair = next(p for p in whole if (p["a"], p["b"]) == PAIR)
    assert pair["a_tokens"] > 40 and pair["b_tokens"] > 40
    assert pair["words"] == (
        f"69% of {PAIR[0]}'s own code (238 tokens) matches {PAIR[1]}'s; "
        f"75% of {PAIR[1]}'s (237 tokens) matches {PAIR[0]}'s"
    )
    trio = next(p for p in whole if (p["a"], p["b"]) == TRIO[:2])
    assert trio["words"].startswith("these two share 100% of their own code")
    assert sorted(body["clusters"]) == [list(TRIO)]
    assert len(body["too_short"]["neuron_sum"]) >= 9
    assert not any(p["a"].startswith("independent_") and p["b"].startswith("independent_") for p in body["pairs"])
    assert (
        client.get(
            "/api/assignments/nope/similarity", headers={"Authorization": f"Bearer {state.auth.token}"}
        ).status_code
        == 404
    )


@pytest.mark.slow  # the class's batch above
def test_the_similarity_page_is_linked_escapes_what_students_wrote_and_runs_no_inline_script(graded: Graded) -> None:
    client, state = client_of(graded)
    assert client.get(f"/?token={state.auth.token}").status_code == 200
    assignment = client.get(f"/assignments/{SLUG}").text
    assert f'href="/assignments/{SLUG}/similarity"' in assignment
    reply = client.get(f"/assignments/{SLUG}/similarity")
    assert reply.status_code == 200 and "script-src 'self'" in reply.headers["content-security-policy"]
    page = reply.text
    assert "these two share 100% of their own code" in page and "75% of" in page
    assert f"{', '.join(TRIO)} share code with one another" in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page  # the comment, as text
    assert "<script>window.__pwned" not in page and HOSTILE_NAME not in page
    assert "&lt;img src=x onerror=" in page  # the file name, as text
    assert "<mark>" in page


@pytest.mark.slow  # the class's batch above, a real server and a browser
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium on PATH (apt-get install chromium)")
def test_the_similarity_page_in_a_real_browser_shows_the_pair_and_the_trio_side_by_side(graded: Graded) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")
    server = start_server(graded)
    dialogs: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server.url)
            page.goto(f"{server.base}/assignments/{SLUG}")
            page.click("#similarity-link")
            assert page.url == f"{server.base}/assignments/{quote(SLUG)}/similarity"
            section = page.locator("#similarity")
            summaries = section.locator("details.pair summary").all_inner_texts()
            assert any(s.startswith(f"{PAIR[0]} and {PAIR[1]}: 69% of") for s in summaries), summaries
            assert sum(TRIO[0] in s or TRIO[1] in s for s in summaries) == 3
            assert section.locator("#similarity-clusters li").inner_text().startswith(", ".join(TRIO))
            first = section.locator("details.pair").first
            assert first.locator(".sides .side").count() == 2 and first.locator("mark").first.is_visible()
            # the stylesheet, not the section's inline <style>, lays the sides out (the CSP blocks inline style)
            assert first.locator(".sides").evaluate("e => getComputedStyle(e).display") == "grid"
            assert "neuron_sum" in section.locator("#similarity-too-short").inner_text()
            page.screenshot(path=screenshot("desk-similarity.png"), full_page=False)
            hostile = section.locator("details.pair", has_text="independent_einsum")
            hostile.locator("summary").click()
            assert SCRIPT_COMMENT[2:] in hostile.inner_text() and HOSTILE_NAME in hostile.inner_text()
            time.sleep(0.3)
            assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
            browser.close()
    finally:
        server.stop()
