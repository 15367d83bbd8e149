"""Authoring: master notebook -> student notebook (`grader assign`), and `grader new`."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from grader.authoring.assign import assign, strip_cell
from grader.authoring.scaffold import new
from grader.errors import AuthoringError, GraderError

ROOT = Path(__file__).resolve().parents[2]
SLUG = "neural-net-basics"

TOML = """\
title = "Tiny"
slug = "tiny"
version = "3"
notebook = "tiny.ipynb"

[exercises]
double = "Double"
"""


def master(tmp: Path, *cells: tuple[str, str], kernel: str = "python3", public: dict[str, str] | None = None) -> Path:
    """solutions/tiny/ under tmp with the given (kind, source) cells; returns the master folder."""
    folder = tmp / "solutions" / "tiny"
    (folder / "public").mkdir(parents=True)
    (folder / "assignment.toml").write_text(TOML)
    for name, text in (public or {"test_double.py": "def test_double_x(nb):\n    pass\n"}).items():
        (folder / "public" / name).write_text(text)
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        if kind == "code":
            cell = nbformat.v4.new_code_cell(
                source, execution_count=3, outputs=[nbformat.v4.new_output("stream", text="secret 42\n")]
            )
        else:
            cell = nbformat.v4.new_markdown_cell(source)
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, str(folder / "tiny.ipynb"))
    return folder


def student(tmp: Path, folder: Path) -> nbformat.NotebookNode:
    assign(folder, tmp / "assignments")
    return nbformat.read(str(tmp / "assignments" / "tiny" / "tiny.ipynb"), as_version=4)


def sources(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells]


# -- the bundled assignment --------------------------------------------------------------


def test_committed_assignment_is_exactly_what_assign_writes(tmp_path: Path) -> None:
    written = assign(ROOT / "solutions" / SLUG, tmp_path)
    fresh = tmp_path / SLUG
    committed = ROOT / "assignments" / SLUG
    names = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(
        str(p.relative_to(committed)) for p in committed.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert names == [
        "assignment.toml",
        "checks/test_activation.py",
        "checks/test_reshape_weights.py",
        "checks/test_single_neuron.py",
        "checks/test_two_layer_forward.py",
        f"{SLUG}.ipynb",
    ]
    assert sorted(written) == sorted(fresh / n for n in names)
    for name in names:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
            f"{name} is stale: run `grader assign solutions/{SLUG}`"
        )


def test_bundled_student_notebook_has_stubs_and_no_solutions() -> None:
    text = (ROOT / "assignments" / SLUG / f"{SLUG}.ipynb").read_text()
    nb = nbformat.reads(text, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in ("activation", "reshape_weights", "single_neuron", "two_layer_forward"):
        assert f"def {name}(" in code
    assert code.count("raise NotImplementedError()") == 4
    assert "YOUR ANSWER HERE" in "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for leak in ("BEGIN", "END SOLUTION", "HIDDEN", "weights.view(-1, 1)", "torch.exp(-x)", "0.1595]])\n"):
        assert leak not in code
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["grader"] == {"slug": SLUG, "version": "1"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert text.endswith("}\n")


# -- markers ------------------------------------------------------------------------------


def test_code_markers_become_stubs_at_the_begin_lines_indentation(tmp_path: Path) -> None:
    folder = master(
        tmp_path,
        ("code", "import torch\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint('after')"),
        ("code", "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION"),
        (
            "code",
            "class A:\n    def g(self):\n        if True:\n            ### BEGIN SOLUTION\n            return 1\n"
            "            ### END SOLUTION\n        return 0",
        ),
    )
    nb = student(tmp_path, folder)
    assert sources(nb) == [
        "import torch\n# YOUR CODE HERE\nraise NotImplementedError()\nprint('after')",
        "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError()",
        "class A:\n    def g(self):\n        if True:\n            # YOUR CODE HERE\n"
        "            raise NotImplementedError()\n        return 0",
    ]


def test_markdown_markers_become_your_answer_here(tmp_path: Path) -> None:
    folder = master(
        tmp_path,
        ("markdown", "Why view?\n\n### BEGIN SOLUTION\nBecause it shares memory.\n### END SOLUTION\n\nThanks."),
    )
    assert sources(student(tmp_path, folder)) == ["Why view?\n\nYOUR ANSWER HERE\n\nThanks."]


def test_hidden_test_blocks_are_removed_and_cells_left_empty_dropped(tmp_path: Path) -> None:
    folder = master(
        tmp_path,
        ("code", "x = 1\n### BEGIN HIDDEN TESTS\nassert x == 1  # secret\n### END HIDDEN TESTS\ny = 2"),
        ("code", "### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\n"),
        ("markdown", "The end."),
    )
    nb = student(tmp_path, folder)
    assert sources(nb) == ["x = 1\ny = 2", "The end."]
    assert "secret" not in (tmp_path / "assignments" / "tiny" / "tiny.ipynb").read_text()


def test_outputs_counts_and_metadata(tmp_path: Path) -> None:
    folder = master(tmp_path, ("code", "print('secret 42')"), kernel="python3-custom")
    nb = student(tmp_path, folder)
    cell = nb.cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert nb.metadata["grader"] == {"slug": "tiny", "version": "3"}
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert "secret 42\\n" not in (tmp_path / "assignments" / "tiny" / "tiny.ipynb").read_text()
    assert (tmp_path / "assignments" / "tiny" / "assignment.toml").read_text() == TOML
    assert (tmp_path / "assignments" / "tiny" / "checks" / "test_double.py").is_file()


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("x = 1\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n", 3, "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", 3, "without a matching BEGIN"),
        ("### BEGIN SOLUTION\na = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\n", 3, "inside the solution block"),
        ("### BEGIN HIDDEN TESTS\nassert 1\n### END SOLUTION\n", 3, "without a matching BEGIN"),
        (
            "### BEGIN SOLUTION\na = 1\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION\n",
            3,
            "inside the solution block",
        ),
        ("ok = 1\n### BEGIN HIDDEN TESTS\nassert ok\n", 2, "never closed"),
    ],
)
def test_bad_markers_raise_an_authoring_error_naming_the_cell(
    tmp_path: Path, source: str, line: int, words: str
) -> None:
    folder = master(tmp_path, ("markdown", "# Intro"), ("code", "import torch"), ("code", source))
    with pytest.raises(AuthoringError) as info:
        assign(folder, tmp_path / "assignments")
    message = str(info.value)
    first = next(ln.strip() for ln in source.splitlines() if ln.strip())
    assert "cell 3" in message and repr(first) in message
    assert f"line {line}" in message and words in message
    assert info.value.cell == 3 and info.value.line == line  # type: ignore[attr-defined]
    assert isinstance(info.value, GraderError) and info.value.exit_code == 2
    assert not (tmp_path / "assignments" / "tiny").exists()


def test_unclosed_marker_in_markdown_names_the_cell() -> None:
    with pytest.raises(AuthoringError, match=r"cell 7 \('Question'\), line 2: '### BEGIN SOLUTION' is never closed"):
        strip_cell("Question\n### BEGIN SOLUTION\nanswer", "markdown", 7)


# -- idempotence ----------------------------------------------------------------------------


def test_assign_twice_changes_nothing_and_removes_stale_checks(tmp_path: Path) -> None:
    folder = master(
        tmp_path,
        ("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        public={"test_a.py": "A = 1\n", "test_b.py": "B = 1\n"},
    )
    out = tmp_path / "assignments"
    first = assign(folder, out)
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    second = assign(folder, out)
    assert second == first
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in second} == snapshot
    text = (out / "tiny" / "tiny.ipynb").read_text()
    assert text.endswith("\n") and json.loads(text)["cells"][0]["source"][-1] == "    raise NotImplementedError()"
    (folder / "public" / "test_b.py").unlink()
    assign(folder, out)
    assert sorted(p.name for p in (out / "tiny" / "checks").iterdir()) == ["test_a.py"]


def test_assign_without_a_master_folder_is_an_authoring_error(tmp_path: Path) -> None:
    with pytest.raises(AuthoringError, match="no assignment.toml"):
        assign(tmp_path / "solutions" / "missing", tmp_path / "assignments")


def test_assign_never_drops_a_setting_only_the_release_has(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli.main import main
    from grader.course import load_assignment

    folder = master(
        tmp_path, ("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    )
    out = tmp_path / "assignments"
    assign(folder, out)
    released = out / "tiny" / "assignment.toml"
    # an instructor sets [visibility] in the released toml (as gradescope.md once told them to)
    edited = released.read_text() + '\n[visibility]\nhidden = "visible"\n[visibility.exercises]\ndouble = "hidden"\n'
    released.write_text(edited)
    (folder / "tiny.ipynb").write_text((folder / "tiny.ipynb").read_text())  # any later edit of the master
    assert main(["assign", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "[visibility] hidden" in err and "[visibility.exercises] double" in err
    assert str(folder / "assignment.toml") in err and "grader: error:" in err
    assert released.read_text() == edited  # nothing lost
    assert load_assignment(out / "tiny").visibility == {"hidden": "visible", "exercise.double": "hidden"}
    # moved to the master's toml, the one to edit: assign copies it
    (folder / "assignment.toml").write_text(TOML + '\n[visibility]\nhidden = "visible"\n')
    assert main(["assign", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "[visibility.exercises] double" in err and "[visibility] hidden" not in err
    (folder / "assignment.toml").write_text(
        TOML + '\n[visibility]\nhidden = "visible"\n[visibility.exercises]\ndouble = "hidden"\n'
    )
    assert main(["assign", str(folder), "--out", str(out)]) == 0
    assert released.read_bytes() == (folder / "assignment.toml").read_bytes()
    assert load_assignment(out / "tiny").visibility == {"hidden": "visible", "exercise.double": "hidden"}


def test_check_warns_when_the_master_changed_since_the_last_assign(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = master(
        tmp_path,
        ("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        public={"test_double.py": "def test_double_x(nb):\n    assert nb.double(2) == 4\n"},
    )
    assign(folder, tmp_path / "assignments")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.cli",
                "check",
                str(folder / "tiny.ipynb"),
                "--assignment",
                str(tmp_path / "assignments" / "tiny"),
                "--no-server",
                "--no-sandbox",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )

    fresh = check()
    assert fresh.returncode == 0 and "warning" not in fresh.stderr, fresh.stdout + fresh.stderr
    (folder / "public" / "test_double.py").write_text("def test_double_x(nb):\n    assert nb.double(3) == 6\n")
    stale = check()
    assert stale.returncode == 0, stale.stdout + stale.stderr
    assert "changed since the last `grader assign` (public/test_double.py)" in stale.stderr
    assert f"run `grader assign {folder.resolve()}`" in stale.stderr


# -- grader new ---------------------------------------------------------------------------


def test_new_scaffolds_a_master_that_grades_full_marks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.course import load_assignment
    from grader.cli.main import main
    from grader.grade import grade

    assert main(["new", "first-steps", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "created first-steps" in out
    master_dir = tmp_path / "solutions" / "first-steps"
    for rel in ("first-steps.ipynb", "assignment.toml", "public/test_double.py", "checks/test_double.py"):
        assert (master_dir / rel).is_file(), rel
    assignment = load_assignment(tmp_path / "assignments" / "first-steps")
    assert assignment.hidden_checks == (master_dir / "checks").resolve()
    assert list(assignment.exercises) == ["double"]

    result = grade(master_dir / "first-steps.ipynb", assignment)
    assert result.readable and result.hidden_ran
    assert result.score == result.max_score == 4.0, [(c.name, c.message) for c in result.checks]
    assert {c.hidden for c in result.checks} == {True, False}

    # the CLI's assign on the scaffold rewrites the same files, byte for byte (the bytecode Python
    # caches when the grade above imported the public checks is not one of them: whether it is
    # there depends on PYTHONDONTWRITEBYTECODE, and assign rightly leaves no stale file behind)
    def assigned_files() -> dict[Path, bytes]:
        return {
            p: p.read_bytes()
            for p in (tmp_path / "assignments").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    before = assigned_files()
    monkeypatch.chdir(tmp_path)
    assert main(["assign", "solutions/first-steps", "--out", "assignments"]) == 0
    assert "assigned first-steps: 3 file(s)" in capsys.readouterr().out
    assert assigned_files() == before
    assert len(before) == 3


def test_new_refuses_an_existing_master_or_a_bad_slug(tmp_path: Path) -> None:
    new("again", tmp_path)
    with pytest.raises(AuthoringError, match="already exists"):
        new("again", tmp_path)
    with pytest.raises(AuthoringError, match="not a valid assignment slug"):
        new("Bad Slug!", tmp_path)
