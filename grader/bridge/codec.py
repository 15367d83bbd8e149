"""The trust boundary: with its parts (budget.py, incoming_raw.py, incoming_blob.py, door_frames.py),
the only place where bytes from a kernel become values.

Everything a kernel sends is attacker-chosen (student code can rewrite the agent that sends
it). It is read here and nowhere else, as data only: JSON nodes, and tensors copied out of raw
bytes (incoming_raw.py) or, for what the agent cannot send so, loaded with torch.load(weights_only=True),
which builds plain tensors and nothing else (incoming_blob.py). Nothing is ever unpickled or evaluated.
What the kernel merely claims about a tensor (its device, its class, its storage) is kept with
the tensor as a TensorMeta, a claim for structure checks only.

Values going the other way (a check's arguments) are encoded as the agent decodes them by
outgoing.py: the grader's own data, not the trust boundary. What a reply may hold (its Budget:
bytes, values, depth, strings, tensors and their elements; the dtypes it may name) is budget.py;
how its tensor blob is vetted and read, incoming_raw.py and incoming_blob.py; the agent's door
frames, door_frames.py. A reply that breaks any of them is a BadReply, a failed check in the
student's words.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

# BadReply and its kinds, Budget and load_tensors are imported from here by the rest of the grader
from grader.bridge.incoming_blob import load_tensors
from grader.bridge.budget import (
    DEFAULT,
    NUMPY_DTYPES,
    BadReply,
    Budget,
    ReplyRefused,
    ReplyTooLarge,
    check_tree,
    check_values,
    cut,
    words,
)
from grader.bridge.incoming_raw import load_raw

MIME = "application/x-grader-reply+json"
MAX_REPLY = DEFAULT.reply_chars
MAX_DEPTH = DEFAULT.value_depth
META_ATTR = "_grader_tensor_meta"  # where a decoded tensor carries what the kernel said about it


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
    except Exception:  # no attributes of its own (an int, a slotted object): not a decoded tensor
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


# -- the kernel's bytes, into values ----------------------------------------------------------


@dataclass
class Reply:
    """One reply of the agent, read: its fields (JSON, untrusted), its tensors, its bindings."""

    fields: dict[str, Any]
    tensors: list[Any] = field(default_factory=list)
    bindings: int | None = None  # the namespace's bindings as the reply says (see the agent)
    budget: Budget = DEFAULT

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def value(self, key: str = "value") -> Any:
        """The value under `key`, decoded (BadReply: not well-formed)."""
        return decode(self.fields.get(key), self.tensors, max_depth=self.budget.value_depth)


def read_reply(raw: Any, budget: Budget = DEFAULT) -> Reply:
    """The agent's reply (a string from display data or the door): JSON, a base64 tensor blob:
    raw bytes its "raw" describes (incoming_raw.py), or without one a torch.save archive (incoming_blob.py).

    Every part is measured against `budget` before what it would cost is allocated.
    ReplyTooLarge (over budget), BadReply (malformed), ReplyRefused (the blob's loading refused)."""
    if not isinstance(raw, str) or len(raw) > budget.reply_chars:
        raise ReplyTooLarge(
            "the reply is not text"
            if not isinstance(raw, str)
            else f"the reply is {words(len(raw))} characters long, more than the "
            f"{words(budget.reply_chars)} a reply may be"
        )
    data = parse_json(raw, budget.json_values, "reply")
    if not isinstance(data, dict):
        raise BadReply("reply is not an object")
    blob = data.get("blob", "")
    if not isinstance(blob, str):
        raise BadReply("its tensor blob is not text")
    check_tree(data, budget)
    if len(raw) - len(blob) > budget.json_chars:
        raise ReplyTooLarge(
            f"it holds {words(len(raw) - len(blob))} characters of JSON, more than the "
            f"{words(budget.json_chars)} a reply may hold"
        )
    specs = data.get("raw")
    try:
        decoded = base64.b64decode(blob, validate=True)
        tensors = load_tensors(decoded, budget) if specs is None else load_raw(decoded, specs, budget)
    except BadReply:
        raise
    except ValueError as exc:  # not base64 (binascii.Error)
        raise BadReply(str(exc)[:200]) from None
    except Exception as exc:  # torch.load refusing something is a failed check, never a crash
        raise ReplyRefused(type(exc).__name__) from None
    bindings = data.get("ns")
    return Reply(data, tensors, bindings if type(bindings) is int else None, budget)


def parse_json(text: str, values: int, what: str) -> Any:
    """`text` as JSON, at most `values` values (counted before parsing); BadReply when it is not."""
    check_values(text, values)
    try:
        return json.loads(text)
    except RecursionError:
        raise BadReply(f"the {what} is nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, an integer of too many digits
        raise BadReply(str(exc)[:200]) from None


def decode(node: Any, tensors: list[Any], depth: int = 0, max_depth: int = MAX_DEPTH) -> Any:
    """One JSON node of a reply as a value; tensors by index into the reply's blob.

    Nothing but a value or BadReply comes out: every field is checked before it is used."""
    if depth > max_depth:
        raise BadReply(f"its value is nested more than {max_depth} levels deep")
    if not isinstance(node, dict):
        raise BadReply("malformed value")
    kind = node.get("t")
    if kind in ("list", "tuple"):
        items = [decode(v, tensors, depth + 1, max_depth) for v in _list(node.get("items"))]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return _decode_dict(node, tensors, depth, max_depth)
    if kind == "npscalar":
        return _decode_npscalar(node, decode(node.get("v"), tensors, depth + 1, max_depth))
    return _decode_leaf(kind, node, tensors)


def _decode_leaf(kind: Any, node: dict[str, Any], tensors: list[Any]) -> Any:
    if kind == "tensor":
        return _decode_tensor(node, tensors)
    if kind == "ndarray":
        return _decode_ndarray(node, tensors)
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
    if kind == "callable":
        return Remote(type=sent_text(node.get("type"), 200), name=sent_text(node.get("name"), 200))
    if kind == "opaque":
        return Opaque(type=sent_text(node.get("type"), 200), repr=sent_text(node.get("repr"), 300))
    raise BadReply(f"unknown value kind {cut(str(kind), 40)!r}")


def _decode_npscalar(node: dict[str, Any], value: Any) -> Any:
    """A NumPy scalar: only an allow-listed dtype, built from a JSON number (never a list or text)."""
    import numpy

    name = node.get("dtype")
    if not isinstance(name, str) or name not in NUMPY_DTYPES:
        raise BadReply(
            f"a NumPy scalar of dtype {cut(str(name), 40)!r}; only bool, integer, float and complex dtypes are carried"
        )
    if type(value) not in (bool, int, float):
        raise BadReply(f"a NumPy {name} scalar whose value is not a number")
    try:
        return numpy.dtype(name).type(value)
    except (OverflowError, ValueError, TypeError):
        raise BadReply(f"a NumPy {name} scalar whose value does not fit it") from None


def _decode_ndarray(node: dict[str, Any], tensors: list[Any]) -> Any:
    t = tensors[_index(node, tensors)]
    if str(t.dtype).removeprefix("torch.") not in NUMPY_DTYPES:
        raise BadReply(f"a NumPy array of a dtype NumPy does not have ({t.dtype})")
    return t.numpy()


def _decode_tensor(node: dict[str, Any], tensors: list[Any]) -> Any:
    t = tensors[_index(node, tensors)]
    stride = node.get("stride")
    if stride is not None and not (
        isinstance(stride, list) and len(stride) <= 64 and all(type(s) is int for s in stride)
    ):
        raise BadReply("malformed tensor stride")
    _carry(
        t,
        TensorMeta(
            device=sent_text(node.get("device", "cpu"), 40),
            cls=sent_text(node.get("cls", "torch.Tensor"), 200),
            storage=_int(node.get("storage")),
            offset=_int(node.get("offset")),
            stride=tuple(stride) if stride is not None else None,
            requires_grad=bool(node.get("requires_grad")),
        ),
    )
    return t


def _decode_dict(node: dict[str, Any], tensors: list[Any], depth: int, max_depth: int) -> dict[Any, Any]:
    out = {}
    for pair in _list(node.get("items")):
        items = _list(pair)
        if len(items) != 2:
            raise BadReply("malformed dict item")
        key = decode(items[0], tensors, depth + 1, max_depth)
        value = decode(items[1], tensors, depth + 1, max_depth)
        try:
            out[key] = value
        except TypeError:
            raise BadReply("unhashable key") from None
    return out


def _index(node: dict[str, Any], tensors: list[Any]) -> int:
    i = node.get("i")
    if type(i) is not int or not 0 <= i < len(tensors):
        raise BadReply("bad tensor index")
    return i


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def sent_text(value: Any, limit: int) -> str:
    """A name or repr the kernel sent, as text of at most `limit` characters."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return str(value)[:limit]
    raise BadReply("malformed name")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadReply("malformed list")
    return value


# -- what else a kernel sends: printed output ---------------------------------------------------


def stream_text(outputs: list[dict[str, Any]]) -> str:
    """What a cell's stream outputs printed, joined (a saved notebook may keep text as a list)."""

    def text(o: dict[str, Any]) -> str:
        t = o.get("text", "")
        return "".join(map(str, t)) if isinstance(t, list) else str(t)

    return "".join(text(o) for o in outputs if o.get("output_type") == "stream")
