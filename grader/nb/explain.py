"""A student's error in the exercise's terms: which cell, which operands, which line, what to change.

Pure functions over what the grader already holds (the notebook's sources, the cells that
failed, the arguments a check passed, a raised error's text); nothing here talks to the kernel.
Each returns the words to add to a message, or None when it recognises nothing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
VIEW = re.compile(r"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")
CELL_LINE = re.compile(r"\([^()]*\.py, line (\d+)\)\s*$")
PRINT_STATEMENT = re.compile(r"^\s*print\s+[^\s(=][^\n]*$", re.M)
DEFINES = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*(?::[^=]*)?=[^=]", re.M)


@dataclass(frozen=True)
class FailedCell:
    """A code cell that raised while the notebook ran: where (0-based index) and what."""

    index: int
    source: str
    ename: str
    evalue: str


def names_bound(source: str) -> set[str]:
    """The top-level names a cell defines or assigns (read from text when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {a or b for a, b in DEFINES.findall(source)}
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return out


def _what_went_wrong(cell: FailedCell) -> str:
    if not cell.ename:  # not an error: a cell stopped at its timeout, or dropped
        return "was " + cell.evalue if cell.evalue.startswith(("dropped", "not run at grading time")) else cell.evalue
    if cell.ename in ("SyntaxError", "IndentationError", "TabError"):
        line = CELL_LINE.search(cell.evalue)
        detail = CELL_LINE.sub("", cell.evalue).strip()
        where = f" on line {line.group(1)}" if line else ""
        text = f"has a {cell.ename}{where}: {detail}"
        hint = python2_hint(cell.source, cell.ename, cell.evalue)
        if hint:
            text += (" " if text.endswith(("?", ".", "!")) else ". ") + hint.rstrip(".")
        return text
    return f"raised {cell.ename}: {cell.evalue}".rstrip(": ")


def missing_message(name: str, why: str | None, lead: str = "Your notebook does not define `{name}`: ") -> str:
    """What a student reads when the notebook does not define `name`; `why`: the failed cell that explains it."""
    lead = lead.format(name=name)
    if why and "not run at grading time" in why:
        return (
            f"{lead}{why.rstrip('.')}. Grading does not run that cell: "
            f"define `{name}` in a cell that runs (load your saved checkpoint there), and check again."
        )
    if why:
        return f"{lead}{why.rstrip('.')}. Fix that cell, run all cells, and check again."
    return f"Your notebook does not define `{name}`. Define it in a code cell, run all cells, and check again."


def why_missing(name: str, failed: Sequence[FailedCell]) -> str | None:
    """`name` is not defined because the cell that defines it failed: that cell, its error, the line."""
    for cell in failed:
        if name in names_bound(cell.source):
            verb = "defines" if re.search(rf"^(?:def|class)\s+{re.escape(name)}\b", cell.source, re.M) else "assigns"
            text = f"`{name}` is not defined because cell {cell.index + 1}, which {verb} it, {_what_went_wrong(cell)}"
            cause = re.match(r"name '(\w+)' is not defined", cell.evalue) if cell.ename == "NameError" else None
            if cause and cause.group(1) != name:
                deeper = why_missing(cause.group(1), [c for c in failed if c.index != cell.index])
                if deeper:
                    text += f" ({deeper[0].lower() + deeper[1:]})"
            return text
    return None


def unbound_cause(ename: str, evalue: str, why: Callable[[str], str | None]) -> str | None:
    """A NameError for a name whose cell failed (`why(name)`: that cell and its error): said as
    the missing name is, with the cause, instead of a traceback that only repeats the NameError."""
    match = re.match(r"name '(\w+)' is not defined", evalue) if ename == "NameError" else None
    cause = why(match.group(1)) if match else None
    return missing_message(match.group(1), cause, lead="") if match and cause else None


def failure_hint(ename: str, evalue: str, line: str, shapes: dict[str, tuple[int, ...]]) -> str:
    """What to add to "`f` raised E: ...": the stub left in, or a recognised error's hint ("" if none)."""
    hint = " Replace the `raise NotImplementedError()` stub with your code." if ename == "NotImplementedError" else ""
    told = student_error_hint(evalue, line, shapes)
    return hint + (f" {told}" if told else "")


def python2_hint(source: str, ename: str, evalue: str) -> str | None:
    """A `print x` statement (Python 2) named as such, with its Python 3 form."""
    if ename != "SyntaxError":
        return None
    match = PRINT_STATEMENT.search(source)
    if "Missing parentheses in call to 'print'" not in evalue and not match:
        return None
    if match is None:
        return "This is Python 2's print statement; in Python 3 print is a function: print(...)."
    statement = match.group(0).strip()
    return (
        f"`{statement}` is Python 2's print statement; in Python 3 print is a function: "
        f"`print({statement[len('print') :].strip()})`."
    )


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _matmul_pairs(line: str) -> list[tuple[str, str, str]]:
    """(form, left, right) for every matrix product written on a line of code."""
    text = line.strip()
    for prefix in ("return ", "yield "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            pairs.append(("@", ast.unparse(node.left), ast.unparse(node.right)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("mm", "matmul"):
            owner = ast.unparse(node.func.value)
            if owner == "torch" and len(node.args) == 2:
                pairs.append((f"torch.{node.func.attr}", ast.unparse(node.args[0]), ast.unparse(node.args[1])))
            elif owner != "torch" and len(node.args) == 1:
                pairs.append((f".{node.func.attr}", owner, ast.unparse(node.args[0])))
    return pairs


def _written(form: str, left: str, right: str) -> str:
    if form == "@":
        return f"{left} @ {right}"
    if form.startswith("."):
        return f"{left}{form}({right})"
    return f"{form}({left}, {right})"


def _pick(
    pairs: list[tuple[str, str, str]], shapes: dict[str, tuple[int, ...]], a: tuple[int, int], b: tuple[int, int]
) -> tuple[str, str, str] | None:
    """The product on the line whose operands, where they are the function's arguments, have the error's shapes."""
    for pair in pairs:
        left, right = shapes.get(pair[1]), shapes.get(pair[2])
        if (left is None or left == a) and (right is None or right == b):
            return pair
    return pairs[0] if pairs else None


def matmul_hint(evalue: str, line: str, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """torch's "mat1 and mat2 shapes cannot be multiplied (3x2 and 1x3)" with the operands named
    as the student wrote them, their shapes, and an order or transpose that would agree."""
    match = MATMUL.search(evalue)
    if match is None:
        return None
    m, k, k2, n = (int(g) for g in match.groups())
    pair = _pick(_matmul_pairs(line), shapes, (m, k), (k2, n))
    left, right = (pair[1], pair[2]) if pair else ("the first operand", "the second operand")
    text = (
        f"{left} is {_shape_text((m, k))} and {right} is {_shape_text((k2, n))}: for a matrix product "
        f"the inner sizes must agree ({k} and {k2} here)"
    )
    if pair is None:
        return text + "."
    form = pair[0]
    if n == m:
        return text + f"; try {_written(form, right, left)}."
    if n == k:  # the right operand needs turning (weights (1, 5) for a (5, 1) column, say)
        return text + f"; try {_written(form, left, right + '.t()')} (or reshape {right} with .view)."
    if k2 == m:
        return text + f"; try {_written(form, left + '.t()', right)}."
    return text + "; check which tensors you multiply, and reshape one of them with .view(...)."


def view_hint(evalue: str) -> str | None:
    """view/reshape sizes whose product is not the tensor's number of elements."""
    match = VIEW.search(evalue)
    if match is None:
        return None
    sizes = [int(s) for s in match.group(1).replace(" ", "").split(",") if s]
    total = int(match.group(2))
    asked = 1
    for s in sizes:
        asked *= s if s > 0 else 1
    return (
        f"view{tuple(sizes)} asks for {asked} elements, but the tensor has {total}: the sizes must multiply "
        "to its number of elements (one of them may be -1, to be worked out)"
    ).replace(",)", ")") + "."


def has_product(line: str) -> bool:
    """The line holds a matrix product (`a @ b`, `torch.mm(a, b)`, `a.matmul(b)`)."""
    return bool(_matmul_pairs(line))


def student_error_hint(evalue: str, line: str, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """The first of the hints above that recognises a raised error."""
    return matmul_hint(evalue, line, shapes) or view_hint(evalue)


def parameter_shapes(source: str, function: str, args: Sequence[Any]) -> dict[str, tuple[int, ...]]:
    """The student's parameter names for `function` (from its def in the notebook), with the
    shapes of the tensors the check passed in their places."""
    params: list[str] = []
    for match in re.finditer(rf"^\s*def\s+{re.escape(function)}\s*\(([^)]*)\)", source, re.M):
        params = [p.split("=")[0].split(":")[0].strip().lstrip("*") for p in match.group(1).split(",") if p.strip()]
    out = {}
    for name, value in zip(params, args):
        shape = getattr(value, "shape", None)
        if shape is not None:
            out[name] = tuple(int(s) for s in shape)
    return out


def student_traceback(frames: Any, ename: str, evalue: str, where: Callable[[str], str | None]) -> str:
    """The student's traceback in their own terms: their frames only, each placed by `where`
    (a frame's code line -> "cell 4" or "In [7]", None when it finds no place)."""
    lines = ["Traceback (your code, most recent call last):"]
    for fr in frames if isinstance(frames, list) else []:
        if not isinstance(fr, dict):
            continue
        code = str(fr.get("code", ""))[:300].strip()
        place = where(code) if code else None
        lines.append(f"  {place + ', ' if place else ''}line {fr.get('line')}, in {str(fr.get('name'))[:100]}")
        if code:
            lines.append(f"    {code}")
    lines.append(f"{ename}: {evalue}")
    return "\n".join(lines)
