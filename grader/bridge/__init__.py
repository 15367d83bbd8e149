"""The trust boundary: requests into the kernel and replies out of it, as data only.

codec.py is the only place where kernel bytes become values; routes.py the ways a request
reaches the kernel's agent (its socket door, a shell message, a cell); client.py the bridges
and the `nb` proxy; agent.py the agent's source, sent into the kernel as text.

The public names of the checks API live here (`tensor_meta`, `Remote`, `Opaque`); the rest is
the grader's own.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Opaque", "Remote", "TensorMeta", "tensor_meta"]


def __getattr__(name: str) -> Any:
    # lazily, so `import grader.bridge` stays cheap (the codec imports torch where it is used)
    if name in __all__:
        from grader.bridge import codec

        return getattr(codec, name)
    raise AttributeError(name)
