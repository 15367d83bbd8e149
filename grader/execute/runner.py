"""The Runner: an nbclient NotebookClient that runs every cell of a submission in its kernel.

One subclass holds every concern of running a submission (the papermill way of extending
nbclient), on KernelRequests (requests.py: one request with its budget, its timeout and its
bounded output): the grader's agent installed before any student code and after every restart;
every non-empty code cell run, errors allowed; a per-cell timeout inside the submission's
total; a cell that kills the kernel (or ignores the interrupt) dropped, the kernel restarted
and the cells before it replayed; a cell tagged with one of the assignment's [execution]
skip_tags (skip-execution) not run at all; an immediate shutdown. What each cell did is a
CellRun; `cell_issues()` turns them into the verdict's cell problems.

The kernel is the one grader/sandbox/ launched; nbclient reaches it through a KernelHandle
(its KernelManager) and an asyncio client connected to the kernel's connection info.
"""

from __future__ import annotations

import secrets
import signal
import time
from pathlib import Path
from typing import Any

from nbclient.util import run_sync
from nbformat import NotebookNode

from grader.bridge.agent import AGENT_DIGEST, AGENT_ENTRY, AGENT_SOURCE
from grader.config import Assignment
from grader.errors import KernelError
from grader.execute.handle import drain
from grader.execute.records import CellRun, cell_issues, skipped_run
from grader.execute.requests import KernelRequests
from grader.nb.stuck import StuckCells
from grader.submission.notebook import Cell, Submission
from grader.results import CellIssue
from grader.sandbox.kernel import Kernel
from grader.sandbox.replies import ExecReply

PROBE_TIMEOUT, PROBE_GRACE = 1.5, 0.5


def notebook_of(submission: Submission) -> NotebookNode:
    """The submission as the notebook nbclient executes, cell for cell.

    Built directly (nbformat's validating constructors cost milliseconds), and without the
    cells' tags: nbclient would skip a cell tagged skip-execution by its own rule; the grader
    decides which cells it skips (the assignment's [execution] skip_tags, in async_run_all).
    """
    cells = [
        NotebookNode(
            cell_type=c.kind,
            source=c.source,
            metadata=NotebookNode(),
            **({"outputs": [], "execution_count": None} if c.kind == "code" else {}),
        )
        for c in submission.cells
    ]
    return NotebookNode(cells=cells, metadata=NotebookNode(), nbformat=4, nbformat_minor=5)


