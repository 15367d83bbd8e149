"""The agent's door frames (door.py reads its socket), read as data: a part of the codec (codec.py).

A frame is a 4-byte big-endian length and that many bytes, at most MAX_FRAME; what it holds is
attacker-chosen like any reply. An answer is a JSON object in UTF-8: how the call ended, the replies
it published (left as text for codec.read_reply) and what it printed, each field checked before it is
used; anything else is noise. A stand-in's question (error carried forward, asks.py) is a frame too:
the exercise it stands for and its arguments, a reply to read with codec.read_reply.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from grader.bridge.budget import DEFAULT, BadReply, Budget
from grader.bridge.codec import parse_json, sent_text

MAX_FRAME = 256 * 1024 * 1024  # one answer through the agent's door


@dataclass
class DoorFrame:
    """One answer through the agent's door: how the call ended, the replies it published (raw,
    read later with read_reply) and what it printed."""

    ident: Any
    error: bool = False
    ename: str = ""
    evalue: str = ""
    replies: list[str] = field(default_factory=list)
    output: str = ""


def take_frame(buf: bytearray) -> bytes | None:
    """The first whole frame in `buf` (4-byte big-endian length, then the frame), taken out of it;
    None until one has arrived whole (BadReply: it says it is larger than MAX_FRAME)."""
    if len(buf) < 4:
        return None
    size = struct.unpack(">I", bytes(buf[:4]))[0]
    if size > MAX_FRAME:
        raise BadReply("a frame from the kernel is too large")
    if len(buf) < 4 + size:
        return None
    frame = bytes(buf[4 : 4 + size])
    del buf[: 4 + size]
    return frame


def read_frame(frame: bytes, budget: Budget = DEFAULT) -> DoorFrame | None:
    """A frame from the door as a DoorFrame; None when it is not a JSON object in UTF-8 (noise), or
    holds more than budget.frame_values values outside its replies' text (read as noise too)."""
    try:
        answer = parse_json(frame.decode("utf-8"), budget.frame_values, "frame")
    except (BadReply, UnicodeDecodeError):
        return None
    if not isinstance(answer, dict):
        return None
    replies = answer.get("replies")
    output = answer.get("output")
    door = DoorFrame(
        ident=answer.get("id"),
        replies=[r for r in replies if isinstance(r, str)] if isinstance(replies, list) else [],
        output=output if isinstance(output, str) else "",
    )
    if answer.get("status") == "error":
        door.error = True
        door.ename = _text_or_empty(answer.get("ename", ""), 200)
        door.evalue = _text_or_empty(answer.get("evalue", ""), 2000)
    return door


def read_ask(frame: bytes, budget: Budget = DEFAULT) -> tuple[str, str] | None:
    """A stand-in's question in a door frame (error carried forward): the exercise it stands for
    and its arguments, a reply to read with read_reply; None when the frame is not one."""
    try:
        data = parse_json(frame.decode("utf-8"), budget.frame_values, "frame")
    except (BadReply, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("ask"), str) or not isinstance(data.get("reply"), str):
        return None
    return data["ask"][:200], data["reply"]


def _text_or_empty(value: Any, limit: int) -> str:
    try:
        return sent_text(value, limit)
    except BadReply:
        return ""
