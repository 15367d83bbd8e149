"""The grader's side of the agent's own door (its kernel side: inkernel/door.py).

The agent listens on a unix socket in the kernel's private ipc folder and answers requests
on the kernel's main thread, between messages, without ipykernel's messaging: a request
costs a fraction of a millisecond of the kernel's time instead of several. What comes back
is exactly what the other doors deliver, and the Bridge treats it the same: the answers the
request published (untrusted data, read by the codec), what it printed, and how the
call ended. Timeouts work as for any request: the kernel is interrupted (SIGINT raises
KeyboardInterrupt in the call), and given up on after a grace period.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from grader.bridge.codec import BadReply
from grader.bridge.door_frames import DoorFrame, read_frame, take_frame
from grader.sandbox.kernel import TimeLimit


@dataclass
class DoorReply:
    status: Literal["ok", "error", "dead", "timeout", "closed"] = "ok"  # closed: the door is gone, use another
    interrupted: bool = False
    ename: str = ""
    evalue: str = ""
    replies: list[str] = field(default_factory=list)
    output: str = ""


class AgentDoor:
    """One connection to one kernel's agent."""

    def __init__(self, path: str, connect_timeout: float = 2.0) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.sock = sock
        self.path = path
        self._buf = bytearray()
        self._next = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _send(self, data: bytes, deadline: float) -> bool:
        view = memoryview(struct.pack(">I", len(data)) + data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                _, ready, _ = select.select([], [self.sock], [], min(left, 0.5))
                if ready:
                    sent = self.sock.send(view)
                    view = view[sent:]
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return False
        return True

    def request(
        self,
        kernel: Any,
        op: str,
        request: str,
        timeout: float,
        grace: float = 3.0,
        ask: Callable[[bytes], bytes | None] | None = None,
    ) -> DoorReply:
        """Send one request; wait for its answer, interrupting the kernel at `timeout`. `ask`
        answers a stand-in's questions meanwhile (grader/bridge/asks.py); without it, none is."""
        self._next += 1
        ident = self._next
        started = time.monotonic()
        if not self._send(json.dumps({"id": ident, "op": op, "request": request}).encode(), started + timeout):
            return DoorReply(status="dead" if not kernel.alive else "closed")
        limit = TimeLimit(started + timeout, grace)
        reply = DoorReply()
        while True:
            expired = limit.expired(time.monotonic(), kernel.interrupt)
            reply.interrupted = limit.interrupted
            if expired:
                reply.status = "timeout"
                return reply
            try:
                frame = take_frame(self._buf)
            except BadReply:
                reply.status = "closed"
                return reply
            if frame is not None:
                question = ask(frame) if ask is not None else None
                if question is not None:  # a stand-in's question, answered within the same timeout
                    self._send(question, started + timeout)
                    continue
                answer = read_frame(frame)
                if answer is None or answer.ident != ident:
                    continue  # an answer to an earlier request given up on, or noise
                return _answered(reply, answer)
            if not kernel.alive:
                reply.status = "dead"
                return reply
            shut = self._receive(kernel)
            if shut is not None:
                reply.status = shut
                return reply

    def _receive(self, kernel: Any) -> Literal["dead", "closed"] | None:
        """What the agent sent within 50 ms, added to the buffer; "dead" or "closed" once the door is shut."""
        try:
            ready, _, _ = select.select([self.sock], [], [], 0.05)
        except (OSError, ValueError):
            ready = [self.sock]
        if not ready:
            return None
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data:
            time.sleep(0.05)  # a kernel that died closes the door first: tell the two apart
            return "dead" if not kernel.alive else "closed"
        self._buf.extend(data)
        return None


def _answered(reply: DoorReply, answer: DoorFrame) -> DoorReply:
    """`reply` as the request's answer says it ended (a timeout, if the kernel was interrupted meanwhile)."""
    reply.replies = answer.replies
    reply.output = answer.output
    if answer.error:
        reply.status = "error"
        reply.ename, reply.evalue = answer.ename, answer.evalue
    if reply.interrupted:
        reply.status = "timeout"
    return reply
