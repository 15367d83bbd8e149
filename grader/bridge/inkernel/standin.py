"""Which of the notebook's own functions a call reached, and stand-ins for error carried forward.

`reaching(user_ns, run)` runs the student's call with a trace function that only notes when one
of the notebook's own functions (a plain function of the notebook's namespace, by its code
object) is entered; the names go back with the reply as data. Nothing is judged here: a notebook
that fools this only changes which re-runs the grader offers it.

`swapped(user_ns, names, ask)` puts a stand-in in place of each named function for one call. A
stand-in holds its exercise's name and `ask` and nothing else: it sends its arguments to the
grader through the door's connection (ASKING, set while a door request is served) and returns
the value the grader sends back. The reference runs in the grader; its code never comes here.
"""

from __future__ import annotations

import struct
import sys
from typing import Any, Callable

from grader.bridge.inkernel.bound import dumps, isinstance_, len_, list_, loads, str_, type_
from grader.bridge.inkernel.values import decode, encode, pack, received

ASKING: list[Any] = []  # the door connection of the request being served, while one is
MAX_REACHED = 64
ask_pack, ask_unpack = struct.pack, struct.unpack
settrace, gettrace = sys.settrace, sys.gettrace


def own_functions(user_ns: dict[str, Any]) -> dict[Any, str]:
    """The notebook's own functions, code object -> name."""
    codes: dict[Any, str] = {}
    for name, value in list_(user_ns.items()):
        code = getattr(value, "__code__", None) if type_(value).__name__ == "function" else None
        if code is not None and not name.startswith("_") and len_(codes) < 4096:
            codes.setdefault(code, name)
    return codes


def reaching(user_ns: dict[str, Any], run: Callable[[], Any]) -> tuple[Any, BaseException | None, list[str]]:
    """run()'s result or what it raised, and the names of the notebook's functions it entered
    (first seen first): a call that raised may have done so because of one of them."""
    codes = own_functions(user_ns)
    seen: list[str] = []

    def trace(frame: Any, event: str, arg: Any) -> None:
        name = codes.get(frame.f_code)
        if name is not None and name not in seen and len_(seen) < MAX_REACHED:
            seen.append(name)
        return None  # no line tracing inside any frame: only calls are seen

    before = gettrace()
    settrace(trace)
    try:
        return run(), None, seen
    except BaseException as exc:  # the student's fault: the caller reports it as data
        return None, exc, seen
    finally:
        settrace(before)


def make_standin(name: str, ask: Callable[[str, Any, Any], Any]) -> Callable[..., Any]:
    def standin(*args: Any, **kwargs: Any) -> Any:
        return ask(name, args, kwargs)

    standin.__name__ = standin.__qualname__ = name
    return standin


def swapped(user_ns: dict[str, Any], names: list[str], device: str) -> dict[str, Any]:
    """Stand-ins put in place of `names` (those the notebook defines); what they replaced."""
    replaced: dict[str, Any] = {}

    def ask(name: str, args: Any, kwargs: Any) -> Any:
        return ask_grader(name, args, kwargs, device)

    for name in names:
        if isinstance_(name, str_) and name in user_ns and callable(user_ns[name]):
            replaced[name] = user_ns[name]
            user_ns[name] = make_standin(name, ask)
    return replaced


def put_back_swapped(user_ns: dict[str, Any], replaced: dict[str, Any]) -> None:
    for name, value in replaced.items():
        user_ns[name] = value


def _read_exactly(conn: Any, size: int) -> bytes:
    data = b""
    while len_(data) < size:
        chunk = conn.recv(size - len_(data))
        if not chunk:
            raise RuntimeError("the grader closed the door")
        data += chunk
    return data


def ask_grader(name: str, args: Any, kwargs: Any, device: str) -> Any:
    """The reference's value for these arguments, asked of the grader through the door."""
    if not ASKING:
        raise RuntimeError(f"the grader's `{name}` cannot be asked for here")
    conn = ASKING[-1]
    tensors: list[Any] = []
    payload = {"ok": True, "value": encode([list_(args), dict(kwargs)], tensors)}
    payload.update(pack(tensors))
    frame = dumps({"ask": name, "reply": dumps(payload)}).encode()
    conn.setblocking(True)
    try:
        conn.sendall(ask_pack(">I", len_(frame)) + frame)
        size = ask_unpack(">I", _read_exactly(conn, 4))[0]
        answer = loads(_read_exactly(conn, size))
    finally:
        conn.setblocking(False)
    if not answer.get("ok"):
        raise RuntimeError(str_(answer.get("why", "the grader did not answer"))[:500])
    from_grader = received(answer)
    return decode(answer["value"], from_grader, device)
