"""The second bundled assignment, tensor-shapes, made only with the checks API and different in
kind from neural-net-basics: no functions, every answer is the last expression of a top-level cell
(nb.cell by heading or by tag). Its master scores full marks, its student notebook zero; common
mistakes get messages a student understands; a student's copy says hidden checks run later."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.course import load_assignment
from grader.authoring.assign import assign
from grader.grade import Options, grade

ROOT = Path(__file__).resolve().parents[2]
SLUG = "tensor-shapes"
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
STUDENT = ROOT / "assignments" / SLUG / f"{SLUG}.ipynb"

# What students often write, in the student notebook's answer cells (in order).
MISTAKES = [
    "t = torch.tensor(a)      # a copy\nt.mul_(10)\nt, a",
    "x.sum(dim=1)             # the summed dimension is gone",
    "torch.mm(torch.ones(2, 3), torch.ones(3, 4))",
    "torch.mm(features.view(5, 1), weights) + bias      # an outer product",
]


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(ROOT / "assignments" / SLUG)


def test_master_scores_full_marks(assignment) -> None:
    result = grade(MASTER, assignment, Options(device="cpu"))
    assert result.hidden_ran
    assert (result.score, result.max_score) == (15, 15), [(c.name, c.message) for c in result.checks if not c.passed]
    assert {c.exercise for c in result.checks} == {"numpy_bridge", "row_sums", "mm_shape", "fix_mm"}
    assert sum(c.hidden for c in result.checks) == 4
    assert not result.cells


def test_student_notebook_scores_zero(assignment) -> None:
    result = grade(STUDENT, assignment, Options(device="cpu"))
    assert (result.score, result.max_score) == (0, 15)
    public = [c for c in result.checks if not c.hidden]
    assert all("Replace the `raise NotImplementedError()` stub with your answer." in c.message for c in public)


def test_assignment_folder_is_generated_from_the_master(tmp_path: Path) -> None:
    written = assign(ROOT / "solutions" / SLUG, tmp_path)
    for path in written:
        committed = ROOT / "assignments" / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"run `grader assign solutions/{SLUG}`: {committed} is stale"
        )
    student = nbformat.read(str(STUDENT), as_version=4)
    assert [c.metadata.get("tags") for c in student.cells if c.metadata.get("tags")] == [["mm-shape"]]
    assert "BEGIN SOLUTION" not in STUDENT.read_text() and "from_numpy(a)\\n" not in STUDENT.read_text()


def test_student_copy_explains_mistakes_and_says_hidden_checks_run_later(tmp_path: Path) -> None:
    """`grader check my.ipynb` in a student's copy: assignments/ only, no solutions/."""
    shutil.copytree(ROOT / "assignments" / SLUG, tmp_path / "assignments" / SLUG)
    nb = nbformat.read(str(STUDENT), as_version=4)
    stubs = [c for c in nb.cells if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
    assert len(stubs) == len(MISTAKES)
    for cell, source in zip(stubs, MISTAKES):
        cell.source = source
    nbformat.write(nb, str(tmp_path / "my.ipynb"))
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", "my.ipynb", "--feedback", "feedback.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 1, proc.stderr
    assert "Score: 1/11" in out  # the tensor itself is right; all else is wrong
    assert "Hidden checks were not run: they run when your work is graded." in out
    assert "(hidden)" not in out and "test_a_itself_changed" not in out
    assert "`a` still holds 1, 2, ..., 12: the tensor you changed does not share memory with it." in out
    assert "your row sums has shape (3,), expected (3, 1)." in out
    assert "Your answer is a tensor. Answer with the shape itself" in out
    assert "your product has shape (5, 5), expected (1, 1)." in out
    html = (tmp_path / "feedback.html").read_text()
    assert "Hidden checks were not run here: they run when your work is graded." in html
    assert 'class="hidden-tag"' not in html


def test_grader_check_inline_gives_the_master_full_public_marks(tmp_path: Path) -> None:
    """In a running kernel: answers found by heading and by tag through the kernel's history."""
    from nbclient import NotebookClient

    shutil.copytree(ROOT / "assignments" / SLUG, tmp_path / "assignments" / SLUG)
    nb = nbformat.read(str(MASTER), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import grader\nreport = grader.check()\nreport.score, report.max_score"))
    path = tmp_path / "work.ipynb"
    nbformat.write(nb, str(path))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[-1].outputs
    html = next(o["data"]["text/html"] for o in outputs if o.output_type == "display_data")
    assert "11 / 11" in html and "7 of 7 public checks passed" in html
    assert "Hidden checks were not run here" in html
    result = next(o for o in outputs if o.output_type == "execute_result")
    assert result["data"]["text/plain"] == "(11.0, 11.0)"
