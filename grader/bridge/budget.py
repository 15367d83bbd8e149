"""What a reply from a kernel may be: its budget, the dtypes it may name, and the errors of one
that breaks them. Part of the codec (codec.py reads replies, incoming_blob.py their tensors); every
limit on a reply is a field of Budget, documented there, and nowhere else.

A reply is attacker-chosen (student code can rewrite the agent that sends it), so each limit is
checked before the grader allocates what it would cost: the number of JSON values is bounded
from the text before json.loads builds them, a blob's records from the archive's directory
before torch.load reads them, a tensor's elements before anything makes them contiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grader.failures import CheckFailed

MiB = 1 << 20


class BadReply(CheckFailed):
    """The kernel's reply is not well-formed data. Its message says what, in words a student
    can read after "the kernel's reply ... could not be read as data (...)"."""


class ReplyTooLarge(BadReply):
    """The reply is not text, or larger than its budget allows (its message says which part)."""


class ReplyRefused(BadReply):
    """Reading the reply raised something other than a malformed-data error (torch.load refusing
    a pickle, say); `kind` names the exception, and only the name is ever shown."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Budget:
    """The most one reply may hold. The defaults leave room for any reply the real agent sends
    (inkernel/values.py cuts strings at 100,000 characters and containers at 10,000 items, 20 deep)
    and for tensors as large as a grader can compare."""

    reply_chars: int = 256 * MiB  # the whole reply, its base64 tensor blob included
    json_chars: int = 32 * MiB  # the reply less its tensor blob
    json_values: int = 1_000_000  # JSON values and keys (about 150,000 of the agent's value nodes)
    json_depth: int = 80  # JSON nesting: a value node is up to 3 levels, at most 24 nodes deep
    value_depth: int = 24  # value nodes inside one another (the agent stops at 20)
    string_chars: int = 1 * MiB  # one string of the reply
    tensors: int = 16_384  # tensors in one reply (the agent sends at most 10,000 and the arguments)
    blob_bytes: int = 192 * MiB  # the tensor blob, decoded (3/4 of reply_chars)
    pickle_bytes: int = 4 * MiB  # the blob's index, data.pkl (about 75 bytes a tensor)
    tensor_elements: int = 128 * MiB  # elements of all its tensors together
    tensor_bytes: int = 512 * MiB  # bytes of all its tensors, each as if made contiguous
    tensor_dims: int = 64  # dimensions of one tensor sent as raw bytes (the agent sends more in a blob)
    frame_values: int = 10_000  # JSON values of one door frame, its replies' text aside (the agent's: 8)


DEFAULT = Budget()

# The dtypes a reply may name: numbers and booleans, the kinds checks compare. Anything else
# (void, object, structured, strings, datetimes, quantized, float8, bit-packed) is a BadReply.
TENSOR_DTYPES = frozenset(
    {
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)
NUMPY_DTYPES = frozenset(
    {
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def words(n: int) -> str:
    """A count as a student reads it: 1,048,576."""
    return f"{n:,}"


def cut(text: str, limit: int = 60) -> str:
    """A piece of the kernel's text, short enough to quote in a message."""
    return text if len(text) <= limit else text[:limit] + "..."


def _values_bound(text: str) -> int:
    """An upper bound on the JSON values and keys `text` parses to: each but the first follows a
    `[`, `{`, `,` or `:`. A count of characters only: nothing is built."""
    return text.count(",") + text.count(":") + text.count("[") + text.count("{") + 1


def check_values(text: str, limit: int) -> None:
    """ReplyTooLarge if `text` could parse to more than `limit` JSON values (checked before json.loads).

    The quick bound counts the characters inside strings too; only when it is over the limit are
    the strings taken out (each string is one value, whatever it holds) and the count made again."""
    if _values_bound(text) <= limit:
        return
    if _values_bound(_STRING.sub('""', text)) > limit:
        raise ReplyTooLarge(f"it holds more than {words(limit)} JSON values")


def _string(text: str, budget: Budget) -> int:
    if len(text) > budget.string_chars:
        raise ReplyTooLarge(
            f"it holds a string of {words(len(text))} characters, "
            f"more than the {words(budget.string_chars)} a reply may hold"
        )
    return len(text)


def check_tree(data: Any, budget: Budget, skip: str = "blob") -> int:
    """Walk a parsed reply (no recursion): ReplyTooLarge for a string over budget.string_chars,
    BadReply for nesting deeper than budget.json_depth. `skip` (a top-level key, the tensor blob)
    is left out: its budget is the blob's. Returns the characters of the strings walked."""
    chars = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    # only strings and containers are looked at, and only containers stacked: a reply's leaves are
    # mostly numbers. Parsed JSON holds exact types (str, list, dict, int, float, bool, None).
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str:
            chars += _string(node, budget)
            continue
        if kind is dict:
            children: Any = [item for pair in node.items() if depth or pair[0] != skip for item in pair]
        elif kind is list:
            children = node
        else:
            continue
        if children and depth >= budget.json_depth:
            raise BadReply(f"it is nested more than {budget.json_depth} levels deep")
        for child in children:
            kind = type(child)
            if kind is str:
                chars += _string(child, budget)
            elif kind is list or kind is dict:
                stack.append((child, depth + 1))
    return chars
