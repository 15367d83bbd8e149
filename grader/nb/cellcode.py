"""What a cell's source says about its answer, read in the grader (never in the kernel).

The cell is read as IPython reads it (magics and shell escapes turned into calls first), then
as Python: which names its statements bind, in order; which was assigned last; whether it
ends with an expression or a `print(...)`; whether it only prints or inspects (a scratch cell
`features.shape`). A cell that is not Python 3 (`print y`) has none of these.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Literal


Ending = Literal["expression", "print", "statement", "empty", "unparsable"]
INSPECTING_CALLS = frozenset({"print", "len", "type", "display", "repr", "str", "id", "isinstance"})
INSPECTING_METHODS = frozenset(
    {
        "size",
        "dim",
        "numel",
        "type",
        "item",
        "tolist",
        "nelement",
        "is_contiguous",
        "get_device",
        "data_ptr",
        "stride",
        "storage_offset",
        "element_size",
    }
)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
ASSIGNMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign)


def _python_of(source: str) -> str:
    """The cell's source as IPython runs it (`%matplotlib inline` becomes a call)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return source
    try:
        return str(TransformerManager().transform_cell(source))
    except Exception:
        return source


def targets(node: ast.AST) -> Iterator[str]:
    """The names an assignment target binds, left to right (`a, b = ...` binds a then b)."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for item in node.elts:
            yield from targets(item)
    elif isinstance(node, ast.Starred):
        yield from targets(node.value)


def _statement_names(stmt: ast.stmt) -> Iterator[str]:
    """Names one top-level statement binds in the notebook's namespace (not inside a def or class)."""
    if isinstance(stmt, SCOPES) and not isinstance(stmt, ast.Lambda):
        yield stmt.name
        return
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        for alias in stmt.names:
            if alias.name != "*":
                yield (alias.asname or alias.name).split(".")[0]
        return
    for node in _walk_scope(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node.id
        elif isinstance(node, SCOPES) and node is not stmt and not isinstance(node, ast.Lambda):
            yield node.name


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of `node` in source order, not descending into functions, classes or comprehensions."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, SCOPES + (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            if isinstance(child, SCOPES) and not isinstance(child, ast.Lambda):
                yield child
            continue
        yield from _walk_scope(child)


def _last_assignment(body: list[ast.stmt]) -> str | None:
    """The name the cell's last assignment statement binds (the last name of `a, b = ...`)."""
    found: str | None = None
    for stmt in body:
        for node in _walk_scope(stmt):
            if isinstance(node, ASSIGNMENTS) and not (isinstance(node, ast.AnnAssign) and node.value is None):
                names = [
                    n for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) for n in targets(t)
                ]
                found = names[-1] if names else found
    return found


def inspects(node: ast.expr) -> bool:
    """An expression that only looks at values: a name, `x.shape`, `x.size()`, `print(x.dtype)`, a literal."""
    if isinstance(node, (ast.Name, ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(node, ast.Attribute):
        return inspects(node.value)
    if isinstance(node, ast.Subscript):
        return inspects(node.value) and inspects(node.slice)
    if isinstance(node, ast.Tuple):
        return all(inspects(e) for e in node.elts)
    if isinstance(node, ast.Call):
        func = node.func
        known = (isinstance(func, ast.Name) and func.id in INSPECTING_CALLS) or (
            isinstance(func, ast.Attribute) and func.attr in INSPECTING_METHODS and inspects(func.value)
        )
        return known and all(inspects(a) for a in node.args) and all(inspects(k.value) for k in node.keywords)
    return False


def loads(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))


def stores(node: ast.AST, name: str) -> bool:
    return name in _statement_names(node) if isinstance(node, ast.stmt) else False


def overwrites(body: list[ast.stmt], name: str) -> bool:
    """The cell assigns `name` before it ever reads it (`features = torch.randn(...)`, not
    `weights = weights.view(5, 1)`): a value given for it would not reach the answer."""
    for stmt in body:
        read_first = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None else stmt
        if loads(read_first, name) or isinstance(stmt, ast.AugAssign) and stores(stmt, name):
            return False
        if stores(stmt, name):
            return True
    return False


@dataclass(frozen=True)
class CellCode:
    """One cell's source as the grader reads it."""

    source: str
    ending: Ending
    assigned: tuple[str, ...]  # names the cell binds, in the order they are first bound
    last_assigned: str | None  # the name of the cell's last assignment statement
    only_inspects: bool  # every statement only prints or looks at values (a scratch cell)
    reading: str = ""  # how the answer was picked, in words, when it was not the plain last line

    @property
    def empty(self) -> bool:
        return self.ending == "empty"

    def overwritten(self, names: list[str]) -> list[str]:
        """Those of `names` the cell assigns before reading them."""
        body = _body_of(self.source)
        return [n for n in names if overwrites(list(body), n)] if body is not None else []

    @classmethod
    def of(cls, source: str) -> "CellCode":
        return _read_cell(source)


@lru_cache(maxsize=512)
def _body_of(source: str) -> tuple[ast.stmt, ...] | None:
    """The cell's statements as IPython would run them, parsed once; None: not Python 3."""
    try:
        return tuple(ast.parse(_python_of(source)).body)
    except (SyntaxError, ValueError):
        return None


@lru_cache(maxsize=512)
def _read_cell(source: str) -> CellCode:
    parsed = _body_of(source)
    if parsed is None:
        return CellCode(source, "unparsable" if source.strip() else "empty", (), None, False)
    body = list(parsed)
    if not body:
        return CellCode(source, "empty", (), None, False)
    names: list[str] = []
    for stmt in body:
        names += [n for n in _statement_names(stmt) if n not in names]
    ending, reading = _ending(source, body)
    only = all(isinstance(s, ast.Expr) and inspects(s.value) for s in body)
    return CellCode(source, ending, tuple(names), _last_assignment(body), only, reading)


def _ending(source: str, body: list[ast.stmt]) -> tuple[Ending, str]:
    """How the cell shows its answer (grader/bridge/inkernel/shown.py, the rule the agent notes by),
    and, where a value was picked out of a line or trailing lines passed over, that in words."""
    # imported here: the agent's module binds torch (inkernel/bound.py), which a batch's own
    # process, reading notebooks for their manual answers, must not pay for (~220 MB)
    from grader.bridge.inkernel.shown import answer_statement, is_print, shown

    index = answer_statement(body)
    stmt, after = body[index], len(body) - 1 - index
    ending: Ending = "statement"
    how = ""
    if isinstance(stmt, ast.Expr):
        at = shown(stmt.value)
        if at is not None:
            ending, how = ("print" if is_print(stmt.value) else "expression"), at[2]
    if not how and not after:
        return ending, ""
    text = ast.get_source_segment(_python_of(source), stmt) or ast.unparse(stmt)
    text = text if len(text) <= 60 else text[:57] + "..."
    words = f"read from `{text}`" + (f": {how}" if how else "")
    if after and ending == "statement":
        last = _last_assignment(body)
        words = f"read from `{last}`, the last name it assigns" if last else "read from what it assigns"
    if after:
        lines = "the line after it only shows" if after == 1 else f"the {after} lines after it only show"
        words += f" ({lines} a shape, a dtype, a length or text)"
    return ending, words
