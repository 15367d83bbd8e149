"""The kernel-side agent's source, as one text: what the grader sends into a kernel.

The agent is split by concern into files that are never imported (their names start with
`_agent`): values (_agent_codec.py), serving a request (_agent_serve.py), what each cell left
behind and a cell run again (_agent_notes.py), an nn.Module as data and a model run in
batches (_agent_models.py), the install and the shell message route
(_agent.py), the agent's own socket (_agent_door.py). Each defines one
top-level function; joined, they are compiled in a namespace of their own in the kernel, and
`__grader_install__(token, output_limit=0, door=None)` installs the agent.

A zygote compiles the agent once (AGENT_FILE in its spool, written by the grader that starts it)
and leaves the code object in each kernel it forks, under `sys.modules["__grader_agent__"]`
with the source's sha256: the grader's install then sends a line instead of the source, and a
kernel whose preloaded agent is missing or of another digest gets the source after all.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

AGENT_PARTS = ("_agent_codec.py", "_agent_serve.py", "_agent_notes.py", "_agent_models.py", "_agent.py", "_agent_door.py")


def agent_source() -> str:
    """The agent's parts, read from beside this module and joined in order."""
    here = Path(__file__).parent
    return "\n\n".join(here.joinpath(name).read_text(encoding="utf-8") for name in AGENT_PARTS)


AGENT_SOURCE = agent_source()
AGENT_DIGEST = hashlib.sha256(AGENT_SOURCE.encode("utf-8")).hexdigest()
AGENT_FILE = "agent.py"      # in a zygote's spool: the agent it compiles once for every kernel it forks
