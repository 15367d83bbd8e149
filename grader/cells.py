"""`nb.cell(...)`: a notebook cell found by tag or by its first line, with what it produced."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.failures import CheckFailed

if TYPE_CHECKING:
    from grader.bridge import Bridge

_UNSET = object()


@dataclass
class CellView:
    """One cell as it ran: its source, printed output, error, and the value of its last expression."""

    index: int
    source: str
    status: str            # "ok" | "error" | "timeout" | "dropped"
    stdout: str
    error: str
    _bridge: "Bridge"
    _count: int | None
    _value: Any = _UNSET

    @property
    def value(self) -> Any:
        """The value of the cell's last expression (as `Out[n]`), fetched from the kernel once."""
        if self._value is _UNSET:
            if self.status != "ok" or self._count is None:
                raise CheckFailed(f"cell {self.index + 1} did not run to the end ({self.status}: {self.error or 'no value'}); "
                                  "fix it so that its last line computes the answer")
            self._value = self._bridge.output_of(self._count)
        return self._value

    @property
    def output(self) -> str:
        return self.stdout


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def find_cell(bridge: "Bridge", *, tag: str | None = None, starting_with: str | None = None) -> CellView:
    if (tag is None) == (starting_with is None):
        raise TypeError("nb.cell() takes exactly one of tag= or starting_with=")
    runs = bridge.runner.runs
    by_index = {r.cell.index: r for r in runs}
    cells = bridge.runner.submission.cells
    wanted = f"tag '{tag}'" if tag is not None else f"a first line starting with '{starting_with}'"
    for cell in cells:
        hit = (tag in cell.tags) if tag is not None else _first_line(cell.source).startswith(str(starting_with).strip())
        if not hit:
            continue
        if cell.kind != "code":
            # a markdown heading names the exercise: the answer is the next code cell
            following = [c for c in cells if c.index > cell.index and c.kind == "code" and c.source.strip()]
            if not following:
                continue
            cell = following[0]
        run = by_index.get(cell.index)
        if run is None:
            return CellView(cell.index, cell.source, "not run", "", "", bridge, None)
        reply = run.reply
        stdout = "".join(o.get("text", "") for o in (reply.outputs if reply else []) if o.get("output_type") == "stream")
        error = f"{reply.ename}: {reply.evalue}" if reply and reply.ename else ""
        return CellView(cell.index, cell.source, run.status, stdout, error, bridge, run.execution_count)
    raise CheckFailed(f"No cell with {wanted} was found. Keep the exercise's heading or tag as given in the assignment.")
