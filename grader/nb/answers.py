"""A top-level cell's answer: the names it bound, its last value, and the cell run again.

The kernel-side agent notes, at the end of every cell of the notebook, the names the cell bound
or changed, each with a private copy of its value (grader/bridge/inkernel/notes.py); these
functions ask for them through the bridge, like any other value. `rerun` sends the cell's
source back with the check's own values in place of the notebook's, to run in a copy of the
namespace as it was just before the cell, so an answer is tried on inputs the student never saw.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.nb.cellcode import CellCode
from grader.nb.readings import note as note_reading
from grader.nb.values import Shown, answer_like, shown_of
from grader.bridge.outgoing import encode_arguments, pack_tensors
from grader.failures import CallTimeout, CheckFailed, NameNotInCell, NoAnswer

if TYPE_CHECKING:
    from grader.nb.calls import AgentBridge

TOO_SLOW = "{what} did not finish within {timeout:g} s (timeout). Look for an endless loop or a very slow computation."
OVERWRITTEN = (
    "{label} assigns {names} itself before using {them}, so it could not be tried on other inputs. "
    "Keep the exercise's data cell as given and compute your answer in a cell of its own, from "
    "those names."
)
NO_ANSWER = (
    "{label} shows no answer: its last line is neither an expression nor an assignment. End the "
    "cell with the answer, as `y = ...` or a last line `y`, run it, and check again."
)


@dataclass(frozen=True)
class Notes:
    """What the agent noted of one cell's run: the names it bound or changed, those present after it."""

    bound: tuple[str, ...]
    present: frozenset[str]
    has_last: bool
    noted: bool = True  # False: the kernel kept no notes (grader.check() in a student's kernel)
    before: tuple[str, ...] = ()  # the names of the namespace just before the cell


def cell_notes(bridge: "AgentBridge", count: int) -> Notes:
    reply, _, _ = bridge.request("noted", {"count": count}, what="reading what a cell left behind")
    if reply.get("unnoted") or not reply.get("ok"):
        return Notes((), frozenset(), False, noted=False)
    bound, present, before = reply.get("bound"), reply.get("present"), reply.get("before")
    return Notes(
        tuple(str(n) for n in bound) if isinstance(bound, list) else (),
        frozenset(str(n) for n in present) if isinstance(present, list) else frozenset(),
        bool(reply.get("has_last")),
        before=tuple(str(n) for n in before) if isinstance(before, list) else (),
    )


def noted_value(bridge: "AgentBridge", count: int, name: str | None, *, before: bool = False) -> tuple[bool, Any]:
    """(found, value): a name's value right after cell `count` (`before`: just before it); name None:
    the value of its last expression."""
    req: dict[str, Any] = {"count": count, "name": name or "", "last": name is None, "before": before}
    what = f"reading `{name}`" if name else "reading a cell's value"
    reply, _, _ = bridge.request("noted_value", req, what=what)
    if reply.get("missing"):
        return False, None
    return True, bridge.value_of(reply)


def _not_in_cell(label: str, name: str, order: list[str], *, before: bool = False) -> NameNotInCell:
    if before:
        return NameNotInCell(
            f"`{name}` is not defined before {label}. Run the exercise's cells in order, keeping the names they give.",
            name=name,
        )
    bound = ", ".join(f"`{n}`" for n in order) or "no name"
    return NameNotInCell(
        f"{label} does not assign `{name}` (it assigns {bound}). Keep the name the exercise asks for: `{name} = ...`.",
        name=name,
    )


