"""The one exchange that runs the other way: a stand-in in the kernel asks the grader for a
reference exercise's value during a call (error carried forward, grader/checks/carry.py).

The question is attacker-chosen bytes like any reply: its arguments are read by the codec
(read_ask, read_reply) under ASK_BUDGET; only the exercises this re-run stands in for are
answered, at most MAX_ASKS times; the reference runs here, in the grader's process, and only
its value goes back (encoded as a call's arguments are, outgoing.py), never its code. Anything
that goes wrong is a `problem` in words for the check, and the stand-in raises in the kernel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from grader.bridge.budget import Budget, MiB, words
from grader.bridge.codec import BadReply, ReplyRefused, ReplyTooLarge, read_reply
from grader.bridge.door_frames import read_ask
from grader.bridge.outgoing import encode_arguments, pack_tensors

__all__ = ["ASK_BUDGET", "MAX_ASKS", "Asks"]

# One question or one answer: far below a reply's budget, as a stand-in's values are one exercise's
ASK_BUDGET = Budget(
    reply_chars=16 * MiB,
    json_chars=2 * MiB,
    json_values=100_000,
    blob_bytes=12 * MiB,
    tensors=256,
    tensor_elements=3 * MiB,
    tensor_bytes=24 * MiB,
)
MAX_ASKS = 1000  # questions in one re-run of one check


@dataclass
class Asks:
    """The references one re-run may ask for, by exercise; what was asked and what went wrong."""

    references: Mapping[str, Callable[..., Any]]
    budget: Budget = ASK_BUDGET
    count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.references)

    def answer(self, frame: bytes) -> bytes | None:
        """The answer frame to a stand-in's question; None: the frame is not a question."""
        asked = read_ask(frame, self.budget)
        if asked is None:
            return None
        name, raw = asked
        try:
            value = self.value_for(name, raw)
            return json.dumps(self.encoded(name, value)).encode()
        except _Refused as refused:
            if str(refused) not in self.problems:
                self.problems.append(str(refused))
            return json.dumps({"ok": False, "why": str(refused)}).encode()

    def value_for(self, name: str, raw: str) -> Any:
        self.count += 1
        if name not in self.references:
            raise _Refused(f"the kernel asked for `{name[:60]}`, which this re-run does not stand in for")
        if self.count > MAX_ASKS:
            raise _Refused(f"`{name}` was called more than {MAX_ASKS} times in one re-run")
        try:
            reply = read_reply(raw, self.budget)
            args, kwargs = reply.value()
        except ReplyTooLarge as exc:
            raise _Refused(
                f"the arguments your code passed to `{name}` are too large to send to the grader: {exc}"
            ) from None
        except (ReplyRefused, BadReply, TypeError, ValueError) as exc:
            raise _Refused(f"the arguments your code passed to `{name}` could not be read as data ({exc})") from None
        if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise _Refused(f"the arguments your code passed to `{name}` could not be read as data")
        try:
            return self.references[name](*args, **kwargs)
        except Exception as exc:
            raise _Refused(
                f"a correct `{name}` could not be computed on the arguments your code passed to it "
                f"({type(exc).__name__}: {str(exc)[:200]})"
            ) from None

    def encoded(self, name: str, value: Any) -> dict[str, Any]:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().contiguous()
        try:
            nodes, _, tensors = encode_arguments((value,), {})
        except TypeError as exc:
            raise _Refused(f"a correct `{name}`'s value cannot be sent to the kernel ({exc})") from None
        size = sum(t.numel() * t.element_size() for t in tensors)
        if size > self.budget.blob_bytes:
            raise _Refused(
                f"a correct `{name}`'s value is {words(size)} bytes, more than the "
                f"{words(self.budget.blob_bytes)} a stand-in may receive"
            )
        return {"ok": True, "value": nodes["items"][0], **pack_tensors(tensors)}


class _Refused(Exception):
    """A question not answered: why, in words for the check."""
