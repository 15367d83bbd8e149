"""Replies for the codec's tests: real ones, made by the kernel-side agent's own encoder, and
forged ones, made the way a notebook that rewrites the agent could make them.

The agent's encoder is its own module (grader/bridge/inkernel/values.py), imported here: the
kernel runs the same code, so a legitimate reply in these tests is byte for byte what a kernel
would send.
"""

from __future__ import annotations

import base64
import collections
import io
import json
import pickle
import zipfile
from typing import Any

import torch

from grader.bridge.inkernel.values import decode, encode, pack

# the agent's own encoder and packer (grader/bridge/inkernel/values.py), as the kernel runs them
ENCODE, PACK = encode, pack


def agent_codec_decode() -> Any:
    """The agent's `decode(node, tensors, device)`: a request's arguments as the kernel makes them."""
    return decode


def saved(tensors: list[Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(tensors, buf)
    return buf.getvalue()


def agent_reply(value: Any, **fields: Any) -> str:
    """The reply the agent sends for `value` (as Agent.reply in grader/bridge/inkernel/serve.py writes it)."""
    tensors: list[Any] = []
    payload = {"ok": True, "value": ENCODE(value, tensors), **fields}
    payload.update(PACK(tensors))
    payload["ns"] = 12345
    return json.dumps(payload)


def reply(value: Any, blob: bytes = b"", **fields: Any) -> str:
    """A forged reply: any JSON node as its value, any bytes as its tensor blob."""
    return json.dumps({"ok": True, "value": value, "blob": base64.b64encode(blob).decode("ascii"), **fields})


# -- forged tensor blobs ------------------------------------------------------------------------


class Storage:
    """A storage record of a forged blob, named in the index by a persistent id."""

    def __init__(self, key: str, numel: int, cls: Any = torch.FloatStorage) -> None:
        self.key, self.numel, self.cls = key, numel, cls


class Rebuild:
    """A tensor of a forged blob: torch._utils._rebuild_tensor_v2 of a storage, any shape and stride."""

    def __init__(self, storage: Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self) -> Any:
        return (torch._utils._rebuild_tensor_v2, self.args)


class Call:
    """Anything weights_only would call, `func(*args)`, in a forged index (bytearray(n), say)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> Any:
        return (self.func, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def forged_blob(
    index: Any,
    records: dict[str, bytes | int],
    *,
    deflate: bool = False,
    prefix: str = "archive",
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A torch.save-shaped archive with any index (pickled as torch.save does) and any records; a
    record given as an int is that many zero bytes, written in pieces. `deflate` compresses the
    records (torch.save never does; torch.load would inflate them: a zip bomb)."""
    pickled = io.BytesIO()
    _Pickler(pickled, protocol=2).dump(index)
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", pickled.getvalue())
        archive.writestr(f"{prefix}/byteorder", b"little")
        for key, data in records.items():
            if isinstance(data, int):
                info = zipfile.ZipInfo(f"{prefix}/data/{key}")
                info.compress_type = method
                with archive.open(info, "w", force_zip64=True) as record:
                    for start in range(0, data, 1 << 24):
                        record.write(bytes(min(1 << 24, data - start)))
            else:
                archive.writestr(f"{prefix}/data/{key}", data, compress_type=method)
        archive.writestr(f"{prefix}/version", b"3\n")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def zero_stride_blob(elements: int) -> bytes:
    """One float stored, claimed as a tensor of `elements` elements (stride 0)."""
    return forged_blob([Rebuild(Storage("0", 1), 0, (elements,), (0,))], {"0": bytes(4)})


def zip_bomb_blob(size: int) -> bytes:
    """A storage record of `size` bytes, deflated to almost nothing."""
    return forged_blob([Rebuild(Storage("0", size // 4), 0, (size // 4,), (1,))], {"0": size}, deflate=True)


def allocating_blob(size: int) -> bytes:
    """An index that has weights_only's unpickler call builtins.bytearray(size)."""
    return forged_blob([Call(bytearray, size), Rebuild(Storage("0", 1), 0, (1,), (1,))], {"0": bytes(4)})
