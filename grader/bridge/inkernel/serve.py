"""The agent itself: the callable the grader's requests reach by its random name, whatever the route.

It serves a request (a function call, a name's value, a cell's Out[n], the devices) with
builtins as they were at install time, and publishes the answer as data: JSON plus its
tensors' bytes (values.pack), never judged here. A request's own tensors come as raw bytes or
a torch.save blob (grader/bridge/outgoing.py). Other ops (a cell's notes, a cell run again, a
module as data: notes.py, models.py) are handlers, each called as handler(request, tensors,
sent, student) and returning the reply's payload; `student(run)` runs the student's code in
the student's world (their builtins) and returns their error as data, or None.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.bridge.inkernel.bound import (
    MIME,
    builtins_,
    dumps,
    extract_tb,
    hash_,
    id_,
    isinstance_,
    len_,
    list_,
    loads,
    str_,
    tuple_,
    type_,
)
from grader.bridge.inkernel.standin import put_back_swapped, reaching, swapped
from grader.bridge.inkernel.values import decode, encode, pack, qualname, received

Handler = Callable[[dict[str, Any], list[Any], list[Any], Callable[[Callable[[], None]], Any]], dict[str, Any]]
MISSING = object()


def _frames(exc: BaseException) -> list[dict[str, Any]]:
    """The student's frames of a traceback (not the agent's, not a library's), the last 20."""
    out = []
    for fr in extract_tb(exc.__traceback__):
        if fr.filename == "<grader-agent>" or "/site-packages/" in fr.filename or fr.filename.startswith("<frozen"):
            continue
        out.append({"file": fr.filename, "line": fr.lineno, "name": fr.name, "code": fr.line or ""})
    return out[-20:]


def _error_payload(exc: BaseException) -> dict[str, Any]:
    try:
        evalue = str_(exc)[:2000]
    except Exception:
        evalue = "<unprintable>"
    return {"ok": False, "error": {"ename": type_(exc).__name__, "evalue": evalue, "frames": _frames(exc)}}


def _devices() -> dict[str, Any]:
    info = {"cuda": bool(torch.cuda.is_available()), "mps": False, "torch": torch.__version__}
    if info["cuda"]:
        info["cuda_name"] = torch.cuda.get_device_name(0)
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    info["mps"] = bool(mps is not None and mps.is_available())
    return info


