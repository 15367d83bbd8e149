"""The kernel-side agent's source, as one text: what the grader sends into a kernel.

The agent is written as ordinary modules (grader/bridge/inkernel/, never run by the grader) that
import one another; joined here in AGENT_MODULES order, those imports left out, they run in one
namespace of their own in the kernel, and `install(token, output_limit=0, door=None)` (AGENT_ENTRY)
installs the agent. A name defined at the top of two of the modules would be one name once
joined: that fails here, when the grader starts, not in a kernel.

A zygote compiles the agent once (AGENT_FILE in its spool, written by the grader that starts it)
and leaves the code object in each kernel it forks, under `sys.modules["__grader_agent__"]`
with the source's sha256: the grader's install then sends a line instead of the source, and a
kernel whose preloaded agent is missing or of another digest gets the source after all.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Sequence

AGENT_MODULES = ("bound", "shown", "seen", "values", "standin", "serve", "notes", "models", "door", "install")
AGENT_PACKAGE = "grader.bridge.inkernel"
AGENT_ENTRY = "install"
HEADER = (
    "# The grader's agent, joined from grader/bridge/inkernel/ (grader/bridge/agent.py): it runs in a\n"
    "# namespace of its own, and install() below installs it.\nfrom __future__ import annotations\n"
)


def join_agent(folder: Path, modules: Sequence[str], package: str) -> str:
    """The modules of `package` (in `folder`), in order, as one text for one namespace: their
    `from __future__` and sibling imports left out. A top-level name two of them define, or an
    import of the grader left at the top of one (the kernel cannot import the grader), fails."""
    defined: dict[str, str] = {}
    parts = [
        _joinable(folder.joinpath(f"{name}.py").read_text(encoding="utf-8"), name, package, modules, defined)
        for name in modules
    ]
    return HEADER + "\n\n".join(parts)


def _joinable(source: str, name: str, package: str, modules: Sequence[str], defined: dict[str, str]) -> str:
    """The module's text without its `from __future__` and sibling imports (the lines they span)."""
    siblings = {"__future__"} | {f"{package}.{m}" for m in modules}
    dropped: set[int] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module in siblings:
            dropped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            continue
        if _imports_grader(node):
            raise RuntimeError(
                f"the agent's module {name}.py imports the grader at its top (line {node.lineno}): "
                "the kernel cannot import it"
            )
        for bound in _top_level_names(node):
            if bound in defined:
                raise RuntimeError(f"the agent's modules {defined[bound]}.py and {name}.py both define {bound!r}")
            defined[bound] = name
    lines = source.splitlines(keepends=True)
    return "".join(line for number, line in enumerate(lines, 1) if number not in dropped)


def _imports_grader(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "grader"
    return isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "grader" for alias in node.names)


def _top_level_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


AGENT_SOURCE = join_agent(Path(__file__).parent / "inkernel", AGENT_MODULES, AGENT_PACKAGE)
AGENT_DIGEST = hashlib.sha256(AGENT_SOURCE.encode("utf-8")).hexdigest()
AGENT_FILE = "agent.py"  # in a zygote's spool: the agent it compiles once for every kernel it forks
