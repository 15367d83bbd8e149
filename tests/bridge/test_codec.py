"""The codec: what comes back from a kernel becomes a value, or a BadReply that fails the check in
the student's words, and nothing else; every budget is checked before the grader allocates.

Legitimate replies are made by the agent's own encoder (its kernel-side text, run here); forged
ones as a notebook that rewrites the agent would make them. The words asserted are those the
bridge puts in the failed check (AgentBridge.read and value_of).
"""

from __future__ import annotations

import collections
import json
import time
import tracemalloc
from dataclasses import replace

import numpy
import pytest
import torch

from codec_support import (
    Call,
    Rebuild,
    Storage,
    agent_reply,
    allocating_blob,
    forged_blob,
    reply,
    saved,
    zero_stride_blob,
    zip_bomb_blob,
)
from grader.nb.calls import AgentBridge
from grader.bridge.codec import DEFAULT, BadReply, ReplyRefused, ReplyTooLarge, read_reply, tensor_meta
from grader.bridge.door_frames import read_frame
from grader.failures import CheckFailed


def words_for(raw: str) -> str:
    """The message of the check a reply answers, as the student reads it."""
    bridge = AgentBridge([])
    with pytest.raises(CheckFailed) as failed:
        bridge.value_of(bridge.read(raw, "`activation`"))
    assert type(failed.value) is CheckFailed  # the bridge's own failure, not a codec error
    return failed.value.message


def value_of(raw: str) -> object:
    return read_reply(raw).value()


# -- real replies still come through ---------------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint16,
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
    ],
)
def test_a_tensor_of_every_allowed_dtype_comes_back_equal(dtype: torch.dtype) -> None:
    t = (torch.arange(12) % 2).to(dtype).reshape(3, 4)
    got = value_of(agent_reply(t))
    assert type(got) is torch.Tensor and got.dtype == dtype and torch.equal(got, t)


def test_views_numpy_values_and_containers_come_back_as_the_agent_sent_them() -> None:
    base = torch.arange(12.0)
    value = {
        "view": base.view(3, 4)[:, 1],
        "array": numpy.arange(6, dtype=numpy.int16).reshape(2, 3),
        "scalar": numpy.float32(1.5),
        "flag": numpy.bool_(True),
        "items": [1, 2.5, "three", None, (4,)],
        "conj": torch.tensor([1 + 2j]).conj(),
        "nan": float("nan"),
    }
    got = value_of(agent_reply(value))
    assert torch.equal(got["view"], base.view(3, 4)[:, 1])
    assert tensor_meta(got["view"]).stride == (4,) and tensor_meta(got["view"]).offset == 1
    assert got["array"].dtype == numpy.int16 and got["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(got["scalar"]) is numpy.float32 and got["scalar"] == 1.5
    assert type(got["flag"]) is numpy.bool_ and got["flag"]
    assert got["items"] == [1, 2.5, "three", None, (4,)]
    assert torch.equal(got["conj"], torch.tensor([1 - 2j])) and not got["conj"].is_conj()
    assert got["nan"] != got["nan"]


def test_a_reply_at_each_limit_is_read_and_one_past_it_is_not() -> None:
    at_limit = reply({"t": "json", "v": "x" * DEFAULT.string_chars})
    assert value_of(at_limit) == "x" * DEFAULT.string_chars
    with pytest.raises(ReplyTooLarge, match="a string of 1,048,577 characters"):
        read_reply(reply({"t": "json", "v": "x" * (DEFAULT.string_chars + 1)}))
    small = replace(DEFAULT, tensors=2, tensor_elements=10)
    assert len(read_reply(agent_reply([torch.zeros(5), torch.zeros(5)]), small).tensors) == 2
    with pytest.raises(ReplyTooLarge, match="3 tensors"):
        read_reply(agent_reply([torch.zeros(1)] * 3), small)
    with pytest.raises(ReplyTooLarge, match="11 elements"):
        read_reply(agent_reply([torch.zeros(5), torch.zeros(6)]), small)


# -- dtypes: only numbers and booleans ----------------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [
        "V1000000000",
        "V8",
        "object",
        "O",
        "<U10",
        "S5",
        "datetime64[ns]",
        "float128",
        "longdouble",
        "[('a', '<i4')]",
        "<f8",
        "int",
    ],
)
def test_a_numpy_scalar_of_any_other_dtype_fails_the_check_naming_it(dtype: str) -> None:
    message = words_for(reply({"t": "npscalar", "dtype": dtype, "v": {"t": "json", "v": 0}}))
    assert message == (
        f"the kernel's reply could not be read as data (a NumPy scalar of dtype {dtype!r}; "
        "only bool, integer, float and complex dtypes are carried)"
    )


