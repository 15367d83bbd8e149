"""The trust boundary in one module: the only place where bytes from a kernel become values.

Everything a kernel sends is attacker-chosen (student code can rewrite the agent that sends
it). It is read here and nowhere else, as data only: JSON nodes, and tensors loaded with
torch.load(weights_only=True), which builds plain tensors and nothing else. Nothing is ever
unpickled or evaluated. What the kernel merely claims about a tensor (its device, its class,
its storage) is kept with the tensor as a TensorMeta, a claim for structure checks only.

Values going the other way (a check's arguments) are encoded here too, as the agent decodes
them. Limits on what a reply may hold (MAX_REPLY, MAX_DEPTH) live here; so will any budget or
allow-list added later: a reply that breaks one is a BadReply.
"""
from __future__ import annotations

import base64
import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from grader.failures import CheckFailed

MIME = "application/x-grader-reply+json"
MAX_REPLY = 256 * 1024 * 1024
MAX_DEPTH = 24
MAX_FRAME = 256 * 1024 * 1024         # one answer through the agent's door
META_ATTR = "_grader_tensor_meta"     # where a decoded tensor carries what the kernel said about it


@dataclass(frozen=True)
class TensorMeta:
    """What the kernel said about a tensor it sent: claims, used for structure checks only."""

    device: str
    cls: str
    storage: int | None = None
    offset: int | None = None
    stride: tuple[int, ...] | None = None
    requires_grad: bool = False


@dataclass(frozen=True)
class CarriedMeta:
    """A TensorMeta as a tensor carries it, with the identity of that tensor: a copy of the tensor
    (copy.deepcopy copies its attributes) is not the tensor the kernel described."""

    owner: int
    meta: TensorMeta


def tensor_meta(value: Any) -> TensorMeta | None:
    """What the kernel said about `value`, a tensor decoded from its reply (None for anything else)."""
    try:
        carried = vars(value).get(META_ATTR)
    except Exception:          # no attributes of its own (an int, a slotted object): not a decoded tensor
        return None
    if not isinstance(carried, CarriedMeta) or carried.owner != id(value):
        return None
    return carried.meta


def _carry(t: Any, meta: TensorMeta) -> None:
    setattr(t, META_ATTR, CarriedMeta(id(t), meta))


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


class BadReply(CheckFailed):
    """The kernel's reply is not well-formed data."""


class ReplyTooLarge(BadReply):
    """The reply is not text, or more of it than MAX_REPLY."""


class ReplyRefused(BadReply):
    """Reading the reply raised something other than a malformed-data error (torch.load refusing
    a pickle, say); `kind` names the exception, and only the name is ever shown."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# -- the grader's values, into the kernel ---------------------------------------------------

def encode(value: Any, tensors: list[Any], depth: int = 0) -> dict[str, Any]:
    """A check's value as the agent's JSON node; its tensors go to `tensors` (TypeError: not carried)."""
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
        return {"t": "list" if isinstance(value, list) else "tuple", "items": [encode(v, tensors, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "items": [[encode(k, tensors, depth + 1), encode(v, tensors, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def encode_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """A call's arguments as JSON nodes, and their tensors (TypeError: an argument is not carried)."""
    tensors: list[Any] = []
    return encode(list(args), tensors), encode(dict(kwargs), tensors), tensors


def call_request(name: str, args: dict[str, Any], kwargs: dict[str, Any], tensors: list[Any],
                 device: str) -> dict[str, Any]:
    """The request of a call: encoded arguments, their tensors in one torch.save blob."""
    import torch

    buf = io.BytesIO()
    if tensors:
        torch.save(tensors, buf)
    return {"name": name, "args": args, "kwargs": kwargs, "device": device,
            "blob": base64.b64encode(buf.getvalue()).decode("ascii")}


# -- the kernel's bytes, into values ----------------------------------------------------------

def load_tensors(blob: bytes) -> list[Any]:
    """A reply's tensor blob: a list of plain tensors, loaded with weights_only=True."""
    import torch

    if not blob:
        return []
    loaded = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    if not isinstance(loaded, list) or not all(type(t) is torch.Tensor for t in loaded):
        raise BadReply("the tensor blob is not a list of plain tensors")
    return loaded


