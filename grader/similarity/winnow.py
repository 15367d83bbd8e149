"""Winnowing over Pygments tokens, the algorithm of MOSS as copydetect documents and implements it
(its `filter_code`, `hashed_kgrams`, `winnow`, `get_token_coverage`), here on numpy arrays.

copydetect itself is not imported (docs/similarity.md, "Why not copydetect itself"): importing any
part of it imports matplotlib, and its k-gram hash is Python's `hash()` of a string, which differs
from one process to the next, so fingerprints kept in a gradebook by one batch could never be
compared with another's. The steps and their defaults are copydetect's:

    normalise   each token becomes what it is, not what it is called: a variable or attribute
                V, a function name F, a class name O, a string S; whitespace and comments vanish
    k-grams     every run of NOISE characters of the normalised text is hashed (stable: the same
                code gives the same hashes in every process, machine and year)
    winnow      in every window of WINDOW consecutive hashes the smallest is kept (the rightmost
                of equals): any match of GUARANTEE or more normalised characters shares a hash
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import Any

NOISE = 25  # k: matches shorter than this are never seen (copydetect's noise_t)
GUARANTEE = 30  # matches this long are always seen (copydetect's guarantee_t)
WINDOW = GUARANTEE - NOISE + 1  # winnowing window
METHOD = f"winnow-k{NOISE}-w{WINDOW}-v1"  # fingerprints of another method are never compared with these
_BASE = 1_000_003
_MIX = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class Normalised:
    """A piece of code as winnowing sees it: one character per position of `text`, each knowing
    the span of the source it came from."""

    text: str
    starts: Any  # int32 array: where in the source each character's token begins
    ends: Any  # int32 array: where it ends
    tokens: int  # tokens that count (not whitespace, not comments)


@functools.lru_cache(maxsize=1)
def _lexer() -> Any:
    from pygments.lexers.python import PythonLexer

    return PythonLexer()


def normalise(code: str) -> Normalised:
    """copydetect's filter_code for Python, keeping each character's source span."""
    import numpy as np

    out: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (characters out, source start, source end)
    words = _categories()
    for index, kind, value in _lexer().get_tokens_unprocessed(code):
        word = words.get(kind)
        if word is None:
            word = words[kind] = _category(kind)
        if word == "":
            continue
        if word == "=":  # a token that stands for itself
            word = value.strip()
            if not word:
                continue
        elif word == "'":  # a string: its quotes stay, what it says does not
            word = '"' if value in ("'", '"') else "S"
        out.append(word)
        spans.append((len(word), index, index + len(value)))
    sizes = np.array([s[0] for s in spans], dtype=np.int64)
    starts = np.repeat(np.array([s[1] for s in spans], dtype=np.int32), sizes)
    ends = np.repeat(np.array([s[2] for s in spans], dtype=np.int32), sizes)
    return Normalised("".join(out), starts, ends, len(spans))


@functools.lru_cache(maxsize=1)
def _categories() -> dict[Any, str]:
    return {}


def _category(kind: Any) -> str:
    """What a Pygments token type becomes: V, F, O; "" (dropped); "'" a string; "=" itself."""
    from pygments import token

    if kind in (token.Name, token.Name.Variable, token.Name.Attribute):
        return "V"
    if kind in token.Name.Function:
        return "F"
    if kind in token.Name.Class:
        return "O"
    if kind in token.Text or kind in token.Comment:
        return ""
    if kind in token.Literal.String:
        return "'"
    return "="


def kgram_hashes(text: str, k: int = NOISE) -> Any:
    """A stable 64-bit hash of every k characters of `text` (int64 array, len(text) - k + 1 long)."""
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    base = np.uint64(_BASE)
    for j in range(k):
        h = h * base + codes[j : j + n]
    h ^= h >> np.uint64(29)
    h *= np.uint64(_MIX)
    h ^= h >> np.uint64(32)
    return h.view(np.int64)


def winnow(hashes: Any, window: int = WINDOW) -> Any:
    """Positions chosen by robust winnowing: each window's smallest hash, the rightmost of equals."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= window:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    windows = sliding_window_view(hashes, window)
    rightmost = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(len(windows)) + rightmost)


def coverage(positions: Any, k: int = NOISE) -> int:
    """Normalised characters covered by k-grams starting at `positions` (copydetect's token coverage)."""
    import numpy as np

    if len(positions) == 0:
        return 0
    p = np.unique(positions)
    return int(np.minimum(np.diff(p), k).sum()) + k


def pack(array: Any, dtype: str) -> str:
    import numpy as np

    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def unpack(text: str, dtype: str) -> Any:
    import numpy as np

    return np.frombuffer(base64.b64decode(text.encode("ascii")), dtype=dtype)
