"""Calls and values across the kernel, as data only: AgentBridge, the requests behind the `nb` proxy.

A check's request (call a function, read a name, read a cell's value) goes to the agent in the
kernel through the bridge's routes (grader/bridge/routes.py); the reply is read by the codec
(grader/bridge/codec.py), the one place where kernel bytes become values: JSON, and tensors
copied from raw bytes or, where the agent could not send them so, loaded with
torch.load(weights_only=True). Nothing the kernel sends can run code in the grader.
Where the kernel is and how cells are found is a subclass's (proxy.CellBridge): kernel.Bridge,
grader.inline.live.LiveBridge.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn, Sequence

from grader.bridge.codec import BadReply, Remote, Reply, ReplyRefused, ReplyTooLarge, read_reply
from grader.bridge.outgoing import call_request, encode_arguments
from grader.bridge.asks import Asks
from grader.bridge.routes import Collected, Ended, Route
from grader.nb.stuck import Stuck, calls_into, from_frames
from grader.nb.explain import failure_hint, missing_message, parameter_shapes, unbound_cause
from grader.failures import CallTimeout, CheckFailed, KernelDied, MissingName, StudentError

__all__ = ["AgentBridge", "CallRecord"]


@dataclass
class CallRecord:
    """The last call into the kernel: what the student's function printed, its arguments after."""

    name: str
    args_after: list[Any] = field(default_factory=list)
    output: str = ""
    duration: float = 0.0