class Agent:
    """Serves one request at a time: `agent(op, request)`, the answer published as data."""

    def __init__(self, ip: Any, sinks: list[list[str]], ops: dict[str, Handler]) -> None:
        self.publish = ip.display_pub.publish
        self.user_ns = ip.user_ns
        self.sinks = sinks  # while a request comes through the door: where its answers go
        self.ops = ops
        # builtins as they were before any student cell: restored while the agent works, so that a
        # student's `builtins.isinstance = ...` cannot break torch.save or json for the agent
        self.builtins = vars(builtins_)
        self.pristine = dict(self.builtins)

    def __call__(self, op: str, request: str) -> None:
        changed = self.restore()
        try:
            return self.serve(op, request, changed)
        finally:
            self.put_back(changed)

    def restore(self) -> dict[str, Any]:
        """Builtins as they were at install; what the student had changed, to put back after."""
        changed = {}
        for key, value in self.pristine.items():
            current = self.builtins.get(key, MISSING)
            if current is not value:
                changed[key] = current
                self.builtins[key] = value
        return changed

    def put_back(self, changed: dict[str, Any]) -> None:
        for key, value in changed.items():
            if value is MISSING:
                self.builtins.pop(key, None)
            else:
                self.builtins[key] = value

    def as_student(self, run: Callable[[], None], changed: dict[str, Any]) -> dict[str, Any] | None:
        """Run the student's code in the student's world (their builtins); their error, as data."""
        self.put_back(changed)
        try:
            run()
        except BaseException as exc:
            return _error_payload(exc)
        finally:
            changed.clear()
            changed.update(self.restore())
        return None

    def bindings(self) -> int | None:
        """Which object each name of the notebook's namespace holds, as one number: the grader
        may skip asking again whether a name is a function while this does not change."""
        try:
            return hash_(tuple_((k, id_(v)) for k, v in list_(self.user_ns.items())))
        except BaseException:
            return None

    def reply(self, payload: dict[str, Any], tensors: list[Any] | tuple[()] = ()) -> None:
        payload.update(pack(list_(tensors)))
        payload["ns"] = self.bindings()
        if self.sinks:  # a request through the door: the answer goes back through it
            self.sinks[-1].append(dumps(payload))
        else:
            self.publish({MIME: dumps(payload)}, metadata={})

    def serve(self, op: str, request: str, changed: dict[str, Any]) -> None:
        tensors: list[Any] = []
        try:
            req = loads(request)
            if op == "devices":
                return self.reply({"ok": True, "value": {"t": "json", "v": _devices()}})
            if op in ("describe", "out"):
                return self.reply(self.read(op, req, tensors), tensors)
            if op == "call":
                return self.reply(self.call(req, changed, tensors), tensors)
            handler = self.ops.get(op)
            if handler is not None:
                sent = received(req)
                return self.reply(handler(req, tensors, sent, lambda run: self.as_student(run, changed)), tensors)
            return self.reply({"ok": False, "agent_error": f"unknown op {op}"})
        except BaseException as exc:
            return self.reply({"ok": False, "agent_error": f"{type_(exc).__name__}: {exc}"[:500]})

    def read(self, op: str, req: dict[str, Any], tensors: list[Any]) -> dict[str, Any]:
        """A name of the notebook ("describe") or a cell's Out[n] ("out"), as data."""
        if op == "describe":
            space, key = self.user_ns, req["name"]
        else:
            space, key = self.user_ns.get("Out", {}), req["count"]
        if key not in space:
            return {"ok": True, "missing": True}
        return {"ok": True, "value": encode(space[key], tensors)}

    def call(self, req: dict[str, Any], changed: dict[str, Any], tensors: list[Any]) -> dict[str, Any]:
        """The student's function called on the check's arguments, in the student's world."""
        sent = received(req)
        device = req["device"]
        args = decode(req["args"], sent, device)
        kwargs = decode(req["kwargs"], sent, device)
        name = req["name"]
        if name not in self.user_ns:
            return {"ok": True, "missing": True}
        fn = self.user_ns[name]
        if not callable(fn):
            return {"ok": False, "notcallable": qualname(fn)}
        standins = req.get("standins") or []
        replaced = swapped(self.user_ns, standins if isinstance_(standins, list_) else [], device)
        self.put_back(changed)  # the student's function runs in the student's world
        try:
            result, failed, reached = reaching(self.user_ns, lambda: fn(*args, **kwargs))
        finally:
            put_back_swapped(self.user_ns, replaced)
            changed.clear()
            changed.update(self.restore())
        if failed is not None:  # the student's fault, reported as data
            return {**_error_payload(failed), "reached": reached}
        value = encode(result, tensors)
        after = encode(list(args), tensors)
        return {"ok": True, "value": value, "args_after": after, "reached": reached}


def cap_output(stream: Any, limit: int) -> None:
    """Cap what one request may print (print, sys.stdout.write, os.write(1, ...) all pass here):
    beyond `limit` characters the text is dropped in the kernel, before it costs anything.
    The grader keeps its own cap; this one only spares it a flood."""
    inner = stream.write
    state: dict[str, Any] = {"key": None, "used": 0}
    note = f"\n[grader: output beyond {limit // 1024} KB was dropped]\n"

    def write(text: Any) -> Any:
        if not isinstance_(text, str_):
            return inner(text)
        try:
            key = stream.parent_header.get("msg_id")
        except Exception:
            key = None
        if key != state["key"]:
            state["key"], state["used"] = key, 0
        used = state["used"]
        state["used"] = used + len_(text)
        if used >= limit:
            return len_(text)
        if used + len_(text) > limit:
            inner(text[: limit - used] + note)
            return len_(text)
        return inner(text)

    try:
        stream.write = write
    except Exception:
        pass
