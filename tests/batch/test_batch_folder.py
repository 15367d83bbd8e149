"""A batch run from a folder that holds something named `grader` (a course's own grading scripts,
a clone of this repository): its workers import the installed grader, not the folder's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "submissions" / "neural-net-basics"
ASSIGNMENT = ROOT / "assignments" / "neural-net-basics"
GRADER = Path(sys.executable).parent / "grader"  # the console script: it does not put its folder first


def test_a_folder_named_grader_where_the_batch_runs_is_not_imported(tmp_path: Path) -> None:
    here = tmp_path / "course"
    (here / "grader").mkdir(parents=True)
    (here / "grader" / "__init__.py").write_text('raise RuntimeError("the folder\'s own grader was imported")\n')
    classdir = here / "class"
    classdir.mkdir()
    shutil.copy(SAMPLES / "correct.ipynb", classdir / "ada.ipynb")
    proc = subprocess.run(
        [str(GRADER), "batch", str(classdir), "--assignment", str(ASSIGNMENT), "--out", str(here / "out")],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "the folder's own grader" not in proc.stderr + proc.stdout
    assert "[1/1] ada  38/38  passed" in proc.stderr
    assert (here / "out" / "grades.csv").read_text().splitlines()[1].startswith("ada,")
