"""The `nb` fixture: the student's notebook, live in its kernel, for checks to read and call.

`nb.fn(x)` calls fn in the kernel, `nb.value(name)` reads a name, `nb.module(name)` an nn.Module
as data (models.py), `nb.cell(...)`/`nb.cells(...)` the cells a query names (cellfind.py,
cells.py) and `nb.section(...)` the answer cells under one heading (sections.py). Behind it, a
CellBridge: the requests of AgentBridge (calls.py), and where the cells are found (kernel.Bridge
in a grading kernel, grader.inline.live.LiveBridge in the student's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.bridge.codec import Remote
from grader.nb.calls import AgentBridge, CallRecord
from grader.nb.cellfind import CellQuery
from grader.nb.cells import CellView
from grader.nb.models import module_info
from grader.nb.sections import Section

__all__ = ["CellBridge", "Notebook", "RemoteFunction", "bridge_of"]


class CellBridge(AgentBridge):
    """An AgentBridge that also finds the notebook's cells, each with what its run produced."""

    def locate_cells(self, query: CellQuery) -> list[CellView]:
        """The cells the query names, in notebook order, each with what its run produced."""
        raise NotImplementedError

    def locate_sections(self, query: CellQuery) -> list[list[CellView]]:
        """The sections the query names (cellfind.CellQuery.sections), each as its cells' views."""
        return [[cell] for cell in self.locate_cells(query)]


class Notebook:
    """The `nb` fixture: the student's notebook, live. `nb.fn(x)` calls fn in the kernel."""

    def __init__(self, bridge: CellBridge) -> None:
        object.__setattr__(self, "_bridge", bridge)

    @property
    def device(self) -> str:
        return self._bridge.device

    @property
    def last_call(self) -> CallRecord | None:
        return self._bridge.last_call

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._bridge.call(name, *args, **kwargs)

    def value(self, name: str) -> Any:
        return self._bridge.describe(name)

    def module(self, name: str) -> Any:
        """The notebook's nn.Module `name` as data (grader/nb/models.py: ModuleInfo)."""
        return module_info(self._bridge, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"{name}: use nb.value({name!r}) for names that start with '_'")
        if self._bridge.known_function(name):
            # it was a function and no name has been rebound since: what asking again would say.
            # (A call re-reads the name in the kernel and says if it is no longer a function.)
            return RemoteFunction(self._bridge, name)
        value = self._bridge.describe(name)
        if isinstance(value, Remote):
            return RemoteFunction(self._bridge, name)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the notebook proxy is read-only")

    def cell(
        self,
        *,
        tag: str | None = None,
        starting_with: str | None = None,
        containing: str | None = None,
        after: str | None = None,
    ) -> Any:
        """The cell that answers (grader/nb/cellfind.py): `.answer`, `.names`, `.rerun(...)`, `.value`,
        `.output`, `.source`, `.status`, `.error`. Two matches: the first in notebook order."""
        query = CellQuery(tag, starting_with, containing, after)
        found = self._bridge.locate_cells(query)
        if not found:
            raise query.not_found()
        return found[0]

    def section(
        self,
        *,
        tag: str | None = None,
        starting_with: str | None = None,
        containing: str | None = None,
        after: str | None = None,
    ) -> Any:
        """The answer cells under one heading, graded as one answer (grader/nb/sections.py): the cell
        `nb.cell(...)` finds and the answer cells after it up to the next markdown cell."""
        query = CellQuery(tag, starting_with, containing, after)
        found = self._bridge.locate_sections(query)
        if not found:
            raise query.not_found()
        return Section(found[0], self._bridge)

    def cells(
        self,
        *,
        tag: str | None = None,
        starting_with: str | None = None,
        containing: str | None = None,
        after: str | None = None,
    ) -> list[Any]:
        """Every cell the keyword names, in notebook order (empty when none)."""
        return self._bridge.locate_cells(CellQuery(tag, starting_with, containing, after))


@dataclass
class RemoteFunction:
    bridge: CellBridge
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.bridge.call(self.name, *args, **kwargs)


def bridge_of(notebook: Any) -> AgentBridge | None:
    """The bridge behind an `nb` fixture (None: not a Notebook)."""
    return object.__getattribute__(notebook, "_bridge") if isinstance(notebook, Notebook) else None
