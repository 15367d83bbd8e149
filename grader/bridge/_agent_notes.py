# Kernel-side half of the bridge, part 3 of 6: what each cell left behind, and a cell run again.
# Sent into the kernel as text with the other parts (see grader/bridge/agent.py), never
# imported. Called once, at install time, before the student's first cell: everything it uses
# is bound then.
#
# At the start and the end of every cell of the notebook (IPython's pre_run_cell and
# post_run_cell events; the grader's own requests run with store_history=False and are not
# noted) the namespace is compared with what was noted: a name bound to another object, or a
# tensor changed in place (its version counter moved), is noted again with a private copy of its
# value. So `pre[n]` is the namespace as it was just before cell n, `post[n]` right after it,
# `bound[n]` the names cell n bound or changed; later in-place changes do not alter them. An AST
# transformer hands the value of each cell's last expression (or of the last argument a final
# print shows) to `last[n]`. `rerun` runs a cell's source again in a copy of `pre[n]`.
# Nothing here judges anything: the grader asks for these values like any other.
def __grader_notes__(ip, torch, token, encode, decode):
    import ast, builtins, copy, linecache, re, types

    Tensor = torch.Tensor
    Module = getattr(getattr(torch, "nn", None), "Module", ())
    try:
        import numpy
        ndarray = numpy.ndarray
    except Exception:
        ndarray = ()
    user_ns = ip.user_ns
    hidden = getattr(ip, "user_ns_hidden", {})
    isinstance_, id_, len_, list_, dict_, str_ = isinstance, id, len, list, dict, str
    deepcopy = copy.deepcopy
    IPYTHON_NAME = re.compile(r"^(_+|_i+|_i?\d+|_[a-z]h)$")
    KEEP = f"{token}_last"
    BYREF = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
    budget = [512 * 2 ** 20]      # bytes of copies one kernel may keep; beyond, values are kept by reference
    state = {}                    # name -> (the object, its kept copy, fingerprint)
    pre, post, bound, last = {}, {}, {}, {}
    current = [None]              # the execution count of the cell running now (None: not a notebook cell)

    def visible(name):
        return not (name in hidden or name.startswith("__") or IPYTHON_NAME.match(name) or name in ("In", "Out"))

    def fingerprint(value):
        if isinstance_(value, Tensor):
            return value._version
        if Module and isinstance_(value, Module):
            try:
                return tuple((id_(t), t._version) for t in list_(value.parameters()) + list_(value.buffers()))
            except Exception:
                return None
        return None

    def size_of(value):
        if isinstance_(value, Tensor):
            return value.numel() * value.element_size()
        if ndarray and isinstance_(value, ndarray):
            return int(value.nbytes)
        if Module and isinstance_(value, Module):
            return sum(t.numel() * t.element_size() for t in list_(value.parameters()) + list_(value.buffers()))
        if isinstance_(value, (list, tuple, dict, set)):
            return 64 * len_(value) if len_(value) <= 100000 else None
        return None

    def keep(value, memo=None, charge=True):
        """A private copy of `value` (tensors, arrays, modules, plain containers), else the value itself;
        the copies the notes keep (`charge`) count against the kernel's budget."""
        if value is None or isinstance_(value, (bool, int, float, complex, str, bytes) + BYREF):
            return value
        try:
            size = size_of(value)
        except Exception:            # a tensor subclass of the student's that will not say its size
            return value
        if size is None or (charge and size > budget[0]):
            return value
        try:
            if isinstance_(value, Tensor) and not value.is_leaf:
                kept = value.detach().clone()
            else:
                kept = deepcopy(value, memo if memo is not None else {})
        except Exception:
            return value
        if charge:
            budget[0] -= size
        return kept

    def sync():
        """Note every name whose object changed since last noted; return those names, in order."""
        changed = []
        for name, value in list_(user_ns.items()):
            if not isinstance_(name, str_) or not visible(name):
                continue
            entry = state.get(name)
            mark = fingerprint(value)
            if entry is None or entry[0] is not value or entry[2] != mark:
                state[name] = (value, keep(value), mark)
                changed.append(name)
        for name in [n for n in state if n not in user_ns]:
            del state[name]
        return changed

    running = [None, None]        # the cell running now: its ExecutionInfo, the namespace before it

    def before(info):
        """A cell starts: note the namespace (its execution count is known only at its end:
        IPython's ExecutionResult carries it, and the ExecutionInfo we were given)."""
        current[0], running[0], running[1] = None, None, None
        if not getattr(info, "store_history", False):
            return
        sync()
        current[0], running[0], running[1] = ("cell", id_(info)), info, dict_(state)

    def after(result):
        info, namespace_before, slot = running[0], running[1], current[0]
        current[0], running[0], running[1] = None, None, None
        count = getattr(result, "execution_count", None)
        if info is None or count is None or getattr(result, "info", None) is not info:
            return
        pre[count] = namespace_before
        if slot in last:
            last[count] = last.pop(slot)
        bound[count] = sync()
        post[count] = dict_(state)

    def hand_over(value):
        try:
            if current[0] is not None:
                last[current[0]] = keep(value)
        except BaseException:        # noting never changes what the student's cell does
            pass
        return value

    def shown(call):
        """Where the value a final print(...) shows stands, as (holder, key): its last argument that is
        not literal text; else the one value an f-string argument formats (`print(f"y = {y}")`)."""
        if not (isinstance_(call, ast.Call) and isinstance_(call.func, ast.Name) and call.func.id == "print"):
            return None
        args = [i for i, a in enumerate(call.args) if not isinstance_(a, (ast.Constant, ast.JoinedStr, ast.Starred))]
        if args:
            return call.args, args[-1]
        values = [v for a in call.args if isinstance_(a, ast.JoinedStr) for v in a.values
                  if isinstance_(v, ast.FormattedValue)]
        return (values[0], "value") if len_(values) == 1 else None

    class LastValue(ast.NodeTransformer):
        def visit_Module(self, node):
            try:
                if node.body and isinstance_(node.body[-1], ast.Expr):
                    stmt = node.body[-1]
                    at = shown(stmt.value)
                    if at is None:
                        stmt.value = ast.copy_location(self.wrap(stmt.value), stmt.value)
                    elif isinstance_(at[0], list_):
                        holder, i = at
                        holder[i] = ast.copy_location(self.wrap(holder[i]), holder[i])
                    else:
                        at[0].value = ast.copy_location(self.wrap(at[0].value), at[0].value)
                    ast.fix_missing_locations(node)
            except Exception:
                pass
            return node

        @staticmethod
        def wrap(expr):
            return ast.Call(func=ast.Name(id=KEEP, ctx=ast.Load()), args=[expr], keywords=[])

    def quietly(hook):
        """A hook that never disturbs the cell: what it cannot note is simply not noted."""
        def run(arg):
            try:
                hook(arg)
            except BaseException:
                current[0] = None
        return run

    setattr(builtins, KEEP, hand_over)
    events = getattr(ip, "events", None)
    if events is not None:
        events.register("pre_run_cell", quietly(before))
        events.register("post_run_cell", quietly(after))
    transformers = getattr(ip, "ast_transformers", None)
    if isinstance_(transformers, list):
        transformers.append(LastValue())

    def value_of(entry):
        return entry[1]

    def noted(req, tensors, sent, student):
        count = req["count"]
        if count not in post:
            return {"ok": True, "unnoted": True}
        return {"ok": True, "bound": list_(bound.get(count, [])), "present": list_(post[count]),
                "before": list_(pre.get(count, {})), "has_last": count in last}

    def noted_value(req, tensors, sent, student):
        count, name = req["count"], req["name"]
        if req.get("last"):
            if count not in last:
                return {"ok": True, "missing": True}
            return {"ok": True, "value": encode(last[count], tensors)}
        entry = (pre if req.get("before") else post).get(count, {}).get(name)
        if entry is None:
            return {"ok": True, "missing": True}
        return {"ok": True, "value": encode(value_of(entry), tensors)}

    def namespace(count):
        """A copy of the namespace as it was just before cell `count` (now, where it was not noted)."""
        base = pre.get(count)
        if base is None:
            sync()
            base = state
        memo = {}
        ns = {k: v for k, v in user_ns.items() if isinstance_(k, str_) and not visible(k)}
        ns.update({name: keep(value_of(entry), memo, charge=False) for name, entry in base.items()})
        ns["__builtins__"] = builtins
        ns.setdefault("__name__", "__main__")
        return ns

    def rerun(req, tensors, sent, student):
        count = req.get("count")
        ns = namespace(count)
        given = decode(req["values"], sent, req["device"])
        ns.update(given)
        filename = f"<cell {count} run again>"
        code = ip.transform_cell(req["source"]) if hasattr(ip, "transform_cell") else req["source"]
        linecache.cache[filename] = (len_(code), None, code.splitlines(True), filename)
        tree = LastValue().visit(ast.parse(code, filename))
        ids = {k: (id_(v), fingerprint(v)) for k, v in ns.items() if isinstance_(k, str_) and visible(k)}
        slot = ("rerun", count)
        last.pop(slot, None)

        def run():
            current[0] = slot
            try:
                exec(compile(tree, filename, "exec"), ns)  # noqa: S102 - the student's own cell
            finally:
                current[0] = None

        failed = student(run)
        if failed is not None:
            return failed
        names = [k for k, v in ns.items() if isinstance_(k, str_) and visible(k)
                 and (k not in ids or ids[k] != (id_(v), fingerprint(v)))]
        names += [k for k in req.get("want", []) if k in ns and k not in names]
        payload = {"ok": True, "bound": names, "values": encode({k: ns[k] for k in names}, tensors)}
        if slot in last:
            payload["last"] = encode(last.pop(slot), tensors)
        return payload

    return {"noted": noted, "noted_value": noted_value, "rerun": rerun}
