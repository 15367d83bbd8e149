"""The verdicts of the rebuild's starting point, kept byte for byte.

Before the core was rebuilt (issue 10), the results.json of every sample submission, every
attack notebook and every bad file was recorded in tests/goldens/ (what changes from one run to
the next left out: timings, the grader's version, the kernel's private folders, the checkout's
path). Each is graded again here, on the fast path, and must come out identical.

`GRADER_UPDATE_GOLDENS=1 make test` writes them anew: only for a change that means to change a
verdict, and the commit says why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from golden_support import normalise
from grader.integrations.gradescope_results import to_gradescope

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens"
NNB = ROOT / "assignments" / "neural-net-basics"
FORWARD_PASS = ROOT / "assignments" / "forward-pass"
MINI = ROOT / "tests" / "fixtures" / "assignments" / "mini"
FOLDERS = {
    "nnb": (NNB, ROOT / "tests" / "submissions" / "neural-net-basics"),
    "fp": (FORWARD_PASS, ROOT / "tests" / "submissions" / "forward-pass"),
    "attack": (MINI, ROOT / "tests" / "attacks" / "notebooks"),
    "bad": (MINI, ROOT / "tests" / "fixtures" / "bad_files"),
}
UPDATE = os.environ.get("GRADER_UPDATE_GOLDENS") == "1"


def golden_text(result: Any) -> str:
    """results.json as a student and a CI see it, less what changes between runs."""
    data = to_gradescope(result)
    data.pop("execution_time")
    data["extra_data"].pop("grader_version")
    return json.dumps(normalise(data), indent=2, sort_keys=True) + "\n"


def cases() -> list[tuple[str, Path, Path]]:
    out = []
    for prefix, (assignment, folder) in FOLDERS.items():
        out += [(f"{prefix}/{p.stem}", assignment, p) for p in sorted(folder.glob("*.ipynb"))]
    return out


CASES = cases()


@pytest.mark.slow
@pytest.mark.parametrize("name,assignment,path", CASES, ids=[c[0] for c in CASES])
def test_the_verdict_is_the_recorded_one(name: str, assignment: Path, path: Path) -> None:
    from graded_once import graded_once

    text = golden_text(graded_once(path, assignment))  # test_samples.py reads the same verdicts
    golden = GOLDENS / f"{name}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden for {name}: record it with GRADER_UPDATE_GOLDENS=1"
    assert text == golden.read_text(encoding="utf-8")


def test_every_sample_and_attack_has_a_golden() -> None:
    recorded = {str(p.relative_to(GOLDENS).with_suffix("")) for p in GOLDENS.rglob("*.json")}
    assert recorded == {c[0] for c in CASES}
    assert len(recorded) >= 15 + 25 + 9
