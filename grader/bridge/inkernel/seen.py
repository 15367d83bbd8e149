"""Every value a cell displayed, printed or assigned, in order, noted as the cell runs.

An AST transformer (after LastValue, notes.py) hands over, for each top-level statement of a
cell: the value a `print(...)` shows (shown.py's rule), the value of the cell's last expression
(what IPython displays), and after an assignment the value of each name it binds. Each is kept
with how it was produced ("printed", "displayed", "assigned y") and its line, as data for the
grader's `cell.values` and `cell.answer_like(...)`. The inserted calls are `if` statements, so
that a cell ending with an assignment still displays nothing.
"""

from __future__ import annotations

import ast
from typing import Any

from grader.bridge.inkernel.bound import isinstance_, len_, list_
from grader.bridge.inkernel.shown import is_print, shown

SEEN_LIMIT = 32  # values noted per cell run; later ones are not noted


def _call(name: str, how: str, line: int, value: ast.expr) -> ast.Call:
    return ast.Call(
        func=ast.Name(id=name, ctx=ast.Load()), args=[ast.Constant(how), ast.Constant(line), value], keywords=[]
    )


def _assigned(stmt: Any) -> list[str]:
    targets = stmt.targets if isinstance_(stmt, ast.Assign) else [stmt.target]
    names: list[str] = []
    for target in targets:
        for node in ast.walk(target):
            name = getattr(node, "id", None) if isinstance_(getattr(node, "ctx", None), ast.Store) else None
            if name is not None and name not in names:
                names.append(name)
    return names


class SeenValues(ast.NodeTransformer):
    """Hands each displayed, printed or assigned value of a cell to `keep(how, line, value)`."""

    def __init__(self, keep: str) -> None:
        self.keep = keep

    def visit_Module(self, node: Any) -> Any:
        try:
            body: list[Any] = []
            last = len_(node.body) - 1
            for i, stmt in enumerate(node.body):
                body.append(stmt)
                if isinstance_(stmt, ast.Expr):
                    self.wrap_shown(stmt, i == last)
                elif isinstance_(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and getattr(stmt, "value", None):
                    for name in _assigned(stmt):
                        call = _call(self.keep, f"assigned {name}", stmt.lineno, ast.Name(id=name, ctx=ast.Load()))
                        test = ast.Compare(left=call, ops=[ast.Is()], comparators=[ast.Constant(None)])
                        body.append(ast.copy_location(ast.If(test=test, body=[ast.Pass()], orelse=[]), stmt))
            node.body = body
            ast.fix_missing_locations(node)
        except Exception:
            pass
        return node

    def wrap_shown(self, stmt: Any, displayed: bool) -> None:
        value = stmt.value
        if is_print(value):
            at = shown(value)
            if at is None or at[0] is None:
                return
            holder, key, _ = at
            if isinstance_(holder, list_):
                holder[key] = ast.copy_location(_call(self.keep, "printed", stmt.lineno, holder[key]), holder[key])
            else:
                old = getattr(holder, key)
                setattr(holder, key, ast.copy_location(_call(self.keep, "printed", stmt.lineno, old), old))
        elif displayed:
            stmt.value = ast.copy_location(_call(self.keep, "displayed", stmt.lineno, value), value)
