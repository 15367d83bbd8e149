"""Bad files: each gets a verdict, the reason in plain words, exit 1, a results file, no traceback.

The samples are in tests/fixtures/bad_files (made by make_bad_files.py there). Where code can
be salvaged it holds a right `activation` and no `reshape_weights`: graded as far as it can be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attack_support import MINI, ROOT

BAD = ROOT / "tests" / "fixtures" / "bad_files"

# file -> (readable, score, words the student reads)
CASES = {
    "truncated_json.ipynb": (False, 0, "truncated"),
    "binary_garbage.ipynb": (False, 0, "binary"),
    "not_utf8.ipynb": (False, 0, "UTF-8"),
    "empty_file.ipynb": (False, 0, "empty"),
    "python_script.ipynb": (True, 2, "Python script"),
    "empty_notebook.ipynb": (True, 0, "does not define `activation`"),
    "invalid_schema.ipynb": (True, 2, "structure is invalid"),
    "nbformat3.ipynb": (True, 2, "nbformat 3"),
    "python2_kernel.ipynb": (True, 2, "Python 2"),
}


def _words(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(result.errors + [c.message for c in result.checks] + [c.message for c in result.cells])


@pytest.fixture(scope="module")
def verdicts():  # type: ignore[no-untyped-def]
    from grader.course import load_assignment
    from grader.grade import Options, grade

    assignment = load_assignment(MINI)
    cache: dict[str, object] = {}

    def get(name: str):  # type: ignore[no-untyped-def]
        if name not in cache:
            cache[name] = grade(BAD / name, assignment, Options(sandbox="auto"))
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_file_gets_a_verdict_with_the_reason_in_plain_words(verdicts, name: str) -> None:  # type: ignore[no-untyped-def]
    readable, score, words = CASES[name]
    result = verdicts(name)
    assert result.readable is readable
    assert result.score == score and result.max_score == 4, [(c.name, c.message) for c in result.checks]
    assert words in _words(result), _words(result)
    assert result.exit_code == 1 and result.status == ("failed" if readable else "unreadable")
    assert "Traceback (most recent call last)" not in json.dumps(result.to_dict())
    if not readable:
        assert all(c.message.startswith("Not graded:") for c in result.checks)


@pytest.mark.parametrize("name", [n for n, (readable, _, _) in CASES.items() if not readable] + ["python_script.ipynb"])
def test_the_cli_exits_1_with_a_results_file_and_no_traceback(tmp_path: Path, name: str) -> None:
    if not (ROOT / "grader" / "cli").is_dir():
        pytest.skip("grader/cli/ is not there yet")
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "check",
            str(BAD / name),
            "--assignment",
            str(MINI),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    data = json.loads(results.read_text())
    assert data["score"] == CASES[name][1]
    assert CASES[name][2] in json.dumps(data) or CASES[name][2] in proc.stdout
