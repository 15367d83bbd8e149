"""Where student code was when time ran out, and which functions lead there.

A cell or a call that outlives its timeout is interrupted; the KeyboardInterrupt's traceback says
where the code was (the agent's frames for a call, IPython's traceback text for a cell, both
read here as data). `Stuck` names that place in the student's terms ("stuck in `activation`,
cell 5, line 3: `while True:`"). `calls_into` reads the notebook's own `def`s (their source, in
the grader, never run) to tell which functions call a function known to be stuck, so that a
later call is reported through it without another full wait.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"Cell In\s*\[(\d+)\],\s*line (\d+)(?:,\s*in (\w+))?")
ARROW = re.compile(r"^\s*-+>\s*(\d+)\s?(.*)$")


@dataclass(frozen=True)
class Stuck:
    """A place in the student's code: function (`<module>`: the cell itself), cell number, line, code."""

    function: str
    cell: int
    line: int
    code: str

    def words(self) -> str:
        where = f"`{self.function}`, " if self.function != "<module>" else ""
        code = self.code.strip()[:80]
        return f"stuck in {where}cell {self.cell}, line {self.line}" + (f": `{code}`" if code else "")


def from_frames(frames: Any, cell_of: Callable[[str], int | None]) -> Stuck | None:
    """The innermost student frame of a call's traceback (the agent's `frames`, as data)."""
    if not isinstance(frames, list):
        return None
    for frame in reversed(frames):
        if not isinstance(frame, dict):
            continue
        code, name, line = str(frame.get("code", ""))[:300], str(frame.get("name", ""))[:100], frame.get("line")
        cell = cell_of(code) if code else None
        if cell is not None and isinstance(line, int) and re.fullmatch(r"[\w<>]+", name):
            return Stuck(name, cell, line, code)
    return None


def from_traceback(lines: Iterable[Any], cell_of_count: Callable[[int], int | None]) -> Stuck | None:
    """The innermost `Cell In[n], line l, in f` of a cell's traceback text (IPython's words)."""
    found: Stuck | None = None
    pending: tuple[int, int, str] | None = None
    for raw in lines:
        for text in ANSI.sub("", str(raw)[:20000]).splitlines():
            match = CELL_FRAME.search(text)
            if match:
                count, line, name = int(match.group(1)), int(match.group(2)), match.group(3) or "<module>"
                cell = cell_of_count(count)
                pending = (cell, line, name) if cell is not None else None
                continue
            arrow = ARROW.match(text)
            if arrow and pending is not None and int(arrow.group(1)) == pending[1]:
                found = Stuck(pending[2], pending[0], pending[1], arrow.group(2)[:300])
                pending = None
    return found


def _calls(node: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def calls_into(sources: Iterable[str], stuck: Iterable[str]) -> dict[str, str]:
    """Each function the notebook defines that calls (directly or through others) one of `stuck`:
    name -> the stuck function it reaches."""
    defined: dict[str, set[str]] = {}
    for source in sources:
        try:
            body = ast.parse(source).body
        except (SyntaxError, ValueError):
            continue
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined[stmt.name] = _calls(stmt)
    reach = {name: name for name in stuck}
    changed = True
    while changed:
        changed = False
        for name, called in defined.items():
            if name in reach:
                continue
            hit = next((reach[c] for c in sorted(called) if c in reach), None)
            if hit is not None:
                reach[name] = hit
                changed = True
    return {name: target for name, target in reach.items() if name not in stuck}


def cell_reaches(source: str, reach: dict[str, str], stuck: Iterable[str]) -> str | None:
    """The stuck function a cell's own code calls, directly or through the notebook's functions."""
    try:
        called = _calls(ast.parse(source))
    except (SyntaxError, ValueError):
        return None
    for name in sorted(called):
        if name in set(stuck):
            return name
        if name in reach:
            return reach[name]
    return None


class StuckCells:
    """What the runner learns from cells that ran out of time: where each was stuck; a later cell
    that calls (through the notebook's functions) a function found stuck gets the call timeout."""

    def __init__(self, call_timeout: float) -> None:
        self.call_timeout = call_timeout
        self.found: list[Stuck] = []

    def functions(self) -> list[str]:
        return [s.function for s in self.found if s.function != "<module>"]

    def budget(self, source: str, earlier: list[str], budget: float) -> tuple[float, Stuck | None]:
        """The budget of a cell about to run, and the stuck place it leads to (None: none known)."""
        names = self.functions()
        target = cell_reaches(source, calls_into(earlier, names), names) if names else None
        if target is None:
            return budget, None
        known = next(s for s in self.found if s.function == target)
        return min(budget, self.call_timeout), known

    def note(
        self, traceback: list[str], counts: dict[int, int], budget: float, full: float, known: Stuck | None
    ) -> str:
        """The words for a cell that timed out; where it was stuck is remembered."""
        stuck = from_traceback(traceback, counts.get)
        words = f"stopped after {budget:g} s (timeout)"
        if stuck is not None:
            words += f", {stuck.words()}"
            if stuck not in self.found:
                self.found.append(stuck)
            if known is not None and (known.cell, known.line) == (stuck.cell, stuck.line) and budget < full:
                words += (
                    f" (where an earlier cell was stuck, so it was stopped after the call timeout, not the "
                    f"{full:g} s of a cell)"
                )
        return words + "; the kernel was interrupted and grading went on"
