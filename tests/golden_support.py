"""What differs from one grading to the next, and JSON with it taken out: shared by the goldens
(tests/goldens/test_goldens.py) and the warm server's comparison with the cold path."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# What differs from one grading to the next: the kernel's private folder, the agent's token; the
# attack notebooks' REPORT lines (what the kernel could see of its machine: pids, uids, a racing
# fork bomb's count); where the checkout and the temporary folder are.
RANDOM = [
    (re.compile(r"/tmp/grader-(?:kernel|forkserver)-[\w.-]+(?:/k-[\w.-]+)?"), "<workdir>"),
    (re.compile(r"grader-(?:kernel|forkserver)-[\w.-]+"), "<workdir>"),
    (re.compile(r"__grader_[0-9a-f]+__"), "<token>"),
    (re.compile(r"REPORT .*", re.S), "REPORT <what the notebook saw>"),
    (re.compile(re.escape(str(ROOT))), "<checkout>"),
    (re.compile(re.escape(tempfile.gettempdir()) + r"/[\w.-]+"), "<tmp>"),
]


def substituted(value: Any, patterns: list[tuple[re.Pattern[str], str]], drop: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON data) with every pattern replaced in its strings, and without the keys in `drop`."""
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [substituted(v, patterns, drop) for v in value]
    if isinstance(value, dict):
        return {k: substituted(v, patterns, drop) for k, v in value.items() if k not in drop}
    return value


def normalise(value: Any) -> Any:
    return substituted(value, RANDOM)
