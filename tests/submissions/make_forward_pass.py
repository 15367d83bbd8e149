"""Regenerate the sample submissions of forward-pass: `python tests/submissions/make_forward_pass.py`.

Each sample is the student notebook (assignments/forward-pass/) with its three answer cells filled
in the way one kind of student fills them, named for what it shows: answers that end with an
assignment, a print, a bare expression or a function call; `y` reused; the heading comment
deleted; scratch cells inserted; a Python 2 kernelspec; a notebook saved after running cells out of
order; an edited data cell; and the common mistakes. The two questions a person grades get good
answers, and poor ones where the student's mistakes suggest them (the stub keeps YOUR ANSWER
HERE). The output is deterministic: rerunning this script after an unchanged master changes no
file.
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SLUG = "forward-pass"
STUDENT = ROOT / "assignments" / SLUG / f"{SLUG}.ipynb"
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
OUT = HERE / SLUG
HEADING_COMMENT = "# Exercise {n}: your solution here\n"
EXERCISE = re.compile(r"^# Exercise (\d): your solution here$", re.M)

sys.path.insert(0, str(ROOT))


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)


def write(name: str, nb: Any) -> Path:
    from grader.authoring.assign import notebook_text

    path = OUT / name
    text = notebook_text(nb)
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        path.write_text(text, encoding="utf-8")
    return path


def answer_cells(nb: Any) -> dict[int, Any]:
    """Exercise number -> its answer cell (the code cell that starts with the heading comment)."""
    found = {}
    for cell in nb.cells:
        match = EXERCISE.match(cell.source) if cell.cell_type == "code" else None
        if match:
            found[int(match.group(1))] = cell
    return found


def master_answers() -> dict[int, str]:
    """Exercise number -> the master's answer (the lines between the solution markers)."""
    out = {}
    for n, cell in answer_cells(read(MASTER)).items():
        body = cell.source.split("### BEGIN SOLUTION\n", 1)[1].split("### END SOLUTION", 1)[0]
        out[n] = body.rstrip("\n")
    return out


# The two questions a person grades (tagged by `grader assign`): answers good and poor
GOOD = {
    "why_view": "`view` gives the same numbers with a new shape and does not change `weights`. `resize_` changes\n"
    "`weights` itself, in place, so every later cell would see a (5, 1) tensor instead of (1, 5).",
    "why_mm": "`features * W1` only multiplies matching elements (broadcasting the shapes) and never adds\n"
    "anything up. `torch.mm` adds up the products: one weighted sum for each neuron of the layer.",
}
POOR = {
    "why_view": "Both work, `view` is just shorter to type.",
    "why_mm": "Because the shapes have to match.",
}


def written_cells(nb: Any) -> dict[str, Any]:
    """Question name -> its answer cell (tagged with the name)."""
    return {tag: cell for cell in nb.cells for tag in cell.metadata.get("tags", []) if tag in GOOD}


def filled(
    changes: dict[int, str] | None = None, *, comment: bool = True, written: dict[str, str] | None = None
) -> Any:
    """The student notebook with every answer cell filled: the master's answers, except `changes`;
    `comment` False: the heading comment line deleted, as real students do; the written answers
    good, except `written`."""
    answers = {**master_answers(), **(changes or {})}
    nb = copy.deepcopy(read(STUDENT))
    for n, cell in answer_cells(nb).items():
        cell.source = (HEADING_COMMENT.format(n=n) if comment else "") + answers[n]
    words = {**GOOD, **(written or {})}
    for name, cell in written_cells(nb).items():
        cell.source = words[name]
    return nb


def index_of(nb: Any, text: str) -> int:
    """The first cell whose source contains `text`."""
    return next(i for i, c in enumerate(nb.cells) if text in c.source)


def inserted(nb: Any, after: str, *sources: str) -> Any:
    """Code cells inserted after the first cell containing `after`, in order."""
    import nbformat

    at = index_of(nb, after)
    for k, source in enumerate(sources, start=1):
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = hashlib.sha1(f"{after}\0{k}\0{source}".encode()).hexdigest()[:12]
        nb.cells.insert(at + k, cell)
    return nb


def edited(nb: Any, old: str, new: str) -> Any:
    cell = nb.cells[index_of(nb, old)]
    cell.source = cell.source.replace(old, new)
    return nb


def python2_kernel(nb: Any) -> Any:
    """Saved from a Python 2 kernel (the code itself runs in Python 3)."""
    nb.metadata["kernelspec"] = {"display_name": "Python 2", "language": "python", "name": "python2"}
    nb.metadata["language_info"] = {"name": "python", "version": "2.7.18", "pygments_lexer": "ipython2"}
    return nb


