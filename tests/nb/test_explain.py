"""A student's error in the exercise's terms (grader/nb/explain.py), from the texts the grader holds."""

from __future__ import annotations

import torch

from grader.nb.explain import (
    FailedCell,
    matmul_hint,
    names_bound,
    parameter_shapes,
    python2_hint,
    view_hint,
    why_missing,
)

TWO_LAYER = "def two_layer_forward(features, W1, B1, W2, B2):\n    hidden = activation(torch.mm(W1, features) + B1)\n"


def test_the_operands_of_a_failed_product_are_named_with_their_shapes_and_the_fix() -> None:
    shapes = parameter_shapes(
        TWO_LAYER,
        "two_layer_forward",
        [torch.ones(1, 3), torch.ones(3, 2), torch.ones(1, 2), torch.ones(2, 1), torch.ones(1, 1)],
    )
    assert shapes == {"features": (1, 3), "W1": (3, 2), "B1": (1, 2), "W2": (2, 1), "B2": (1, 1)}
    hint = matmul_hint(
        "mat1 and mat2 shapes cannot be multiplied (3x2 and 1x3)",
        "    hidden = activation(torch.mm(W1, features) + B1)",
        shapes,
    )
    assert hint == (
        "W1 is (3, 2) and features is (1, 3): for a matrix product the inner sizes must agree "
        "(2 and 1 here); try torch.mm(features, W1)."
    )


def test_the_product_on_the_line_is_found_in_each_way_of_writing_it() -> None:
    err = "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"
    assert "try a @ b.t()" in matmul_hint(err, "return a @ b", {"a": (2, 3), "b": (2, 3)})
    assert "try a.mm(b.t())" in matmul_hint(err, "return a.mm(b)", {})
    assert "x is (2, 3) and y is (2, 3)" in matmul_hint(err, "z = torch.matmul(x, y) + torch.mm(p, q)", {"p": (5, 5)})
    assert matmul_hint(err, "this is not python (", {}).startswith("the first operand is (2, 3)")
    assert matmul_hint("some other error", "a @ b", {}) is None


def test_view_sizes_that_do_not_fit_are_explained() -> None:
    assert view_hint("shape '[5, 2]' is invalid for input of size 5") == (
        "view(5, 2) asks for 10 elements, but the tensor has 5: the sizes must multiply to its number of "
        "elements (one of them may be -1, to be worked out)."
    )


def test_a_name_missing_because_its_cell_failed_says_which_cell_and_why() -> None:
    broken = FailedCell(
        20,
        "def two_layer_forward(features, W1, B1, W2, B2):\n    hidden = activation(torch.mm(features, W1) + B1\n",
        "SyntaxError",
        "'(' was never closed (1062446796.py, line 3)",
    )
    user = FailedCell(
        21,
        "output = two_layer_forward(features, W1, B1, W2, B2)\noutput",
        "NameError",
        "name 'two_layer_forward' is not defined",
    )
    assert why_missing("two_layer_forward", [broken, user]) == (
        "`two_layer_forward` is not defined because cell 21, which defines it, has a SyntaxError on line 3: "
        "'(' was never closed"
    )
    assert why_missing("output", [broken, user]) == (
        "`output` is not defined because cell 22, which assigns it, raised NameError: name 'two_layer_forward' "
        "is not defined (`two_layer_forward` is not defined because cell 21, which defines it, has a SyntaxError "
        "on line 3: '(' was never closed)"
    )
    assert why_missing("activation", [broken, user]) is None


def test_python_2_print_statements_are_named_with_the_python_3_form() -> None:
    source = "y = single_neuron(features, weights, bias)\nprint y"
    assert python2_hint(source, "SyntaxError", "Missing parentheses in call to 'print'. Did you mean print(...)?") == (
        "`print y` is Python 2's print statement; in Python 3 print is a function: `print(y)`."
    )
    cell = FailedCell(
        3, source, "SyntaxError", "Missing parentheses in call to 'print'. Did you mean print(...)? (1.py, line 2)"
    )
    assert "Python 2's print statement" in why_missing("y", [cell])
    assert python2_hint("print(y)", "NameError", "") is None


def test_names_bound_reads_a_cell_that_does_not_parse() -> None:
    assert names_bound("import torch as t\nx = 1\ndef f(a):\n    return a") == {"t", "x", "f"}
    assert names_bound("def f(a:\n    pass\ny = 2") == {"f", "y"}
