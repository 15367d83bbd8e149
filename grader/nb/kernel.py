"""The bridge to the grader's own kernel of one submission, through its Runner.

Its timeouts and output cap are the assignment's; a kernel that died or hung is brought back by
the Runner; the student's traceback and why a name is missing are told from the submission's
cells and their runs; its cells are found in the submission (cellfind.py), each with what its
run in this kernel produced (cells.cell_of_runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.bridge.routes import kernel_routes
from grader.nb.cellfind import CellQuery, label_of
from grader.nb.cells import CellView, cell_of_runs
from grader.nb.explain import FailedCell, student_traceback, why_missing
from grader.nb.proxy import CellBridge

if TYPE_CHECKING:
    from grader.execute import Runner
    from grader.nb.stuck import Stuck

__all__ = ["Bridge"]


class Bridge(CellBridge):
    """Requests to the agent in the grader's kernel of one submission, through its Runner."""

    carries_forward = True

    def __init__(self, runner: "Runner", device: str = "cpu") -> None:
        super().__init__(kernel_routes(runner), device)
        self.runner = runner

    def stuck_places(self) -> dict[str, "Stuck"]:
        return {**{s.function: s for s in self.runner.stuck.found if s.function != "<module>"}, **self.stuck}

    def cell_of_code(self, code: str) -> int | None:
        code = code.strip()
        return next(
            (
                c.index + 1
                for c in self.runner.submission.code_cells
                if code and any(line.strip() == code for line in c.source.splitlines())
            ),
            None,
        )

    @property
    def call_timeout(self) -> float:
        return self.runner.assignment.timeouts.call

    @property
    def output_cap(self) -> int:
        return self.runner.assignment.limits.output_kb * 1024

    def kernel_died(self) -> str:
        cause = self.runner.death_cause()
        self.runner.recover()
        return cause

    def timed_out(self) -> None:
        if not self.runner.responsive():
            self.runner.recover()

    def runner_traceback(self, frames: Any, ename: str, evalue: str) -> str:
        """The student's traceback in their own terms: their cells and lines only."""
        cells = self.runner.submission.code_cells

        def where(code: str) -> str | None:
            return next((f"cell {cell.index + 1}" for cell in cells if code in cell.source), None)

        return student_traceback(frames, ename, evalue, where)

    def time_left(self) -> float:
        return self.runner.time_left()

    def sources(self) -> str:
        return "\n".join(cell.source for cell in self.runner.submission.code_cells)

    def why_missing(self, name: str) -> str | None:
        failed = [
            FailedCell(
                r.cell.index,
                r.cell.source,
                r.reply.ename if r.reply and r.status == "error" else "",
                r.reply.evalue if r.reply and r.status == "error" else (r.note or r.status),
            )
            for r in self.runner.runs
            if r.status != "ok"
        ]
        return why_missing(name, failed)

    def locate_cells(self, query: CellQuery) -> list[CellView]:
        """The cells found in the submission, each with what its run in this kernel produced."""
        return [
            cell_of_runs(self, cell, self.runner.runs, label_of(cell, marker))
            for cell, marker in query.located(self.runner.submission.cells)
        ]

    def locate_sections(self, query: CellQuery) -> list[list[CellView]]:
        return [
            [cell_of_runs(self, cell, self.runner.runs, label_of(cell, marker)) for cell in cells]
            for cells, marker in query.sections(self.runner.submission.cells)
        ]
