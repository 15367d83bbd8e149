"""The grader's values on their way into the kernel: a call's arguments, a cell's inputs.

The grader's own values, so no trust boundary: what matters is that the agent rebuilds them
exactly and cheaply. A value is a JSON node as the agent decodes it (`encode`), its tensors
detached and on the CPU, listed apart. Plain tensors go as raw bytes, each with its dtype, shape,
offset and size in one buffer; the agent copies each out of it into a tensor of its own (no
unpickling: torch.load of a call's arguments was a third of the kernel's time per request). Where
raw bytes would not give the kernel the same tensors, the whole list goes as one torch.save blob as
before: two arguments that are one tensor (the kernel must see one, as torch.load gives it),
a view of a larger storage, a layout or dtype not in RAW_DTYPES.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from grader.bridge.budget import DEFAULT

__all__ = ["RAW_DTYPES", "call_request", "encode", "encode_arguments", "pack_tensors"]

RAW_DTYPES = frozenset(
    {
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
    }
)
ALIGN = 16  # each tensor's bytes start at a multiple of this in the buffer


def encode(value: Any, tensors: list[Any], depth: int = 0) -> dict[str, Any]:
    """A check's value as the agent's JSON node; its tensors go to `tensors` (TypeError: not carried)."""
    import torch

    if depth > DEFAULT.value_depth:  # as deep as a reply may be
        raise TypeError("value nested too deeply to send to the kernel")
    if isinstance(value, torch.Tensor):
        tensors.append(value.detach().cpu().contiguous())
        return {"t": "tensor", "i": len(tensors) - 1, "requires_grad": bool(value.requires_grad)}
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"t": "float", "v": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"t": "json", "v": value}
    if isinstance(value, (list, tuple)):
        return {
            "t": "list" if isinstance(value, list) else "tuple",
            "items": [encode(v, tensors, depth + 1) for v in value],
        }
    if isinstance(value, dict):
        return {
            "t": "dict",
            "items": [[encode(k, tensors, depth + 1), encode(v, tensors, depth + 1)] for k, v in value.items()],
        }
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def encode_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """A call's arguments as JSON nodes, and their tensors (TypeError: an argument is not carried)."""
    tensors: list[Any] = []
    return encode(list(args), tensors), encode(dict(kwargs), tensors), tensors


def call_request(
    name: str, args: dict[str, Any], kwargs: dict[str, Any], tensors: list[Any], device: str
) -> dict[str, Any]:
    """The request of a call: encoded arguments, their tensors as raw bytes or one torch.save blob."""
    return {"name": name, "args": args, "kwargs": kwargs, "device": device, **pack_tensors(tensors)}


def pack_tensors(tensors: list[Any]) -> dict[str, Any]:
    """The request's fields for `tensors` (contiguous CPU tensors): {"raw": ...} or {"blob": ...}."""
    raw = _raw(tensors)
    if raw is not None:
        return {"raw": raw}
    import torch

    buf = io.BytesIO()
    if tensors:
        torch.save(tensors, buf)
    return {"blob": base64.b64encode(buf.getvalue()).decode("ascii")}


def _raw(tensors: list[Any]) -> dict[str, Any] | None:
    """{"tensors": [[dtype, shape, offset, nbytes], ...], "data": base64}, or None: not carried so."""
    import torch

    specs: list[list[Any]] = []
    chunks: list[bytes] = []
    objects: set[int] = set()
    storages: set[int] = set()
    offset = 0
    for t in tensors:
        name = str(t.dtype).removeprefix("torch.")
        if name not in RAW_DTYPES or t.layout != torch.strided or t.device.type != "cpu" or not t.is_contiguous():
            return None
        nbytes = t.numel() * t.element_size()
        storage = t.untyped_storage()
        if id(t) in objects or t.storage_offset() != 0 or storage.nbytes() != nbytes:
            return None  # one tensor twice, or a view: torch.save keeps what they share
        if nbytes and storage.data_ptr() in storages:
            return None
        objects.add(id(t))
        storages.add(storage.data_ptr())
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if nbytes else b""
        specs.append([name, list(t.shape), offset, nbytes])
        chunks.append(data + bytes(-len(data) % ALIGN))
        offset += len(chunks[-1])
    return {"tensors": specs, "data": base64.b64encode(b"".join(chunks)).decode("ascii")}
