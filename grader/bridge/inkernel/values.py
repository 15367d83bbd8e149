"""Values as the agent encodes them for the grader, and a call's arguments as it decodes them.

A value goes out as JSON nodes plus a list of plain tensors, packed as raw bytes or, where raw
bytes would not carry them, one torch.save blob (pack); the grader reads them with its codec
(grader/bridge/codec.py, incoming_raw.py, incoming_blob.py), the trust boundary. Nothing here
is trusted by the grader: a notebook can rewrite all of it.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.bridge.inkernel.bound import (
    BytesIO,
    Tensor,
    b64decode,
    b64encode,
    bytearray_,
    bool_,
    float_,
    int_,
    isinstance_,
    len_,
    list_,
    repr_,
    str_,
    type_,
)

MAX_ITEMS, MAX_DEPTH = 10000, 20
# the dtypes whose tensors travel as raw bytes, both ways, by name (grader/bridge/outgoing.py's RAW_DTYPES)
RAW_TORCH_DTYPES = {
    name: getattr(torch, name)
    for name in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
}
RAW_NAMES = {dtype: name for name, dtype in RAW_TORCH_DTYPES.items()}
# outgoing.py's ALIGN; the grader's Budget.tensor_dims and blob_bytes
ALIGN, MAX_DIMS, MAX_BYTES = 16, 64, 192 * 1024 * 1024
save, strided, uint8 = torch.save, torch.strided, torch.uint8
load, frombuffer, empty = torch.load, torch.frombuffer, torch.empty
no_torch_function = getattr(torch._C, "DisableTorchFunctionSubclass", None)


def _numpy() -> Any:
    try:
        import numpy
    except Exception:
        return None
    return numpy


numpy_ = _numpy()
ndarray = numpy_.ndarray if numpy_ is not None else ()


def qualname(obj: Any) -> str:
    cls = type_(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _plain(t: Any) -> Any:
    """The tensor itself, never a subclass of the student's (its __torch_function__ does not run)."""
    if no_torch_function is not None:
        with no_torch_function():
            t = t.detach()
            return t.as_subclass(Tensor) if type_(t) is not Tensor else t
    return t.detach()


def _opaque(value: Any, text: str) -> dict[str, Any]:
    return {"t": "opaque", "type": qualname(value), "repr": text}


def encode(value: Any, tensors: list[Any], depth: int = 0) -> dict[str, Any]:
    """`value` as a JSON node; its tensors appended to `tensors`, which the node names by index."""
    if depth > MAX_DEPTH or len_(tensors) > MAX_ITEMS:
        return _opaque(value, "<too deep>")
    if isinstance_(value, Tensor):
        return _encode_tensor(value, tensors)
    if ndarray and isinstance_(value, ndarray):
        try:
            tensors.append(torch.from_numpy(numpy_.ascontiguousarray(value)))
            return {"t": "ndarray", "i": len_(tensors) - 1, "dtype": str_(value.dtype)}
        except Exception:
            return _opaque(value, repr_(value)[:300])
    if value is None or isinstance_(value, (bool, int, str)):
        if isinstance_(value, int) and not isinstance_(value, bool) and abs(value) > 2**63:
            return {"t": "opaque", "type": "builtins.int", "repr": repr_(value)[:300]}
        if isinstance_(value, str) and len_(value) > 100000:
            value = value[:100000]
        return {"t": "json", "v": value, "type": qualname(value)}
    if isinstance_(value, float):
        if value != value or value in (float_("inf"), float_("-inf")):
            return {"t": "float", "v": repr_(value)}
        return {"t": "json", "v": value, "type": "builtins.float"}
    if ndarray and numpy_ is not None and isinstance_(value, numpy_.generic):
        return {"t": "npscalar", "v": encode(value.item(), tensors, depth + 1), "dtype": str_(value.dtype)}
    return _encode_container(value, tensors, depth)


def _encode_tensor(value: Any, tensors: list[Any]) -> dict[str, Any]:
    t = _plain(value)
    info = {
        "t": "tensor",
        "i": len_(tensors),
        "device": str_(t.device),
        "cls": qualname(value),
        "requires_grad": bool_(value.requires_grad),
        "layout": str_(t.layout),
    }
    try:
        info["storage"] = int_(t.untyped_storage().data_ptr())
        info["offset"] = int_(t.storage_offset())
        info["stride"] = list_(t.stride())
    except Exception:
        pass
    tensors.append(t.cpu() if t.device.type != "cpu" else t)
    return info


