"""Questions a person grades: [manual.<name>] in assignment.toml, nbgrader's manually graded cells
through `grader assign`, the answers kept with the verdicts, and what students see before grading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.authoring.assign import assign
from grader.course import load_assignment
from grader.submission.notebook import Cell
from grader.policy.answers import find_answer
from grader.policy.questions import ManualQuestion

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TOML = """\
title = "Tiny"
slug = "tiny"
notebook = "tiny.ipynb"

[exercises]
double = "Double"
"""
RUBRIC = """
[manual.why_linear]
title = "Why is doubling linear?"
points = 2
tag = "why_linear"

[[manual.why_linear.rubric]]
id = "sum"
text = "Shows 2(x + y) = 2x + 2y"
points = 1.5

[[manual.why_linear.rubric]]
id = "scale"
text = "Shows 2(ax) = a(2x)"
points = 0.5

[[manual.why_linear.rubric]]
id = "vague"
text = "Says it without showing it"
points = -1
"""
CHECK = "def test_double(nb):\n    assert nb.double(3) == 6, 'double(3) should be 6'\n"


def nbgrader(cell: nbformat.NotebookNode, grade_id: str, points: float, *, task: bool = False) -> nbformat.NotebookNode:
    meta = {"grade_id": grade_id, "points": points, "schema_version": 3, "locked": task}
    meta.update({"task": True, "grade": False, "solution": False} if task else {"grade": True, "solution": True})
    cell.metadata["nbgrader"] = meta
    return cell


def tiny_master(tmp: Path, toml: str = TOML + RUBRIC) -> Path:
    """solutions/tiny: one function checked automatically, an nbgrader written answer (declared in
    assignment.toml with a rubric) and an nbgrader task (declared by `grader assign`)."""
    folder = tmp / "solutions" / "tiny"
    (folder / "public").mkdir(parents=True)
    (folder / "assignment.toml").write_text(toml)
    (folder / "public" / "test_double.py").write_text(CHECK)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny"),
        nbformat.v4.new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        nbformat.v4.new_markdown_cell("## Question A: why is doubling linear?"),
        nbgrader(
            nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nBecause 2(x + y) = 2x + 2y.\n### END SOLUTION"),
            "why_linear",
            2,
        ),
        nbgrader(
            nbformat.v4.new_markdown_cell("## Task: print double(21) in the cell below"), "print_task", 1, task=True
        ),
        nbformat.v4.new_code_cell("print(double(21))"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(folder / "tiny.ipynb"))
    return folder


def assigned(tmp: Path) -> Path:
    assign(tiny_master(tmp), tmp / "assignments")
    return tmp / "assignments" / "tiny"


def answered(
    folder: Path, out: Path, *, written: str | None, double: str = "return 2 * x", printed: str = "print(double(21))"
) -> Path:
    """The student notebook with the function, the written answer (None: its cell deleted) and the task."""
    nb = nbformat.read(str(folder / "tiny.ipynb"), as_version=4)
    nb.cells[1].source = f"def double(x):\n    {double}"
    if written is None:
        del nb.cells[3]
    else:
        nb.cells[3].source = written
    nb.cells[-1].source = printed
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    return out


# -- assignment.toml ----------------------------------------------------------------------
def write_toml(tmp: Path, extra: str) -> Path:
    folder = tmp / "assignments" / "tiny"
    (folder / "checks").mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text(TOML + extra)
    return folder


def test_manual_questions_and_rubric_items_are_read_in_order(tmp_path: Path) -> None:
    assignment = load_assignment(write_toml(tmp_path, RUBRIC + '\n[manual.plot]\npoints = 1\nafter = "Plot"\n'))
    assert [q.name for q in assignment.manual] == ["why_linear", "plot"]
    why = assignment.manual[0]
    assert (why.title, why.points, why.tag) == ("Why is doubling linear?", 2.0, "why_linear")
    assert [(i.id, i.points) for i in why.rubric] == [("sum", 1.5), ("scale", 0.5), ("vague", -1.0)]
    assert assignment.manual[1].title == "plot" and assignment.manual[1].after == "Plot"


@pytest.mark.parametrize(
    "extra, words",
    [
        (
            '[manual.q]\npoints = 1\ntag = "q"\ntitel = "Q"\n',
            ["unknown key 'titel' in [manual.q]", "did you mean 'title'?"],
        ),
        (
            '[manual.q]\npoints = 1\ntag = "q"\n[[manual.q.rubric]]\nid = "a"\ntext = "A"\npoint = 1\n',
            ["unknown key 'point' in [[manual.q.rubric]]", "did you mean 'points'?"],
        ),
        ('[manual.q]\npoints = 1\ntag = "q"\nafter = "Q"\n', ["[manual.q] names its answer's cell with tag and after"]),
        ('[manual.q]\npoints = 0\ntag = "q"\n', ["[manual.q] points = 0 must be more than 0"]),
        (
            '[manual.q]\npoints = 1\ntag = "q"\n[[manual.q.rubric]]\nid = "a"\ntext = "A"\npoints = 0\n',
            ["a rubric item must add or take away points"],
        ),
        ('[manual.q]\npoints = "2"\ntag = "q"\n', ["[manual.q] points = '2' is not a number"]),
    ],
)
def test_a_mistake_in_a_manual_question_is_named_with_exit_2(tmp_path: Path, extra: str, words: list[str]) -> None:
    folder = write_toml(tmp_path, extra)
    notebook = tmp_path / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    proc = subprocess.run(
        [PYTHON, "-m", "grader.cli", "check", str(notebook), "--assignment", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert str(folder / "assignment.toml") in proc.stderr
    for word in words:
        assert word in proc.stderr
    assert "Traceback" not in proc.stderr


# -- grader assign --------------------------------------------------------------------------
def test_assign_turns_nbgrader_manual_cells_into_questions_and_keeps_the_cells(tmp_path: Path) -> None:
    folder = assigned(tmp_path)
    assignment = load_assignment(folder)
    assert [(q.name, q.points, q.tag) for q in assignment.manual] == [
        ("why_linear", 2.0, "why_linear"),
        ("print_task", 1.0, "print_task"),
    ]
    assert assignment.manual[0].rubric[0].id == "sum"  # declared in the master: kept as written
    assert assignment.manual[1].title == "Task: print double(21) in the cell below"
    nb = nbformat.read(str(folder / "tiny.ipynb"), as_version=4)
    assert nb.cells[3].source == "YOUR ANSWER HERE" and "why_linear" in nb.cells[3].metadata.tags
    assert "Because" not in json.dumps(nb)
    assert "print_task" in nb.cells[4].metadata.tags
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assign(tmp_path / "solutions" / "tiny", tmp_path / "assignments")  # deterministic
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


# -- finding the answer ------------------------------------------------------------------------
CELLS = [
    Cell(0, "## Question A: why view?", "markdown"),
    Cell(1, "Because view shares storage.", "markdown"),
    Cell(2, "## Question B\nWhy mm? Answer here: mm is a matrix product.", "markdown"),
    Cell(3, "plt.plot(losses)", "code", ("loss_plot",)),
]


@pytest.mark.parametrize(
    "where, cell, text",
    [
        ({"after": "Question A"}, 1, "Because view shares storage."),
        ({"containing": "Answer here:"}, 2, "mm is a matrix product"),  # the question's own cell
        ({"tag": "loss_plot"}, 3, "plt.plot(losses)"),
    ],
)
def test_the_answer_is_found_in_a_markdown_or_code_cell(where: dict[str, str], cell: int, text: str) -> None:
    answer = find_answer(ManualQuestion(name="q", title="Q", points=1, **where), CELLS)
    assert answer.found and answer.cell == cell and text in answer.text


def test_a_missing_cell_is_no_answer_not_a_crash() -> None:
    answer = find_answer(ManualQuestion(name="q", title="Q", points=2, tag="gone"), CELLS)
    assert not answer.found and answer.text == "" and "the cell tagged 'gone' is not in the notebook" in answer.where


def test_outputs_keep_images_as_checked_data_and_nothing_that_runs() -> None:
    png = "iVBORw0KGgo="
    outputs = {
        3: [
            {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}},
            {"output_type": "display_data", "data": {"text/html": "<script>alert(1)</script>"}},
            {"output_type": "display_data", "data": {"image/png": "not base64 <script>"}},
            {"output_type": "stream", "name": "stdout", "text": "loss 0.1\n"},
        ]
    }
    answer = find_answer(ManualQuestion(name="q", title="Q", points=1, tag="loss_plot"), CELLS, outputs)
    assert answer.outputs == [{"mime": "image/png", "data": png}, {"mime": "text/plain", "data": "loss 0.1\n"}]


# -- a student's own check ---------------------------------------------------------------------
@pytest.mark.slow  # grades two notebooks in real kernels through the CLI
def test_grader_check_says_graded_by_a_person_never_a_failure(tmp_path: Path) -> None:
    folder = assigned(tmp_path)
    good = answered(folder, tmp_path / "work" / "good.ipynb", written="Because 2(x + y) = 2x + 2y.")
    gone = answered(folder, tmp_path / "work" / "gone.ipynb", written=None)
    for notebook, found in ((good, "answer found in cell 4"), (gone, "no answer found")):
        results = tmp_path / f"{notebook.stem}.json"
        proc = subprocess.run(
            [
                PYTHON,
                "-m",
                "grader.cli",
                "check",
                str(notebook),
                "--assignment",
                str(folder),
                "--results",
                str(results),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr  # the automatic check passed
        assert "graded by a person after submission" in proc.stdout.lower()
        assert "FAIL" not in proc.stdout and found in proc.stdout.lower()
        data = json.loads(results.read_text())
        manual = [t for t in data["tests"] if "manual" in t["tags"]]
        assert [t["extra_data"]["question"] for t in manual] == ["why_linear", "print_task"]
        state = manual[0]["extra_data"]["manual_status"]
        assert state == ("waiting" if notebook is good else "no answer")
        assert "status" not in manual[0] or state == "no answer"  # waiting: neither passed nor failed


def test_the_demo_says_which_questions_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.demo import print_verdicts

    grades = tmp_path / "grades.csv"
    grades.write_text("student,total,max_score,status,waiting\nada,28,30,passed,why_view; why_mm\nbob,26,30,passed,\n")
    print_verdicts(grades)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("28/30  passed  (waiting for a grader: why_view, why_mm)")
    assert lines[2].endswith("26/30  passed")


def test_an_unreadable_notebook_has_no_answer_to_each_question(tmp_path: Path) -> None:
    from grader.grade import Options, grade
    from grader.integrations.gradescope_results import to_gradescope

    folder = assigned(tmp_path)
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [{"cell_type": "markdown", "source": "Because')
    result = grade(broken, load_assignment(folder), Options(device="cpu", fork_server=False))
    assert not result.readable
    assert [(a.question, a.found) for a in result.manual] == [("why_linear", False), ("print_task", False)]
    assert result.manual[0].where.startswith("the notebook was not graded: ")
    data = to_gradescope(result)
    assert [t["extra_data"]["manual_status"] for t in data["tests"] if t["tags"] == ["manual"]] == ["no answer"] * 2
    assert (data["score"], data["extra_data"]["max_score"]) == (0.0, 4.0)


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.slow  # one notebook graded in a real kernel
def test_a_plot_is_kept_as_image_data_and_shown_once_graded(tmp_path: Path) -> None:
    from grader.feedback.render import render_html
    from grader.grade import Options, grade
    from grader.policy.grading import with_grades
    from grader.policy.manual import Grade

    folder = assigned(tmp_path)
    shows = (
        "import base64\nfrom IPython.display import HTML, Image, display\n"
        f"display(Image(data=base64.b64decode('{PNG}')))\ndisplay(HTML('<script>alert(1)</script>'))\n"
        "print(double(21))"
    )
    notebook = answered(folder, tmp_path / "plot.ipynb", written="Because.", printed=shows)
    result = grade(notebook, load_assignment(folder), Options(device="cpu"))
    task = result.manual[1]
    assert task.found and task.kind == "code"
    assert task.outputs == [
        {"mime": "image/png", "data": PNG},  # the HTML output: its plain text only
        {"mime": "text/plain", "data": "<IPython.core.display.HTML object>"},
        {"mime": "text/plain", "data": "42\n"},
    ]
    page = render_html(with_grades(result, {"print_task": Grade("print_task", 1.0, by="ta1")}))
    assert f'src="data:image/png;base64,{PNG}"' in page and "<script>" not in page
