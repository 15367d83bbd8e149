"""nbgrader's manually graded cells, turned into [manual.<name>] questions by `grader assign`.

A master cell whose nbgrader metadata says `"grade": true, "solution": true` (an answer a person
grades) or `"task": true` (a task a person grades) becomes a question of the assignment.toml
that `assign` writes to the students' folder: named and tagged by its `grade_id`, worth its
`points`, titled by the heading above it. The student notebook keeps the cell (its solution
replaced by `YOUR ANSWER HERE`, as for any solution) and gains the tag, so the grader finds the
answer however the student moves it. A question the master's assignment.toml declares already
(the same name, or the same tag) is left as written there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from grader.policy.questions import ManualQuestion

HEADER = "# Written by `grader assign` from the master notebook's manually graded cells (nbgrader)."
NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ManualCell:
    index: int  # of the cell in the master notebook
    name: str  # the question's name and the cell's tag
    title: str
    points: float


def _nbgrader(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_manual(cell: Any) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("task")) or (bool(meta.get("grade")) and bool(meta.get("solution")))


def _heading(cells: Sequence[Any], index: int) -> str:
    """The title: the cell's own heading line, else the first line of the nearest markdown cell above."""
    own = [line.strip() for line in str(cells[index].get("source", "")).splitlines() if line.strip()]
    if cells[index].get("cell_type") == "markdown" and own and own[0].startswith("#"):
        return own[0].lstrip("#").strip()
    for cell in reversed(cells[:index]):
        lines = [line.strip() for line in str(cell.get("source", "")).splitlines() if line.strip()]
        if cell.get("cell_type") == "markdown" and lines:
            return lines[0].lstrip("#").strip()
    return ""


def manual_cells(master: Any) -> list[ManualCell]:
    """The master's manually graded cells, in notebook order."""
    found: list[ManualCell] = []
    for index, cell in enumerate(master.cells):
        if not is_manual(cell):
            continue
        meta = _nbgrader(cell)
        name = NAME.sub("_", str(meta.get("grade_id") or f"manual-{index + 1}"))
        points = meta.get("points")
        worth = (
            float(points) if isinstance(points, (int, float)) and not isinstance(points, bool) and points > 0 else 1.0
        )
        found.append(ManualCell(index, name, _heading(master.cells, index) or name, worth))
    return found


def tagged(master: Any, cells: Sequence[ManualCell]) -> Any:
    """A copy of the master with each manual cell tagged by its question's name (the student
    notebook is made from it, so the students' copy of the cell carries the tag)."""
    import copy

    nb = copy.deepcopy(master)
    for found in cells:
        tags = nb.cells[found.index].setdefault("metadata", {}).setdefault("tags", [])
        if found.name not in tags:
            tags.append(found.name)
    return nb


def toml_text(original: str, cells: Sequence[ManualCell], declared: Sequence[ManualQuestion]) -> str:
    """assignment.toml for the students: the master's, then the questions it does not declare."""
    known = {q.name for q in declared} | {q.tag for q in declared if q.tag}
    new = [c for c in cells if c.name not in known]
    if not new:
        return original
    lines = [original.rstrip("\n"), "", HEADER]
    for cell in new:
        lines += [
            "",
            f"[manual.{cell.name}]",
            f"title = {json.dumps(cell.title, ensure_ascii=False)}",
            f"points = {cell.points:g}",
            f"tag = {json.dumps(cell.name)}",
        ]
    return "\n".join(lines) + "\n"
