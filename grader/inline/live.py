"""The bridge inside a student's own running kernel, for `grader.check()` in Jupyter.

There is no second process here: the kernel that runs the checks is the student's, and nothing
is at stake (it is their own check). Values still take the grading path: the same kernel-side
agent (grader.bridge.agent) encodes them as JSON plus a torch.save blob, and the same codec
(grader.bridge.codec) loads them with torch.load(weights_only=True) as plain tensors with their
device metadata. The checks therefore see exactly what they see at grading time: only the
route differs (InProcessRoute, a call in this process, instead of the kernel's doors).

What differs from grading: the cells ran in the order the student ran them, in their kernel;
`nb.cell(...)` works from the kernel's history (`In`, `Out`) and the saved notebook file, so a
cell's printed output and its error are known only from the saved file (see `locate_cell`).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import secrets
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from grader.bridge.agent import AGENT_ENTRY, AGENT_SOURCE
from grader.nb.cellfind import CellQuery, contains_line, starts_with
from grader.nb.cells import CellView
from grader.nb.proxy import CellBridge
from grader.bridge.codec import MIME, stream_text
from grader.nb.explain import student_traceback
from grader.bridge.routes import Collected, Ended
from grader.failures import CheckFailed
from grader.submission.notebook import Cell

NOT_SAVED = (
    "what a cell printed, and whether it raised, are read from the saved notebook; "
    "save the notebook (Ctrl-S) after running the cell, then check again"
)


def install_agent(shell: Any) -> tuple[Callable[[str, str], None], list[Any]]:
    """The grading agent, bound to this kernel's namespace; its replies land in the returned list."""
    replies: list[Any] = []

    class _Display:
        @staticmethod
        def publish(data: dict[str, Any], metadata: Any = None, **_: Any) -> None:
            replies.append(data.get(MIME))

    class _Shell:
        display_pub = _Display
        user_ns = shell.user_ns
        user_ns_hidden = getattr(shell, "user_ns_hidden", {})
        transform_cell = staticmethod(getattr(shell, "transform_cell", lambda source: source))

    namespace: dict[str, Any] = {"__name__": "grader_live_agent", "get_ipython": lambda: _Shell}
    exec(compile(AGENT_SOURCE, "<grader-agent>", "exec"), namespace)  # our own file
    token = f"__grader_live_{secrets.token_hex(8)}__"
    namespace[AGENT_ENTRY](token)
    agent = getattr(builtins, token)
    delattr(builtins, token)
    return agent, replies


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the call after `seconds` (KeyboardInterrupt, as an interrupted kernel would);
    only where signals can be used: Unix, the main thread."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class SavedNotebook:
    """The notebook file as last saved: its cells (tags, headings) and, per cell, the saved run."""

    path: Path
    cells: list[Cell]
    counts: dict[int, int | None] = field(default_factory=dict)  # cell index -> execution_count
    outputs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "SavedNotebook | None":
        from grader.submission.notebook import read_submission

        sub = read_submission(path)
        if not sub.readable:
            return None
        saved = cls(path=path, cells=sub.cells)
        try:
            raw = json.loads(path.read_text(encoding="utf-8-sig"))
            raw_cells = raw.get("cells") if isinstance(raw, dict) else None
        except (OSError, ValueError):
            raw_cells = None
        nodes: list[Any] = raw_cells if isinstance(raw_cells, list) and len(raw_cells) == len(sub.cells) else []
        for cell in sub.cells if nodes else []:
            node = nodes[cell.index]
            if isinstance(node, dict) and cell.kind == "code":
                count = node.get("execution_count")
                saved.counts[cell.index] = count if isinstance(count, int) else None
                outputs = node.get("outputs")
                saved.outputs[cell.index] = (
                    [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []
                )
        return saved


def _same_source(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.strip().splitlines())

    return norm(a) == norm(b)


class InProcessRoute:
    """The agent called in this very process: its replies land in a list, its prints in a buffer,
    and a call is interrupted after its timeout (see `deadline`)."""

    def __init__(self, agent: Callable[[str, str], None], replies: list[Any]) -> None:
        self.agent = agent
        self.replies = replies

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended | None:
        self.replies.clear()
        printed = io.StringIO()
        with (
            contextlib.redirect_stdout(printed),
            contextlib.redirect_stderr(printed),
            deadline(timeout if op == "call" else None),
        ):
            self.agent(op, request)
        got.replies.extend(self.replies)
        got.printed.append(printed.getvalue())
        return Ended()


class LiveBridge(CellBridge):
    """Bridge.call/describe/output_of, served in-process by the agent instead of over the wire."""

    reply_words = "the reply"
    tracks_bindings = False  # every request reads the live namespace anyway

    def __init__(
        self,
        shell: Any,
        *,
        call_timeout: float = 10.0,
        output_kb: int = 64,
        saved: SavedNotebook | None = None,
        device: str = "cpu",
    ) -> None:
        agent, replies = install_agent(shell)
        super().__init__([InProcessRoute(agent, replies)], device)
        self.shell = shell
        self.saved = saved
        self._call_timeout = call_timeout
        self._cap = output_kb * 1024

    @property
    def call_timeout(self) -> float:
        return self._call_timeout

    @property
    def output_cap(self) -> int:
        return self._cap

    def no_answer(self, what: str, ended: Ended) -> str:
        return (
            f"no answer came back for {what}. Did the notebook replace print/display machinery? "
            "Restart the kernel, run all cells, and check again."
        )

    # -- the kernel's history ---------------------------------------------------------
    def history(self) -> list[tuple[int, str]]:
        """(execution count, source) of every cell run in this kernel before the current one."""
        raw = list(getattr(self.shell.history_manager, "input_hist_raw", []) or [])
        current = int(getattr(self.shell, "execution_count", len(raw)))
        return [(n, str(src)) for n, src in enumerate(raw) if 0 < n < current]

    def runner_traceback(self, frames: Any, ename: str, evalue: str) -> str:
        history = self.history()

        def where(code: str) -> str | None:
            return next((f"In [{n}]" for n, src in reversed(history) if code in src), None)

        return student_traceback(frames, ename, evalue, where)

    # -- nb.cell ----------------------------------------------------------------------
    def latest(self, pred: Callable[[str], bool]) -> int | None:
        """The execution count of the latest run in this kernel whose source satisfies `pred`."""
        return next((n for n, src in reversed(self.history()) if pred(src)), None)

    def locate_cells(self, query: CellQuery) -> list[CellView]:
        """The cells in the saved notebook (tag, heading, a line, the text before), each matched to its
        latest run in this kernel by source; without a saved notebook (or no match in it), the latest
        run whose first line, or a line, matches."""
        cells = query.matches(self.saved.cells) if self.saved is not None else []
        if cells:
            return [self.view_of(cell, query) for cell in cells]
        if query.tag is not None or query.after is not None:
            if self.saved is None:
                raise CheckFailed(
                    f"nb.cell() with {query.describe()} needs the saved notebook (the kernel cannot "
                    "see tags or markdown), and grader.check() could not find it: pass "
                    "grader.check(notebook='your.ipynb')."
                )
            return []
        pred = (
            (lambda src: starts_with(src, str(query.starting_with)))
            if query.starting_with is not None
            else (lambda src: contains_line(src, str(query.containing)))
        )
        count = self.latest(pred)
        if count is None:
            hint = (
                ""
                if self.saved is not None
                else " A markdown heading can only be found in the saved "
                "notebook: save it, or pass grader.check(notebook='your.ipynb')."
            )
            raise CheckFailed(
                f"No cell run in this kernel has {query.describe()}. Run the exercise's cell, "
                f"keeping its heading or first line as given.{hint}"
            )
        source = dict(self.history())[count]
        return [CellView(count - 1, source, "ok", None, "", self, count, note=NOT_SAVED, where=f"In [{count}]")]

    def locate_sections(self, query: CellQuery) -> list[list[CellView]]:
        if self.saved is None:
            return [[cell] for cell in self.locate_cells(query)]
        found = query.sections(self.saved.cells)
        return [[self.view_of(cell, query) for cell in cells] for cells, _ in found] or [
            [cell] for cell in self.locate_cells(query)
        ]

    def view_of(self, cell: Cell, query: CellQuery) -> CellView:
        """A saved cell with what its latest run in this kernel produced (printed output and error
        only when the saved run is that latest run)."""
        count = self.latest(lambda src: _same_source(src, cell.source))
        if count is None and query.starting_with is not None and cell.kind == "code":
            count = self.latest(lambda src: starts_with(src, str(query.starting_with)))  # edited since the last save
        if count is None:
            return CellView(
                cell.index,
                cell.source,
                "not run",
                None,
                "",
                self,
                None,
                note="it has not been run in this kernel since the notebook was last saved: run it, "
                "save the notebook, and check again",
            )
        saved_count = self.saved.counts.get(cell.index) if self.saved else None
        if saved_count != count or self.saved is None:
            return CellView(cell.index, cell.source, "ok", None, "", self, count, note=NOT_SAVED)
        outputs = self.saved.outputs.get(cell.index, [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        error = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}".rstrip(": ") if errors else ""
        return CellView(cell.index, cell.source, "error" if errors else "ok", stream_text(outputs), error, self, count)
