"""A reply's tensors as raw bytes, read: part of the codec, beside incoming_blob.py (a torch.save blob).

The agent sends the tensors of a reply as raw bytes wherever it can (plain dense CPU tensors of
RAW_DTYPES, the layout grader/bridge/outgoing.py gives a call's tensors on the way in): the reply's
"blob" holds their bytes, one after another, and its "raw" describes them, one
[dtype, shape, offset, nbytes] each. Nothing is unpickled: each tensor is a fresh tensor of the
named dtype and shape, its bytes copied in from the blob. What the kernel says is attacker-
chosen, so all of it is checked before anything is allocated: the description's form, the dtypes
(RAW_DTYPES, all of them among the dtypes a reply may name), the shapes, each tensor's size
(its elements times its dtype's size, exactly its nbytes), its place inside the blob, and the
tensors, elements and bytes of the whole reply against the budget. A bool's bytes are read as
0 and anything else, never as the byte itself.
"""

from __future__ import annotations

import math
from typing import Any

from grader.bridge.budget import DEFAULT, TENSOR_DTYPES, BadReply, Budget, ReplyTooLarge, cut, words
from grader.bridge.outgoing import RAW_DTYPES

__all__ = ["load_raw"]

assert RAW_DTYPES <= TENSOR_DTYPES


def load_raw(blob: bytes, specs: Any, budget: Budget = DEFAULT) -> list[Any]:
    """The tensors `specs` describes in `blob` (BadReply: not so described, or over budget)."""
    import torch

    layout = [_describe(spec, len(blob), budget) for spec in _checked_list(specs, budget)]
    elements = sum(numel for _, _, _, numel, _ in layout)
    size = sum(nbytes for _, _, _, _, nbytes in layout)
    if elements > budget.tensor_elements or size > budget.tensor_bytes:
        raise ReplyTooLarge(
            f"its tensors hold {words(elements)} elements ({words(size)} bytes), more than the "
            f"{words(budget.tensor_elements)} elements and {words(budget.tensor_bytes)} bytes "
            "a reply may hold"
        )
    data = bytearray(blob) if size else bytearray()  # writable: torch.frombuffer warns of a read-only buffer
    tensors = []
    for name, shape, offset, numel, nbytes in layout:
        t = torch.empty(numel, dtype=torch.uint8 if name == "bool" else getattr(torch, name))
        if nbytes:
            t.view(torch.uint8).copy_(torch.frombuffer(data, dtype=torch.uint8, count=nbytes, offset=offset))
        tensors.append((t != 0 if name == "bool" else t).reshape(shape))
    return tensors


def _checked_list(specs: Any, budget: Budget) -> list[Any]:
    if not isinstance(specs, list):
        raise BadReply("its raw tensors are not described as a list")
    if len(specs) > budget.tensors:
        raise ReplyTooLarge(
            f"it holds {words(len(specs))} tensors, more than the {words(budget.tensors)} a reply may hold"
        )
    return specs


def _describe(spec: Any, blob_size: int, budget: Budget) -> tuple[str, list[int], int, int, int]:
    """One tensor's [dtype, shape, offset, nbytes], checked: (dtype, shape, offset, elements, nbytes)."""
    if not (isinstance(spec, list) and len(spec) == 4):
        raise BadReply("its raw tensors are not described as [dtype, shape, offset, bytes]")
    name, shape, offset, nbytes = spec
    if not isinstance(name, str) or name not in RAW_DTYPES:
        what = cut(name) if isinstance(name, str) else type(name).__name__
        raise BadReply(f"it holds a tensor of dtype {what}, which a reply may not carry")
    if not isinstance(shape, list) or len(shape) > budget.tensor_dims or not all(_natural(d) for d in shape):
        raise BadReply(
            f"it describes a tensor's shape as something other than at most {budget.tensor_dims} sizes of zero or more"
        )
    if not _natural(offset) or not _natural(nbytes):
        raise BadReply("it describes a tensor's place in its blob as something other than two counts")
    import torch

    numel = math.prod(shape)
    if numel * getattr(torch, name).itemsize != nbytes:
        raise BadReply(f"it describes a {name} tensor of shape {cut(str(shape))} as {words(nbytes)} bytes")
    if offset + nbytes > blob_size:
        raise BadReply("it describes a tensor beyond the end of its blob")
    return name, shape, offset, numel, nbytes


def _natural(value: Any) -> bool:
    """A count: an int (not a bool) of zero or more."""
    return type(value) is int and value >= 0
