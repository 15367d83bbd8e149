"""What a kernel's replies and outputs say, recorded in nbformat's shape and bounded while they stream.

A cell can print gigabytes or raise an exception carrying 50 MB of text: at most `cap`
characters of all its outputs are kept, the rest is counted (`stream_bytes`) and dropped, and
the record says it was cut (`truncated`). Outputs that carry a grader-internal mime type
(`application/x-grader*`: the agent's replies) are never part of a cell's record. This is the
one reader of kernel messages for both clients, the executor's (grader/execute/) and the
kernel's own request loop (grader/sandbox/kernel.py): a record is the same whichever collected it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ReplyStatus = Literal["ok", "error", "timeout", "dead", "unhandled"]


@dataclass
class ExecReply:
    """What one execute request produced."""

    status: ReplyStatus = "ok"
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # nbformat-shaped outputs
    execution_count: int | None = None
    stream_bytes: int = 0  # all printed bytes, kept or not
    truncated: bool = False
    interrupted: bool = False


RECORDED = ("stream", "display_data", "execute_result", "error")  # the iopub messages that are outputs
MAX_OUTPUTS = 200  # display outputs kept per cell; more are dropped (and the record says so)


def content_of(msg: dict[str, Any]) -> dict[str, Any]:
    """A message's content; anything but a dict (the kernel is not trusted) reads as empty."""
    content = msg.get("content")
    return content if isinstance(content, dict) else {}


def take_error(reply: ExecReply, content: dict[str, Any], cap: int) -> None:
    """An error as the kernel reported it, bounded: an exception can carry 50 MB of text too."""
    reply.ename = str(content.get("ename", ""))[:200]
    reply.evalue = str(content.get("evalue", ""))[:cap]
    raw = content.get("traceback", [])
    reply.traceback = [str(line)[:2000] for line in (raw if isinstance(raw, list) else [])[-60:]]


def take_reply(reply: ExecReply, content: dict[str, Any], cap: int) -> None:
    """The execute_reply: its execution count, and its error when no error output came first."""
    reply.execution_count = content.get("execution_count")
    if content.get("status") == "error" and reply.status == "ok":
        reply.status = "error"
        take_error(reply, content, cap)
    elif content.get("status") == "aborted" and reply.status == "ok":
        reply.status = "error"
        reply.ename, reply.evalue = "Aborted", "execution was aborted"


def record_output(reply: ExecReply, kind: str, content: dict[str, Any], cap: int, kept: int) -> int:
    """Record one output message in `reply`; return how many characters are kept now (at most `cap`)."""
    if kind == "stream":
        return _stream(reply, content, cap, kept)
    if kind in ("display_data", "execute_result"):
        return _display(reply, kind, content, cap, kept)
    if kind == "error":
        reply.status = "error"
        take_error(reply, content, cap)
        reply.outputs.append(
            {"output_type": "error", "ename": reply.ename, "evalue": reply.evalue, "traceback": reply.traceback}
        )
    return kept


def _stream(reply: ExecReply, content: dict[str, Any], cap: int, kept: int) -> int:
    text = content.get("text", "")
    text = text if isinstance(text, str) else str(text)
    reply.stream_bytes += len(text)
    piece = text[: max(0, cap - kept)]
    if len(piece) < len(text):
        reply.truncated = True
    if piece:
        kept += len(piece)
        name = "stderr" if content.get("name") == "stderr" else "stdout"
        outs = reply.outputs
        # consecutive writes to one stream are one output, as a notebook shows them
        if outs and outs[-1].get("output_type") == "stream" and outs[-1].get("name") == name:
            outs[-1]["text"] += piece
        else:
            outs.append({"output_type": "stream", "name": name, "text": piece})
    return kept


def _display(reply: ExecReply, kind: str, content: dict[str, Any], cap: int, kept: int) -> int:
    data = content.get("data", {}) if isinstance(content.get("data"), dict) else {}
    if any(str(k).startswith("application/x-grader") for k in data):
        return kept
    small = {str(k)[:100]: v for k, v in data.items() if isinstance(v, str) and len(v) <= cap - kept}
    size = sum(len(v) for v in small.values())
    if len(small) < len(data) or len(reply.outputs) >= MAX_OUTPUTS:
        reply.truncated = True
    if small and len(reply.outputs) < MAX_OUTPUTS:
        kept += size
        out: dict[str, Any] = {"output_type": kind, "data": small, "metadata": {}}
        if kind == "execute_result":
            out["execution_count"] = content.get("execution_count")
        reply.outputs.append(out)
    return kept
