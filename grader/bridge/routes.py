"""The ways a request reaches the agent in the kernel, each a small object with one interface.

A bridge holds an ordered list of routes and offers each request to them in turn: the first
route that takes it answers. A route that cannot take it (its door was closed, its handler
taken away by the notebook) returns None, and usually stops offering itself, so the next
route answers this request and the later ones. The grader's kernels have three, fastest
first:

    DoorRoute    the agent's own unix socket (no ipykernel messaging at all; door.py)
    ShellRoute   a shell message of its own, "grader_request" (no cell machinery)
    CellRoute    a cell that calls the agent by its name, as any cell could (always answers)

grader.check() in a student's own kernel has one, in-process (grader/inline/live.py).

Whatever the route, what comes back is the same: the raw replies the request published
(untrusted strings, read only by the codec), what it printed, and how it ended (`Ended`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

from grader.bridge.codec import MIME

Status = Literal["ok", "error", "timeout", "dead", "unhandled"]


@dataclass(frozen=True)
class Ended:
    """How one request ended in the kernel (its value, if any, is in the replies)."""

    status: Status = "ok"
    ename: str = ""
    evalue: str = ""
    interrupted: bool = False

    @classmethod
    def of(cls, reply: Any) -> "Ended":
        """From a kernel's or a door's reply (status, ename, evalue, interrupted)."""
        return cls(status=reply.status, ename=reply.ename, evalue=reply.evalue, interrupted=reply.interrupted)


@dataclass
class Collected:
    """What came back for one request: raw replies (untrusted) and printed text, up to `cap`."""

    cap: int
    replies: list[Any] = field(default_factory=list)
    ask: Callable[[bytes], bytes | None] | None = (
        None  # answers a stand-in's questions (grader/bridge/asks.py), or None
    )
    printed: list[str] = field(default_factory=list)

    def message(self, msg: dict[str, Any]) -> None:
        """An iopub message of the request: a published reply, or printed text."""
        content = msg["content"]
        if msg["msg_type"] in ("display_data", "execute_result") and MIME in content.get("data", {}):
            self.replies.append(content["data"][MIME])
        elif msg["msg_type"] == "stream" and sum(map(len, self.printed)) < self.cap:
            self.printed.append(str(content.get("text", ""))[: self.cap])

    def output(self) -> str:
        return "".join(self.printed)[: self.cap]


class Route(Protocol):
    """One way into the agent. `request` is the request's JSON text."""

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended | None:
        """Deliver the request and wait for it (replies and output into `got`); None: not taken."""
        ...


class KernelHost(Protocol):
    """What the routes need of the grader's side of one kernel (grader.execute.Runner)."""

    @property
    def kernel(self) -> Any: ...

    @property
    def token(self) -> str: ...

    def door_path(self) -> str | None: ...


class DoorRoute:
    """The agent's own socket; opened on first use for each kernel process, given up once closed."""

    def __init__(self, host: KernelHost) -> None:
        self.host = host
        self.door: Any = None  # an AgentDoor, once open
        self.key: Any = None  # the kernel process it was opened to

    def door_to(self, kernel: Any) -> Any:
        """The agent's door of this kernel process, opened on first use (None: there is none)."""
        key = (id(getattr(kernel, "proc", None)), getattr(kernel, "workdir", None))
        if key == self.key:
            return self.door
        if self.door is not None:
            self.door.close()
        self.door, self.key = None, key
        path = self.host.door_path() if hasattr(self.host, "door_path") else None
        if path:
            from grader.bridge.door import AgentDoor

            try:
                self.door = AgentDoor(path)
            except OSError:
                self.door = None
        return self.door

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended | None:
        kernel = self.host.kernel
        door = self.door_to(kernel)
        if door is None:
            return None
        answer = door.request(kernel, op, request, timeout, ask=got.ask)
        if answer.status == "closed":
            # gone (a notebook closed it?): this request goes by another route; the next one
            # knocks once more (a new connection), then gives up on this kernel's door
            self.door, self.key = None, None
            return None
        got.replies.extend(answer.replies)
        if answer.output:
            got.printed.append(answer.output[: got.cap])
        return Ended.of(answer)


class ShellRoute:
    """The agent's own shell message; given up for good once no handler answers it."""

    def __init__(self, host: KernelHost) -> None:
        self.host = host
        self.enabled = True

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended | None:
        kernel = self.host.kernel
        if not self.enabled or not hasattr(kernel, "request"):
            return None
        reply = kernel.request("grader_request", {"op": op, "request": request}, timeout=timeout, on_output=got.message)
        if reply.status == "unhandled" and not got.replies:
            self.enabled = False  # the notebook took the agent's handler away: ask through a cell
            return None
        return Ended.of(reply)


class CellRoute:
    """A cell that calls the agent by its name: what any cell could do; always answers."""

    def __init__(self, host: KernelHost) -> None:
        self.host = host

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended | None:
        code = f"{self.host.token}({op!r}, {request!r})"
        reply = self.host.kernel.execute(code, timeout=timeout, store_history=False, on_output=got.message)
        return Ended.of(reply)


def kernel_routes(host: KernelHost) -> list[Route]:
    """The routes into a grading kernel's agent, fastest first."""
    return [DoorRoute(host), ShellRoute(host), CellRoute(host)]
