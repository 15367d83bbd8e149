"""Regenerate the sample submissions of neural-net-basics: `python tests/submissions/make_samples.py`.

Each sample is the student notebook (assignments/neural-net-basics/) with its stubs filled in the
way one kind of student would fill them, named for what it shows. The output is deterministic,
so rerunning this script after an unchanged master changes no file.
"""

from __future__ import annotations

import copy
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SLUG = "neural-net-basics"
STUDENT = ROOT / "assignments" / SLUG / f"{SLUG}.ipynb"
MASTER = ROOT / "solutions" / SLUG / f"{SLUG}.ipynb"
OUT = HERE / SLUG
STUB = re.compile(r"^(?P<indent>[ \t]*)# YOUR CODE HERE\n(?P=indent)raise NotImplementedError\(\)\n?", re.M)
DEF = re.compile(r"^def (\w+)\(", re.M)

sys.path.insert(0, str(ROOT))


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)


def write(name: str, nb_or_text: Any) -> Path:
    from grader.authoring.assign import notebook_text

    path = OUT / name
    text = nb_or_text if isinstance(nb_or_text, str) else notebook_text(nb_or_text)
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        path.write_text(text, encoding="utf-8")
    return path


def master_solutions() -> dict[str, str]:
    """Function name -> the master's solution body (dedented)."""
    bodies = {}
    for cell in read(MASTER).cells:
        match = DEF.search(cell.source)
        if cell.cell_type != "code" or not match or "### BEGIN SOLUTION" not in cell.source:
            continue
        body = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        bodies[match.group(1)] = textwrap.dedent(body.split("\n", 1)[1]).rstrip() + "\n"
    return bodies


def filled(changes: dict[str, str] | None = None) -> Any:
    """The student notebook with every stub filled: the master's bodies, except `changes`."""
    bodies = {**master_solutions(), **{k: textwrap.dedent(v).strip() + "\n" for k, v in (changes or {}).items()}}
    nb = copy.deepcopy(read(STUDENT))
    for cell in nb.cells:
        match = DEF.search(cell.source) if cell.cell_type == "code" else None
        if match and STUB.search(cell.source):
            body = bodies[match.group(1)]
            cell.source = STUB.sub(lambda m: textwrap.indent(body, m.group("indent")), cell.source).rstrip("\n")
    return nb


def cell_index(nb: Any, starting: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.lstrip().startswith(starting))


def with_cell(nb: Any, after: str, source: str) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = re.sub(r"[^a-z0-9]", "", source.lower())[:12] or "extra"
    nb.cells.insert(cell_index(nb, after) + 1, cell)
    return nb


def replaced(nb: Any, starting: str, source: str) -> Any:
    """The code cell that starts with `starting`, its source replaced."""
    nb.cells[cell_index(nb, starting)].source = source
    return nb


def endless_activation() -> Any:
    """`activation` never returns; the walkthrough's own cell uses torch.sigmoid, so two cells call
    it: `y = single_neuron(...)` (through single_neuron) and the two-layer cell (directly)."""
    nb = filled({"activation": "out = x.clone()\nwhile True:\n    out = out * 1\nreturn out"})
    return replaced(
        nb,
        "y_elementwise = activation(",
        "y_elementwise = torch.sigmoid(torch.sum(features * weights) + bias)\nprint(y_elementwise)",
    )


SCRIPT = """\
# A Python script saved as .ipynb: every function, and the notebook's y and output.
import torch


def activation(x):
    return torch.sigmoid(x)


def reshape_weights(weights):
    return weights.view(-1, 1)


def single_neuron(features, weights, bias):
    return activation(torch.mm(features, reshape_weights(weights)) + bias)


def two_layer_forward(features, W1, B1, W2, B2):
    return activation(torch.mm(activation(torch.mm(features, W1) + B1), W2) + B2)


torch.manual_seed(7)
features = torch.randn((1, 5))
weights = torch.randn_like(features)
bias = torch.randn((1, 1))
y = single_neuron(features, weights, bias)
print(y)

torch.manual_seed(7)
features = torch.randn((1, 3))
W1 = torch.randn(3, 2)
W2 = torch.randn(2, 1)
B1 = torch.randn((1, 2))
B2 = torch.randn((1, 1))
output = two_layer_forward(features, W1, B1, W2, B2)
print(output)
"""


