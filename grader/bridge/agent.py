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

AGENT_MODULES = ("bound", "values", "serve", "notes", "models", "door", "install")
AGENT_PACKAGE = "grader.bridge.inkernel"
AGENT_ENTRY = "install"
HEADER = ("# The grader's agent, joined from grader/bridge/inkernel/ (grader/bridge/agent.py): it runs in a\n"
          "# namespace of its own, and install() below installs it.\nfrom __future__ import annotations\n")


def _joinable(source: str, name: str, defined: dict[str, str]) -> str:
    """The module's text without its `from __future__` and sibling imports (the lines they span)."""
    tree = ast.parse(source)
    dropped: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in ("__future__",) + tuple(
                f"{AGENT_PACKAGE}.{m}" for m in AGENT_MODULES):
            dropped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            continue
        for bound in _top_level_names(node):
            if bound in defined:
                raise RuntimeError(f"the agent's modules {defined[bound]}.py and {name}.py both define {bound!r}")
            defined[bound] = name
    lines = source.splitlines(keepends=True)
    return "".join(line for number, line in enumerate(lines, 1) if number not in dropped)


def _top_level_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _agent_source() -> str:
    """The agent's modules, read from grader/bridge/inkernel/ and joined in order."""
    here = Path(__file__).parent / "inkernel"
    defined: dict[str, str] = {}
    parts = [_joinable(here.joinpath(f"{name}.py").read_text(encoding="utf-8"), name, defined)
             for name in AGENT_MODULES]
    return HEADER + "\n\n".join(parts)


AGENT_SOURCE = _agent_source()
AGENT_DIGEST = hashlib.sha256(AGENT_SOURCE.encode("utf-8")).hexdigest()
AGENT_FILE = "agent.py"      # in a zygote's spool: the agent it compiles once for every kernel it forks