class AgentBridge:
    """Requests to the grader's agent through an ordered list of routes; replies read by the codec.

    The operations checks use (devices, describe, output_of, call) live here; a subclass says
    where the kernel is: Bridge (the grader's own kernel, through a Runner) or
    grader.inline.live.LiveBridge (the student's own kernel, in-process)."""

    reply_words = "the kernel's reply"  # how failure messages name a reply
    tracks_bindings = True  # remember which names were functions (see known_function)
    carries_forward = False  # may re-run a failed check with stand-ins (needs the agent's door)

    def __init__(self, routes: Sequence[Route], device: str = "cpu") -> None:
        self.routes = list(routes)
        self.device = device
        self.last_call: CallRecord | None = None
        self._bindings: int | None = None  # the namespace's bindings as of the latest reply
        self._functions: dict[str, int] = {}  # name -> the bindings when it was last seen a function
        self.hung: dict[str, float] = {}  # function -> the timeout it ran past: not called again
        self.reached: list[str] = []  # the notebook's functions the calls entered, as the kernel says
        self.asks: Asks | None = None  # while a check re-runs with stand-ins (checks/carry.py)
        self.stuck: dict[str, Stuck] = {}  # student function -> where it was stuck when time ran out

    # -- what a subclass says ---------------------------------------------------------
    @property
    def call_timeout(self) -> float:
        raise NotImplementedError

    @property
    def output_cap(self) -> int:
        """The most characters of printed output kept for one request."""
        raise NotImplementedError

    def kernel_died(self) -> str:
        """The kernel died during a request: why (in words), once it has been restarted."""
        raise NotImplementedError

    def timed_out(self) -> None:
        """A request outlived its timeout (the kernel was interrupted): bring the kernel back if need be."""
        raise NotImplementedError

    def no_answer(self, what: str, ended: Ended) -> str:
        detail = f" ({ended.ename}: {ended.evalue})" if ended.status == "error" else ""
        return (
            f"no answer came back from the kernel for {what}{detail}. Did the notebook replace "
            "print/display machinery or delete grader objects? Restart and run all cells, then check again."
        )

    def runner_traceback(self, frames: Any, ename: str, evalue: str) -> str:
        raise NotImplementedError

    def time_left(self) -> float:
        """Seconds left of the submission's total time (checks included)."""
        return float("inf")

    def sources(self) -> str:
        """The notebook's code, to read the student's own names from (parameters, definitions)."""
        return ""

    def missing(self, name: str) -> MissingName:
        """`name` is not in the notebook: say so, and why when a failed cell explains it."""
        return MissingName(missing_message(name, self.why_missing(name)), name=name)

    def why_missing(self, name: str) -> str | None:
        return None

    def stuck_places(self) -> dict[str, Stuck]:
        """Each student function found stuck, with where: by a call here (a subclass adds the cells')."""
        return self.stuck

    def cell_of_code(self, code: str) -> int | None:
        """The number of the notebook cell a line of student code is in (None: not known here)."""
        return None

    # -- requests ---------------------------------------------------------------------
    def known_function(self, name: str) -> bool:
        """Was `name` a function when last asked, with no name of the notebook rebound since?"""
        return self._bindings is not None and self._functions.get(name) == self._bindings

    def forget_bindings(self) -> None:
        self._bindings = None
        self._functions.clear()

    def send(self, op: str, request: str, timeout: float, got: Collected) -> Ended:
        """Offer the request to each route in turn; the first that takes it answers."""
        for route in self.routes:
            ended = route.send(op, request, timeout, got)
            if ended is not None:
                return ended
        return Ended(status="unhandled")

    def request(
        self, op: str, req: dict[str, Any], *, timeout: float | None = None, what: str = ""
    ) -> tuple[Reply, str, float]:
        """Send one request; return the reply, the printed output and the duration."""
        timeout = self.call_timeout if timeout is None else timeout
        what = what or op
        got = Collected(self.output_cap, ask=self.asks.answer if self.asks is not None else None)
        started = time.monotonic()
        ended = self.send(op, json.dumps(req), timeout, got)
        duration = time.monotonic() - started
        output = got.output()
        self._bindings = None  # until this reply says which objects the names hold
        self.settle(ended, what, timeout, output, got)
        if not got.replies:
            raise CheckFailed(self.no_answer(what, ended), output=output)
        reply = self.read(got.replies[-1], what)
        if self.tracks_bindings:
            self._bindings = reply.bindings
        return reply, output, duration

    def settle(self, ended: Ended, what: str, timeout: float, output: str, got: Collected | None = None) -> None:
        """A request that killed the kernel or outlived its timeout fails the check."""
        if ended.status in ("dead", "timeout") or ended.interrupted:
            self.forget_bindings()  # the kernel may be restarted: a new namespace
        if ended.status == "dead":
            cause = self.kernel_died()
            raise KernelDied(
                f"the kernel died while {what} ran ({cause}); it was restarted and grading went on", output=output
            )
        if ended.status == "timeout" or ended.interrupted:
            if ended.status == "timeout":
                self.timed_out()
            where = self.where_stuck(got)
            stuck = f": it was {where.words()}." if where is not None else "."
            raise CallTimeout(
                f"{what} did not return within {timeout:g} s (timeout). "
                f"Look for an endless loop or a very slow computation{stuck}",
                output=output,
                stuck=stuck,
            )

    def where_stuck(self, got: Collected | None) -> Stuck | None:
        """Where the student's code was when it was interrupted: the interrupt's traceback, if the
        agent's reply carried one (read through the codec, as data); the function is remembered."""
        if got is None or not got.replies:
            return None
        try:
            reply = read_reply(got.replies[-1])
        except BadReply:
            return None
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        if err.get("ename") != "KeyboardInterrupt":
            return None
        where = from_frames(err.get("frames"), self.cell_of_code)
        if where is not None and where.function != "<module>":
            self.stuck.setdefault(where.function, where)
        return where

    def read(self, raw: Any, what: str) -> Reply:
        """The latest reply, read by the codec; a reply that is not data fails the check."""
        try:
            return read_reply(raw)
        except ReplyTooLarge as exc:
            raise CheckFailed(f"{self.reply_words} for {what} is too large to grade: {exc}") from None
        except ReplyRefused as exc:
            raise CheckFailed(f"{self.reply_words} for {what} was refused: {exc.kind}") from None
        except BadReply as exc:
            raise CheckFailed(f"{self.reply_words} for {what} could not be read as data ({exc})") from None

    def value_of(self, reply: Reply, key: str = "value") -> Any:
        try:
            return reply.value(key)
        except BadReply as exc:
            raise CheckFailed(f"the kernel's reply could not be read as data ({exc})") from None

    # -- operations -------------------------------------------------------------------
    def devices(self) -> dict[str, Any]:
        reply, _, _ = self.request("devices", {}, timeout=30.0, what="device discovery")
        value = self.value_of(reply)
        return value if isinstance(value, dict) else {}

    def describe(self, name: str) -> Any:
        reply, _, _ = self.request("describe", {"name": name}, what=f"reading `{name}`")
        if reply.get("missing"):
            raise self.missing(name)
        value = self.value_of(reply)
        if isinstance(value, Remote) and self._bindings is not None:
            self._functions[name] = self._bindings
        return value

    def output_of(self, execution_count: int) -> Any:
        reply, _, _ = self.request("out", {"count": execution_count}, what="reading a cell's value")
        return None if reply.get("missing") else self.value_of(reply)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function in the kernel; a function that once ran past its timeout
        is not waited on again, and no call outlasts the submission's total time."""
        self.refuse_stuck(name)
        if name in self.hung:
            raise CallTimeout(
                f"`{name}` did not return within {self.hung[name]:g} s (timeout) when an earlier check called "
                "it, so it was not called again (each call would wait as long). Look for an endless "
                "loop or a very slow computation."
            )
        left = self.time_left()
        if left <= 0:
            raise CallTimeout(f"`{name}` was not called: the submission used up its total time for grading.")
        timeout = min(self.call_timeout, left)
        try:
            return self.call_once(name, args, kwargs, timeout)
        except CallTimeout:
            self.hung[name] = timeout
            raise

    def refuse_stuck(self, name: str) -> None:
        """A function found stuck (in a cell or a call), or one whose code calls such a function, is
        not waited on again: the check fails at once, saying where it was stuck."""
        stuck = self.stuck_places()
        if not stuck:
            return
        target = name if name in stuck else calls_into([self.sources()], list(stuck)).get(name)
        if target is None:
            return
        where = stuck[target]
        if target == name:
            raise CallTimeout(
                f"`{name}` never returned when it ran before ({where.words()}), so it was not called "
                "again (each call would wait as long). Look for an endless loop there."
            )
        raise CallTimeout(
            f"`{name}` calls `{target}`, which never returned ({where.words()}), so `{name}` was not "
            f"called (it would wait as long). Fix `{target}` first."
        )

    def call_once(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float) -> Any:
        try:
            enc_args, enc_kwargs, tensors = encode_arguments(args, kwargs)
        except TypeError as exc:
            raise RuntimeError(f"a check passed an argument the bridge cannot carry: {exc}") from None
        req = call_request(name, enc_args, enc_kwargs, tensors, self.device)
        if self.asks is not None:
            req["standins"] = self.asks.names
        reply, output, duration = self.request("call", req, timeout=timeout, what=f"`{name}`")
        self.last_call = CallRecord(name=name, output=output, duration=duration)
        if reply.get("missing"):
            raise self.missing(name)
        if reply.get("notcallable"):
            raise CheckFailed(f"`{name}` in your notebook is a {reply['notcallable']}, not a function.", name=name)
        if reply.get("agent_error"):
            raise CheckFailed(f"calling `{name}` failed in the kernel: {str(reply['agent_error'])[:300]}")
        self.note_reached(reply.get("reached"))
        if not reply.get("ok"):
            self.raise_student_error(name, reply, output, args, timeout)
        value = self.value_of(reply)
        after = self.value_of(reply, "args_after")
        self.last_call.args_after = list(after) if isinstance(after, list) else []
        return value

    def note_reached(self, names: Any) -> None:
        """Which of the notebook's functions a call entered, as the kernel claims (names only)."""
        if isinstance(names, list):
            for name in names[:64]:
                if isinstance(name, str) and name.isidentifier() and len(name) <= 100 and name not in self.reached:
                    self.reached.append(name)

    def raise_student_error(
        self, name: str, reply: Reply, output: str, args: Sequence[Any], timeout: float
    ) -> NoReturn:
        """The student's function raised: a timeout (it was interrupted) or their error, in their terms."""
        raise self.student_failure(
            f"`{name}`",
            reply,
            output,
            parameter_shapes(self.sources(), name, args),
            f"`{name}` did not return within {timeout:g} s (timeout). "
            "Look for an endless loop or a very slow computation.",
        )

    def student_failure(
        self, what: str, reply: Reply, output: str, shapes: dict[str, tuple[int, ...]], too_slow: str
    ) -> CheckFailed:
        """What the student's code (`what`: a function, a cell run again) raised, in their terms: a
        timeout (`too_slow`: it was interrupted) or their error, with their traceback and a hint."""
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        ename, evalue = str(err.get("ename", "Exception"))[:100], str(err.get("evalue", ""))[:2000]
        if ename == "KeyboardInterrupt":
            where = from_frames(err.get("frames"), self.cell_of_code)
            if where is None:
                return CallTimeout(too_slow, output=output)
            if where.function != "<module>":
                self.stuck.setdefault(where.function, where)
            return CallTimeout(f"{too_slow.rstrip('.')}: it was {where.words()}.", output=output)
        cause = unbound_cause(ename, evalue, self.why_missing)  # a name its failed cell never bound
        if cause:
            return StudentError(f"{what} raised {ename}: {cause}", output=output)
        trace = self.runner_traceback(err.get("frames"), ename, evalue)
        frames = (
            [f for f in err.get("frames") or [] if isinstance(f, dict)] if isinstance(err.get("frames"), list) else []
        )
        line = str(frames[-1].get("code", ""))[:300] if frames else ""
        hint = failure_hint(ename, evalue, line, shapes)
        return StudentError(
            f"{what} raised {ename}: {evalue}".rstrip(": ") + "." + hint, traceback=trace, output=output
        )
