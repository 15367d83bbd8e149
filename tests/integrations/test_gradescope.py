"""Gradescope: `grader gradescope` builds the zip; its run_autograder grades a submission in a
fake /autograder tree and writes a results.json that follows Gradescope's specification."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ci"
ASSIGNMENT = FIXTURE / "assignments" / "ci-demo"
SUBMISSIONS = FIXTURE / "submissions"
SCHEMA = json.loads((FIXTURE / "gradescope_results.schema.json").read_text(encoding="utf-8"))
# Every test of ours carries these (the specification makes them optional).
OUR_TEST_FIELDS = {"name", "score", "max_score", "status", "output", "tags", "visibility"}


def grader_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", *args]


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "autograder.zip"
    # The sandbox has its own tests; here the integration is under test, so limits only.
    proc = subprocess.run(
        grader_cmd("gradescope", str(ASSIGNMENT), "--out", str(out), "--sandbox", "none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "1 hidden file(s)" in proc.stdout
    return out


def autograder_tree(tmp_path: Path, zip_path: Path) -> Path:
    """What Gradescope builds: the zip in source/, run_autograder copied to the root, a submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile drops the permission bits
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable}
    proc = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, SCHEMA)
    return proc, results


def test_zip_holds_what_gradescope_needs(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        constraints = zf.read("constraints.txt").decode()
        config = json.loads(zf.read("grader-gradescope.json"))
    assert {"setup.sh", "run_autograder", "constraints.txt", "grader-gradescope.json"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert {
        "course/assignments/ci-demo/assignment.toml",
        "course/assignments/ci-demo/checks/check_double.py",
        "course/solutions/ci-demo/checks/check_hidden.py",
        "grader-src/pyproject.toml",
        "grader-src/grader/__init__.py",
        "grader-src/grader/bridge/inkernel/install.py",
    } <= names
    assert not any("__pycache__" in n for n in names)
    assert "torch==2.13.0" in constraints
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup and "bubblewrap" in setup
    assert config["assignment"] == "course/assignments/ci-demo" and config["sandbox"] == "none"


def test_run_autograder_grades_the_one_notebook(tmp_path: Path, autograder_zip: Path) -> None:
    root = autograder_tree(tmp_path, autograder_zip)
    folder = root / "submission" / "work"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "wrong.ipynb", folder / "my-work.ipynb")  # not the name the assignment asks for
    (root / "submission" / "__MACOSX").mkdir()
    (root / "submission" / "__MACOSX" / "._my-work.ipynb").write_bytes(b"\x00\x05\x16\x07")
    (folder / ".ipynb_checkpoints").mkdir()
    shutil.copy(SUBMISSIONS / "correct.ipynb", folder / ".ipynb_checkpoints" / "my-work-checkpoint.ipynb")

    proc, results = run_autograder(root)

    assert proc.returncode == 1, proc.stderr  # a check failed
    assert results["score"] == 4
    assert "my-work.ipynb" in results["output"] and "ci-demo.ipynb" in results["output"]
    tests = {t["name"]: t for t in results["tests"]}
    assert all(OUR_TEST_FIELDS <= set(t) for t in tests.values())
    assert sum(t["max_score"] for t in tests.values()) == 8
    values = tests["total: test_total_value"]
    assert values["status"] == "failed" and values["score"] == 0 and values["max_score"] == 3
    assert "shape (2,)" in values["output"]
    assert tests["double: test_double_values"]["status"] == "passed"
    # visibility from assignment.toml: public -> visible, [visibility.exercises] total, hidden
    assert tests["double: test_double_values"]["visibility"] == "visible"
    assert values["visibility"] == "after_due_date"
    hidden = tests["total: test_total_of_matrix_is_scalar"]
    assert hidden["visibility"] == "after_published" and "hidden" in hidden["tags"]
    assert hidden["status"] == "failed"
    assert "3x3" not in hidden["output"] and "expected" not in hidden["output"]


@pytest.mark.parametrize(
    "files, expect",
    [
        (
            {"a.ipynb": "correct.ipynb", "old/b.ipynb": "wrong.ipynb"},
            ["2 notebooks", "a.ipynb", "old/b.ipynb", "ci-demo.ipynb"],
        ),
        ({"ci-demo.py": None, "notes.txt": None}, ["No notebook", "ci-demo.py", "notes.txt", "ci-demo.ipynb"]),
        ({}, ["empty", "ci-demo.ipynb"]),
    ],
)
def test_unusable_submission_gets_a_verdict(
    tmp_path: Path, autograder_zip: Path, files: dict, expect: list[str]
) -> None:
    root = autograder_tree(tmp_path, autograder_zip)
    for name, source in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source:
            shutil.copy(SUBMISSIONS / source, target)
        else:
            target.write_text("print('hello')\n")

    proc, results = run_autograder(root)

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert results["score"] == 0 and results["tests"] == []
    assert str(root) not in results["output"]  # names as the student knows them
    for words in expect:
        assert words in results["output"]


def test_broken_autograder_still_writes_results(tmp_path: Path, autograder_zip: Path) -> None:
    root = autograder_tree(tmp_path, autograder_zip)
    (root / "source" / "grader-gradescope.json").unlink()
    shutil.copy(SUBMISSIONS / "correct.ipynb", root / "submission" / "ci-demo.ipynb")

    proc, results = run_autograder(root)

    assert proc.returncode == 2
    assert results["score"] == 0 and "tell your instructor" in results["output"]


def test_a_python_without_the_grader_is_named_in_results(tmp_path: Path, autograder_zip: Path) -> None:
    """gradescope.md's local trial with GRADER_PYTHON at a Python that lacks the grader: results.json
    says why (Python's own words), not only "could not start (exit status 1)"."""
    root = autograder_tree(tmp_path, autograder_zip)
    shutil.copy(SUBMISSIONS / "correct.ipynb", root / "submission" / "ci-demo.ipynb")
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"GRADER_AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": str(bare / "bin" / "python")}
    proc = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, SCHEMA)
    assert proc.returncode == 2
    assert "could not start (exit status 1: " in results["output"]
    assert "No module named 'grader'" in results["output"] and "tell your instructor" in results["output"]
    assert "No module named 'grader'" in proc.stderr  # still on stderr, for the instructor


