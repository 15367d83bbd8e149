"""`nb.cell(...)`: a notebook cell found by tag or by its first line, with what it produced.

A notebook that computes its answers in top-level cells, with names of the student's own
choosing, is graded through the cells themselves: the cell that follows "## Exercise 2"
(or carries a tag) is found in the submission, and its `.value` is `Out[n]` of its run in
the kernel, the value of its last expression, brought back through the bridge as data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from grader.bridge.codec import stream_text
from grader.failures import CheckFailed

if TYPE_CHECKING:
    from grader.bridge.client import AgentBridge
    from grader.execute import CellRun
    from grader.notebook import Cell

_UNSET = object()


@dataclass
class CellView:
    """One cell as it ran: its source, printed output, error, and the value of its last expression."""

    index: int
    source: str
    status: str            # "ok" | "error" | "timeout" | "dropped" | "not run"
    stdout: str | None     # None: not known (inline, where past output is not kept)
    error: str
    _bridge: Any
    _count: int | None
    _value: Any = _UNSET
    note: str = ""         # why something is unknown, in words for the student
    where: str = ""        # how to name the cell to a student; default "cell N"

    @property
    def label(self) -> str:
        return self.where or f"cell {self.index + 1}"

    @property
    def value(self) -> Any:
        """The value of the cell's last expression (as `Out[n]`), fetched from the kernel once.

        None when the last line is not an expression (an assignment, a `print(...)`) or ends with `;`.
        """
        if self._value is _UNSET:
            if self.status != "ok" or self._count is None:
                why = self.error or self.note or "it has no value"
                if self.status == "not run" and self.note:
                    raise CheckFailed(f"{self.label} was not run: {self.note}.")
                if self.status == "not run":
                    raise CheckFailed(f"{self.label} was not run ({why}). Write your answer in it, "
                                      "run it, and check again.")
                if self.status == "error":
                    hint = (" Replace the `raise NotImplementedError()` stub with your answer."
                            if self.error.startswith("NotImplementedError") else
                            " Fix it so that it runs to the end: its last line is your answer.")
                    raise CheckFailed(f"{self.label} raised {self.error}, so it has no value.{hint}")
                raise CheckFailed(f"{self.label} did not run to the end ({self.status}: {why}); "
                                  "fix it so that its last line computes the answer")
            self._value = self._bridge.output_of(self._count)
        return self._value

    @property
    def output(self) -> str:
        """What the cell printed (stdout and stderr streams)."""
        if self.stdout is None:
            raise CheckFailed(f"what {self.label} printed is not known here: {self.note or 'no record'}")
        return self.stdout

    @property
    def execution_count(self) -> int | None:
        return self._count


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def starts_with(source: str, prefix: str) -> bool:
    """The first non-empty line starts with `prefix`, at a word boundary ("## Exercise 1" is not "## Exercise 10")."""
    line, prefix = first_line(source), prefix.strip()
    if not prefix or not line.startswith(prefix):
        return False
    rest = line[len(prefix):]
    return not (rest and prefix[-1].isalnum() and (rest[0].isalnum() or rest[0] == "_"))


def describe(tag: str | None, starting_with: str | None) -> str:
    return f"tag '{tag}'" if tag is not None else f"a first line starting with '{starting_with}'"


def validate(tag: str | None, starting_with: str | None) -> None:
    if (tag is None) == (starting_with is None):
        raise TypeError("nb.cell() takes exactly one of tag= or starting_with=")


def match_cell(cells: Sequence["Cell"], *, tag: str | None = None,
               starting_with: str | None = None) -> "Cell":
    """The code cell that answers: the first cell with the tag or first line; a markdown cell
    (an exercise's heading) stands for the first non-empty code cell after it."""
    validate(tag, starting_with)
    for cell in cells:
        hit = (tag in cell.tags) if tag is not None else starts_with(cell.source, str(starting_with))
        if not hit:
            continue
        if cell.kind == "code":
            return cell
        following = [c for c in cells if c.index > cell.index and c.kind == "code" and c.source.strip()]
        if following:
            return following[0]
    raise CheckFailed(f"No cell with {describe(tag, starting_with)} was found. Keep the exercise's heading "
                      "or tag as given in the assignment.")


def find_cell(bridge: "AgentBridge", *, tag: str | None = None, starting_with: str | None = None) -> CellView:
    """`nb.cell(...)`: each bridge finds cells in its own record (a grading run's, or inline the kernel's history)."""
    validate(tag, starting_with)
    return bridge.locate_cell(tag=tag, starting_with=starting_with)


def cell_of_runs(bridge: "AgentBridge", cells: Sequence["Cell"], runs: Sequence["CellRun"], *,
                 tag: str | None = None, starting_with: str | None = None) -> CellView:
    """The cell found in a submission's `cells`, with what its run (one of `runs`) produced."""
    cell = match_cell(cells, tag=tag, starting_with=starting_with)
    run = next((r for r in runs if r.cell.index == cell.index), None)
    if run is None:
        return CellView(cell.index, cell.source, "not run", "", "it is empty", bridge, None)
    reply = run.reply
    outputs = reply.outputs if reply else []
    stdout = stream_text(outputs)
    error = (f"{reply.ename}: {reply.evalue}".rstrip(": ") if reply and reply.ename else "") or run.note or ""
    return CellView(cell.index, cell.source, run.status, stdout, error, bridge, run.execution_count)
