"""The trust boundary: requests into the kernel and replies out of it, as data only.

The public names of the checks API live here (`tensor_meta`, `Remote`, `Opaque`); the rest is
the grader's own.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Opaque", "Remote", "TensorMeta", "tensor_meta"]


def __getattr__(name: str) -> Any:
    # lazily, so `import grader.bridge` stays cheap (the client imports torch where it is used)
    if name in __all__:
        from grader.bridge import client

        return getattr(client, name)
    raise AttributeError(name)