class Runner(KernelRequests):
    """Owns the kernel of one submission and the record of its cells."""

    def __init__(self, *, kernel: Kernel, assignment: Assignment, submission: Submission) -> None:
        super().__init__(
            notebook_of(submission),
            kernel,
            cap=assignment.limits.output_kb * 1024,
            connect_timeout=assignment.timeouts.kernel_start,
        )
        self.assignment = assignment
        self.submission = submission
        self.runs: list[CellRun] = []
        self.stuck = StuckCells(assignment.timeouts.call)  # where cells that ran out of time were stuck
        self.token = f"__grader_{secrets.token_hex(8)}__"
        self.restarts = 0
        self.deadline = 0.0
        self.position = {c.index: i for i, c in enumerate(submission.cells)}  # cell index -> place in self.nb

    # -- the kernel -------------------------------------------------------------------
    async def async_restart(self) -> None:
        """A fresh kernel, connected, with the agent installed."""
        await self.async_disconnect()
        self.handle.restart_kernel(now=True)
        await self.async_connect()
        await self.async_prepare()

    async def async_prepare(self) -> None:
        """Install the bridge agent before any student code runs (also after restarts)."""
        limit = self.cap + 1024  # a little over the grader's cap: it still sees the cut
        # the agent lives in a namespace of its own: names the student shadows in their globals
        # (json, len, isinstance ...) are not the agent's
        install = (
            f"__grader_ns__ := {{'__name__': 'grader_agent', 'get_ipython': get_ipython}})\n"
            f"__grader_ns__[{AGENT_ENTRY!r}]({self.token!r}, {limit}, {self.door_path()!r})\n"
            "del __grader_ns__\n"
        )
        reply = None
        if getattr(self.kernel, "agent_preloaded", False):
            # the zygote's compiled agent (grader/bridge/agent.py), if it is this grader's: one line, not the source
            preloaded = (
                "exec((lambda m: m.code if m is not None and getattr(m, 'digest', '') == "
                f"{AGENT_DIGEST!r} else None)(__import__('sys').modules.pop('__grader_agent__', None)), "
            )
            reply = await self.async_run_code(
                preloaded + install, self.assignment.timeouts.kernel_start, store_history=False
            )
        if reply is None or reply.status != "ok":
            code = f"exec(compile({AGENT_SOURCE!r}, '<grader-agent>', 'exec'), " + install
            reply = await self.async_run_code(code, self.assignment.timeouts.kernel_start, store_history=False)
        if reply.status != "ok":
            raise KernelError(f"the grader's agent could not be installed in the kernel: {reply.ename}: {reply.evalue}")

    def door_path(self) -> str | None:
        """Where the agent opens its own socket: the kernel's private ipc folder (None: no door)."""
        workdir = getattr(self.kernel, "workdir", None)
        if workdir is None or not (Path(workdir) / "ipc").is_dir():
            return None
        path = str(Path(workdir) / "ipc" / "agent")
        return path if len(path.encode()) < 100 else None  # sun_path holds 108 bytes

    async def async_start(self) -> None:
        if not self.kernel.alive:
            self.kernel.start()
        await self.async_connect()
        await self.async_prepare()

    def shutdown(self) -> None:
        """nbclient's immediate shutdown: the Kernel is killed (and cleaned up even when dead)."""
        if self.km is not None:
            self._cleanup_kernel()
        self.settle()

    def settle(self) -> None:
        """Leave the Kernel's own client as it was before cells ran: its iopub queue empty.

        The bridge asks the kernel through that client; the cells' messages, published to it too
        while nobody read them, would fill its queue up to zmq's high-water mark, where newer
        messages (the bridge's own) are dropped."""
        channel = getattr(self.kernel.client, "iopub_channel", None)
        if channel is not None and getattr(channel, "socket", None) is not None:
            drain(channel.socket)

    def time_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic()) if self.deadline else float("inf")

    async def async_run_cell(self, cell: Cell, budget: float) -> ExecReply:
        """Run one of the submission's cells through nbclient's `async_execute_cell`."""
        return await self.async_run_node(self.position[cell.index], budget)

    # -- the cells ------------------------------------------------------------------------
    async def async_run_all(self) -> None:
        self.deadline = time.monotonic() + self.assignment.timeouts.total
        for cell in self.submission.code_cells:
            if not cell.source.strip():
                continue
            tag = self.assignment.execution.skip_tag(cell.tags)
            run = skipped_run(cell, tag) if tag is not None else await self._async_cell_run(cell)
            self.runs.append(run)

    async def _async_cell_run(self, cell: Cell) -> CellRun:
        full = min(self.assignment.timeouts.cell, self.time_left())
        if full <= 0:
            return CellRun(cell, "timeout", note="not run: the submission used up its total time")
        budget, known = self.stuck.budget(cell.source, [r.cell.source for r in self.runs], full)
        reply = await self.async_run_cell(cell, budget)
        if reply.status == "ok":
            return CellRun(cell, "ok", reply, reply.execution_count)
        if reply.status == "error":
            return CellRun(cell, "error", reply, reply.execution_count)
        if reply.status == "timeout" and self.kernel.alive and await self.async_responsive():
            counts = {r.execution_count: r.cell.index + 1 for r in self.runs if r.execution_count is not None}
            counts.update({reply.execution_count: cell.index + 1} if reply.execution_count is not None else {})
            return CellRun(
                cell,
                "timeout",
                reply,
                reply.execution_count,
                note=self.stuck.note(reply.traceback, counts, budget, full, known),
            )
        why = (
            f"it ran past its {budget:g} s timeout and the kernel did not respond to an interrupt"
            if reply.status == "timeout"
            else "it made the kernel die (" + self.death_cause() + ")"
        )
        await self.async_recover()
        return CellRun(
            cell, "dropped", reply, note=f"dropped: {why}; the kernel was restarted and the cells before it replayed"
        )

    async def async_responsive(self) -> bool:
        probe = await self.async_run_code("", PROBE_TIMEOUT, PROBE_GRACE, store_history=False)
        return probe.status == "ok"

    def death_cause(self) -> str:
        proc = self.kernel.proc
        code = proc.returncode if proc is not None else None
        if code is None:
            return "no exit status"
        if code > 128 and getattr(self.kernel, "sandbox", None) is not None and self.kernel.sandbox.sandboxed:
            code = 128 - code  # bubblewrap reports a signal as 128 + its number
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = {
                "SIGKILL": " - the memory or CPU limit, or a signal from the code",
                "SIGXCPU": f" - the CPU time limit of {self.assignment.limits.cpu_seconds} s",
                "SIGXFSZ": f" - the file size limit of {self.assignment.limits.file_size_mb} MB",
                "SIGSEGV": " - a crash in native code",
                "SIGABRT": " - an abort in native code (often out of memory)",
            }
            return f"killed by {name}" + why.get(name, "")
        return f"the process exited with code {code}"

    async def async_recover(self) -> None:
        """Restart the kernel and replay every cell that ran without killing it."""
        await self.async_restart()
        self.restarts += 1
        replay = [r for r in self.runs if r.status in ("ok", "error")]
        for run in replay:
            reply = await self.async_run_cell(run.cell, min(self.assignment.timeouts.cell, max(1.0, self.time_left())))
            run.execution_count = reply.execution_count
            if reply.status in ("dead", "timeout") and not await self.async_responsive():
                # the replay itself went wrong (non-deterministic code): start clean, stop replaying
                await self.async_restart()
                break

    # the synchronous faces (nbclient's way: `execute = run_sync(async_execute)`); the Kernel's
    # own client is left drained after each (see settle)
    async def _async_settled(self, step: Any) -> Any:
        try:
            return await step
        finally:
            self.settle()

    def start(self) -> None:
        run_sync(self._async_settled)(self.async_start())

    def prepare(self) -> None:
        run_sync(self._async_settled)(self.async_prepare())

    def run_all(self) -> None:
        run_sync(self._async_settled)(self.async_run_all())

    def recover(self) -> None:
        run_sync(self._async_settled)(self.async_recover())

    def responsive(self) -> bool:
        return bool(run_sync(self._async_settled)(self.async_responsive()))

    # -- verdict material -------------------------------------------------------------
    def cell_issues(self) -> list[CellIssue]:
        return cell_issues(self.runs, self.assignment.limits)

    def cell_outputs(self) -> dict[int, list[dict[str, Any]]]:
        return {r.cell.index: (r.reply.outputs if r.reply else []) for r in self.runs}