@dataclass
class Reply:
    """One reply of the agent, read: its fields (JSON, untrusted), its tensors, its bindings."""

    fields: dict[str, Any]
    tensors: list[Any] = field(default_factory=list)
    bindings: int | None = None         # the namespace's bindings as the reply says (see the agent)

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def value(self, key: str = "value") -> Any:
        """The value under `key`, decoded (BadReply: not well-formed)."""
        return decode(self.fields.get(key), self.tensors)


def read_reply(raw: Any) -> Reply:
    """The agent's reply (a string from display data or the door): JSON, a base64 tensor blob.

    ReplyTooLarge, BadReply (malformed), ReplyRefused (anything else reading it raised)."""
    if not isinstance(raw, str) or len(raw) > MAX_REPLY:
        raise ReplyTooLarge("the reply is too large")
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise BadReply("reply is not an object")
        tensors = load_tensors(base64.b64decode(data.get("blob", ""), validate=True))
    except BadReply:
        raise
    except ValueError as exc:
        raise BadReply(str(exc)) from None
    except Exception as exc:  # torch.load refusing something is a failed check, never a crash
        raise ReplyRefused(type(exc).__name__) from None
    bindings = data.get("ns")
    return Reply(data, tensors, bindings if type(bindings) is int else None)


def decode(node: Any, tensors: list[Any], depth: int = 0) -> Any:
    """One JSON node of a reply as a value; tensors by index into the reply's blob."""
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise BadReply("malformed value")
    kind = node.get("t")
    if kind == "tensor":
        return _decode_tensor(node, tensors)
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

        return numpy.dtype(str(node.get("dtype"))).type(decode(node.get("v"), tensors, depth + 1))
    if kind in ("list", "tuple"):
        items = [decode(v, tensors, depth + 1) for v in _list(node.get("items"))]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return _decode_dict(node, tensors, depth)
    if kind == "callable":
        return Remote(type=str(node.get("type"))[:200], name=str(node.get("name"))[:200])
    if kind == "opaque":
        return Opaque(type=str(node.get("type"))[:200], repr=str(node.get("repr"))[:300])
    raise BadReply(f"unknown value kind {kind!r}")


def _decode_tensor(node: dict[str, Any], tensors: list[Any]) -> Any:
    t = tensors[_index(node, tensors)]
    stride = node.get("stride")
    _carry(t, TensorMeta(
        device=str(node.get("device", "cpu"))[:40], cls=str(node.get("cls", "torch.Tensor"))[:200],
        storage=node.get("storage") if isinstance(node.get("storage"), int) else None,
        offset=node.get("offset") if isinstance(node.get("offset"), int) else None,
        stride=tuple(int(s) for s in stride) if isinstance(stride, list) else None,
        requires_grad=bool(node.get("requires_grad")),
    ))
    return t


def _decode_dict(node: dict[str, Any], tensors: list[Any], depth: int) -> dict[Any, Any]:
    out = {}
    for pair in _list(node.get("items")):
        key, value = _list(pair)
        key = decode(key, tensors, depth + 1)
        try:
            out[key] = decode(value, tensors, depth + 1)
        except TypeError:
            raise BadReply("unhashable key") from None
    return out


def _index(node: dict[str, Any], tensors: list[Any]) -> int:
    i = node.get("i")
    if not isinstance(i, int) or not 0 <= i < len(tensors):
        raise BadReply("bad tensor index")
    return i


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadReply("malformed list")
    return value


# -- what else a kernel sends: door frames, printed output --------------------------------------

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
    frame = bytes(buf[4:4 + size])
    del buf[:4 + size]
    return frame


def read_frame(frame: bytes) -> DoorFrame | None:
    """A frame from the door as a DoorFrame; None when it is not a JSON object (noise)."""
    try:
        answer = json.loads(frame)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    replies = answer.get("replies")
    output = answer.get("output")
    door = DoorFrame(ident=answer.get("id"),
                     replies=[r for r in replies if isinstance(r, str)] if isinstance(replies, list) else [],
                     output=output if isinstance(output, str) else "")
    if answer.get("status") == "error":
        door.error = True
        door.ename = str(answer.get("ename", ""))[:200]
        door.evalue = str(answer.get("evalue", ""))[:2000]
    return door


def stream_text(outputs: list[dict[str, Any]]) -> str:
    """What a cell's stream outputs printed, joined (a saved notebook may keep text as a list)."""
    def text(o: dict[str, Any]) -> str:
        t = o.get("text", "")
        return "".join(map(str, t)) if isinstance(t, list) else str(t)

    return "".join(text(o) for o in outputs if o.get("output_type") == "stream")
