"""`cell.values` and `cell.answer_like(example)`: every value a cell displayed, printed or assigned.

The agent notes them as the cell runs (grader/bridge/inkernel/seen.py), each with how it came
("displayed", "printed", "assigned y") and its line; they come back through the codec like any
value. `answer_like` takes the last of them with the example's shape (a tensor's, or a
`torch.Size`), looking one level into a displayed tuple; with none, the check fails with a list
of what the cell did produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.failures import CheckFailed
from grader.nb.readings import note as note_reading

if TYPE_CHECKING:
    from grader.bridge.codec import Reply
    from grader.nb.calls import AgentBridge

HOW = re.compile(r"^(displayed|printed|assigned [A-Za-z_][A-Za-z0-9_]{0,60})$")


@dataclass(frozen=True)
class Shown:
    """One value a cell produced: how (`displayed`, `printed`, `assigned y`), its line, the value."""

    how: str
    line: int
    value: Any

    def words(self) -> str:
        return f"line {self.line} {self.how}: {describe_value(self.value)}"


def shown_of(bridge: "AgentBridge", reply: "Reply", shown_key: str = "shown", value_key: str = "value") -> list[Shown]:
    """The reply's values with their labels; a label that is not one the agent writes is dropped."""
    labels = reply.get(shown_key)
    values = bridge.value_of(reply, value_key) if value_key in reply.fields else []
    if not isinstance(labels, list) or not isinstance(values, list):
        return []
    out = []
    for label, value in zip(labels, values):
        if (
            isinstance(label, list)
            and len(label) == 2
            and isinstance(label[0], str)
            and HOW.match(label[0])
            and isinstance(label[1], int)
            and not isinstance(label[1], bool)
        ):
            out.append(Shown(label[0], label[1], value))
    return out


def cell_values(bridge: "AgentBridge", count: int) -> list[Shown]:
    reply, _, _ = bridge.request("noted_values", {"count": count}, what="reading the values a cell produced")
    if reply.get("missing"):
        return []
    return shown_of(bridge, reply)


def shape_of(example: Any) -> tuple[int, ...]:
    import torch

    if isinstance(example, torch.Tensor):
        return tuple(example.shape)
    if isinstance(example, (tuple, list)) and all(isinstance(s, int) for s in example):
        return tuple(example)
    raise TypeError(f"answer_like takes a tensor or a torch.Size, not {type(example).__name__}")


def answer_like(values: list[Shown], example: Any, label: str) -> Any:
    """The last value with the example's shape (see the module doc), noted for the check's message."""
    import torch

    want = shape_of(example)
    for item in reversed(values):
        inner = item.value if isinstance(item.value, tuple) else (item.value,)
        for value in reversed(inner):
            if isinstance(value, torch.Tensor) and tuple(value.shape) == want:
                note_reading(
                    f"{label}: the {'value ' + item.how if item.how != 'displayed' else 'value displayed'}"
                    f" on line {item.line}, the last of shape {_shape(want)}"
                )
                return value
    produced = "; ".join(v.words() for v in values[-8:]) or "nothing (no value displayed, printed or assigned)"
    raise CheckFailed(
        f"{label} produced no tensor of shape {_shape(want)}. It produced: {produced}. Compute the "
        f"answer as a tensor of shape {_shape(want)} and show it as the cell's last line."
    )


def describe_value(value: Any) -> str:
    """A value in a few words, no numbers of a tensor: "a tensor of shape (1, 1)", "a tuple (1, 5)"."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {_shape(tuple(value.shape))}"
    if isinstance(value, tuple) and all(isinstance(s, int) for s in value):
        return f"a shape {_shape(value)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, (int, float, bool)):
        return f"a {type(value).__name__}"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
