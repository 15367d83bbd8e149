"""A reply's tensor blob, read: part of the codec, the only code that loads tensors a kernel sent
with torch.load (the agent sends them so only where raw bytes would not carry them: incoming_raw.py).

A blob is what torch.save writes for a list of tensors: a zip archive of stored (uncompressed)
records, `data.pkl` the index and `data/<n>` one storage each. It is attacker-chosen, so it is
vetted in three steps, each before the step that would allocate:

1. the archive's directory (before any record is read): a zip that torch.load opens as such,
   only the records torch.save writes, each stored as it is, their sizes within the blob;
2. the index (before it is unpickled): read opcode by opcode with pickletools, which builds
   nothing; the only globals it may name are the ones torch.save uses for plain tensors of the
   allowed dtypes, so nothing else weights_only would let through (bytearray(n), sparse, nested,
   quantized or meta tensors) is ever called;
3. the tensors torch.load(weights_only=True) built (views of the records, nothing copied yet):
   _plain, dense, on the CPU, of an allowed dtype, and no more elements and bytes than the budget
   allows, counted as if each were made contiguous (a view with stride 0 claims any size).
"""

from __future__ import annotations

import io
import re
from typing import Any

from grader.bridge.budget import DEFAULT, TENSOR_DTYPES, BadReply, Budget, ReplyRefused, ReplyTooLarge, cut, words

ZIP_MAGIC = b"PK\x03\x04"
RECORD = re.compile(
    r"(?P<prefix>[\w.-]{1,64})/(?:data\.pkl|version|\.format_version|\.storage_alignment|byteorder|"
    r"\.data/serialization_id|data/\d{1,9})"
)
STORAGES = {
    "Bool",
    "Byte",
    "Char",
    "Short",
    "Int",
    "Long",
    "Half",
    "BFloat16",
    "Float",
    "Double",
    "ComplexFloat",
    "ComplexDouble",
}
GLOBALS = frozenset(
    {
        "torch._utils _rebuild_tensor_v2",
        "torch._utils _rebuild_tensor_v3",
        "collections OrderedDict",
        "torch.storage UntypedStorage",
    }
    | {f"torch {name}Storage" for name in STORAGES}
    | {f"torch {name}" for name in TENSOR_DTYPES}
)
NAMED_BY_STACK = {"STACK_GLOBAL", "INST", "OBJ", "EXT1", "EXT2", "EXT4"}


def load_tensors(blob: bytes, budget: Budget = DEFAULT) -> list[Any]:
    """A reply's tensor blob as a list of plain tensors (BadReply: it is not one, or over budget).

    torch.load's own errors propagate (the codec reports them as ReplyRefused, by name)."""
    import torch

    if not blob:
        return []
    if len(blob) > budget.blob_bytes:
        raise ReplyTooLarge(
            f"its tensors take {words(len(blob))} bytes, more than the {words(budget.blob_bytes)} a reply may hold"
        )
    _check_pickle(_read_index(blob, budget))
    loaded = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    return _check_tensors(loaded, budget)


def _read_index(blob: bytes, budget: Budget) -> bytes:
    """The archive's data.pkl, once its directory has been vetted (BadReply: not torch.save's)."""
    import zipfile

    if not blob.startswith(ZIP_MAGIC):
        raise BadReply("its tensor blob is not an archive torch.save wrote")
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        entries = archive.infolist()
    except Exception as exc:  # zipfile raises BadZipFile, ValueError, EOFError, struct.error, ...
        raise BadReply(f"its tensor blob is not a readable archive ({type(exc).__name__})") from None
    index = _check_directory(entries, len(blob), budget)
    try:
        return archive.read(index)
    except Exception as exc:  # a bad CRC, a record cut short
        raise BadReply(f"its tensor blob is damaged ({type(exc).__name__})") from None


def _check_directory(entries: list[Any], size: int, budget: Budget) -> str:
    """The name of the index, if every record is one torch.save writes, stored, within the blob."""
    if len(entries) > budget.tensors + 8:
        raise ReplyTooLarge(
            f"its tensor blob holds {words(len(entries))} records, more than {words(budget.tensors)} tensors need"
        )
    names = [e.filename for e in entries]
    prefixes = set()
    for entry in entries:
        match = RECORD.fullmatch(entry.filename)
        if match is None:
            raise BadReply(f"its tensor blob holds a record torch.save does not write ({cut(entry.filename)!r})")
        prefixes.add(match.group("prefix"))
        if entry.compress_type != 0 or entry.compress_size != entry.file_size or entry.file_size > size:
            raise BadReply(f"its tensor blob holds a compressed or oversized record ({cut(entry.filename)!r})")
    index = f"{next(iter(prefixes), '')}/data.pkl"
    if len(prefixes) != 1 or len(set(names)) != len(names) or index not in names:
        raise BadReply("its tensor blob is not laid out as torch.save writes one")
    if sum(e.file_size for e in entries) > size:
        raise BadReply("its tensor blob's records claim more bytes than the blob holds")
    pickled = next(e for e in entries if e.filename == index).file_size
    if pickled > budget.pickle_bytes:
        raise ReplyTooLarge(
            f"its tensor index takes {words(pickled)} bytes, more than the "
            f"{words(budget.pickle_bytes)} a reply may hold"
        )
    return index


def _check_pickle(index: bytes) -> None:
    """ReplyRefused("UnpicklingError") unless the index names only the globals torch.save uses for
    plain tensors (BadReply: not a pickle). pickletools.genops reads opcodes and their arguments;
    it builds and calls nothing."""
    import pickletools

    try:
        for op, arg, _ in pickletools.genops(index):
            if op.name in NAMED_BY_STACK or (op.name == "GLOBAL" and arg not in GLOBALS):
                raise ReplyRefused("UnpicklingError")  # as torch.load's weights_only unpickler says it
    except BadReply:
        raise
    except Exception as exc:  # ValueError for a malformed or truncated pickle
        raise BadReply(f"its tensor index is not a valid pickle ({type(exc).__name__})") from None


def _check_tensors(loaded: Any, budget: Budget) -> list[Any]:
    """What torch.load built, if it is a list of plain dense CPU tensors within the budget: each
    detached (no hooks, no grad) with its conjugate and negative bits resolved."""
    import torch

    if not isinstance(loaded, list) or not all(type(t) is torch.Tensor for t in loaded):
        raise BadReply("the tensor blob is not a list of plain tensors")
    if len(loaded) > budget.tensors:
        raise ReplyTooLarge(
            f"it holds {words(len(loaded))} tensors, more than the {words(budget.tensors)} a reply may hold"
        )
    elements = size = 0
    for t in loaded:
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in TENSOR_DTYPES:
            raise BadReply(f"it holds a tensor of dtype {cut(dtype)}, which a reply may not carry")
        if t.layout != torch.strided or t.is_nested or t.device.type != "cpu":
            raise BadReply(f"it holds a {t.layout} tensor on {t.device.type}; only dense CPU tensors are carried")
        elements += t.numel()
        size += t.numel() * t.element_size()
    if elements > budget.tensor_elements or size > budget.tensor_bytes:
        raise ReplyTooLarge(
            f"its tensors hold {words(elements)} elements ({words(size)} bytes), more than the "
            f"{words(budget.tensor_elements)} elements and {words(budget.tensor_bytes)} bytes "
            "a reply may hold"
        )
    return [_plain(t) for t in loaded]


def _plain(t: Any) -> Any:
    """`t` detached, with no lazy conjugate or negative bit (numpy() and comparisons refuse those)."""
    t = t.detach()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    return t