def test_visibility_words_are_validated(tmp_path: Path) -> None:
    from grader.course import load_assignment
    from grader.errors import AssignmentError

    folder = tmp_path / "assignments" / "bad"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('[exercises]\na = "A"\n[visibility]\nhidden = "secret"\n')
    with pytest.raises(AssignmentError) as err:
        load_assignment(folder)
    assert "after_due_date" in str(err.value) and "secret" in str(err.value)
    (folder / "assignment.toml").write_text('[exercises]\na = "A"\n[visibility.exercises]\nb = "visible"\n')
    with pytest.raises(AssignmentError, match="unknown exercise 'b'"):
        load_assignment(folder)


METADATA = {  # submission_metadata.json as Gradescope writes it (its documented shape), trimmed
    "id": 123456,
    "created_at": "2026-12-06T01:30:00.365935-05:00",
    "submission_method": "upload",
    "assignment": {
        "id": 25828,
        "title": "ci-demo",
        "due_date": "2026-12-04T23:59:00.000000-05:00",
        "late_due_date": None,
        "total_points": "8.0",
    },
    "users": [
        {
            "email": "ada@example.edu",
            "id": 1234,
            "name": "Ada Lovelace",
            "assignment": {"due_date": "2026-12-04T23:59:00.000000-05:00", "late_due_date": None},
        }
    ],
    "previous_submissions": [],
}


@pytest.fixture(scope="module")
def late_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ci-demo autograder with a late policy: 10% per day started, past a 15-minute grace."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    shutil.copytree(FIXTURE / "solutions", course / "solutions")
    for toml in (
        course / "assignments" / "ci-demo" / "assignment.toml",
        course / "solutions" / "ci-demo" / "assignment.toml",
    ):
        if toml.exists():
            toml.write_text(
                toml.read_text() + "\n[deadline]\ndue = 2026-12-04T23:59:00-05:00\n"
                "grace_minutes = 15\npenalty_per_day = 10\n"
            )
    out = course / "autograder.zip"
    proc = subprocess.run(
        grader_cmd("gradescope", str(course / "assignments" / "ci-demo"), "--out", str(out), "--sandbox", "none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow  # builds a second autograder and grades three submissions in real kernels (~20 s)
def test_gradescope_metadata_sets_the_late_penalty(tmp_path: Path, late_zip: Path) -> None:
    late = autograder_tree(tmp_path / "late", late_zip)
    shutil.copy(SUBMISSIONS / "correct.ipynb", late / "submission" / "ci-demo.ipynb")
    (late / "submission_metadata.json").write_text(json.dumps(METADATA))
    proc, results = run_autograder(late)
    assert proc.returncode == 0, proc.stderr
    assert results["score"] == 6.4  # 8 points, 1 day 1 hour 31 minutes late: 2 days started, -20%
    assert results["extra_data"]["late"]["words"] == "submitted 1 day 1 hour late: -20%"
    assert results["extra_data"]["late"]["submitted_from"] == "gradescope"
    assert results["extra_data"]["lms"] == {"lms": "gradescope", "id": "1234", "name": "Ada Lovelace"}
    assert "Late policy: submitted 1 day 1 hour late: -20%. Final score: 6.4." in results["output"]
    # Gradescope's extension for this student moves the due date: on time
    extended = json.loads(json.dumps(METADATA))
    extended["users"][0]["assignment"]["due_date"] = "2026-12-07T23:59:00-05:00"
    moved = autograder_tree(tmp_path / "moved", late_zip)
    shutil.copy(SUBMISSIONS / "correct.ipynb", moved / "submission" / "ci-demo.ipynb")
    (moved / "submission_metadata.json").write_text(json.dumps(extended))
    _, results = run_autograder(moved)
    assert results["score"] == 8 and results["extra_data"]["late"]["words"].startswith("submitted on time (extended")
    # no metadata: the time is unknown, flagged, not penalised
    unknown = autograder_tree(tmp_path / "unknown", late_zip)
    shutil.copy(SUBMISSIONS / "correct.ipynb", unknown / "submission" / "ci-demo.ipynb")
    _, results = run_autograder(unknown)
    assert results["score"] == 8 and results["extra_data"]["late"]["unknown"] is True
    assert "submission time unknown: no late penalty applied" in results["output"]
