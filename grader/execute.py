"""Run a submission's cells in a kernel: every cell, after errors too; timeouts; recovery.

A cell that kills the kernel is dropped: the kernel restarts, the cells before it are
replayed, and execution goes on. A cell that outlives its timeout is interrupted; if the
kernel does not come back, it is treated like a cell that killed the kernel.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.config import Assignment
from grader.sandbox.kernel import ExecReply, Kernel
from grader.notebook import Cell, Submission
from grader.results import CellIssue

from grader.bridge.agent import AGENT_SOURCE
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def _out_of_memory(reply: ExecReply) -> bool:
    return reply.ename == "MemoryError" or "can't allocate memory" in reply.evalue or "Cannot allocate memory" in reply.evalue


CellRunStatus = Literal["ok", "error", "timeout", "dropped"]


@dataclass
class CellRun:
    cell: Cell
    status: CellRunStatus
    reply: ExecReply | None = None
    execution_count: int | None = None
    note: str = ""


@dataclass
class Runner:
    """Owns the kernel of one submission and the record of its cells."""

    kernel: Kernel
    assignment: Assignment
    submission: Submission
    runs: list[CellRun] = field(default_factory=list)
    token: str = field(default_factory=lambda: f"__grader_{secrets.token_hex(8)}__")
    restarts: int = 0
    deadline: float = 0.0

    # -- setup ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Install the bridge agent before any student code runs (also after restarts)."""
        limit = self.assignment.limits.output_kb * 1024 + 1024   # a little over the grader's cap: it still sees the cut
        # the agent lives in a namespace of its own: names the student shadows in their globals
        # (json, len, isinstance ...) are not the agent's
        code = (f"exec(compile({AGENT_SOURCE!r}, '<grader-agent>', 'exec'), "
                f"__grader_ns__ := {{'__name__': 'grader_agent', 'get_ipython': get_ipython}})\n"
                f"__grader_ns__['__grader_install__']({self.token!r}, {limit}, {self.door_path()!r})\n"
                "del __grader_ns__\n")
        reply = self.kernel.execute(code, timeout=self.assignment.timeouts.kernel_start, store_history=False)
        if reply.status != "ok":
            from grader.errors import KernelError

            raise KernelError(f"the grader's agent could not be installed in the kernel: {reply.ename}: {reply.evalue}")

    def door_path(self) -> str | None:
        """Where the agent opens its own socket: the kernel's private ipc folder (None: no door)."""
        workdir = getattr(self.kernel, "workdir", None)
        if workdir is None or not (Path(workdir) / "ipc").is_dir():
            return None
        path = str(Path(workdir) / "ipc" / "agent")
        return path if len(path.encode()) < 100 else None      # sun_path holds 108 bytes

    def start(self) -> None:
        if not self.kernel.alive:
            self.kernel.start()
        self.prepare()

    def time_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic()) if self.deadline else float("inf")

    # -- cells ------------------------------------------------------------------------
    def run_all(self) -> None:
        self.deadline = time.monotonic() + self.assignment.timeouts.total
        for cell in self.submission.code_cells:
            if not cell.source.strip():
                continue
            self.runs.append(self._run_cell(cell))

    def _run_cell(self, cell: Cell) -> CellRun:
        budget = min(self.assignment.timeouts.cell, self.time_left())
        if budget <= 0:
            return CellRun(cell, "timeout", note="not run: the submission used up its total time")
        reply = self.kernel.execute(cell.source, timeout=budget)
        if reply.status == "ok":
            return CellRun(cell, "ok", reply, reply.execution_count)
        if reply.status == "error":
            return CellRun(cell, "error", reply, reply.execution_count)
        if reply.status == "timeout" and self.kernel.alive and self.responsive():
            return CellRun(cell, "timeout", reply, reply.execution_count,
                           note=f"stopped after {budget:g} s (timeout); the kernel was interrupted and grading went on")
        why = (f"it ran past its {budget:g} s timeout and the kernel did not respond to an interrupt"
               if reply.status == "timeout" else "it made the kernel die (" + self.death_cause() + ")")
        self.recover()
        return CellRun(cell, "dropped", reply, note=f"dropped: {why}; the kernel was restarted and the cells before it replayed")

    def responsive(self) -> bool:
        probe = self.kernel.execute("", timeout=1.5, store_history=False, grace=0.5)
        return probe.status == "ok"

    def death_cause(self) -> str:
        proc = self.kernel.proc
        code = proc.returncode if proc is not None else None
        if code is None:
            return "no exit status"
        import signal

        if code > 128 and getattr(self.kernel, "sandbox", None) is not None and self.kernel.sandbox.sandboxed:
            code = 128 - code          # bubblewrap reports a signal as 128 + its number
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = {"SIGKILL": " - the memory or CPU limit, or a signal from the code",
                   "SIGXCPU": f" - the CPU time limit of {self.assignment.limits.cpu_seconds} s",
                   "SIGXFSZ": f" - the file size limit of {self.assignment.limits.file_size_mb} MB",
                   "SIGSEGV": " - a crash in native code", "SIGABRT": " - an abort in native code (often out of memory)"}
            return f"killed by {name}" + why.get(name, "")
        return f"the process exited with code {code}"

    def recover(self) -> None:
        """Restart the kernel and replay every cell that ran without killing it."""
        self.kernel.restart()
        self.restarts += 1
        self.prepare()
        replay = [r for r in self.runs if r.status in ("ok", "error")]
        for run in replay:
            reply = self.kernel.execute(run.cell.source, timeout=min(self.assignment.timeouts.cell, max(1.0, self.time_left())))
            run.execution_count = reply.execution_count
            if reply.status in ("dead", "timeout") and not self.responsive():
                # the replay itself went wrong (non-deterministic code): start clean, stop replaying
                self.kernel.restart()
                self.prepare()
                break

    # -- verdict material -------------------------------------------------------------
    def cell_issues(self) -> list[CellIssue]:
        issues = []
        limits = self.assignment.limits
        for run in self.runs:
            reply = run.reply or ExecReply()
            head = "\n".join(run.cell.source.strip().splitlines()[:3])
            if run.status != "ok":
                if run.status == "error":
                    message = f"raised {reply.ename}: {reply.evalue}".strip()
                    if _out_of_memory(reply):
                        message += f" (the kernel's memory limit is {limits.memory_mb} MB)"
                else:
                    message = run.note or run.status
                issues.append(CellIssue(
                    index=run.cell.index, kind=run.status, message=message[:4000], ename=reply.ename,
                    evalue=reply.evalue[:2000], traceback=strip_ansi("\n".join(reply.traceback))[-4000:],
                    source_head=head,
                ))
            if reply.truncated:
                issues.append(CellIssue(index=run.cell.index, kind="output",
                                        message=f"printed more than {limits.output_kb} KB of output; only the first "
                                                f"{limits.output_kb} KB were kept", source_head=head))
        return issues

    def cell_outputs(self) -> dict[int, list[dict[str, Any]]]:
        return {r.cell.index: (r.reply.outputs if r.reply else []) for r in self.runs}