def _encode_container(value: Any, tensors: list[Any], depth: int) -> dict[str, Any]:
    """A list, tuple or dict node by node; a callable by name; anything else as its repr."""
    if isinstance_(value, (list, tuple)) and len_(value) <= MAX_ITEMS:
        return {
            "t": "list" if isinstance_(value, list) else "tuple",
            "items": [encode(v, tensors, depth + 1) for v in value],
        }
    if isinstance_(value, dict) and len_(value) <= MAX_ITEMS:
        return {
            "t": "dict",
            "items": [[encode(k, tensors, depth + 1), encode(v, tensors, depth + 1)] for k, v in value.items()],
        }
    if callable(value):
        return {"t": "callable", "type": qualname(value), "name": getattr(value, "__name__", "")}
    try:
        text = repr_(value)[:300]
    except Exception:
        text = "<unrepresentable>"
    return _opaque(value, text)


def decode(node: Any, tensors: list[Any], device: str) -> Any:
    """A call's argument from its JSON node and the request's tensors, on `device`."""
    kind = node["t"]
    if kind == "tensor":
        t = tensors[node["i"]]
        t = t.to(device) if device != "cpu" else t
        return t.requires_grad_(True) if node.get("requires_grad") else t
    if kind == "json":
        return node["v"]
    if kind == "float":
        return float_(node["v"])
    if kind in ("list", "tuple"):
        items = [decode(v, tensors, device) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {decode(k, tensors, device): decode(v, tensors, device) for k, v in node["items"]}
    raise ValueError(f"cannot decode {kind}")


def _raw_bytes(tensors: list[Any]) -> tuple[list[Any], bytes] | None:
    """The tensors' raw bytes and one [dtype, shape, offset, nbytes] each (grader/bridge/incoming_raw.py
    reads them), or None where one is not a plain dense CPU tensor of a raw dtype."""
    specs, chunks, offset, total = [], [], 0, 0
    for t in tensors:
        name = RAW_NAMES.get(t.dtype)
        if name is None or t.layout != strided or t.device.type != "cpu" or t.dim() > MAX_DIMS:
            return None
        nbytes = t.numel() * t.element_size()
        total += nbytes
        # a view larger than its storage (expanded, stride 0) stays one small record in the
        # archive, and the grader's budget judges what it claims; so does a reply over budget
        if nbytes > t.untyped_storage().nbytes() or total > MAX_BYTES:
            return None
        t = t.resolve_conj().resolve_neg().contiguous()
        data = t.reshape(-1).view(uint8).numpy().tobytes() if t.numel() else b""
        specs.append([name, list_(t.shape), offset, len_(data)])
        chunks.append(data + bytes(-len_(data) % ALIGN))
        offset += len_(chunks[-1])
    return specs, b"".join(chunks)


def pack(tensors: list[Any]) -> dict[str, Any]:
    """A reply's tensors as the reply's fields: {"blob": base64 of their raw bytes, "raw": their
    specs}, or {"blob": base64 of one torch.save archive} (incoming_blob.py)."""
    if not tensors:
        return {"blob": ""}
    try:
        packed = _raw_bytes(tensors)
    except Exception:  # no numpy, a tensor that will not give its bytes: the archive
        packed = None
    if packed is not None:
        return {"blob": b64encode(packed[1]).decode("ascii"), "raw": packed[0]}
    buf = BytesIO()
    save(list_(tensors), buf)
    return {"blob": b64encode(buf.getvalue()).decode("ascii")}


def received(req: dict[str, Any]) -> list[Any]:
    """The tensors a request carries: raw bytes, each copied out into a tensor of its own, or
    one torch.save blob (grader/bridge/outgoing.py)."""
    raw = req.get("raw")
    if raw is None:
        blob = b64decode(req.get("blob") or "")
        return load(BytesIO(blob), weights_only=True) if blob else []
    data = bytearray_(b64decode(raw["data"]))
    out = []
    for name, shape, offset, nbytes in raw["tensors"]:
        dtype = RAW_TORCH_DTYPES[name]
        if nbytes:
            out.append(frombuffer(data, dtype=uint8, count=nbytes, offset=offset).view(dtype).reshape(shape).clone())
        else:
            out.append(empty(shape, dtype=dtype))
    return out
