"""`grader check` as a user runs it: exit codes, files written, words printed, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parents[1]  # tests/
MINI = HERE / "fixtures" / "cli" / "assignments" / "mini"
GRADER = [sys.executable, "-m", "grader.cli"]

RIGHT = """
import torch
def activation(x):
    return torch.sigmoid(x)
def double(x):
    return x * 2
"""
WRONG_SIGN = """
import torch
def activation(x):
    return 1 / (1 + torch.exp(x))
def double(x):
    return x * 2
"""


def notebook(path: Path, *sources: str, slug: str | None = "mini") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if slug:
        nb.metadata["grader"] = {"slug": slug, "version": "1"}
    nbformat.write(nb, str(path))
    return path


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADER, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def right_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("right")
    nb = notebook(tmp / "right.ipynb", RIGHT)
    proc = run(
        "check",
        nb,
        "--assignment",
        MINI,
        "--results",
        tmp / "results.json",
        "--feedback",
        tmp / "feedback.html",
        "--junit",
        tmp / "junit.xml",
    )
    return proc, tmp


def test_right_notebook_exits_0_and_writes_every_file(right_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, tmp = right_run
    assert proc.returncode == 0, proc.stderr
    assert "Score: 4/4" in proc.stdout
    assert "PASS  test_activation_values" in proc.stdout
    results = json.loads((tmp / "results.json").read_text())
    assert results["score"] == 4.0
    assert {t["status"] for t in results["tests"]} == {"passed"}
    assert set(results) >= {"score", "execution_time", "output", "tests", "extra_data"}
    extra = results["extra_data"]
    assert extra["device"] == "cpu" and len(extra["sha256"]) == 64 and extra["isolation"]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "tags", "visibility"}
        assert test["tags"][0] in ("activation", "double")
    html = (tmp / "feedback.html").read_text()
    assert "4 / 4" in html and "<link" not in html and "<script src" not in html
    assert "test_activation_values" in html
    assert (tmp / "junit.xml").read_text().startswith("<?xml")


def test_wrong_sign_exits_1_and_names_the_problem(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "sign.ipynb", WRONG_SIGN)
    proc = run("check", nb, "--assignment", MINI, "--results", tmp_path / "r.json", "--feedback", tmp_path / "f.html")
    assert proc.returncode == 1
    assert "FAIL  test_activation_values" in proc.stdout
    assert "values differ" in proc.stdout
    assert "PASS  test_activation_shape_and_dtype" in proc.stdout
    assert "PASS  test_double_values" in proc.stdout
    html = (tmp_path / "f.html").read_text()
    assert "expected" in html and "your result" in html and "values differ" in html
    assert "Traceback" not in proc.stderr


def test_slug_in_metadata_finds_the_assignment_under_cwd(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(MINI, course / "assignments" / "mini")
    nb = notebook(tmp_path / "mine.ipynb", RIGHT)
    proc = run("check", nb, cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Hidden checks were not run" in proc.stdout


def test_student_stub_raises_and_feedback_says_replace_the_stub(tmp_path: Path) -> None:
    stub = (
        "def activation(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\ndef double(x):\n    return x * 2\n"
    )
    nb = notebook(tmp_path / "stub.ipynb", stub)
    proc = run("check", nb, "--assignment", MINI, "--feedback", tmp_path / "f.html")
    assert proc.returncode == 1
    assert "`activation` raised NotImplementedError" in proc.stdout
    assert "Replace the `raise NotImplementedError()` stub" in proc.stdout
    html = (tmp_path / "f.html").read_text()
    assert "cell 1, line 3, in activation" in html


def test_truncated_notebook_gets_a_verdict_not_a_traceback(tmp_path: Path) -> None:
    good = notebook(tmp_path / "good.ipynb", RIGHT)
    bad = tmp_path / "truncated.ipynb"
    bad.write_bytes(good.read_bytes()[:150])
    proc = run("check", bad, "--assignment", MINI, "--results", tmp_path / "r.json", "--junit", tmp_path / "j.xml")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["score"] == 0
    assert "truncated" in results["output"]
    assert results["extra_data"]["readable"] is False
    assert all(t["status"] == "failed" for t in results["tests"]) and len(results["tests"]) == 3
    assert "truncated" in proc.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "nope.ipynb", "--assignment", str(MINI)], "no such notebook"),
        (["check", "{nb}", "--assignment", "/no/such/assignment"], "assignment.toml is missing"),
        (["check", "{nb}", "--device", "tpu"], "invalid choice"),
        (["check"], "the following arguments are required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_grader_faults_exit_2_with_words(tmp_path: Path, args: list[str], words: str) -> None:
    nb = notebook(tmp_path / "n.ipynb", RIGHT)
    proc = run(*[a.replace("{nb}", str(nb)) for a in args])
    assert proc.returncode == 2
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "source, words",
    [
        ("import torch\nx = undefined_name\n", "NameError: name 'undefined_name' is not defined"),
        ("def test_x(nb:\n", "SyntaxError: '(' was never closed"),
    ],
)
def test_broken_check_file_is_an_assignment_fault_that_names_file_and_error(
    tmp_path: Path, source: str, words: str
) -> None:
    assignment = tmp_path / "mini"
    shutil.copytree(MINI, assignment)
    (assignment / "checks" / "test_broken.py").write_text(source)
    proc = run("check", notebook(tmp_path / "n.ipynb", RIGHT), "--assignment", assignment)
    assert proc.returncode == 2
    assert "the assignment's checks are broken: checks in checks/test_broken.py could not be loaded" in proc.stderr
    assert words in proc.stderr and "not in the submission" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_check_that_crashes_is_reported_as_the_checks_fault(tmp_path: Path) -> None:
    assignment = tmp_path / "mini"
    shutil.copytree(MINI, assignment)
    (assignment / "checks" / "test_crashing.py").write_text("def test_lookup(nb):\n    {}['missing']\n")
    proc = run(
        "check", notebook(tmp_path / "n.ipynb", RIGHT), "--assignment", assignment, "--results", tmp_path / "r.json"
    )
    assert proc.returncode == 1
    output = {t["name"]: t.get("output", "") for t in json.loads((tmp_path / "r.json").read_text())["tests"]}
    crashed = [text for name, text in output.items() if name.endswith("test_lookup")]
    assert crashed == [
        "The check could not run (KeyError: 'missing'). This is a fault in the check, "
        "not in your work; tell your instructor."
    ]
    assert "PASS  test_activation_values" in proc.stdout


def test_no_slug_and_no_assignment_is_exit_2(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "n.ipynb", RIGHT, slug=None)
    proc = run("check", nb, cwd=tmp_path)
    assert proc.returncode == 2
    assert "names no assignment" in proc.stderr and "--assignment" in proc.stderr


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_device_cuda_on_a_cpu_machine_is_a_clear_error(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "n.ipynb", RIGHT)
    proc = run("check", nb, "--assignment", MINI, "--device", "cuda")
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_from_scratch_notebook_without_metadata_is_graded_the_same(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# my own layout"),
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell("def double(x):\n    return x + x"),
        nbformat.v4.new_code_cell("activation = lambda x: torch.sigmoid(x)"),
    ]
    nb.metadata = {"kernelspec": {"name": "conda-env-py", "display_name": "Python (my env)", "language": "python"}}
    path = tmp_path / "scratch.ipynb"
    nbformat.write(nb, str(path))
    proc = run("check", path, "--assignment", MINI)
    assert proc.returncode == 0, proc.stdout
    assert "Score: 4/4" in proc.stdout


def test_a_left_over_grader_check_cell_does_not_fail_at_grading(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "with_check.ipynb", RIGHT, "import grader\ngrader.check()")
    proc = run("check", nb, "--assignment", MINI)
    assert proc.returncode == 0, proc.stdout
    assert "CELL" not in proc.stdout


def test_grading_writes_no_bytecode_into_the_course_folder(tmp_path: Path) -> None:
    """pytest's assertion rewriting caches bytecode beside the check files it imports: a grade, a
    batch (checks collected ahead in its worker server) leave the course's folder as it was, with
    Python told to write bytecode (PYTHONDONTWRITEBYTECODE unset, as on most machines)."""
    assignment = tmp_path / "course" / "mini"
    shutil.copytree(MINI, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(p.relative_to(assignment) for p in assignment.rglob("*"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    check = subprocess.run(
        [*GRADER, "check", str(notebook(tmp_path / "n.ipynb", RIGHT)), "--assignment", str(assignment)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert check.returncode == 0 and "Score: 4/4" in check.stdout, check.stderr
    class_folder = tmp_path / "class"
    class_folder.mkdir()
    for student in ("ada", "bob"):
        notebook(class_folder / f"{student}.ipynb", RIGHT)
    batch = subprocess.run(
        [*GRADER, "batch", str(class_folder), "--assignment", str(assignment), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert batch.returncode == 0, batch.stderr
    assert sorted(p.relative_to(assignment) for p in assignment.rglob("*")) == before
    assert len(before) >= 3  # assignment.toml, checks/, a check file at least


@pytest.mark.parametrize("layout", ["one_assignment_under_cwd", "notebook_in_the_assignment_folder"])
def test_a_damaged_notebook_without_assignment_gets_the_unreadable_verdict(tmp_path: Path, layout: str) -> None:
    """A truncated notebook names no slug: the only assignment under ./assignments, or the
    assignment folder holding the notebook, is its assignment; exit 1 and a results file that
    says why, as for any unreadable notebook (not exit 2 "names no assignment")."""
    course = tmp_path / "course"
    shutil.copytree(MINI, course / "assignments" / "mini")
    where = course if layout == "one_assignment_under_cwd" else course / "assignments" / "mini"
    bad = where / "mine.ipynb"
    bad.write_bytes(notebook(tmp_path / "good.ipynb", RIGHT).read_bytes()[:150])
    proc = run("check", bad, "--results", tmp_path / "r.json", cwd=course if layout.startswith("one") else tmp_path)
    assert proc.returncode == 1, proc.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["score"] == 0 and results["extra_data"]["readable"] is False
    assert "truncated" in results["output"]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_check_inside_a_students_copy_of_the_assignment_folder(tmp_path: Path) -> None:
    """authoring.md's student instructions: `grader check my.ipynb` in their copy of
    assignments/<slug>/ (no assignments/ folder around it): that folder is the assignment."""
    copy = tmp_path / "my-homework"
    shutil.copytree(MINI, copy)
    notebook(copy / "my.ipynb", RIGHT)
    proc = run("check", "my.ipynb", cwd=copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Score: 4/4" in proc.stdout


def test_an_unknown_slug_lists_the_assignments_there(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(MINI, course / "assignments" / "mini")
    shutil.copytree(MINI, course / "assignments" / "other")
    nb = notebook(tmp_path / "n.ipynb", RIGHT, slug="minu")
    proc = run("check", nb, cwd=course)
    assert proc.returncode == 2
    assert "no assignment 'minu'" in proc.stderr
    assert "the assignments in" in proc.stderr and "mini, other" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exercise_that_matches_no_check_suggests_the_closest(tmp_path: Path) -> None:
    """--exercise activaton (a typo) selects no check: not "Score: 0/0 [FAILED]" but exit 2, the
    closest exercise and the known ones; the right name still runs just its checks."""
    nb = notebook(tmp_path / "n.ipynb", RIGHT)
    proc = run("check", nb, "--assignment", MINI, "--exercise", "activaton")
    assert proc.returncode == 2, proc.stdout
    assert "no check matched --exercise 'activaton'" in proc.stderr
    assert "did you mean 'activation'?" in proc.stderr and "activation, double" in proc.stderr
    assert "Score" not in proc.stdout and "Traceback" not in proc.stderr
    proc = run("check", nb, "--assignment", MINI, "--exercise", "activation")
    assert proc.returncode == 0 and "PASS  test_activation_values" in proc.stdout
    assert "test_double" not in proc.stdout


def test_check_a_students_folder_picks_its_notebook_as_batch_does(tmp_path: Path) -> None:
    """The README's `grader check NOTEBOOK|FOLDER|ZIP`: a folder is a submission; its notebook
    is picked as `grader batch` picks it (the only one, or the one named as the assignment's),
    and its slug names the assignment."""
    course = tmp_path / "course"
    shutil.copytree(MINI, course / "assignments" / "mini")
    folder = tmp_path / "ada"
    (folder / "scratch").mkdir(parents=True)
    notebook(folder / "homework.ipynb", RIGHT)
    proc = run("check", folder, cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Score: 4/4" in proc.stdout
    notebook(folder / "scratch" / "copy.ipynb", WRONG_SIGN)  # two notebooks, none named mini.ipynb
    proc = run("check", folder, "--assignment", MINI, "--results", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    output = json.loads((tmp_path / "r.json").read_text())["output"]
    assert "holds 2 notebooks" in output and "rename the one to grade to mini.ipynb" in output
    (folder / "homework.ipynb").rename(folder / "mini.ipynb")
    proc = run("check", folder, "--assignment", MINI)
    assert proc.returncode == 0 and "Score: 4/4" in proc.stdout


def test_cells_without_ids_grade_without_nbformats_warning(tmp_path: Path) -> None:
    """A notebook of nbformat 4.5 whose cells carry no id (written by hand or by an old tool):
    graded, and nbformat's MissingIDFieldWarning is not printed (per submission, in a batch)."""
    nb = json.loads(notebook(tmp_path / "n.ipynb", RIGHT).read_text())
    for cell in nb["cells"]:
        cell.pop("id", None)
    nb["nbformat_minor"] = 5
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    proc = run("check", tmp_path / "n.ipynb", "--assignment", MINI)
    assert proc.returncode == 0 and "Score: 4/4" in proc.stdout, proc.stderr
    assert "MissingIDFieldWarning" not in proc.stderr and "missing an id" not in proc.stderr


def test_a_name_error_from_an_earlier_failed_cell_is_said_once_with_its_cause(tmp_path: Path) -> None:
    """`activation` uses `scale`, which cell 1 never assigned (it raised): each check says why,
    in one sentence, instead of repeating the NameError's traceback."""
    nb = notebook(
        tmp_path / "n.ipynb",
        "import torch\nscale = 1 / 0",
        "def activation(x):\n    return torch.sigmoid(x) * scale\ndef double(x):\n    return x * 2",
    )
    proc = run("check", nb, "--assignment", MINI)
    assert proc.returncode == 1
    cause = (
        "`activation` raised NameError: `scale` is not defined because cell 1, which assigns it, raised "
        "ZeroDivisionError: division by zero. Fix that cell, run all cells, and check again."
    )
    assert proc.stdout.count(cause) == 2  # the two checks of activation
    assert "Traceback" not in proc.stdout and "PASS  test_double_values" in proc.stdout


def test_a_notebook_of_an_older_version_is_graded_with_a_note(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "n.ipynb", RIGHT)
    data = json.loads(nb.read_text())
    data["metadata"]["grader"]["version"] = "0"  # mini is at version 1
    nb.write_text(json.dumps(data))
    proc = run("check", nb, "--assignment", MINI, "--results", tmp_path / "r.json")
    assert proc.returncode == 0 and "Score: 4/4" in proc.stdout
    note = "Your notebook was made from version 0 of the assignment; it was graded with version 1"
    assert note in proc.stdout and note in json.loads((tmp_path / "r.json").read_text())["output"]
    proc = run("check", notebook(tmp_path / "same.ipynb", RIGHT), "--assignment", MINI)
    assert "made from version" not in proc.stdout


def test_the_demo_ends_with_a_desk_command_that_runs_as_printed(tmp_path: Path, capsys) -> None:
    """`make demo`'s last line opens the desk on its gradebook: the program it names exists as
    printed (the venv's grader, so no activation is needed) and its `serve` answers --help."""
    import shlex

    from grader.demo import print_desk_command

    print_desk_command(Path("demo-output") / "neural-net-basics")
    command = shlex.split(capsys.readouterr().out.strip().splitlines()[-1])
    assert command[1:3] == ["serve", "demo-output/neural-net-basics"] and "--course" in command
    program = Path(command[0])
    assert program.is_file(), f"{program} does not exist"
    shown = subprocess.run([str(program), "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "GRADEBOOK" in shown.stdout