def result(text: str, count: int) -> Any:
    import nbformat

    return nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=count)


def stale_error() -> Any:
    import nbformat

    return nbformat.v4.new_output(
        "error", ename="RuntimeError", evalue="mat1 and mat2 shapes cannot be multiplied (1x5 and 1x5)", traceback=[]
    )


def out_of_order(nb: Any) -> Any:
    """Saved after running cells out of order: execution counts that jump about, and outputs of
    earlier attempts (a different y, an error since fixed) left in place."""
    counts = iter([1, 2, 14, 15, 4, 9, 12, 8])
    stale: dict[str, Callable[[int], Any]] = {
        "# Exercise 1": lambda c: result("tensor([[0.7311]])", c),
        "features.shape, weights.shape": lambda c: result(
            "(torch.Size([1, 3]), torch.Size([1, 5]), torch.Size([5, 1]))", c
        ),
        "# Exercise 2": lambda _: stale_error(),
        "# Exercise 3": lambda c: result("tensor([[0.5000]])", c),
    }
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = next(counts)
        make = next((f for text, f in stale.items() if cell.source.startswith(text)), None)
        cell.outputs = [make(cell.execution_count)] if make else []
    return nb


def scratch_cells(nb: Any) -> Any:
    """Cells that look at the data, inserted between each heading and its answer cell (and one that
    turns y into a plain number after Exercise 1: the check reads y as the answer cell left it)."""
    inserted(nb, "## Exercise 1", "features", "print(features.shape, weights.shape)", "   \n")
    inserted(nb, "# Exercise 1: your solution here", "y = y.item()   # just the number")
    inserted(nb, "## Exercise 2", "weights.size()", "", "print(weights.dtype)")
    inserted(nb, "## Exercise 3", "W1.shape, W2.shape", "print(features.shape, B1.shape)")
    return nb


REUSE_Y = {
    1: "y = activation(torch.sum(features * weights) + bias)\ny",
    2: "y = activation(torch.mm(features, weights.view(5, 1)) + bias)\ny",
    3: "h = activation(torch.mm(features, W1) + B1)\ny = activation(torch.mm(h, W2) + B2)\ny",
}
FUNCTIONS = {
    1: "def neuron(features, weights, bias):\n    return activation(torch.sum(features * weights) + bias)\n\n"
    "neuron(features, weights, bias)",
    2: "def neuron_mm(x, w, b):\n    column = w.view(-1, 1)\n    return activation(torch.mm(x, column) + b)\n\n"
    "y_mm = neuron_mm(features, weights, bias)",
    3: "def forward(x):\n    hidden = activation(torch.mm(x, W1) + B1)\n"
    "    return activation(torch.mm(hidden, W2) + B2)\n\n"
    "output = forward(features)\nprint(output)",
}


