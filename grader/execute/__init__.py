"""Execute: run every cell of a submission in its kernel (an nbclient NotebookClient subclass).

runner.py   Runner, the NotebookClient subclass: cells, timeouts, recovery, shutdown
requests.py KernelRequests, the Runner's base: one request, its budget, timeout and bounded output
handle.py   KernelHandle: the grader's Kernel as the KernelManager nbclient drives
records.py  CellRun, and the verdict's cell problems made from them
"""

from __future__ import annotations

from grader.execute.records import CellRun, strip_ansi
from grader.execute.runner import AGENT_SOURCE, Runner

__all__ = ["AGENT_SOURCE", "CellRun", "Runner", "strip_ansi"]
