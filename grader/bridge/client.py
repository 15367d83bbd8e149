"""The trust boundary: calls and values across the kernel, as data only.

Values go into the kernel as JSON plus a tensor blob written by torch.save; they come back
the same way and are loaded here with torch.load(weights_only=True), which builds plain
tensors and nothing else. Nothing the kernel sends can run code in the grader.
"""
from __future__ import annotations

import base64
import io
import json
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.failures import CallTimeout, CheckFailed, KernelDied, MissingName, StudentError

if TYPE_CHECKING:
    from grader.execute import Runner

MIME = "application/x-grader-reply+json"
MAX_REPLY = 256 * 1024 * 1024
MAX_DEPTH = 24


@dataclass(frozen=True)
class TensorMeta:
    """What the kernel said about a tensor it sent: claims, used for structure checks only."""

    device: str
    cls: str
    storage: int | None = None
    offset: int | None = None
    stride: tuple[int, ...] | None = None
    requires_grad: bool = False


# keyed by id(): a WeakKeyDictionary would compare tensors with ==, which is elementwise
_META: dict[int, tuple["weakref.ref[Any]", TensorMeta]] = {}


def _remember(t: Any, meta: TensorMeta) -> None:
    key = id(t)
    _META[key] = (weakref.ref(t, lambda _ref, key=key: _META.pop(key, None)), meta)


def tensor_meta(value: Any) -> TensorMeta | None:
    entry = _META.get(id(value))
    if entry is None or entry[0]() is not value:
        return None
    return entry[1]


@dataclass(frozen=True)
class Opaque:
    """A value the bridge cannot carry (a module, a custom object): its type and repr only."""

    type: str
    repr: str


@dataclass(frozen=True)
class Remote:
    """A callable that lives in the kernel."""

    type: str
    name: str


class BadReply(Exception):
    """The kernel's reply is not well-formed data."""


