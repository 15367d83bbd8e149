"""`import grader; grader.check()` in a student's running kernel (driven here by nbclient, as
Jupyter would): the public checks run against the live namespace and the feedback shows inline,
as HTML; `grader.check("activation")` checks one exercise; hidden checks never run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.errors import GraderError
from grader.inline.check import find_assignment, find_notebook, notebook_slug

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "inline"

CELLS = [
    ("code", "import torch"),
    ("code", "def activation(x):\n    return torch.sigmoid(x)"),
    ("markdown", "## Exercise 2: row sums as a column"),
    # the answer is a top-level expression with a name of the student's choosing, and wrong: shape (2,)
    ("code", "x = torch.arange(6.0).reshape(2, 3)\nmy_sums = x.sum(dim=1)\nmy_sums"),
    ("code", "import grader\nr = grader.check()"),
    ("code", "print(r.score, r.max_score, r.hidden_ran, sorted(c.name for c in r.checks))"),
    ("code", "grader.check('activation')"),
    ("code", "grader.check('no_such_exercise')"),
]


def student_notebook(folder: Path, cells: list[tuple[str, str]], slug: str = "inline-mini") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s) if kind == "code" else nbformat.v4.new_markdown_cell(s) for kind, s in cells
    ]
    nb.metadata["grader"] = {"slug": slug, "version": "1"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "my-work.ipynb"
    nbformat.write(nb, str(path))
    return path


def run_in_jupyter(path: Path) -> Any:
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def html_of(cell: Any) -> list[str]:
    return [
        o["data"]["text/html"]
        for o in cell.outputs
        if o.output_type in ("display_data", "execute_result") and "text/html" in o.get("data", {})
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    shutil.copytree(FIXTURE / "solutions", course / "solutions")  # an instructor's checkout: still no hidden checks
    return run_in_jupyter(student_notebook(course, CELLS))


def test_check_shows_html_feedback_inline(executed: Any) -> None:
    cell = executed.cells[4]
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    (html,) = html_of(cell)
    assert 'class="grader-fb"' in html and "<body" not in html  # a fragment, styles scoped
    assert "3 / 5" in html and "3 of 4 public checks passed" in html
    for name in (
        "test_activation_values",
        "test_activation_float64",
        "test_row_sums_as_a_column",
        "test_x_is_left_as_given",
    ):
        assert name in html
    assert "the row sums of x has shape (2,), expected (2, 1)" in html
    assert "Hidden checks were not run here: they run when your work is graded." in html
    assert "test_secret_hidden_check" not in html


def test_check_returns_the_result(executed: Any) -> None:
    (out,) = [o for o in executed.cells[5].outputs if o.output_type == "stream"]
    assert out.text.strip() == (
        "3.0 5.0 False ['test_activation_float64', 'test_activation_values', "
        "'test_row_sums_as_a_column', 'test_x_is_left_as_given']"
    )


def test_check_one_exercise(executed: Any) -> None:
    cell = executed.cells[6]
    html = html_of(cell)[0]
    assert "2 / 2" in html and "test_activation_values" in html
    assert "row_sums" not in html and "Exercise 2" not in html
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert result["data"]["text/plain"].startswith("<grader.check: 2/2 points, 2 public checks, 0 failed")


def test_unknown_exercise_says_which_exist(executed: Any) -> None:
    (err,) = [o for o in executed.cells[7].outputs if o.output_type == "error"]
    assert err.ename == "InlineError"
    assert err.traceback == [
        "grader.check(): 'inline-mini' has no exercise 'no_such_exercise'",
        "  its exercises: 'activation', 'row_sums'",
    ]


def test_finding_the_notebook_and_assignment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    work = course / "week1" / "work"
    work.mkdir(parents=True)
    path = student_notebook(work, [("code", "1")])
    other = tmp_path / "elsewhere"  # no assignments/ here or above
    other.mkdir()
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    # Jupyter names the notebook in __session__ (from $JPY_SESSION_NAME); the cwd need not hold it
    assert find_notebook({"__session__": str(path)}, other) == path
    assert find_notebook({"__vsc_ipynb_file__": str(path)}, other) == path
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    assert find_notebook({}, other) == path
    monkeypatch.delenv("JPY_SESSION_NAME")
    # else: the notebook with grader metadata in the current folder
    assert find_notebook({}, work) == path and find_notebook({}, other) is None
    assert notebook_slug(path) == "inline-mini"
    # the slug is looked up in assignments/<slug> beside the notebook's folder or above it
    assert find_assignment(None, path, other).root == (course / "assignments" / "inline-mini").resolve()
    assert find_assignment("inline-mini", None, work).slug == "inline-mini"
    assert find_assignment(str(course / "assignments" / "inline-mini"), None, other).slug == "inline-mini"
    with pytest.raises(GraderError, match="no assignment 'inline-mini' was found"):
        find_assignment(None, path.rename(other / path.name), other)


class FakeShell:
    """What LiveBridge needs of IPython: the namespace, the input history, the execution count."""

    def __init__(self, history: list[str], user_ns: dict[str, Any]) -> None:
        self.history_manager = type("H", (), {"input_hist_raw": [""] + history})()
        self.execution_count = len(history)  # the last entry is the running grader.check() cell
        self.user_ns = user_ns


def test_live_bridge_in_process(tmp_path: Path) -> None:
    """The same data path as grading, without a second process: calls, values, cells, timeouts."""
    import torch

    from grader.checks import tensor_meta
    from grader.nb.proxy import Notebook
    from grader.failures import CallTimeout, CheckFailed, StudentError
    from grader.inline.live import LiveBridge, SavedNotebook

    nb_file = tmp_path / "saved.ipynb"
    node = nbformat.v4.new_notebook()
    node.cells = [
        nbformat.v4.new_markdown_cell("## Exercise 1"),
        nbformat.v4.new_code_cell(
            "v = 2\nprint('hi')\nv * 3",
            execution_count=2,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")],
        ),
        nbformat.v4.new_code_cell("(1, 2)", execution_count=1),
    ]
    node.cells[2].metadata["tags"] = ["pair"]
    nbformat.write(node, str(nb_file))
    src = (
        "def double(x):\n    return x * 2\n\ndef spin(x):\n    while True:\n        pass\n\n"
        "def oops(x):\n    return x / undefined_name\n"
    )
    user_ns: dict[str, Any] = {"Out": {2: 6, 4: (1, 2)}, "w": torch.arange(4.0).view(2, 2).t()}
    import linecache

    linecache.cache["<cell-3>"] = (len(src), None, src.splitlines(True), "<cell-3>")  # as IPython does
    exec(compile(src, "<cell-3>", "exec"), user_ns)
    shell = FakeShell(["import torch", "v = 2\nprint('hi')\nv * 3", src, "(1, 2)", "grader.check()"], user_ns)
    bridge = LiveBridge(shell, call_timeout=0.5, saved=SavedNotebook.read(nb_file))
    nb = Notebook(bridge)

    x = torch.ones(3)
    out = nb.double(x)
    assert torch.equal(out, torch.full((3,), 2.0)) and out is not x
    assert tensor_meta(out).device == "cpu" and tensor_meta(out).cls == "torch.Tensor"
    w = nb.w  # a transposed view: its stride crosses as metadata
    assert torch.equal(w, torch.arange(4.0).view(2, 2).t()) and tensor_meta(w).stride == (1, 2)
    with pytest.raises(CallTimeout, match=r"did not return within 0.5 s"):
        nb.spin(x)
    with pytest.raises(StudentError) as err:
        nb.oops(x)
    assert "In [3], line 9" in err.value.details["traceback"] and "NameError" in err.value.message

    cell = nb.cell(starting_with="## Exercise 1")  # the saved heading, then its run in the history
    assert (cell.value, cell.execution_count) == (6, 2)
    assert cell.output == "hi\n" and cell.status == "ok"  # the saved run is this run: its output is known
    tagged = nb.cell(tag="pair")
    assert tagged.value == (1, 2) and tagged.execution_count == 4
    with pytest.raises(CheckFailed, match="save the notebook"):
        tagged.output  # saved as run 1, last run here as 4: stale


def test_a_checks_tensors_reach_the_students_function_as_they_are() -> None:
    """A call's tensors go as raw bytes where that rebuilds them exactly (grader/bridge/outgoing.py),
    else as a torch.save blob: either way the function gets tensors of the same dtype, shape and
    values, each with storage of its own (resizable), and one tensor passed twice is one tensor."""
    import torch

    from grader.bridge.agent import AGENT_SOURCE
    from grader.nb.proxy import Notebook
    from grader.bridge.outgoing import RAW_DTYPES, pack_tensors
    from grader.inline.live import LiveBridge

    src = (
        "def seen(*args):\n"
        "    ptrs = [a.untyped_storage().data_ptr() for a in args]\n"
        "    return [[str(a.dtype), list(a.shape), a.untyped_storage().nbytes(), ptrs.index(p)] "
        "for a, p in zip(args, ptrs)]\n"
        "def grow(x):\n"
        "    x.resize_(12)\n"
        "    return x.numel()\n"
        "def echo(*args):\n"
        "    return list(args)\n"
    )
    user_ns: dict[str, Any] = {"Out": {}}
    exec(compile(src, "<cell-1>", "exec"), user_ns)
    nb = Notebook(LiveBridge(FakeShell([src, "grader.check()"], user_ns), call_timeout=5.0))

    plain = [
        torch.randn(2, 3),
        torch.tensor(2.5, dtype=torch.float64),
        torch.arange(5),
        torch.tensor([True, False]),
        torch.randn(4).to(torch.bfloat16),
        torch.randn(3, dtype=torch.complex64),
        torch.empty(0, 3),
        torch.arange(6, dtype=torch.uint8).view(2, 3),
        torch.tensor([1, -2], dtype=torch.int8),
    ]
    assert {str(t.dtype).removeprefix("torch.") for t in plain} <= RAW_DTYPES
    assert "raw" in pack_tensors(plain)
    for name in RAW_DTYPES:  # the agent's table of dtypes is the grader's
        assert f'"{name}"' in AGENT_SOURCE
    got = nb.seen(*plain)
    assert got == [[str(t.dtype), list(t.shape), t.numel() * t.element_size(), i] for i, t in enumerate(plain)]
    back = nb.echo(*plain)
    assert all(b.dtype == t.dtype and b.shape == t.shape and torch.equal(b, t) for b, t in zip(back, plain))
    assert nb.grow(torch.zeros(3)) == 12  # its own storage, as torch.load gives it: resize_ works

    x = torch.arange(8.0)
    assert "blob" in pack_tensors([x, x]) and "blob" in pack_tensors([x[2:].contiguous()])
    (a, b) = nb.seen(x, x)  # one tensor, twice: one tensor in the kernel too
    assert a[3] == b[3] == 0
    view = nb.seen(x[2:])  # a view of a larger storage keeps its storage
    assert view == [["torch.float32", [6], 32, 0]]


def test_live_cells_without_a_saved_notebook() -> None:
    from grader.nb.proxy import Notebook
    from grader.failures import CheckFailed
    from grader.inline.live import LiveBridge

    shell = FakeShell(
        ["# Exercise 2\nanswer = 41 + 1\nanswer", "# Exercise 3\ntotal = base + 1\nprint(total)", "grader.check()"],
        {"Out": {1: 42}, "answer": 42, "base": 1, "total": 2},
    )
    nb = Notebook(LiveBridge(shell))
    cell = nb.cell(starting_with="# Exercise 2")
    assert cell.value == 42 and cell.label == "In [1]"
    # inline, nothing was noted while the cells ran: the names are read as they are now
    assert cell.answer == 42 and dict(cell.names) == {"answer": 42}
    printed = nb.cell(containing="total = base + 1")
    assert printed.answer == 2 and list(printed.names) == ["total"]
    again = printed.rerun(base=10)  # in a copy of the live namespace
    assert (again.status, again.answer, again.output) == ("ok", 11, "11\n")
    assert shell.user_ns["total"] == 2 and shell.user_ns["base"] == 1
    with pytest.raises(CheckFailed, match="needs the saved notebook"):
        nb.cell(tag="anything")
    with pytest.raises(CheckFailed, match="A markdown heading can only be found in the saved notebook"):
        nb.cell(starting_with="## Exercise 2")


@pytest.mark.slow  # a real Jupyter kernel runs grader.check()
def test_check_shows_a_question_a_person_grades_and_whether_it_was_answered(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE / "assignments", course / "assignments")
    toml = course / "assignments" / "inline-mini" / "assignment.toml"
    toml.write_text(
        toml.read_text() + '\n[manual.why_sigmoid]\ntitle = "Why a sigmoid?"\npoints = 2\n'
        'after = "Question: why a sigmoid?"\n\n[manual.gone]\npoints = 1\ntag = "nowhere"\n'
    )
    cells = CELLS[:4] + [
        ("markdown", "## Question: why a sigmoid?"),
        ("markdown", "It squashes to (0, 1)."),
        ("code", "import grader\nr = grader.check()"),
        ("code", "print([(a.question, a.found, a.where) for a in r.manual], r.exit_code)"),
    ]
    nb = run_in_jupyter(student_notebook(course, cells))
    page = "".join(html_of(nb.cells[6]))
    assert "Why a sigmoid?" in page and "graded by a person after submission" in page
    assert "your answer was found in cell 6" in page and "no answer was found" in page
    printed = "".join(o.get("text", "") for o in nb.cells[7].outputs)
    assert "('why_sigmoid', True, 'cell 6 (under \"Question: why a sigmoid?\")')" in printed
    assert "('gone', False" in printed