def test_a_forged_void_dtype_allocates_nothing() -> None:
    raw = json.dumps(
        {
            "ok": True,
            "blob": "",
            "value": {
                "t": "list",
                "items": [{"t": "npscalar", "dtype": "V1000000000", "v": {"t": "json", "v": 0}}] * 1000,
            },
        }
    )
    tracemalloc.start()
    try:
        with pytest.raises(BadReply, match="V1000000000"):
            value_of(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, peak


@pytest.mark.parametrize(
    "node,words",
    [
        (
            {"t": "npscalar", "dtype": "int8", "v": {"t": "json", "v": 300}},
            "a NumPy int8 scalar whose value does not fit it",
        ),
        (
            {"t": "npscalar", "dtype": "float64", "v": {"t": "list", "items": [{"t": "json", "v": 1}] * 3}},
            "a NumPy float64 scalar whose value is not a number",
        ),
        (
            {"t": "npscalar", "dtype": "int64", "v": {"t": "json", "v": "9" * 100}},
            "a NumPy int64 scalar whose value is not a number",
        ),
        ({"t": "dict", "items": [[{"t": "json", "v": 1}]]}, "malformed dict item"),
        ({"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "json", "v": 1}]]}, "unhashable key"),
        ({"t": "opaque", "type": {"t": "json"}, "repr": "x"}, "malformed name"),
        ({"t": "x" * 10000}, "unknown value kind 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),
    ],
)
def test_a_malformed_node_fails_in_words_never_with_a_raw_error(node: dict, words: str) -> None:
    assert words_for(reply(node)) == f"the kernel's reply could not be read as data ({words})"


def test_a_malformed_tensor_description_is_a_bad_reply() -> None:
    raw = reply({"t": "tensor", "i": 0, "stride": ["a"]}, saved([torch.zeros(3)]))
    assert words_for(raw) == "the kernel's reply could not be read as data (malformed tensor stride)"


@pytest.mark.parametrize(
    "tensor,words",
    [
        (torch.zeros(3).to(torch.float8_e4m3fn), "refused: UnpicklingError"),
        (torch.zeros(3, 3).to_sparse(), "refused: UnpicklingError"),
        (torch.zeros(3, device="meta"), "refused: UnpicklingError"),
        (torch.zeros(3, dtype=torch.complex32), "refused: UnpicklingError"),
    ],
)
def test_a_tensor_of_a_dtype_or_layout_checks_do_not_compare_is_refused(tensor: torch.Tensor, words: str) -> None:
    bridge = AgentBridge([])
    with pytest.raises(CheckFailed) as failed:
        bridge.read(reply({"t": "tensor", "i": 0}, saved([tensor])), "`activation`")
    assert failed.value.message == f"the kernel's reply for `activation` was {words}"


def test_a_numpy_array_of_a_dtype_numpy_lacks_is_a_bad_reply() -> None:
    raw = reply({"t": "ndarray", "i": 0}, saved([torch.zeros(2, dtype=torch.bfloat16)]))
    assert "a NumPy array of a dtype NumPy does not have (torch.bfloat16)" in words_for(raw)


# -- the budget, before allocating ---------------------------------------------------------------


def test_deep_nesting_fails_the_check() -> None:
    deep_json = '{"ok": true, "blob": "", "value": ' + "[" * 200000 + "]" * 200000 + "}"
    bridge = AgentBridge([])
    with pytest.raises(
        CheckFailed, match=r"for `activation` could not be read as data \(the reply is nested too deeply"
    ):
        bridge.read(deep_json, "`activation`")
    nodes = {"t": "json", "v": 1}
    for _ in range(30):
        nodes = {"t": "list", "items": [nodes]}
    assert (
        words_for(reply(nodes))
        == "the kernel's reply could not be read as data (its value is nested more than 24 levels deep)"
    )


def test_too_many_json_values_are_refused_before_they_are_built() -> None:
    raw = '{"ok": true, "blob": "", "value": {"t": "json", "v": 0}, "x": [' + "1.5," * 2_000_000 + "0]}"
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(ReplyTooLarge, match="more than 1,000,000 JSON values"):
            read_reply(raw)
        seconds = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # json.loads would have built 2,000,001 floats and a list of them: 8 times the reply's size.
    # Counting takes at most one copy of the text (its strings taken out), nothing per value.
    assert peak < 2.5 * len(raw), (peak, len(raw))
    assert seconds < 2.0, seconds


def test_commas_inside_strings_are_not_values() -> None:
    raw = reply({"t": "json", "v": 0}, notes=["," * 900_000, ":[{" * 300_000])
    assert value_of(raw) == 0


def test_a_too_large_reply_is_too_large_to_grade() -> None:
    bridge = AgentBridge([])
    for raw, why in (
        (
            reply({"t": "json", "v": "y" * (8 * 2**20)}),
            "it holds a string of 8,388,608 characters, more than the 1,048,576 a reply may hold",
        ),
        (
            agent_reply(torch.zeros(1).expand(10**9)),
            "its tensors hold 1,000,000,000 elements (4,000,000,000 "
            "bytes), more than the 134,217,728 elements and 536,870,912 bytes a reply may hold",
        ),
        ({"not": "text"}, "the reply is not text"),
    ):
        with pytest.raises(CheckFailed) as failed:
            bridge.read(raw, "`activation`")
        assert failed.value.message == f"the kernel's reply for `activation` is too large to grade: {why}"
    short = replace(DEFAULT, reply_chars=100)
    with pytest.raises(ReplyTooLarge, match="the reply is 101 characters long, more than the 100 a reply may be"):
        read_reply(" " * 101, short)


# -- tensor blobs ------------------------------------------------------------------------------


def test_a_zero_stride_tensor_claiming_a_trillion_elements_is_too_large() -> None:
    with pytest.raises(ReplyTooLarge, match="1,000,000,000,000 elements"):
        read_reply(reply({"t": "tensor", "i": 0}, zero_stride_blob(10**12)))


def test_a_zip_bomb_is_refused_from_the_archive_directory() -> None:
    raw = reply({"t": "tensor", "i": 0}, zip_bomb_blob(64 * 2**20))  # 88 KB that torch.load would inflate to 64 MB
    tracemalloc.start()
    try:
        with pytest.raises(BadReply, match="compressed or oversized record"):
            read_reply(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(raw), (peak, len(raw))


def test_an_index_that_would_call_bytearray_is_refused_before_unpickling() -> None:
    with pytest.raises(ReplyRefused, match="UnpicklingError"):
        read_reply(reply({"t": "tensor", "i": 1}, allocating_blob(2**40)))


@pytest.mark.parametrize(
    "blob,words",
    [
        (saved([torch.zeros(3)])[:300], "its tensor blob is not a readable archive (BadZipFile)"),
        (b"\x80\x02not a zip", "its tensor blob is not an archive torch.save wrote"),
        (
            forged_blob(
                [Rebuild(Storage("0", 1), 0, (1,), (1,))], {"0": bytes(4)}, extra={"archive/constants.pkl": b"x"}
            ),
            "its tensor blob holds a record torch.save does not write ('archive/constants.pkl')",
        ),
        (
            forged_blob([Rebuild(Storage("0", 1), 0, (1,), (1,))], {"0": bytes(4)}, extra={"other/data.pkl": b"x"}),
            "its tensor blob is not laid out as torch.save writes one",
        ),
    ],
)
def test_a_damaged_or_foreign_archive_is_a_bad_reply(blob: bytes, words: str) -> None:
    bridge = AgentBridge([])
    with pytest.raises(CheckFailed) as failed:
        bridge.read(reply({"t": "tensor", "i": 0}, blob), "`activation`")
    assert failed.value.message == f"the kernel's reply for `activation` could not be read as data ({words})"


def test_a_legacy_torch_save_blob_is_not_loaded() -> None:
    import io

    buf = io.BytesIO()
    torch.save([torch.zeros(3)], buf, _use_new_zipfile_serialization=False)
    with pytest.raises(BadReply, match="not an archive torch.save wrote"):
        read_reply(reply({"t": "tensor", "i": 0}, buf.getvalue()))


def test_a_record_shorter_than_its_storage_is_refused_by_torch_load() -> None:
    blob = forged_blob([Rebuild(Storage("0", 10**9), 0, (3,), (1,))], {"0": bytes(12)})
    with pytest.raises(ReplyRefused, match="RuntimeError"):
        read_reply(reply({"t": "tensor", "i": 0}, blob))


def test_a_forged_index_of_plain_tensors_loads_and_anything_else_in_it_is_a_bad_reply() -> None:
    blob = forged_blob([Rebuild(Storage("0", 3), 0, (3,), (1,))], {"0": bytes(12)})
    assert torch.equal(value_of(reply({"t": "tensor", "i": 0}, blob)), torch.zeros(3))
    blob = forged_blob([Rebuild(Storage("0", 3), 0, (3,), (1,)), Call(collections.OrderedDict)], {"0": bytes(12)})
    with pytest.raises(BadReply, match="not a list of plain tensors"):
        read_reply(reply({"t": "tensor", "i": 0}, blob))


# -- door frames --------------------------------------------------------------------------------


def test_a_door_frame_is_read_or_taken_for_noise() -> None:
    good = json.dumps({"id": 3, "status": "ok", "replies": [agent_reply(1)], "output": "hi"}).encode()
    frame = read_frame(good)
    assert frame is not None and frame.ident == 3 and frame.output == "hi" and len(frame.replies) == 1
    assert read_frame(b"[" * 100000 + b"]" * 100000) is None
    assert read_frame(json.dumps({"id": 1, "x": [0] * 20000}).encode()) is None
    assert read_frame(b"\xff\xfe{}") is None
    error = read_frame(json.dumps({"id": 1, "status": "error", "ename": ["x"], "evalue": "e" * 5000}).encode())
    assert error is not None and error.ename == "" and error.evalue == "e" * 2000


# -- raw tensors (incoming_raw.py) ---------------------------------------------------------------------


def raw_reply(specs: object, data: bytes, value: object = None) -> str:
    """A forged reply whose blob is raw bytes as `specs` describes them."""
    return reply(value or {"t": "tensor", "i": 0}, data, raw=specs)


def test_the_agent_sends_plain_tensors_as_raw_bytes_and_the_rest_as_an_archive() -> None:
    plain = json.loads(agent_reply([torch.ones(2, 3), torch.arange(4)[::2], torch.tensor(True)]))
    assert plain["raw"] == [["float32", [2, 3], 0, 24], ["int64", [2], 32, 16], ["bool", [], 48, 1]]
    expanded = json.loads(agent_reply(torch.zeros(1).expand(1000)))  # stays one 4-byte record of an archive
    assert "raw" not in expanded and expanded["blob"]
    got = value_of(agent_reply([torch.ones(2, 3), torch.arange(4)[::2], torch.tensor(True), torch.zeros(0, 5)]))
    assert torch.equal(got[1], torch.tensor([0, 2])) and got[2].dtype == torch.bool and got[3].shape == (0, 5)


def test_bool_bytes_other_than_0_and_1_read_as_true() -> None:
    got = value_of(raw_reply([["bool", [3], 0, 3]], bytes([0, 1, 200])))
    assert got.dtype == torch.bool and got.tolist() == [False, True, True]


@pytest.mark.parametrize(
    "specs, data, words",
    [
        ({"float32": [1]}, b"", "its raw tensors are not described as a list"),
        ([["float32", [1], 0]], bytes(4), "not described as [dtype, shape, offset, bytes]"),
        ([["object", [1], 0, 8]], bytes(8), "a tensor of dtype object, which a reply may not carry"),
        ([["uint16", [1], 0, 2]], bytes(2), "a tensor of dtype uint16, which a reply may not carry"),
        ([[7, [1], 0, 8]], bytes(8), "a tensor of dtype int, which a reply may not carry"),
        ([["float32", [-1], 0, 4]], bytes(4), "a tensor's shape as something other than at most 64 sizes"),
        ([["float32", [True], 0, 4]], bytes(4), "a tensor's shape as something other than"),
        ([["float32", [1] * 65, 0, 4]], bytes(4), "a tensor's shape as something other than at most 64 sizes"),
        ([["float32", [1], -4, 4]], bytes(8), "a tensor's place in its blob as something other than two counts"),
        ([["float32", [2], 0, 4]], bytes(8), "a float32 tensor of shape [2] as 4 bytes"),
        ([["float32", [2], 4, 8]], bytes(8), "a tensor beyond the end of its blob"),
        ([["float32", [10**6, 10**6], 0, 4 * 10**12]], bytes(8), "a tensor beyond the end of its blob"),
    ],
)
def test_a_forged_raw_description_is_a_bad_reply_before_anything_is_allocated(
    specs: object, data: bytes, words: str
) -> None:
    with pytest.raises(BadReply) as failed:
        read_reply(raw_reply(specs, data))
    assert words in str(failed.value.message)


def test_raw_tensors_over_the_budget_are_too_large() -> None:
    small = replace(DEFAULT, tensors=2, tensor_elements=10)
    with pytest.raises(ReplyTooLarge, match="it holds 3 tensors, more than the 2"):
        read_reply(raw_reply([["uint8", [1], 0, 1]] * 3, bytes(1)), small)
    with pytest.raises(ReplyTooLarge, match="its tensors hold 16 elements"):
        read_reply(raw_reply([["uint8", [8], 0, 8]] * 2, bytes(8)), small)
    assert read_reply(raw_reply([["uint8", [5], 0, 5]] * 2, bytes(5)), small).tensors[1].tolist() == [0] * 5