class CellNames(Mapping[str, Any]):
    """`cell.names`: name -> value right after the cell ran, in the order the cell binds them.
    A name the cell does not bind fails the check, in words (NameNotInCell, also a KeyError)."""

    def __init__(
        self,
        bridge: "AgentBridge",
        label: str,
        count: int | None,
        order: list[str],
        *,
        live: bool = False,
        before: bool = False,
    ) -> None:
        self.bridge, self.label, self.count, self.order, self.live = bridge, label, count, order, live
        self.before = before  # the namespace just before the cell, not the names it bound
        self.fetched: dict[str, Any] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.order

    def __getitem__(self, name: str) -> Any:
        if name not in self.order and not (self.live and self.before):  # live: any name, as it is now
            raise _not_in_cell(self.label, name, self.order, before=self.before)
        if name not in self.fetched:
            if self.live or self.count is None:
                self.fetched[name] = self.bridge.describe(name)
            else:
                found, value = noted_value(self.bridge, self.count, name, before=self.before)
                if not found:
                    raise _not_in_cell(self.label, name, self.order, before=self.before)
                self.fetched[name] = value
        return self.fetched[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def __repr__(self) -> str:
        return f"CellNames({', '.join(self.order)})"


def names_in_order(code: CellCode, notes: Notes) -> list[str]:
    """The source's names that the cell left bound, then what else it changed (globals(), exec)."""
    ordered = [n for n in code.assigned if n in notes.present]
    return ordered + [n for n in notes.bound if n not in ordered]


@dataclass
class Rerun:
    """The cell run again on the check's values: what `cell.rerun(...)` returns."""

    label: str
    status: str  # "ok" | "error" | "timeout"
    output: str
    error: str = ""
    names: dict[str, Any] = field(default_factory=dict)
    last: tuple[bool, Any] = (False, None)
    last_assigned: str | None = None
    failure: CheckFailed | None = None
    overwritten: tuple[str, ...] = ()  # given names the cell replaced with values of its own
    reading: str = ""  # how the answer is picked, in words (CellCode.reading)
    values: list[Shown] = field(default_factory=list)  # every value displayed, printed or assigned

    def answer_like(self, example: Any) -> Any:
        """As `cell.answer_like`, of this run."""
        if self.failure is not None:
            raise self.failure
        return answer_like(self.values, example, self.label + ", run again,")

    @property
    def answer(self) -> Any:
        """As `cell.answer`, of this run: its last expression's value, else its last assigned name's.
        A cell that replaces the given inputs with its own fails the check: its answer is not theirs."""
        if self.failure is not None:
            raise self.failure
        if self.overwritten:
            names = " and ".join(f"`{n}`" for n in self.overwritten)
            raise CheckFailed(
                OVERWRITTEN.format(label=self.label, names=names, them="them" if len(self.overwritten) > 1 else "it")
            )
        found, value = self.last
        if found and value is not None:
            note_reading(f"{self.label}: {self.reading}" if self.reading else "")
            return value
        if self.last_assigned is not None and self.last_assigned in self.names:
            note_reading(f"{self.label}: {self.reading}" if self.reading else "")
            return self.names[self.last_assigned]
        raise NoAnswer(NO_ANSWER.format(label=self.label))

    @property
    def value(self) -> Any:
        return self.answer


def rerun_cell(bridge: "AgentBridge", label: str, count: int | None, source: str, values: dict[str, Any]) -> Rerun:
    """Run `source` again in the kernel on `values` (see module doc); its error as a student function's."""
    code = CellCode.of(source)
    left = bridge.time_left()
    if left <= 0:
        raise CallTimeout(f"{label} was not run again: the submission used up its total time for grading.")
    timeout = min(bridge.call_timeout, left)
    try:
        _, enc_values, tensors = encode_arguments((), values)
    except TypeError as exc:
        raise RuntimeError(f"a check passed a value the bridge cannot carry: {exc}") from None
    req = {
        "count": count,
        "source": source,
        "values": enc_values,
        **pack_tensors(tensors),
        "device": bridge.device,
        "want": list(code.assigned),
    }
    what = f"{label}, run again on new inputs,"
    try:
        reply, output, _ = bridge.request("rerun", req, timeout=timeout, what=what)
    except CallTimeout as exc:
        printed = str(exc.details.get("output", ""))
        stuck = str(exc.details.get("stuck", "."))
        late = CallTimeout(TOO_SLOW.format(what=what, timeout=timeout).rstrip(".") + stuck, output=printed)
        return Rerun(label, "timeout", printed, late.message, failure=late)
    if reply.get("agent_error"):
        raise CheckFailed(f"running {label} again failed in the kernel: {str(reply['agent_error'])[:300]}")
    if not reply.get("ok"):
        failure = bridge.student_failure(what, reply, output, {}, TOO_SLOW.format(what=what, timeout=timeout))
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        error = f"{str(err.get('ename', 'Exception'))[:100]}: {str(err.get('evalue', ''))[:300]}".rstrip(": ")
        return Rerun(label, "timeout" if isinstance(failure, CallTimeout) else "error", output, error, failure=failure)
    names = bridge.value_of(reply, "values")
    last = (True, bridge.value_of(reply, "last")) if "last" in reply.fields else (False, None)
    bound = RerunNames(label, names if isinstance(names, dict) else {})
    replaced = [n for n in code.overwritten(list(values)) if not _same_value(bound.get(n), values[n])]
    return Rerun(
        label,
        "ok",
        output,
        names=bound,
        last=last,
        last_assigned=code.last_assigned,
        overwritten=tuple(replaced),
        reading=code.reading,
        values=shown_of(bridge, reply, "shown", "seen"),
    )


def _same_value(after: Any, given: Any) -> bool:
    """A given input the cell assigned anew still holds the given value (`n = features.shape[1]`)."""
    import torch

    try:
        if isinstance(given, torch.Tensor) or isinstance(after, torch.Tensor):
            return (
                isinstance(after, torch.Tensor)
                and isinstance(given, torch.Tensor)
                and after.shape == given.shape
                and torch.equal(after.cpu(), given.cpu())
            )
        return bool(after == given)
    except Exception:
        return False


class RerunNames(dict[str, Any]):
    """The names a rerun bound, with their values; a name it did not bind fails the check, in words."""

    def __init__(self, label: str, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.label = label

    def __missing__(self, name: str) -> Any:
        raise _not_in_cell(self.label + ", run again,", name, list(self))
