"""What each cell of the notebook left behind, and a cell run again.

At the start and the end of every cell of the notebook (IPython's pre_run_cell and
post_run_cell events; the grader's own requests run with store_history=False and are not
noted) the namespace is compared with what was noted: a name bound to another object, or a
tensor changed in place (its version counter moved), is noted again with a private copy of its
value. So `pre[n]` is the namespace as it was just before cell n, `post[n]` right after it,
`bound[n]` the names cell n bound or changed; later in-place changes do not alter them. An AST
transformer hands the value a person reads as each cell's answer (shown.py) to `last[n]`.
`rerun` runs a cell's source again in a copy of `pre[n]`. Nothing here judges anything: the
grader asks for these values like any other.
"""

from __future__ import annotations

import ast
import copy
import linecache
import re
import types
from typing import Any, Callable

import torch

from grader.bridge.inkernel.bound import Tensor, builtins_, dict_, id_, isinstance_, len_, list_, str_
from grader.bridge.inkernel.seen import SEEN_LIMIT, SeenValues
from grader.bridge.inkernel.shown import answer_statement, shown
from grader.bridge.inkernel.values import decode, encode, ndarray

NN_MODULE = getattr(getattr(torch, "nn", None), "Module", ())
IPYTHON_NAME = re.compile(r"^(_+|_i+|_i?\d+|_[a-z]h)$")
BYREF = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
deepcopy = copy.deepcopy
NOTES_BUDGET = 512 * 2**20  # bytes of copies one kernel may keep; beyond, values are kept by reference


def _fingerprint(value: Any) -> Any:
    """What moves when a tensor (or a module's parameters) is changed in place."""
    if isinstance_(value, Tensor):
        return value._version
    if NN_MODULE and isinstance_(value, NN_MODULE):
        try:
            return tuple((id_(t), t._version) for t in list_(value.parameters()) + list_(value.buffers()))
        except Exception:
            return None
    return None


def _size_of(value: Any) -> int | None:
    if isinstance_(value, Tensor):
        return value.numel() * value.element_size()
    if ndarray and isinstance_(value, ndarray):
        return int(value.nbytes)
    if NN_MODULE and isinstance_(value, NN_MODULE):
        return sum(t.numel() * t.element_size() for t in list_(value.parameters()) + list_(value.buffers()))
    if isinstance_(value, (list, tuple, dict, set)):
        return 64 * len_(value) if len_(value) <= 100000 else None
    return None


class LastValue(ast.NodeTransformer):
    """Wraps the value a person reads as the cell's answer in a call to `keep` (shown.py decides which:
    the last expression, the value a print shows, a displayed tuple's one value)."""

    def __init__(self, keep: str) -> None:
        self.keep = keep

    def visit_Module(self, node: Any) -> Any:
        try:
            index = answer_statement(node.body)
            if index >= 0 and isinstance_(node.body[index], ast.Expr):
                stmt: Any = node.body[index]
                at = shown(stmt.value)
                if at is not None:
                    holder, key, _ = at
                    if holder is None:
                        holder, key = stmt, "value"
                    if isinstance_(holder, list_):
                        holder[key] = ast.copy_location(self.wrap(holder[key]), holder[key])
                    else:
                        setattr(holder, key, ast.copy_location(self.wrap(getattr(holder, key)), getattr(holder, key)))
                    ast.fix_missing_locations(node)
        except Exception:
            pass
        return node

    def wrap(self, expr: ast.expr) -> ast.Call:
        return ast.Call(func=ast.Name(id=self.keep, ctx=ast.Load()), args=[expr], keywords=[])


