"""Properties of the codec, with hypothesis: whatever a kernel sends, reading it gives a value or a
BadReply, nothing else, within a memory bound; and whatever the real agent sends comes back equal.

The hostile replies are random and adversarial node trees (forged dtypes, kinds, indices, strides,
nesting), any JSON, and tensor blobs: torch.save blobs of odd tensors, then truncated or with
bytes overwritten, and forged archives (huge declared shapes with stride 0, storages larger than
their records, deflated records, an index that calls bytearray). A value that comes out is used
as a check would use it (every tensor copied and summed, every array copied).

The memory bound, while this module runs: the address space may grow by at most ADDRESS_SPACE
(RLIMIT_AS, so an allocation past it fails, and the failure is not a BadReply), and no one
reply may make Python allocate more than PYTHON_PEAK at once (tracemalloc).
"""

from __future__ import annotations

import base64
import json
import math
import resource
import tracemalloc
from typing import Any, Iterator

import numpy
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec_support import Call, Rebuild, Storage, agent_reply, forged_blob, saved
from grader.bridge.codec import BadReply, read_reply

ADDRESS_SPACE = 3 << 30
PYTHON_PEAK = 64 << 20
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


@pytest.fixture(autouse=True, scope="module")
def memory_bound() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + ADDRESS_SPACE
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def use(value: Any) -> None:
    """Touch a decoded value as a check would: copy and reduce every tensor, copy every array."""
    if isinstance(value, torch.Tensor):
        copy = value.clone()
        copy.to(torch.float64 if not copy.is_complex() else torch.complex128).sum()
    elif isinstance(value, numpy.ndarray):
        numpy.array(value, copy=True)
    elif isinstance(value, (list, tuple)):
        for item in value:
            use(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            use(key)
            use(item)


def read_as_the_bridge_does(raw: Any) -> str:
    """'value', 'bad' (a BadReply somewhere), with the Python peak checked; anything else raises."""
    tracemalloc.reset_peak()
    outcome = "value"
    try:
        reply = read_reply(raw)
        for key in ("value", "args_after"):
            try:
                use(reply.value(key))
            except BadReply:
                outcome = "bad"
    except BadReply:
        outcome = "bad"
    peak = tracemalloc.get_traced_memory()[1]
    assert peak < PYTHON_PEAK, f"reading one reply made Python allocate {peak} bytes"
    return outcome


# -- strategies -----------------------------------------------------------------------------------

HUGE = st.sampled_from([0, 1, 2, 3, 7, 2**31 - 1, 2**31, 2**32, 2**40, 10**12, 2**62, 2**63 - 1, -1, -(2**31)])
SMALL = st.integers(-3, 8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HUGE | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)
DTYPE_NAMES = st.sampled_from(
    [
        "V1000000000",
        "V8",
        "V2147483647",
        "object",
        "O",
        "<U100000000",
        "S2000000000",
        "datetime64[ns]",
        "timedelta64",
        "float128",
        "longdouble",
        "[('a','<i4')]",
        "(3,)f8",
        "<f8",
        "bool",
        "int8",
        "uint8",
        "int64",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "bfloat16",
    ]
) | st.text(max_size=12)
KINDS = st.sampled_from(
    ["json", "float", "npscalar", "tensor", "ndarray", "list", "tuple", "dict", "callable", "opaque"]
) | st.text(max_size=10)


def _node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({"t": st.sampled_from(["list", "tuple"]), "items": st.lists(children, max_size=4)}),
        st.fixed_dictionaries({"t": st.just("dict"), "items": st.lists(st.lists(children, max_size=3), max_size=3)}),
        st.fixed_dictionaries({"t": st.just("npscalar"), "dtype": DTYPE_NAMES, "v": children}),
        st.fixed_dictionaries(
            {"t": KINDS},
            optional={
                "v": JSON,
                "items": JSON,
                "i": SMALL | HUGE,
                "dtype": DTYPE_NAMES,
                "stride": JSON,
                "device": JSON,
                "cls": JSON,
                "storage": JSON,
                "offset": JSON,
                "type": JSON,
                "name": JSON,
                "repr": JSON,
                "requires_grad": JSON,
            },
        ),
    )


LEAF = st.one_of(
    st.fixed_dictionaries({"t": st.just("json"), "v": JSON}),
    st.fixed_dictionaries({"t": st.just("float"), "v": st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999", ""])}),
    st.fixed_dictionaries(
        {"t": st.sampled_from(["tensor", "ndarray"]), "i": SMALL},
        optional={"stride": st.lists(HUGE, max_size=4) | JSON, "device": JSON},
    ),
    JSON,
)
NODES = st.recursive(LEAF, _node, max_leaves=30)
DEEP = st.one_of(  # as text: deeper than json.dumps could write it
    st.integers(20, 5000).map(lambda n: '{"blob": "", "value": ' + '{"t": "list", "items": [' * n + "]}" * n + "}"),
    st.integers(20, 5000).map(lambda n: '{"blob": "", "value": {"t": "json", "v": ' + "[" * n + "]" * n + "}}"),
)

ODD_DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint16,
    torch.uint32,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
    torch.float8_e4m3fn,
    torch.float8_e5m2,
    torch.complex32,
]


@st.composite
def odd_tensors(draw: st.DrawFn) -> torch.Tensor:
    """A small tensor of any dtype, maybe a view of it: expanded, strided, transposed, conjugated."""
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=3))
    t = torch.zeros(shape).to(draw(st.sampled_from(ODD_DTYPES)))
    view = draw(st.sampled_from(["plain", "expand", "step", "transpose", "conj", "sparse"]))
    if view == "expand":
        t = t.reshape(-1)[:1].expand(draw(st.integers(0, 10**6))) if t.numel() else t
    elif view == "step" and t.dim() and t.shape[0]:
        t = t[::2]
    elif view == "transpose" and t.dim() >= 2:
        t = t.transpose(0, 1)
    elif view == "conj" and t.is_complex() and t.dtype != torch.complex32:
        t = t.conj()
    elif view == "sparse" and t.dtype == torch.float32 and t.dim():
        t = t.to_sparse()
    return t


