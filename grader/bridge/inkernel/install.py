"""The install: what the grader calls in the kernel, once, before the student's first cell.

`install(token, output_limit, door)` puts the agent (serve.Agent, with the ops of notes.py and
models.py) in builtins under the random name `token`, caps what a request may print, routes
the "grader_request" shell message to it, and opens its own door (door.py) when the grader
names a path. The IPython shell it serves is the `get_ipython` of the namespace the agent's
text runs in (a kernel's; for grader.check(), the student's own shell: grader/inline/live.py).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from grader.bridge.inkernel.bound import builtins_, isinstance_, str_, type_
from grader.bridge.inkernel.door import Door
from grader.bridge.inkernel.models import Models
from grader.bridge.inkernel.notes import Notes
from grader.bridge.inkernel.serve import Agent, cap_output


def _shell() -> Any:
    """The IPython shell of the namespace the agent's text was installed in."""
    return globals()["get_ipython"]()


def install(token: str, output_limit: int = 0, door: str | None = None) -> None:
    ip = _shell()
    sinks: list[list[str]] = []  # while a request comes through the door: where its answers go
    notes = Notes(ip, token)
    notes.register()
    agent = Agent(ip, sinks, {**notes.ops(), **Models(ip.user_ns).ops()})
    if output_limit:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None and hasattr(stream, "parent_header"):
                cap_output(stream, output_limit)
    setattr(builtins_, token, agent)
    _stub_grader_package()
    caller = Caller(ip.user_ns, token)
    _route_shell_messages(ip, caller)
    if door:
        try:
            Door(door, ip, output_limit, sinks, caller.call, caller.error)
        except Exception:
            pass  # the grader then knocks in vain and uses the shell


def _stub_grader_package() -> None:
    """A student's `import grader; grader.check()` cell (their own check while they work) must
    not fail at grading time, where the grader package is out of the kernel's view."""
    try:
        import grader  # noqa: F401 - inline.check() does nothing in a grading kernel
    except Exception:
        stub = types.ModuleType("grader")

        def check(*_args: Any, **_kwargs: Any) -> None:
            print("grader.check() does nothing while your notebook is being graded.")

        stub.check = check  # type: ignore[attr-defined]
        sys.modules["grader"] = stub


class Caller:
    """Both doors call the agent as the cell `<token>(op, request)` would (the notebook's globals,
    then builtins) and report a failure to call it as that cell's error would read."""

    def __init__(self, user_ns: dict[str, Any], token: str) -> None:
        self.user_ns, self.token = user_ns, token

    def call(self, request: dict[str, Any]) -> None:
        token = self.token
        fn = self.user_ns[token] if token in self.user_ns else getattr(builtins_, token)
        fn(str_(request.get("op", "")), str_(request.get("request", "")))

    def error(self, exc: BaseException) -> tuple[str, str]:
        try:
            evalue = str_(exc)[:2000]
        except BaseException:
            evalue = "<unprintable>"
        if type_(exc) is AttributeError and self.token in evalue:
            return "NameError", f"name '{self.token}' is not defined"
        return type_(exc).__name__, evalue


def _route_shell_messages(ip: Any, caller: Caller) -> None:
    """The same request as a shell message of its own ("grader_request", content {op, request}),
    not a cell: the grader's calls skip a cell's machinery (input transformation, compilation,
    history, execute_input), the most of a request's cost. ipykernel publishes busy/idle around
    it and turns SIGINT into KeyboardInterrupt while it runs, as for a cell. The agent is called
    by name (Caller.call): whatever a notebook does to it has the same effect either way. The
    answer travels as always (display data on iopub); the shell reply only says how the call ended."""
    kernel = getattr(ip, "kernel", None)
    handlers: Any = getattr(kernel, "shell_handlers", None)
    session = getattr(kernel, "session", None)
    if not isinstance_(handlers, dict) or session is None:
        return
    send = session.send

    def handle(stream: Any, ident: Any, parent: Any) -> None:
        content: dict[str, Any] = {"status": "ok"}
        try:
            caller.call(parent.get("content") or {})
        except BaseException as exc:
            ename, evalue = caller.error(exc)
            content = {"status": "error", "ename": ename, "evalue": evalue, "traceback": []}
        finally:
            send(stream, "grader_reply", content, parent, ident=ident)

    handlers["grader_request"] = handle
