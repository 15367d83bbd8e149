"""`grader new <slug>`: a master with one exercise in solutions/<slug>/, then assigned."""

from __future__ import annotations

from pathlib import Path

from grader import course
from grader.authoring.assign import (
    HIDDEN_DIR,
    KERNELSPEC,
    PUBLIC_DIR,
    SLUG,
    assign,
    cell_id,
    notebook_text,
    write_if_changed,
)
from grader.errors import AuthoringError

TOML = """\
title = "{title}"
slug = "{slug}"
version = "1"
notebook = "{slug}.ipynb"

[exercises]
double = "Double a tensor"

[timeouts]
cell = 30.0
call = 10.0
kernel_start = 60.0
total = 600.0

[tolerances]
rtol = 1e-4
atol = 1e-5

[tolerances.cuda]
rtol = 1e-3
atol = 1e-4

[tolerances.mps]
rtol = 1e-3
atol = 1e-4

[limits]
memory_mb = 4096
processes = 64
file_size_mb = 64
cpu_seconds = 600
output_kb = 64
"""

PUBLIC_CHECK = '''\
"""Public checks of `double`: students see these and their messages."""
import pytest
import torch

from grader.checks import assert_tensor, randn

pytestmark = pytest.mark.exercise("double")


@pytest.mark.points(1)
def test_double_keeps_shape_and_dtype(nb):
    x = randn(2, 3, seed=1)
    assert_tensor(nb.double(x), torch.empty(2, 3), check_values=False)


@pytest.mark.points(1)
def test_double_known_values(nb):
    x = torch.tensor([[1.0, -2.0, 0.5]])
    assert_tensor(nb.double(x), torch.tensor([[2.0, -4.0, 1.0]]))
'''

HIDDEN_CHECK = '''\
"""Hidden checks of `double`: students see only their names and pass/fail."""
import pytest
import torch

from grader.checks import assert_tensor, randn

pytestmark = pytest.mark.exercise("double")


@pytest.mark.points(2)
def test_double_on_unseen_inputs(nb):
    for seed, shape in ((11, (4, 5)), (12, (7,))):
        x = randn(*shape, seed=seed)
        assert_tensor(nb.double(x), x + x)
    x64 = randn(3, 2, seed=13, dtype=torch.float64)
    assert_tensor(nb.double(x64), x64 + x64, what="the result for a float64 input")
'''

CELLS = [
    ("markdown", "# {title}\n\nComplete the function below, then run every cell."),
    ("code", "import torch"),
    ("markdown", "## Exercise: `double`\n\nReturn a tensor of the same shape and dtype as `x` holding $2x$."),
    (
        "code",
        'def double(x):\n    """2 * x, elementwise; same shape, dtype and device as x."""\n'
        "    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION",
    ),
    ("code", "double(torch.tensor([1.0, 2.0, 3.0]))"),
    (
        "code",
        "### BEGIN HIDDEN TESTS\nassert torch.equal(double(torch.ones(2)), torch.full((2,), 2.0))\n"
        "### END HIDDEN TESTS",
    ),
]


def master_notebook_text(cells: list[tuple[str, str]], slug: str, version: str = "1") -> str:
    """A master notebook from (kind, source) pairs, with stable cell ids."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for index, (kind, source) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell["id"] = cell_id(slug, index, source)
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = nbformat.NotebookNode(KERNELSPEC)
    nb.metadata["language_info"] = nbformat.NotebookNode({"name": "python"})
    nb.metadata[course.METADATA_KEY] = nbformat.NotebookNode(course.notebook_metadata(slug, version))
    return notebook_text(nb)


def files(slug: str) -> dict[str, str]:
    """Relative path in solutions/<slug>/ -> text."""
    title = slug.replace("-", " ").replace("_", " ").capitalize()
    cells = [(kind, source.replace("{title}", title)) for kind, source in CELLS]
    return {
        f"{slug}.ipynb": master_notebook_text(cells, slug),
        course.TOML: TOML.format(title=title, slug=slug),
        f"{PUBLIC_DIR}/test_double.py": PUBLIC_CHECK,
        f"{HIDDEN_DIR}/test_double.py": HIDDEN_CHECK,
    }


def new(slug: str, root: Path) -> list[Path]:
    """Scaffold solutions/<slug>/ under `root` (a master with one exercise) and assign it."""
    if not SLUG.match(slug):
        raise AuthoringError(
            f"{slug!r} is not a valid assignment slug", hint="use lower-case letters, digits, '-' and '_'"
        )
    root = Path(root)
    master = course.master_dir(root, slug)
    if master.exists():
        raise AuthoringError(f"{master} already exists", hint="choose another slug, or edit that master")
    written: list[Path] = []
    for rel, text in files(slug).items():
        write_if_changed(master / rel, text.encode("utf-8"), written)
    return written + assign(master, course.assignments_dir(root))