@st.composite
def forged_blobs(draw: st.DrawFn) -> bytes:
    """A torch.save-shaped archive of forged tensors: any storage size, record, shape, stride, offset."""
    index: list[Any] = []
    records: dict[str, bytes | int] = {}
    for key in range(draw(st.integers(1, 3))):
        numel = draw(st.integers(0, 16) | HUGE.filter(lambda n: n >= 0))
        records[str(key)] = bytes(draw(st.integers(0, 64)))
        rank = draw(st.integers(0, 4))
        size = tuple(draw(st.lists(st.integers(0, 4) | HUGE.filter(lambda n: n >= 0), min_size=rank, max_size=rank)))
        stride = tuple(draw(st.lists(st.integers(0, 3) | HUGE.filter(lambda n: n >= 0), min_size=rank, max_size=rank)))
        storage = Storage(
            str(key), numel, draw(st.sampled_from([torch.FloatStorage, torch.ByteStorage, torch.DoubleStorage]))
        )
        index.append(Rebuild(storage, draw(st.integers(0, 8) | HUGE.filter(lambda n: n >= 0)), size, stride))
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), Call(bytearray, draw(HUGE.filter(lambda n: n >= 0))))
    return forged_blob(index, records, deflate=draw(st.booleans()))


@st.composite
def damaged(draw: st.DrawFn, blobs: st.SearchStrategy[bytes]) -> bytes:
    """A blob cut short, or with bytes overwritten (sizes and offsets in its headers included)."""
    blob = bytearray(draw(blobs))
    how = draw(st.sampled_from(["cut", "flip", "size"]))
    if how == "cut" and blob:
        return bytes(blob[: draw(st.integers(0, len(blob) - 1))])
    for _ in range(draw(st.integers(1, 8))):
        if not blob:
            break
        at = draw(st.integers(0, len(blob) - 1))
        if how == "flip":
            blob[at] = draw(st.integers(0, 255))
        else:  # a 4-byte field overwritten with a large number
            blob[at : at + 4] = draw(HUGE.filter(lambda n: n >= 0)).to_bytes(8, "little")[:4]
    return bytes(blob)


TORCH_SAVED = st.lists(odd_tensors(), min_size=1, max_size=3).map(saved)
BLOBS = st.one_of(
    st.just(b""),
    TORCH_SAVED,
    forged_blobs(),
    damaged(TORCH_SAVED),
    damaged(forged_blobs()),
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
)


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


REPLIES = (
    st.fixed_dictionaries(
        {"value": NODES},
        optional={
            "ok": JSON,
            "args_after": NODES,
            "ns": JSON,
            "missing": JSON,
            "blob": BLOBS.map(_b64) | JSON | st.text(max_size=20),
        },
    ).map(json.dumps)
    | DEEP
)


# -- the properties -------------------------------------------------------------------------------


@PROPERTY
@given(REPLIES)
def test_any_forged_reply_is_a_value_or_a_bad_reply(raw: str) -> None:
    assert read_as_the_bridge_does(raw) in ("value", "bad")


@PROPERTY
@given(BLOBS, st.lists(st.integers(-1, 3), min_size=1, max_size=3))
def test_any_tensor_blob_is_tensors_or_a_bad_reply(blob: bytes, indices: list[int]) -> None:
    nodes = [{"t": kind, "i": i} for i, kind in zip(indices, ["tensor", "ndarray", "tensor"])]
    raw = json.dumps({"ok": True, "value": {"t": "list", "items": nodes}, "blob": _b64(blob)})
    assert read_as_the_bridge_does(raw) in ("value", "bad")


@PROPERTY
@given(st.text(max_size=300) | JSON.map(json.dumps) | st.binary(max_size=100) | st.none())
def test_any_text_at_all_is_a_value_or_a_bad_reply(raw: Any) -> None:
    assert read_as_the_bridge_does(raw) in ("value", "bad")


PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["bool", "int8", "uint8", "int32", "int64", "float16", "float32"]).flatmap(
        lambda name: st.integers(0, 100).map(lambda n: numpy.dtype(name).type(n))
    )
    | odd_tensors().filter(
        lambda t: t.layout == torch.strided and t.dtype not in (torch.float8_e4m3fn, torch.float8_e5m2, torch.complex32)
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(-(2**63), 2**63), inner, max_size=3)
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return (
            type(b) is torch.Tensor and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.resolve_conj(), b)
        )
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, numpy.generic):
        return type(a) is type(b) and a == b
    return type(a) is type(b) and a == b


@PROPERTY
@given(PLAIN)
def test_what_the_real_agent_sends_comes_back_equal(value: Any) -> None:
    got = read_reply(agent_reply(value)).value()
    assert same(value, got), (value, got)
