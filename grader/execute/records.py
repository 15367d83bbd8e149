"""What running a submission's cells leaves behind: a CellRun per cell, and the cell problems
of the verdict made from them (the messages students read)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from grader.config import Limits
from grader.submission.notebook import Cell
from grader.results import CellIssue
from grader.sandbox.replies import ExecReply

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEMP_FILE_LINE = re.compile(r"\([^()]*\.py, line (\d+)\)\s*$")  # IPython's "(1966453012.py, line 6)"
IN_CELL = r"(line \1)"  # ... as the cell's line


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def out_of_memory(reply: ExecReply) -> bool:
    return (
        reply.ename == "MemoryError"
        or "can't allocate memory" in reply.evalue
        or "Cannot allocate memory" in reply.evalue
    )


CellRunStatus = Literal["ok", "error", "timeout", "dropped", "skipped"]


@dataclass
class CellRun:
    cell: Cell
    status: CellRunStatus
    reply: ExecReply | None = None
    execution_count: int | None = None
    note: str = ""


def skipped_run(cell: Cell, tag: str) -> CellRun:
    """A cell not run at grading time because of its tag (the assignment's [execution] skip_tags)."""
    return CellRun(cell, "skipped", note=f"not run at grading time (tagged {tag})")


def skipped_message(run: CellRun) -> str:
    """What the feedback says of a skipped cell: "cell 5 was not run at grading time (tagged skip-execution)"."""
    return f"cell {run.cell.index + 1} was {run.note}"


def cell_issues(runs: list[CellRun], limits: Limits) -> list[CellIssue]:
    """The cell problems of the verdict: every cell that did not end "ok", every cut output; and every
    cell skipped at grading time (kind "skipped": not a problem, but the feedback says so)."""
    issues = []
    for run in runs:
        reply = run.reply or ExecReply()
        head = "\n".join(run.cell.source.strip().splitlines()[:3])
        if run.status == "skipped":
            issues.append(
                CellIssue(index=run.cell.index, kind="skipped", message=skipped_message(run), source_head=head)
            )
        elif run.status != "ok":
            if run.status == "error":
                # a SyntaxError's place: the line of this cell ("Cell 21: ... (line 3)"), not IPython's file
                message = f"raised {reply.ename}: {TEMP_FILE_LINE.sub(IN_CELL, reply.evalue)}".strip()
                if out_of_memory(reply):
                    message += f" (the kernel's memory limit is {limits.memory_mb} MB)"
            else:
                message = run.note or run.status
            issues.append(
                CellIssue(
                    index=run.cell.index,
                    kind=run.status,
                    message=message[:4000],
                    ename=reply.ename,
                    evalue=reply.evalue[:2000],
                    traceback=strip_ansi("\n".join(reply.traceback))[-4000:],
                    source_head=head,
                )
            )
        if reply.truncated:
            issues.append(
                CellIssue(
                    index=run.cell.index,
                    kind="output",
                    message=f"printed more than {limits.output_kb} KB of output; only the first "
                    f"{limits.output_kb} KB were kept",
                    source_head=head,
                )
            )
    return issues
