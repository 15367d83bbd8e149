"""`nb.cell(...)`: a notebook cell found as real notebooks have it, with what it produced.

A notebook that computes its answers in top-level cells, with names of the student's own
choosing, is graded through the cells themselves: the cell after "## Exercise 2" (or with a
tag, a first line, a line it contains: cellfind.py) is found in the submission, and its
`.answer`, `.names` and `.value` are what its run in the kernel left behind, brought back
through the bridge as data; `.rerun(...)` tries its source on the check's own inputs (answers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from grader.nb.answers import NO_ANSWER, CellNames, Notes, Rerun, cell_notes, names_in_order, noted_value, rerun_cell
from grader.nb.cellcode import CellCode
from grader.bridge.codec import stream_text
from grader.nb.explain import has_product, student_error_hint
from grader.nb.readings import note as note_reading
from grader.nb.values import Shown, answer_like, cell_values
from grader.failures import CheckFailed, NoAnswer

if TYPE_CHECKING:
    from grader.nb.calls import AgentBridge
    from grader.execute import CellRun
    from grader.submission.notebook import Cell

_UNSET = object()


@dataclass
class CellView:
    """One cell as it ran: its source, printed output, error, and the value of its last expression."""

    index: int
    source: str
    status: str  # "ok" | "error" | "timeout" | "dropped" | "skipped" (its tag) | "not run"
    stdout: str | None  # None: not known (inline, where past output is not kept)
    error: str
    _bridge: Any
    _count: int | None
    _value: Any = _UNSET
    note: str = ""  # why something is unknown, in words for the student
    where: str = ""  # how to name the cell to a student; default "cell N"
    _names: CellNames | None = None
    _before: CellNames | None = None
    _notes: Notes | None = None
    _values: list[Shown] | None = None

    @property
    def label(self) -> str:
        return self.where or f"cell {self.index + 1}"

    def require_run(self) -> int:
        """The cell's execution count; a cell that did not run to the end fails the check, in words."""
        if self.status == "ok" and self._count is not None:
            return self._count
        why = self.error or self.note or "it has no value"
        if self.status == "skipped":
            raise CheckFailed(
                f"{self.label} was {self.error}, so it has no value. Grading reads what the cells "
                "that run leave behind: compute or load this answer in a cell without that tag."
            )
        if self.status == "not run" and self.note:
            raise CheckFailed(f"{self.label} was not run: {self.note}.")
        if self.status == "not run":
            raise CheckFailed(f"{self.label} was not run ({why}). Write your answer in it, run it, and check again.")
        if self.status == "error":
            told = self.error_hint()
            hint = (
                " Replace the `raise NotImplementedError()` stub with your answer."
                if self.error.startswith("NotImplementedError")
                else (f" {told}" if told else "") + " Fix it so that it runs to the end: its last line is your answer."
            )
            raise CheckFailed(f"{self.label} raised {self.error}, so it has no value.{hint}")
        raise CheckFailed(
            f"{self.label} did not run to the end ({self.status}: {why}); "
            "fix it so that its last line computes the answer"
        )

    def error_hint(self) -> str | None:
        """The shape hints a student function's error gets, for the cell's own error: the operands as
        the cell wrote them, with their shapes as they were just before the cell."""
        evalue = self.error.partition(": ")[2]
        if self._count is None or not evalue:
            return None
        lines = [line for line in self.source.splitlines() if has_product(line)] or [""]
        line = lines[0]
        if student_error_hint(evalue, line, {}) is None:
            return None
        shapes: dict[str, tuple[int, ...]] = {}
        try:
            before = self.before
            for name in set(re.findall(r"[A-Za-z_]\w*", line)) & set(before):
                shape = getattr(before[name], "shape", None)
                if shape is not None:
                    shapes[name] = tuple(shape)
        except CheckFailed:
            pass
        return student_error_hint(evalue, line, shapes)
        return None

    @property
    def value(self) -> Any:
        """The value of the cell's last expression (as `Out[n]`), fetched from the kernel once.

        None when the last line is not an expression (an assignment, a `print(...)`) or ends with `;`.
        """
        if self._value is _UNSET:
            self._value = self._bridge.output_of(self.require_run())
        return self._value

    @property
    def code(self) -> CellCode:
        return CellCode.of(self.source)

    def notes(self, count: int) -> Notes:
        """What the agent noted of this cell's run, asked for once."""
        if self._notes is None:
            self._notes = cell_notes(self._bridge, count)
        return self._notes

    @property
    def names(self) -> CellNames:
        """The names the cell bound or rebound, each with its value as it was right after the cell ran."""
        if self._names is None:
            count = self.require_run()
            notes = self.notes(count)
            if notes.noted:
                self._names = CellNames(self._bridge, self.label, count, names_in_order(self.code, notes))
            else:  # the student's own kernel: the values as they are now
                self._names = CellNames(self._bridge, self.label, count, list(self.code.assigned), live=True)
        return self._names

    @property
    def before(self) -> CellNames:
        """The notebook's namespace as it was just before the cell ran (the cell's inputs, in the shapes
        the student gave them), each value as it was then."""
        if self._before is None:
            count = self._count if self._count is not None else self.require_run()  # also for a cell that raised
            notes = self.notes(count)
            order = sorted(notes.before) if notes.noted else []
            self._before = CellNames(self._bridge, self.label, count, order, live=not notes.noted, before=True)
        return self._before

    @property
    def answer(self) -> Any:
        """The value a person reads as the cell's answer (its last expression, the one value a final
        `print` or displayed tuple shows, trailing lines that only show a shape passed over:
        grader/bridge/inkernel/shown.py); else the value of the last name the cell assigned, as right
        after the cell; else the check fails, saying how to show the answer. A value picked out of a
        line is noted for the check's message (readings.py)."""
        count = self.require_run()
        code = self.code
        if code.ending in ("expression", "print"):
            found, value = noted_value(self._bridge, count, None)
            if not found and code.ending == "expression":
                found, value = True, self.value  # not noted (grader.check()): Out[n]
            if found and value is not None:
                note_reading(f"{self.label}: {code.reading}" if code.reading else "")
                return value
        if code.last_assigned is not None and code.last_assigned in self.names:
            note_reading(f"{self.label}: {code.reading}" if code.reading else "")
            return self.names[code.last_assigned]
        if code.ending == "unparsable":
            raise CheckFailed(f"{self.label} is not valid Python 3, so it shows no answer. {self.error}".strip())
        raise NoAnswer(NO_ANSWER.format(label=self.label))

    @property
    def values(self) -> list[Shown]:
        """Every value the cell displayed, printed or assigned, in order, each with how and its line."""
        if self._values is None:
            self._values = cell_values(self._bridge, self.require_run())
        return self._values

    def answer_like(self, example: Any) -> Any:
        """The last of `values` with the example's shape (a tensor, or a torch.Size); else the check
        fails, listing what the cell produced."""
        return answer_like(self.values, example, self.label)

    def rerun(self, **values: Any) -> Rerun:
        """Run the cell's source again in a copy of the notebook's namespace as it was just before the
        cell, with the given names replaced by these values; the notebook itself is not changed."""
        count = self.require_run()
        return rerun_cell(self._bridge, self.label, count, self.source, values)

    @property
    def output(self) -> str:
        """What the cell printed (stdout and stderr streams)."""
        if self.stdout is None:
            raise CheckFailed(f"what {self.label} printed is not known here: {self.note or 'no record'}")
        return self.stdout

    @property
    def execution_count(self) -> int | None:
        return self._count


def cell_of_runs(bridge: "AgentBridge", cell: "Cell", runs: Sequence["CellRun"], where: str = "") -> CellView:
    """A cell of the submission, with what its run (one of `runs`) produced; `where` names it to a student."""
    run = next((r for r in runs if r.cell.index == cell.index), None)
    if run is None:
        return CellView(cell.index, cell.source, "not run", "", "it is empty", bridge, None, where=where)
    reply = run.reply
    outputs = reply.outputs if reply else []
    stdout = stream_text(outputs)
    error = (f"{reply.ename}: {reply.evalue}".rstrip(": ") if reply and reply.ename else "") or run.note or ""
    return CellView(cell.index, cell.source, run.status, stdout, error, bridge, run.execution_count, where=where)
