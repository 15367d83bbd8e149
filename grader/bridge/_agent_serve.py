# Kernel-side half of the bridge, part 2 of 6: the agent itself, the callable the grader's
# requests reach by its random name, whatever the route. It serves a request (a function
# call, a name's value, a cell's Out[n], the devices) with builtins as they were at install
# time, and publishes the answer as data: JSON plus its tensors' bytes (pack, _agent_codec.py),
# never judged here. A request's own tensors come as raw bytes or a torch.save blob
# (grader/bridge/outgoing.py).
# `more` holds the ops of other parts (a cell's notes, a cell run again: _agent_notes.py), each
# called as handler(request, tensors, sent, student) and returning the reply's payload.
# Sent into the kernel as text with the other parts (see grader/bridge/agent.py), never
# imported. Called once, at install time: everything it uses is bound then.
def __grader_serve__(ip, torch, MIME, sinks, qualname, encode, decode, pack, more=None):
    import base64, builtins, io, json, traceback

    publish = ip.display_pub.publish
    user_ns = ip.user_ns
    b64encode, b64decode, dumps, loads = base64.b64encode, base64.b64decode, json.dumps, json.loads
    load = torch.load
    frombuffer, empty, uint8, bytearray_ = torch.frombuffer, torch.empty, torch.uint8, bytearray
    RAW_DTYPES = __grader_raw_dtypes__(torch)  # noqa: F821 - _agent_codec.py, joined
    BytesIO, extract_tb = io.BytesIO, traceback.extract_tb
    isinstance_, type_, len_, str_ = isinstance, type, len, str
    hash_, tuple_, id_, list_ = hash, tuple, id, list

    def frames(exc):
        out = []
        for fr in extract_tb(exc.__traceback__):
            if fr.filename == "<grader-agent>" or "/site-packages/" in fr.filename or fr.filename.startswith("<frozen"):
                continue
            out.append({"file": fr.filename, "line": fr.lineno, "name": fr.name, "code": fr.line or ""})
        return out[-20:]

    def bindings():
        """Which object each name of the notebook's namespace holds, as one number: the grader
        may skip asking again whether a name is a function while this does not change."""
        try:
            return hash_(tuple_((k, id_(v)) for k, v in list_(user_ns.items())))
        except BaseException:
            return None

    def reply(payload, tensors=()):
        payload.update(pack(tensors))
        payload["ns"] = bindings()
        if sinks:                      # a request through the door: the answer goes back through it
            sinks[-1].append(dumps(payload))
        else:
            publish({MIME: dumps(payload)}, metadata={})


    def received(req):
        """The tensors a request carries: raw bytes, each copied out into a tensor of its own, or
        one torch.save blob (grader/bridge/outgoing.py)."""
        raw = req.get("raw")
        if raw is None:
            blob = b64decode(req.get("blob") or "")
            return load(BytesIO(blob), weights_only=True) if blob else []
        data = bytearray_(b64decode(raw["data"]))
        out = []
        for name, shape, offset, nbytes in raw["tensors"]:
            dtype = RAW_DTYPES[name]
            if nbytes:
                out.append(frombuffer(data, dtype=uint8, count=nbytes, offset=offset).view(dtype).reshape(shape).clone())
            else:
                out.append(empty(shape, dtype=dtype))
        return out

    def error_payload(exc):
        try:
            evalue = str_(exc)[:2000]
        except Exception:
            evalue = "<unprintable>"
        return {"ok": False, "error": {"ename": type_(exc).__name__, "evalue": evalue, "frames": frames(exc)}}

    # builtins as they were before any student cell: restored while the agent works, so that a
    # student's `builtins.isinstance = ...` cannot break torch.save or json for the agent
    B = vars(builtins)
    pristine = dict(B)
    MISSING = object()

    def restore():
        changed = {}
        for key, value in pristine.items():
            current = B.get(key, MISSING)
            if current is not value:
                changed[key] = current
                B[key] = value
        return changed

    def put_back(changed):
        for key, value in changed.items():
            if value is MISSING:
                B.pop(key, None)
            else:
                B[key] = value

    def agent(op, request):
        changed = restore()
        try:
            return serve(op, request, changed)
        finally:
            put_back(changed)

    def as_student(run, changed):
        """Run the student's code in the student's world (their builtins); their error, as data."""
        put_back(changed)
        try:
            run()
        except BaseException as exc:
            return error_payload(exc)
        finally:
            changed.clear()
            changed.update(restore())
        return None

    def serve(op, request, changed):
        tensors = []
        try:
            req = loads(request)
            if op == "devices":
                info = {"cuda": bool(torch.cuda.is_available()), "mps": False, "torch": torch.__version__}
                if info["cuda"]:
                    info["cuda_name"] = torch.cuda.get_device_name(0)
                mps = getattr(getattr(torch, "backends", None), "mps", None)
                info["mps"] = bool(mps is not None and mps.is_available())
                return reply({"ok": True, "value": {"t": "json", "v": info}})
            if op == "describe":
                name = req["name"]
                if name not in user_ns:
                    return reply({"ok": True, "missing": True})
                return reply({"ok": True, "value": encode(user_ns[name], tensors)}, tensors)
            if op == "out":
                out = user_ns.get("Out", {})
                count = req["count"]
                if count not in out:
                    return reply({"ok": True, "missing": True})
                return reply({"ok": True, "value": encode(out[count], tensors)}, tensors)
            if op == "call":
                sent = received(req)
                device = req["device"]
                args = decode(req["args"], sent, device)
                kwargs = decode(req["kwargs"], sent, device)
                name = req["name"]
                if name not in user_ns:
                    return reply({"ok": True, "missing": True})
                fn = user_ns[name]
                if not callable(fn):
                    return reply({"ok": False, "notcallable": qualname(fn)})
                put_back(changed)          # the student's function runs in the student's world
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # the student's fault, reported as data
                    changed.clear()
                    changed.update(restore())
                    return reply(error_payload(exc))
                changed.clear()
                changed.update(restore())
                value = encode(result, tensors)
                after = encode(list(args), tensors)
                return reply({"ok": True, "value": value, "args_after": after}, tensors)
            handler = (more or {}).get(op)
            if handler is not None:
                sent = received(req)
                return reply(handler(req, tensors, sent, lambda run: as_student(run, changed)), tensors)
            return reply({"ok": False, "agent_error": f"unknown op {op}"})
        except BaseException as exc:
            return reply({"ok": False, "agent_error": f"{type_(exc).__name__}: {exc}"[:500]})

    def budget(stream, limit):
        """Cap what one request may print (print, sys.stdout.write, os.write(1, ...) all pass here):
        beyond `limit` characters the text is dropped in the kernel, before it costs anything.
        The grader keeps its own cap; this one only spares it a flood."""
        inner = stream.write
        state = {"key": None, "used": 0}
        note = f"\n[grader: output beyond {limit // 1024} KB was dropped]\n"

        def write(text):
            if not isinstance_(text, str_):
                return inner(text)
            try:
                key = stream.parent_header.get("msg_id")
            except Exception:
                key = None
            if key != state["key"]:
                state["key"], state["used"] = key, 0
            used = state["used"]
            state["used"] = used + len_(text)
            if used >= limit:
                return len_(text)
            if used + len_(text) > limit:
                inner(text[: limit - used] + note)
                return len_(text)
            return inner(text)

        try:
            stream.write = write
        except Exception:
            pass

    return agent, budget
