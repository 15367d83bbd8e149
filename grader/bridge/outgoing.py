"""A check's tensors on their way into the kernel (a call's arguments, a cell's inputs).

The grader's own values, so no trust boundary: what matters is that the agent rebuilds them
exactly and cheaply. Plain tensors go as raw bytes, each with its dtype, shape, offset and
size in one buffer; the agent copies each out of it into a tensor of its own (no unpickling:
torch.load of a call's arguments was a third of the kernel's time per request). Where raw bytes
would not give the kernel the same tensors, the whole list goes as one torch.save blob as
before: two arguments that are one tensor (the kernel must see one, as torch.load gives it),
a view of a larger storage, a layout or dtype not in RAW_DTYPES.
"""
from __future__ import annotations

import base64
import io
from typing import Any

__all__ = ["RAW_DTYPES", "pack_tensors"]

RAW_DTYPES = frozenset({"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
                        "complex64", "complex128"})
ALIGN = 16        # each tensor's bytes start at a multiple of this in the buffer


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
            return None             # one tensor twice, or a view: torch.save keeps what they share
        if nbytes and storage.data_ptr() in storages:
            return None
        objects.add(id(t))
        storages.add(storage.data_ptr())
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if nbytes else b""
        specs.append([name, list(t.shape), offset, nbytes])
        chunks.append(data + bytes(-len(data) % ALIGN))
        offset += len(chunks[-1])
    return {"tensors": specs, "data": base64.b64encode(b"".join(chunks)).decode("ascii")}