def _encode(value: Any, tensors: list[Any], depth: int = 0) -> dict[str, Any]:
    import torch

    if depth > MAX_DEPTH:
        raise TypeError("value nested too deeply to send to the kernel")
    if isinstance(value, torch.Tensor):
        tensors.append(value.detach().cpu().contiguous())
        return {"t": "tensor", "i": len(tensors) - 1, "requires_grad": bool(value.requires_grad)}
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"t": "float", "v": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"t": "json", "v": value}
    if isinstance(value, (list, tuple)):
        return {"t": "list" if isinstance(value, list) else "tuple", "items": [_encode(v, tensors, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "items": [[_encode(k, tensors, depth + 1), _encode(v, tensors, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def _load_tensors(blob: bytes) -> list[Any]:
    import torch

    if not blob:
        return []
    loaded = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    if not isinstance(loaded, list) or not all(type(t) is torch.Tensor for t in loaded):
        raise BadReply("the tensor blob is not a list of plain tensors")
    return loaded


def _decode(node: Any, tensors: list[Any], depth: int = 0) -> Any:
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise BadReply("malformed value")
    kind = node.get("t")
    if kind == "tensor":
        t = tensors[_index(node, tensors)]
        stride = node.get("stride")
        _remember(t, TensorMeta(
            device=str(node.get("device", "cpu"))[:40], cls=str(node.get("cls", "torch.Tensor"))[:200],
            storage=node.get("storage") if isinstance(node.get("storage"), int) else None,
            offset=node.get("offset") if isinstance(node.get("offset"), int) else None,
            stride=tuple(int(s) for s in stride) if isinstance(stride, list) else None,
            requires_grad=bool(node.get("requires_grad")),
        ))
        return t
    if kind == "ndarray":
        return tensors[_index(node, tensors)].numpy()
    if kind == "json":
        value = node.get("v")
        if value is not None and not isinstance(value, (bool, int, float, str, dict)):
            raise BadReply("malformed scalar")
        return value
    if kind == "float":
        text = node.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise BadReply("malformed float")
        return float(text)
    if kind == "npscalar":
        import numpy

        return numpy.dtype(str(node.get("dtype"))).type(_decode(node.get("v"), tensors, depth + 1))
    if kind in ("list", "tuple"):
        items = [_decode(v, tensors, depth + 1) for v in _list(node.get("items"))]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        out = {}
        for pair in _list(node.get("items")):
            key, value = _list(pair)
            key = _decode(key, tensors, depth + 1)
            try:
                out[key] = _decode(value, tensors, depth + 1)
            except TypeError:
                raise BadReply("unhashable key") from None
        return out
    if kind == "callable":
        return Remote(type=str(node.get("type"))[:200], name=str(node.get("name"))[:200])
    if kind == "opaque":
        return Opaque(type=str(node.get("type"))[:200], repr=str(node.get("repr"))[:300])
    raise BadReply(f"unknown value kind {kind!r}")


def _index(node: dict[str, Any], tensors: list[Any]) -> int:
    i = node.get("i")
    if not isinstance(i, int) or not 0 <= i < len(tensors):
        raise BadReply("bad tensor index")
    return i


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadReply("malformed list")
    return value


@dataclass
class CallRecord:
    """The last call into the kernel: what the student's function printed, its arguments after."""

    name: str
    args_after: list[Any] = field(default_factory=list)
    output: str = ""
    duration: float = 0.0


class Bridge:
    """Requests to the agent in the kernel, through the submission's Runner."""

    def __init__(self, runner: "Runner", device: str = "cpu") -> None:
        self.runner = runner
        self.device = device
        self.last_call: CallRecord | None = None
        self.direct = True      # requests as the agent's shell message; False: as a cell calling the agent
        self._bindings: int | None = None           # the namespace's bindings as of the latest reply
        self._door: Any = None                      # an AgentDoor to the agent's own socket, once open
        self._door_key: Any = None                  # the kernel process it was opened to
        self._functions: dict[str, int] = {}        # name -> the bindings when it was last seen a function

    def _door_to(self, kernel: Any) -> Any:
        """The agent's door of this kernel process, opened on first use (None: there is none)."""
        key = (id(getattr(kernel, "proc", None)), getattr(kernel, "workdir", None))
        if key == self._door_key:
            return self._door
        if self._door is not None:
            self._door.close()
        self._door, self._door_key = None, key
        path = self.runner.door_path() if hasattr(self.runner, "door_path") else None
        if path:
            from grader.bridge.door import AgentDoor

            try:
                self._door = AgentDoor(path)
            except OSError:
                self._door = None
        return self._door

    def known_function(self, name: str) -> bool:
        """Was `name` a function when last asked, with no name of the notebook rebound since?"""
        return self._bindings is not None and self._functions.get(name) == self._bindings

    def _forget_bindings(self) -> None:
        self._bindings = None
        self._functions.clear()

    @property
    def call_timeout(self) -> float:
        return self.runner.assignment.timeouts.call

    def request(self, op: str, req: dict[str, Any], *, timeout: float | None = None,
                what: str = "") -> tuple[dict[str, Any], str, float]:
        """Send one request; return the reply, the printed output and the duration."""
        timeout = self.call_timeout if timeout is None else timeout
        kernel = self.runner.kernel
        replies: list[str] = []
        printed: list[str] = []
        cap = self.runner.assignment.limits.output_kb * 1024

        def collect(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] in ("display_data", "execute_result") and MIME in content.get("data", {}):
                replies.append(content["data"][MIME])
            elif msg["msg_type"] == "stream" and sum(map(len, printed)) < cap:
                printed.append(str(content.get("text", ""))[:cap])

        started = time.monotonic()
        reply = None
        door = self._door_to(kernel)
        if door is not None:
            # the agent's own socket: no ipykernel messaging around the call (see _agent.py)
            answer = door.request(kernel, op, json.dumps(req), timeout)
            if answer.status == "closed":
                self._door = None
                self._door_key = None         # gone (a notebook closed it?): ask through the shell
            else:
                from grader.sandbox.kernel import ExecReply

                reply = ExecReply(status=answer.status, ename=answer.ename, evalue=answer.evalue,
                                  interrupted=answer.interrupted)
                replies.extend(answer.replies)
                if answer.output:
                    printed.append(answer.output[:cap])
        if reply is None and self.direct and hasattr(kernel, "request"):
            # the agent's own shell message: no cell machinery around the call (see _agent.py)
            reply = kernel.request("grader_request", {"op": op, "request": json.dumps(req)}, timeout=timeout,
                                   on_output=collect)
            if reply.status == "unhandled" and not replies:
                self.direct = False        # the notebook took the agent's handler away: ask through a cell
                reply = None
        if reply is None:
            code = f"{self.runner.token}({op!r}, {json.dumps(req)!r})"
            reply = kernel.execute(code, timeout=timeout, store_history=False, on_output=collect)
        duration = time.monotonic() - started
        output = "".join(printed)[:cap]
        self._bindings = None               # until this reply says which objects the names hold
        if reply.status in ("dead", "timeout") or reply.interrupted:
            self._forget_bindings()         # the kernel may be restarted: a new namespace
        if reply.status == "dead":
            cause = self.runner._death_cause()
            self.runner.recover()
            raise KernelDied(f"the kernel died while {what or op} ran ({cause}); it was restarted and grading went on",
                             output=output)
        if reply.status == "timeout" or reply.interrupted:
            if reply.status == "timeout" and not self.runner._responsive():
                self.runner.recover()
            raise CallTimeout(
                f"{what or op} did not return within {timeout:g} s (timeout). "
                "Look for an endless loop or a very slow computation.", output=output)
        if not replies:
            detail = f" ({reply.ename}: {reply.evalue})" if reply.status == "error" else ""
            raise CheckFailed(
                f"no answer came back from the kernel for {what or op}{detail}. Did the notebook replace "
                "print/display machinery or delete grader objects? Restart and run all cells, then check again.",
                output=output)
        raw = replies[-1]
        if not isinstance(raw, str) or len(raw) > MAX_REPLY:
            raise CheckFailed(f"the value returned by {what or op} is too large to grade")
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise BadReply("reply is not an object")
            blob = base64.b64decode(data.get("blob", ""), validate=True)
            data["_tensors"] = _load_tensors(blob)
            bindings = data.get("ns")
            self._bindings = bindings if type(bindings) is int else None
        except (ValueError, BadReply) as exc:
            raise CheckFailed(f"the kernel's reply for {what or op} could not be read as data ({exc})") from None
        except Exception as exc:  # torch.load refusing something is a failed check, never a crash
            raise CheckFailed(f"the kernel's reply for {what or op} was refused: {type(exc).__name__}") from None
        return data, output, duration

    def _value(self, data: dict[str, Any], key: str = "value") -> Any:
        try:
            return _decode(data.get(key), data["_tensors"])
        except BadReply as exc:
            raise CheckFailed(f"the kernel's reply could not be read as data ({exc})") from None

    # -- operations -------------------------------------------------------------------
    def devices(self) -> dict[str, Any]:
        data, _, _ = self.request("devices", {}, timeout=30.0, what="device discovery")
        value = self._value(data)
        return value if isinstance(value, dict) else {}

    def describe(self, name: str) -> Any:
        data, _, _ = self.request("describe", {"name": name}, what=f"reading `{name}`")
        if data.get("missing"):
            raise MissingName(f"Your notebook does not define `{name}`. Define it in a code cell, "
                              "run all cells, and check again.", name=name)
        value = self._value(data)
        if isinstance(value, Remote) and self._bindings is not None:
            self._functions[name] = self._bindings
        return value

    def output_of(self, execution_count: int) -> Any:
        data, _, _ = self.request("out", {"count": execution_count}, what="reading a cell's value")
        return None if data.get("missing") else self._value(data)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        tensors: list[Any] = []
        try:
            enc_args = _encode(list(args), tensors)
            enc_kwargs = _encode(dict(kwargs), tensors)
        except TypeError as exc:
            raise RuntimeError(f"a check passed an argument the bridge cannot carry: {exc}") from None
        import torch

        buf = io.BytesIO()
        if tensors:
            torch.save(tensors, buf)
        req = {"name": name, "args": enc_args, "kwargs": enc_kwargs, "device": self.device,
               "blob": base64.b64encode(buf.getvalue()).decode("ascii")}
        data, output, duration = self.request("call", req, what=f"`{name}`")
        self.last_call = CallRecord(name=name, output=output, duration=duration)
        if data.get("missing"):
            raise MissingName(f"Your notebook does not define `{name}`. Define it in a code cell, "
                              "run all cells, and check again.", name=name)
        if data.get("notcallable"):
            raise CheckFailed(f"`{name}` in your notebook is a {data['notcallable']}, not a function.", name=name)
        if data.get("agent_error"):
            raise CheckFailed(f"calling `{name}` failed in the kernel: {str(data['agent_error'])[:300]}")
        if not data.get("ok"):
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            ename, evalue = str(err.get("ename", "Exception"))[:100], str(err.get("evalue", ""))[:2000]
            if ename == "KeyboardInterrupt":
                raise CallTimeout(f"`{name}` did not return within {self.call_timeout:g} s (timeout). "
                                  "Look for an endless loop or a very slow computation.", output=output)
            trace = self.runner_traceback(err.get("frames"), ename, evalue)
            hint = " Replace the `raise NotImplementedError()` stub with your code." if ename == "NotImplementedError" else ""
            raise StudentError(f"`{name}` raised {ename}: {evalue}".rstrip(": ") + "." + hint,
                               traceback=trace, output=output)
        value = self._value(data)
        after = self._value(data, "args_after")
        self.last_call.args_after = list(after) if isinstance(after, list) else []
        return value

    def runner_traceback(self, frames: Any, ename: str, evalue: str) -> str:
        """The student's traceback in their own terms: their cells and lines only."""
        lines = ["Traceback (your code, most recent call last):"]
        cells = self.runner.submission.code_cells
        for fr in frames if isinstance(frames, list) else []:
            if not isinstance(fr, dict):
                continue
            code = str(fr.get("code", ""))[:300]
            where = f"line {fr.get('line')}"
            for cell in cells:
                if code.strip() and code.strip() in cell.source:
                    where = f"cell {cell.index + 1}, line {fr.get('line')}"
                    break
            lines.append(f"  {where}, in {str(fr.get('name'))[:100]}")
            if code:
                lines.append(f"    {code.strip()}")
        lines.append(f"{ename}: {evalue}")
        return "\n".join(lines)


class Notebook:
    """The `nb` fixture: the student's notebook, live. `nb.fn(x)` calls fn in the kernel."""

    def __init__(self, bridge: Bridge) -> None:
        object.__setattr__(self, "_bridge", bridge)

    @property
    def device(self) -> str:
        return self._bridge.device

    @property
    def last_call(self) -> CallRecord | None:
        return self._bridge.last_call

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._bridge.call(name, *args, **kwargs)

    def value(self, name: str) -> Any:
        return self._bridge.describe(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"{name}: use nb.value({name!r}) for names that start with '_'")
        if self._bridge.known_function(name):
            # it was a function and no name has been rebound since: what asking again would say.
            # (A call re-reads the name in the kernel and says if it is no longer a function.)
            return RemoteFunction(self._bridge, name)
        value = self._bridge.describe(name)
        if isinstance(value, Remote):
            return RemoteFunction(self._bridge, name)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the notebook proxy is read-only")

    def cell(self, *, tag: str | None = None, starting_with: str | None = None) -> Any:
        """A cell found by tag or first line: `.value`, `.output`, `.source`, `.status`."""
        from grader.bridge.cells import find_cell

        return find_cell(self._bridge, tag=tag, starting_with=starting_with)


@dataclass
class RemoteFunction:
    bridge: Bridge
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.bridge.call(self.name, *args, **kwargs)