class Notes:
    """The notes of one kernel: registered on IPython's events when it is made (before any cell)."""

    def __init__(self, ip: Any, token: str) -> None:
        self.ip = ip
        self.user_ns = ip.user_ns
        self.hidden = getattr(ip, "user_ns_hidden", {})
        self.keep_name = f"{token}_last"
        self.seen_name = f"{token}_seen"
        self.seen: dict[Any, list[tuple[str, int, Any]]] = {}  # every value shown or assigned (seen.py)
        self.budget = NOTES_BUDGET
        self.state: dict[str, tuple[Any, Any, Any]] = {}  # name -> (the object, its kept copy, fingerprint)
        self.pre: dict[Any, dict[str, Any]] = {}
        self.post: dict[Any, dict[str, Any]] = {}
        self.bound: dict[Any, list[str]] = {}
        self.last: dict[Any, Any] = {}
        self.current: Any = None  # the execution count of the cell running now (None: not a notebook cell)
        self.running: tuple[Any, Any] = (None, None)  # the cell running now: its ExecutionInfo, the namespace before it

    def ops(self) -> dict[str, Callable[..., dict[str, Any]]]:
        return {
            "noted": self.noted,
            "noted_value": self.noted_value,
            "noted_values": self.noted_values,
            "rerun": self.rerun,
        }

    def register(self) -> None:
        setattr(builtins_, self.keep_name, self.hand_over)
        setattr(builtins_, self.seen_name, self.hand_seen)
        events = getattr(self.ip, "events", None)
        if events is not None:
            events.register("pre_run_cell", self.quietly(self.before))
            events.register("post_run_cell", self.quietly(self.after))
        transformers: Any = getattr(self.ip, "ast_transformers", None)
        if isinstance_(transformers, list):
            transformers.append(LastValue(self.keep_name))
            transformers.append(SeenValues(self.seen_name))

    def visible(self, name: str) -> bool:
        return not (name in self.hidden or name.startswith("__") or IPYTHON_NAME.match(name) or name in ("In", "Out"))

    def keep(self, value: Any, memo: dict[int, Any] | None = None, charge: bool = True) -> Any:
        """A private copy of `value` (tensors, arrays, modules, plain containers), else the value itself;
        the copies the notes keep (`charge`) count against the kernel's budget."""
        if value is None or isinstance_(value, (bool, int, float, complex, str, bytes) + BYREF):
            return value
        try:
            size = _size_of(value)
        except Exception:  # a tensor subclass of the student's that will not say its size
            return value
        if size is None or (charge and size > self.budget):
            return value
        try:
            if isinstance_(value, Tensor) and not value.is_leaf:
                kept = value.detach().clone()
            else:
                kept = deepcopy(value, memo if memo is not None else {})
        except Exception:
            return value
        if charge:
            self.budget -= size
        return kept

    def sync(self) -> list[str]:
        """Note every name whose object changed since last noted; return those names, in order."""
        changed = []
        for name, value in list_(self.user_ns.items()):
            if not isinstance_(name, str_) or not self.visible(name):
                continue
            entry = self.state.get(name)
            mark = _fingerprint(value)
            if entry is None or entry[0] is not value or entry[2] != mark:
                self.state[name] = (value, self.keep(value), mark)
                changed.append(name)
        for name in [n for n in self.state if n not in self.user_ns]:
            del self.state[name]
        return changed

    def before(self, info: Any) -> None:
        """A cell starts: note the namespace (its execution count is known only at its end:
        IPython's ExecutionResult carries it, and the ExecutionInfo we were given)."""
        self.current, self.running = None, (None, None)
        if not getattr(info, "store_history", False):
            return
        self.sync()
        self.current, self.running = ("cell", id_(info)), (info, dict_(self.state))

    def after(self, result: Any) -> None:
        (info, namespace_before), slot = self.running, self.current
        self.current, self.running = None, (None, None)
        count = getattr(result, "execution_count", None)
        if info is None or count is None or getattr(result, "info", None) is not info:
            return
        self.pre[count] = namespace_before
        if slot in self.last:
            self.last[count] = self.last.pop(slot)
        self.seen[count] = self.seen.pop(slot, [])
        self.bound[count] = self.sync()
        self.post[count] = dict_(self.state)

    def hand_over(self, value: Any) -> Any:
        try:
            if self.current is not None:
                self.last[self.current] = self.keep(value)
        except BaseException:  # noting never changes what the student's cell does
            pass
        return value

    def hand_seen(self, how: Any, line: Any, value: Any) -> Any:
        try:
            if self.current is not None:
                seen = self.seen.setdefault(self.current, [])
                if len_(seen) < SEEN_LIMIT:
                    seen.append((how, line, self.keep(value)))
        except BaseException:  # noting never changes what the student's cell does
            pass
        return value

    def quietly(self, hook: Callable[[Any], None]) -> Callable[[Any], None]:
        """A hook that never disturbs the cell: what it cannot note is simply not noted."""

        def run(arg: Any) -> None:
            try:
                hook(arg)
            except BaseException:
                self.current = None

        return run

    # -- the ops --------------------------------------------------------------------------
    def noted(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        count = req["count"]
        if count not in self.post:
            return {"ok": True, "unnoted": True}
        return {
            "ok": True,
            "bound": list_(self.bound.get(count, [])),
            "present": list_(self.post[count]),
            "before": list_(self.pre.get(count, {})),
            "has_last": count in self.last,
        }

    def noted_value(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        count, name = req["count"], req["name"]
        if req.get("last"):
            if count not in self.last:
                return {"ok": True, "missing": True}
            return {"ok": True, "value": encode(self.last[count], tensors)}
        entry = (self.pre if req.get("before") else self.post).get(count, {}).get(name)
        if entry is None:
            return {"ok": True, "missing": True}
        return {"ok": True, "value": encode(entry[1], tensors)}

    def noted_values(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        seen = self.seen.get(req["count"])
        if seen is None:
            return {"ok": True, "missing": True}
        return self.seen_payload(seen, tensors)

    def seen_payload(self, seen: list[tuple[str, int, Any]], tensors: list[Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "shown": [[how, line] for how, line, _ in seen],
            "value": encode([value for _, _, value in seen], tensors),
        }

    def namespace(self, count: Any) -> dict[str, Any]:
        """A copy of the namespace as it was just before cell `count` (now, where it was not noted)."""
        base = self.pre.get(count)
        if base is None:
            self.sync()
            base = self.state
        memo: dict[int, Any] = {}
        ns = {k: v for k, v in self.user_ns.items() if isinstance_(k, str_) and not self.visible(k)}
        ns.update({name: self.keep(entry[1], memo, charge=False) for name, entry in base.items()})
        ns["__builtins__"] = builtins_
        ns.setdefault("__name__", "__main__")
        return ns

    def rerun(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        """The cell's source run again on the check's values, in a copy of the namespace before it."""
        count = req.get("count")
        ns = self.namespace(count)
        ns.update(decode(req["values"], sent, req["device"]))
        filename = f"<cell {count} run again>"
        code = self.ip.transform_cell(req["source"]) if hasattr(self.ip, "transform_cell") else req["source"]
        linecache.cache[filename] = (len_(code), None, code.splitlines(True), filename)
        tree = SeenValues(self.seen_name).visit(LastValue(self.keep_name).visit(ast.parse(code, filename)))
        ids = {k: (id_(v), _fingerprint(v)) for k, v in ns.items() if isinstance_(k, str_) and self.visible(k)}
        slot = ("rerun", count)
        self.last.pop(slot, None)
        self.seen.pop(slot, None)

        def run() -> None:
            self.current = slot
            try:
                exec(compile(tree, filename, "exec"), ns)
            finally:
                self.current = None

        failed = student(run)
        if failed is not None:
            return failed  # type: ignore[no-any-return]
        names = [
            k
            for k, v in ns.items()
            if isinstance_(k, str_) and self.visible(k) and (k not in ids or ids[k] != (id_(v), _fingerprint(v)))
        ]
        names += [k for k in req.get("want", []) if k in ns and k not in names]
        payload = {"ok": True, "bound": names, "values": encode({k: ns[k] for k in names}, tensors)}
        if slot in self.last:
            payload["last"] = encode(self.last.pop(slot), tensors)
        seen = self.seen_payload(self.seen.pop(slot, []), tensors)
        payload["shown"], payload["seen"] = seen["shown"], seen["value"]
        return payload
