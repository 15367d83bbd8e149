"""Which value of a cell a person reads as its answer, decided from the cell's syntax alone.

One rule, used on both sides of the wire: the agent's transformer (notes.py) hands the value it
picks to the notes as the cell runs, and the grader (grader/nb/cellcode.py) reads the same
source with the same functions to say which value it took and why. Pure `ast`: nothing here
runs or evaluates the student's code.

- The answer statement is the cell's last statement, passing over trailing lines that only show a
  shape, a dtype, a length or text (`print(y.shape)`, `len(x)`, `print("done")`), when a statement
  came before them.
- In a displayed tuple (`output, output.shape`) the one item that is not a shape, size, dtype or
  text is the answer.
- In a `print(...)`: the last argument that is not literal text, nor a shape, dtype or length;
  through `"{}".format(v)`, `"%s" % v`, `"%s %s" % (v, v.shape)` and f-strings, the one value
  they format.
"""

from __future__ import annotations

import ast
from typing import Any

from grader.bridge.inkernel.bound import isinstance_, len_

META_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout", "is_leaf"})
META_METHODS = frozenset(
    {
        "size",
        "dim",
        "numel",
        "type",
        "nelement",
        "stride",
        "is_contiguous",
        "get_device",
        "element_size",
        "storage_offset",
        "data_ptr",
    }
)
META_CALLS = frozenset({"len", "type", "id"})
ORDINALS = ("first", "second", "third", "fourth", "fifth")


def metadata(node: Any) -> bool:
    """An expression that shows only a shape, size, dtype, length or text, never a computed value."""
    if isinstance_(node, ast.Constant):
        return isinstance_(node.value, (str, bytes, int)) or node.value is None  # text, a size (bool too)
    if isinstance_(node, ast.JoinedStr):
        return all(metadata(v.value) for v in node.values if isinstance_(v, ast.FormattedValue))
    if isinstance_(node, ast.Attribute):
        return node.attr in META_ATTRIBUTES
    if isinstance_(node, ast.Subscript):
        return metadata(node.value)
    if isinstance_(node, ast.Call):
        func = node.func
        if isinstance_(func, ast.Name):
            return func.id in META_CALLS
        return isinstance_(func, ast.Attribute) and func.attr in META_METHODS
    if isinstance_(node, ast.Tuple):
        return all(metadata(e) for e in node.elts)
    return False


def is_print(node: Any) -> bool:
    return isinstance_(node, ast.Call) and isinstance_(node.func, ast.Name) and node.func.id == "print"


def scratch(stmt: Any) -> bool:
    """A line that only shows metadata or text: `print(y.shape)`, `y.dtype`, `print("done")`."""
    if not isinstance_(stmt, ast.Expr):
        return False
    value = stmt.value
    if is_print(value):
        return all(metadata(a) for a in value.args)
    return metadata(value)


def answer_statement(body: list[Any]) -> int:
    """The index of the statement that holds the answer (see the module doc); -1 for no statement."""
    index = len_(body) - 1
    while index > 0 and scratch(body[index]):
        index -= 1
    return index


def _one(items: list[Any]) -> list[int]:
    return [i for i, item in enumerate(items) if not metadata(item) and not isinstance_(item, ast.Starred)]


def _formatted(arg: Any) -> tuple[Any, Any, str] | None:
    """Inside a printed argument: the one value an f-string, `.format` or `%` formats."""
    if isinstance_(arg, ast.JoinedStr):
        values = [v for v in arg.values if isinstance_(v, ast.FormattedValue) and not metadata(v.value)]
        return (values[0], "value", "the value the f-string formats") if len_(values) == 1 else None
    if (
        isinstance_(arg, ast.Call)
        and isinstance_(arg.func, ast.Attribute)
        and arg.func.attr == "format"
        and isinstance_(arg.func.value, ast.Constant)
        and isinstance_(arg.func.value.value, str)
    ):
        picked = _one(arg.args)
        return (arg.args, picked[0], "the value `.format` fills in") if len_(picked) == 1 else None
    if (
        isinstance_(arg, ast.BinOp)
        and isinstance_(arg.op, ast.Mod)
        and isinstance_(arg.left, ast.Constant)
        and isinstance_(arg.left.value, str)
    ):
        if isinstance_(arg.right, ast.Tuple):
            picked = _one(arg.right.elts)
            return (arg.right.elts, picked[0], "the value the `%` format fills in") if len_(picked) == 1 else None
        return None if metadata(arg.right) else (arg, "right", "the value the `%` format fills in")
    return None


def _formats_text(arg: Any) -> bool:
    if isinstance_(arg, ast.JoinedStr):
        return True
    if isinstance_(arg, ast.Call) and isinstance_(arg.func, ast.Attribute) and arg.func.attr == "format":
        return isinstance_(arg.func.value, ast.Constant)
    return isinstance_(arg, ast.BinOp) and isinstance_(arg.op, ast.Mod) and isinstance_(arg.left, ast.Constant)


def shown(value: Any) -> tuple[Any, Any, str] | None:
    """Where the answer stands in an expression statement's value, as (holder, key, how): holder[key]
    for a list, getattr(holder, key) otherwise; `how` in words ("" when it is the whole expression).
    None: a print that shows no value (only text or shapes)."""
    if is_print(value):
        picked = _one(value.args)
        if not picked:
            return None
        arg = value.args[picked[-1]]
        inner = _formatted(arg)
        if inner is not None:
            return inner
        if _formats_text(arg):
            return None  # text formatting several values: no one value
        how = "the value printed" if len_(value.args) > 1 else ""
        return value.args, picked[-1], how
    if isinstance_(value, ast.Tuple) and len_(value.elts) > 1:
        picked = _one(value.elts)
        if len_(picked) == 1:
            i = picked[0]
            return value.elts, i, (f"the {ORDINALS[i]} item" if i < len_(ORDINALS) else f"item {i + 1}")
    return None, None, ""