def samples() -> dict[str, Any]:
    return {
        "master_full_marks.ipynb": filled(),
        "stub_zero.ipynb": read(STUDENT),
        "ends_with_assignment.ipynb": filled(
            {
                1: "y = activation(torch.sum(features * weights) + bias)",
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)",
                3: "hidden = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(hidden, W2) + B2)",
            }
        ),
        "ends_with_print.ipynb": filled(
            {
                1: "y = activation(torch.sum(features * weights) + bias)\nprint(y)",
                2: "y2 = activation(torch.mm(features, weights.view(5, 1)) + bias)\n"
                "print('with a matrix product:', y2)",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(h, W2) + B2)\n"
                "print(f'the output is {output}')\nprint(output)",
            }
        ),
        "ends_with_bare_expression.ipynb": filled(
            {
                1: "activation(torch.sum(features * weights) + bias)",
                2: "activation(torch.mm(features, weights.view(5, 1)) + bias)",
                3: "activation(torch.mm(activation(torch.mm(features, W1) + B1), W2) + B2)",
            }
        ),
        "function_defined_and_called.ipynb": filled(FUNCTIONS),
        "reuses_y_for_every_exercise.ipynb": filled(REUSE_Y),
        "heading_comment_deleted.ipynb": filled(comment=False),
        "scratch_cells_inserted.ipynb": scratch_cells(filled()),
        "python2_kernelspec.ipynb": python2_kernel(filled()),
        "run_out_of_order.ipynb": out_of_order(filled()),
        "edited_data_rand_like.ipynb": edited(filled(), "torch.randn_like(features)", "torch.rand_like(features)"),
        "at_operator_and_transpose.ipynb": filled(
            {
                1: "y = activation((features * weights).sum() + bias)",
                2: "y_mm = activation(features @ weights.T + bias)",
                3: "output = activation(activation(features @ W1 + B1) @ W2 + B2)",
            }
        ),
        "hardcoded_answer.ipynb": filled(
            {
                1: "y = torch.tensor([[0.1595]])",
                2: "y_mm = torch.tensor([[0.1595]])",
                3: "output = torch.tensor([[0.3171]])",
            }
        ),
        "forgot_bias.ipynb": filled(
            {
                1: "y = activation(torch.sum(features * weights))",
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)))",
            },
            written={"why_view": POOR["why_view"]},
        ),
        "forgot_activation.ipynb": filled(
            {
                1: "y = torch.sum(features * weights) + bias",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = torch.mm(h, W2) + B2",
            }
        ),
        "sum_instead_of_mm.ipynb": filled(
            {2: "y_mm = activation(torch.sum(features * weights) + bias)"}, written={"why_mm": POOR["why_mm"]}
        ),
        "elementwise_instead_of_mm.ipynb": filled(
            {2: "y_mm = activation(torch.sum(features * weights.view(5, 1)) + bias)"},
            written={"why_mm": POOR["why_mm"]},
        ),
        "mm_without_reshape.ipynb": filled({2: "y_mm = activation(torch.mm(features, weights) + bias)"}, written=POOR),
        "weights_reshaped_in_an_earlier_cell.ipynb": inserted(
            filled({2: "y_mm = activation(torch.mm(features, weights) + bias)"}),
            "features.shape, weights.shape",
            "weights = weights.view(5, 1)",
        ),
        "two_layer_in_two_cells.ipynb": inserted(
            filled({3: "hidden = activation(torch.mm(features, W1) + B1)"}),
            "hidden = activation(torch.mm(features, W1) + B1)",
            "hidden.shape",
            "output = activation(torch.mm(hidden, W2) + B2)\noutput",
        ),
        # answers as students really leave them: the value is read as a person reads it
        "displays_a_tuple_with_the_shape.ipynb": filled(
            {
                1: "y = activation(torch.sum(features * weights) + bias)\ny, y.shape",
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)\ny_mm.shape, y_mm",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = torch.mm(h, W2) + B2\noutput, output.shape",
            }
        ),
        "prints_with_str_format.ipynb": filled(
            {
                1: 'y = activation(torch.sum(features * weights) + bias)\nprint("result: {}".format(y))',
                2: 'print("with a matrix product: {}".format('
                "activation(torch.mm(features, weights.view(5, 1)) + bias)))",
                3: 'h = activation(torch.mm(features, W1) + B1)\nprint("output {} of shape {}".format('
                "activation(torch.mm(h, W2) + B2), (1, 1)))",
            }
        ),
        "prints_several_arguments.ipynb": filled(
            {
                1: 'y = activation(torch.sum(features * weights) + bias)\nprint("y =", y, "of shape", y.shape)',
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)\nprint(y_mm, y_mm.dtype)",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(h, W2) + B2)\n"
                'print("output:", output, "size:", output.size())',
            }
        ),
        "prints_with_percent_format.ipynb": filled(
            {
                1: 'y = activation(torch.sum(features * weights) + bias)\nprint("%s" % y)',
                2: 'print("y = %s, shape %s" % (activation(torch.mm(features, weights.view(5, 1)) + bias), (1, 1)))',
                3: "h = activation(torch.mm(features, W1) + B1)\n"
                'print("output: %s" % activation(torch.mm(h, W2) + B2))',
            }
        ),
        "scratch_line_after_y.ipynb": filled(
            {
                1: "y = activation(torch.sum(features * weights) + bias)\nprint(features.shape)",
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)\nlen(y_mm)",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(h, W2) + B2)\n"
                'print(h.shape, W2.shape)\nprint("done")',
            }
        ),
        "prints_shape_after_value.ipynb": filled(
            {
                1: "print(activation(torch.sum(features * weights) + bias))\nprint(features.shape)",
                2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)\ny_mm\nprint(y_mm.shape)",
                3: "h = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(h, W2) + B2)\n"
                "print(output)\nprint(output.shape)",
            }
        ),
        "hidden_layer_without_activation.ipynb": filled(
            {3: "h = torch.mm(features, W1) + B1\noutput = activation(torch.mm(h, W2) + B2)"}
        ),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, nb in samples().items():
        print(write(name, nb).relative_to(ROOT))


if __name__ == "__main__":
    main()
