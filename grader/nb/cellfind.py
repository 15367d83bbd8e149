"""Finding the cell that answers an exercise, as real notebooks have it.

Four ways, one per keyword of `nb.cell(...)`:

    tag="t"                 a cell with the tag (a markdown cell stands for the answer cell after it)
    starting_with="## Ex 2" the first non-empty line starts with it, at a word boundary (idem)
    containing="y = "       a code cell with the text in one of its lines
    after="single neuron"   the first markdown cell containing the text; then the first code cell
                            after it that is not empty and does not only print or inspect

Two matches: the first in notebook order answers (`nb.cells(...)` gives all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from grader.nb.cellcode import CellCode
from grader.failures import CheckFailed
from grader.submission.notebook import Cell


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def starts_with(source: str, prefix: str) -> bool:
    """The first non-empty line starts with `prefix`, at a word boundary ("## Exercise 1" is not "## Exercise 10")."""
    line, prefix = _first_line(source), prefix.strip()
    if not prefix or not line.startswith(prefix):
        return False
    rest = line[len(prefix) :]
    return not (rest and prefix[-1].isalnum() and (rest[0].isalnum() or rest[0] == "_"))


def contains_line(source: str, text: str) -> bool:
    """`text` (stripped) stands in one line of `source`."""
    text = text.strip()
    return bool(text) and any(text in line for line in source.splitlines())


def answers(cell: Cell) -> bool:
    """A code cell that can hold an answer: not empty, not a scratch cell that only prints or inspects."""
    if cell.kind != "code" or not cell.source.strip():
        return False
    code = CellCode.of(cell.source)
    return not (code.empty or code.only_inspects)


def label_of(cell: Cell, marker: Cell | None) -> str:
    """How a student is told which cell: its number, and the heading it stands under (Jupyter shows no
    cell numbers), e.g. `cell 12 (under "Exercise 2: the same neuron, with a matrix product")`."""
    label = f"cell {cell.index + 1}"
    heading = _first_line(marker.source).lstrip("#").strip() if marker is not None else ""
    if heading:
        heading = heading if len(heading) <= 60 else heading[:59].rstrip() + "…"
        label += f' (under "{heading}")'
    return label


@dataclass(frozen=True)
class CellQuery:
    """One way of naming a cell: exactly one of the four keywords."""

    tag: str | None = None
    starting_with: str | None = None
    containing: str | None = None
    after: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.tag, self.starting_with, self.containing, self.after) if v is not None]
        if len(given) != 1:
            raise TypeError("nb.cell() takes exactly one of tag=, starting_with=, containing= or after=")
        if not all(isinstance(v, str) for v in given):
            raise TypeError("nb.cell()'s keyword takes a string")

    def describe(self) -> str:
        if self.tag is not None:
            return f"tag '{self.tag}'"
        if self.starting_with is not None:
            return f"a first line starting with '{self.starting_with}'"
        if self.containing is not None:
            return f"a line containing '{self.containing}'"
        return f"a code cell after the text '{self.after}'"

    def how_to_keep(self) -> str:
        """What the student should keep so that the cell is found."""
        if self.tag is not None:
            return "Keep the exercise's cell tag as given in the assignment."
        if self.after is not None:
            return "Keep the exercise's text as given in the assignment, with your answer in a code cell below it."
        return "Keep the exercise's heading or first line as given in the assignment."

    def hits(self, cell: Cell) -> bool:
        """The cell itself is named by the query (before a markdown hit is turned into its answer cell)."""
        if self.tag is not None:
            return self.tag in cell.tags
        if self.starting_with is not None:
            return starts_with(cell.source, self.starting_with)
        if self.containing is not None:
            return cell.kind == "code" and contains_line(cell.source, self.containing)
        return cell.kind == "markdown" and self.after is not None and self.after.strip() in cell.source

    def located(self, cells: Sequence[Cell]) -> list[tuple[Cell, Cell | None]]:
        """Every answer cell the query names, in notebook order, each once, with the markdown cell
        that led to it (None: the query named the code cell itself)."""
        found: list[tuple[Cell, Cell | None]] = []
        for cell in cells:
            if not self.hits(cell):
                continue
            answer = cell if cell.kind == "code" else self.answer_after(cells, cell)
            if answer is not None and all(answer != a for a, _ in found):
                found.append((answer, None if cell.kind == "code" else cell))
        return found

    def matches(self, cells: Sequence[Cell]) -> list[Cell]:
        """Every answer cell the query names, in notebook order, each once."""
        return [answer for answer, _ in self.located(cells)]

    def answer_after(self, cells: Sequence[Cell], marker: Cell) -> Cell | None:
        """The answer cell a markdown cell stands for: the first non-empty code cell after it
        (with after=, also not one that only prints or inspects)."""
        later = [c for c in cells if c.index > marker.index and c.kind == "code" and c.source.strip()]
        if self.after is not None:
            later = [c for c in later if answers(c)]
        return later[0] if later else None

    def sections(self, cells: Sequence[Cell]) -> list[tuple[list[Cell], Cell | None]]:
        """Each place the query names, as its section's answer cells, with the markdown cell that led
        there: from the answer cell (or the cell after the markdown match) to the next markdown cell,
        without empty cells and cells that only print or inspect."""
        found = []
        for answer, marker in self.located(cells):
            start = marker.index + 1 if marker is not None else answer.index
            region: list[Cell] = []
            for cell in sorted((c for c in cells if c.index >= start), key=lambda c: c.index):
                if cell.kind == "markdown":
                    break
                if cell == answer or answers(cell):
                    region.append(cell)
            found.append((region if answer in region else [answer], marker))
        return found

    def not_found(self) -> CheckFailed:
        return CheckFailed(f"No cell with {self.describe()} was found. {self.how_to_keep()}")

    def first(self, cells: Sequence[Cell]) -> Cell:
        found = self.matches(cells)
        if not found:
            raise self.not_found()
        return found[0]
