"""`nb.section(...)`: an exercise answered in more than one cell, graded as one answer.

Students split answers (`h = ...` in one cell, `output = ...` in the next) and put scratch cells
around them. A section is the answer cells under one heading: from the cell `nb.cell(...)` would
find to the next markdown cell, without empty cells and cells that only print or inspect. Its
answer is that of its last cell that shows one; its names are those its cells bound, each as the
last of them left it; `rerun` runs the cells that ran to the end one after the other, as one
source, in a copy of the namespace as it was before the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from grader.nb.answers import NO_ANSWER, Rerun, rerun_cell
from grader.nb.cells import CellView
from grader.failures import NameNotInCell, NoAnswer


class SectionNames(Mapping[str, Any]):
    """The names a section's cells bound, each with its value right after the last cell that bound it."""

    def __init__(self, label: str, cells: list[CellView]) -> None:
        self.label = label
        self.cells = [c for c in cells if c.status == "ok"]

    def owner(self, name: str) -> CellView | None:
        return next((c for c in reversed(self.cells) if name in c.names), None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.owner(name) is not None

    def __getitem__(self, name: str) -> Any:
        cell = self.owner(name)
        if cell is None:
            bound = ", ".join(f"`{n}`" for n in self) or "no name"
            raise NameNotInCell(
                f"{self.label} do not assign `{name}` (they assign {bound}). Keep the name the "
                f"exercise asks for: `{name} = ...`.",
                name=name,
            )
        return cell.names[name]

    def __iter__(self) -> Iterator[str]:
        seen: list[str] = []
        for cell in self.cells:
            seen += [n for n in cell.names if n not in seen]
        return iter(seen)

    def __len__(self) -> int:
        return len(list(iter(self)))


@dataclass
class Section:
    """The answer cells under one heading (see the module doc)."""

    cells: list[CellView]
    bridge: Any

    @property
    def label(self) -> str:
        first = self.cells[0]
        if len(self.cells) == 1:
            return first.label
        under = first.label.partition(" (under ")[2]
        numbers = ", ".join(str(c.index + 1) for c in self.cells)
        return f"cells {numbers}" + (f" (under {under}" if under else "")

    @property
    def source(self) -> str:
        return "\n".join(c.source for c in self.cells)

    @property
    def answer(self) -> Any:
        """The answer of the section's last cell that shows one; a last cell that raised fails the check."""
        last = self.cells[-1]
        if last.status != "ok":
            last.require_run()
        for cell in reversed(self.cells):
            if cell.status != "ok":
                continue
            try:
                return cell.answer
            except NoAnswer:
                continue
        raise NoAnswer(
            NO_ANSWER.format(label=self.label).replace(
                " shows no answer: its last line is", " show no answer: the last line of each is"
            )
        )

    @property
    def names(self) -> SectionNames:
        return SectionNames(self.label, self.cells)

    @property
    def before(self) -> Any:
        return self.cells[0].before

    def rerun(self, **values: Any) -> Rerun:
        """The section's cells that ran to the end, run again one after the other on these values, in a
        copy of the namespace as it was just before the first of them."""
        ran = [c for c in self.cells if c.status == "ok"]
        if not ran:
            self.cells[-1].require_run()
        first = ran[0]
        return rerun_cell(self.bridge, self.label, first.require_run(), "\n".join(c.source for c in ran), values)