def from_scratch() -> Any:
    """A notebook a student wrote from nothing: other cell layout, nbformat 4.2, no metadata."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 2
    nb.metadata = nbformat.NotebookNode()
    sources = [
        ("markdown", "My neural network homework"),
        ("code", "import torch\nimport math"),
        (
            "code",
            "def activation(x):\n    # sigmoid, written out\n    return torch.reciprocal(1 + torch.exp(-x))\n\n"
            "def reshape_weights(weights):\n    n = weights.shape[1]\n    return weights.view(n, 1)",
        ),
        (
            "code",
            "def single_neuron(features, weights, bias):\n    z = features @ reshape_weights(weights) + bias\n"
            "    return activation(z)\n\n"
            "def two_layer_forward(features, W1, B1, W2, B2):\n    h = activation(features @ W1 + B1)\n"
            "    return activation(h @ W2 + B2)",
        ),
        (
            "code",
            "torch.manual_seed(7)\nfeatures = torch.randn((1, 5))\nweights = torch.randn_like(features)\n"
            "bias = torch.randn((1, 1))\ny = single_neuron(features, weights, bias)\ny",
        ),
        (
            "code",
            "torch.manual_seed(7)\nfeatures = torch.randn((1, 3))\nW1 = torch.randn(3, 2)\nW2 = torch.randn(2, 1)\n"
            "B1 = torch.randn((1, 2))\nB2 = torch.randn((1, 1))\n"
            "output = two_layer_forward(features, W1, B1, W2, B2)\noutput",
        ),
    ]
    for i, (kind, source) in enumerate(sources):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        del cell["id"]  # nbformat 4.2 has no cell ids
        nb.cells.append(cell)
    return nb


def python2_print(nb: Any) -> Any:
    """The cell that computes y, written with Python 2's print statement."""
    cell = nb.cells[cell_index(nb, "y = single_neuron(")]
    cell.source = cell.source.replace("print(y)", "print y")
    return nb


def samples() -> dict[str, Any]:
    correct = filled()
    correct_text = __import__("grader.authoring.assign", fromlist=["notebook_text"]).notebook_text(correct)
    return {
        "correct.ipynb": correct,
        "stubs_untouched.ipynb": read(STUDENT),
        "sigmoid_sign_error.ipynb": filled({"activation": "return 1 / (1 + torch.exp(x))"}),
        # error carried forward: single_neuron has a mistake of its own besides the bad activation
        "sigmoid_sign_error_and_forgot_bias_in_neuron.ipynb": filled(
            {
                "activation": "return 1 / (1 + torch.exp(x))",
                "single_neuron": "return activation(torch.mm(features, reshape_weights(weights)))",
            }
        ),
        "forgot_bias.ipynb": filled(
            {
                "single_neuron": "return activation(torch.mm(features, reshape_weights(weights)))",
                "two_layer_forward": "hidden = activation(torch.mm(features, W1))\n"
                "return activation(torch.mm(hidden, W2))",
            }
        ),
        "reshape_with_resize_.ipynb": filled({"reshape_weights": "n = weights.shape[1]\nreturn weights.resize_(n, 1)"}),
        "reshape_returns_copy.ipynb": filled({"reshape_weights": "return weights.view(-1, 1).clone()"}),
        "hardcoded_0_1595.ipynb": filled({"single_neuron": "return torch.tensor([[0.1595]])"}),
        "bias_inside_the_sum.ipynb": filled(
            {"single_neuron": "return activation(torch.sum(features * weights + bias))"}
        ),
        "bias_inside_the_sum_reshaped.ipynb": filled(
            {"single_neuron": "return activation(torch.sum(features * weights + bias)).view(1, 1)"}
        ),
        "no_activation_in_neuron.ipynb": filled({"single_neuron": "return torch.sum(features * weights) + bias"}),
        "mm_operands_swapped.ipynb": filled(
            {
                "two_layer_forward": "hidden = activation(torch.mm(W1, features) + B1)\n"
                "return activation(torch.mm(hidden, W2) + B2)"
            }
        ),
        "python2_print_statement.ipynb": python2_print(filled()),
        "endless_loop_in_two_layer_forward.ipynb": filled(
            {
                "two_layer_forward": "hidden = activation(torch.mm(features, W1) + B1)\n"
                "while hidden.sum() != 0:      # waits for a value that never comes\n"
                "    hidden = hidden * 1\n"
                "return activation(torch.mm(hidden, W2) + B2)"
            }
        ),
        "endless_activation_called_from_two_cells.ipynb": endless_activation(),
        "hidden_units_summed_to_one.ipynb": filled(
            {
                "two_layer_forward": "hidden = activation(torch.sum(torch.mm(features, W1)) + B1)\n"
                "return activation(torch.mm(hidden, W2) + B2)"
            }
        ),
        "outer_product_wrong_order.ipynb": filled(
            {"single_neuron": "return activation(torch.mm(reshape_weights(weights), features) + bias)"}
        ),
        "returns_numpy.ipynb": filled({"activation": "import numpy as np\nreturn 1 / (1 + np.exp(-x.numpy()))"}),
        "syntax_error_in_one_cell.ipynb": filled(
            {
                "two_layer_forward": "hidden = activation(torch.mm(features, W1) + B1\n"
                "return activation(torch.mm(hidden, W2) + B2)"
            }
        ),
        "cell_never_ends.ipynb": with_cell(filled(), "print(weights.shape", "while True:\n    pass"),
        "kills_the_kernel.ipynb": with_cell(filled(), "print(weights.shape", "import os\nos._exit(1)"),
        "truncated.ipynb": correct_text[: len(correct_text) // 2],
        "python_script_named_ipynb.ipynb": SCRIPT,
        "written_from_scratch.ipynb": from_scratch(),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, nb in samples().items():
        print(write(name, nb).relative_to(ROOT))


if __name__ == "__main__":
    main()
