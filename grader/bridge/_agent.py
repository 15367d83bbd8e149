# Kernel-side half of the bridge. This file is never imported by the grader: its text is
# sent into the student's kernel once, before the student's first cell, and installs one
# callable under a random name in builtins. Everything it needs is bound here, at install
# time, so later patches to json, print, torch.save or the user's globals do not reach it.
# Nothing it sends is trusted by the grader: replies are data (JSON + a tensor blob that
# the grader loads with torch.load(weights_only=True)), validated there.
def __grader_install__(token, output_limit=0, door=None):
    import base64, builtins, io, json, sys, traceback
    import torch

    ip = get_ipython()  # noqa: F821 - provided by IPython
    publish = ip.display_pub.publish
    user_ns = ip.user_ns
    b64encode, b64decode, dumps, loads = base64.b64encode, base64.b64decode, json.dumps, json.loads
    save, load, Tensor = torch.save, torch.load, torch.Tensor
    BytesIO, extract_tb = io.BytesIO, traceback.extract_tb
    isinstance_, type_, repr_, len_, str_, float_ = isinstance, type, repr, len, str, float
    hash_, tuple_, id_, list_ = hash, tuple, id, list
    MIME = "application/x-grader-reply+json"
    MAX_ITEMS, MAX_DEPTH = 10000, 20
    try:
        import numpy
        ndarray = numpy.ndarray
    except Exception:
        numpy, ndarray = None, ()
    no_torch_function = getattr(torch._C, "DisableTorchFunctionSubclass", None)

    def qualname(obj):
        cls = type_(obj)
        return f"{cls.__module__}.{cls.__qualname__}"

    def plain(t):
        if no_torch_function is not None:
            with no_torch_function():
                t = t.detach()
                return t.as_subclass(Tensor) if type_(t) is not Tensor else t
        return t.detach()

    def encode(value, tensors, depth=0):
        if depth > MAX_DEPTH or len_(tensors) > MAX_ITEMS:
            return {"t": "opaque", "type": qualname(value), "repr": "<too deep>"}
        if isinstance_(value, Tensor):
            t = plain(value)
            info = {"t": "tensor", "i": len_(tensors), "device": str_(t.device), "cls": qualname(value),
                    "requires_grad": bool(value.requires_grad), "layout": str_(t.layout)}
            try:
                info["storage"] = int(t.untyped_storage().data_ptr())
                info["offset"] = int(t.storage_offset())
                info["stride"] = list(t.stride())
            except Exception:
                pass
            tensors.append(t.cpu() if t.device.type != "cpu" else t)
            return info
        if ndarray and isinstance_(value, ndarray):
            try:
                t = torch.from_numpy(numpy.ascontiguousarray(value))
                tensors.append(t)
                return {"t": "ndarray", "i": len_(tensors) - 1, "dtype": str_(value.dtype)}
            except Exception:
                return {"t": "opaque", "type": qualname(value), "repr": repr_(value)[:300]}
        if value is None or isinstance_(value, (bool, int, str)):
            if isinstance_(value, int) and not isinstance_(value, bool) and abs(value) > 2**63:
                return {"t": "opaque", "type": "builtins.int", "repr": repr_(value)[:300]}
            if isinstance_(value, str) and len_(value) > 100000:
                value = value[:100000]
            return {"t": "json", "v": value, "type": qualname(value)}
        if isinstance_(value, float):
            if value != value or value in (float_("inf"), float_("-inf")):
                return {"t": "float", "v": repr_(value)}
            return {"t": "json", "v": value, "type": "builtins.float"}
        if ndarray and numpy is not None and isinstance_(value, numpy.generic):
            return {"t": "npscalar", "v": encode(value.item(), tensors, depth + 1), "dtype": str_(value.dtype)}
        if isinstance_(value, (list, tuple)) and len_(value) <= MAX_ITEMS:
            return {"t": "list" if isinstance_(value, list) else "tuple",
                    "items": [encode(v, tensors, depth + 1) for v in value]}
        if isinstance_(value, dict) and len_(value) <= MAX_ITEMS:
            return {"t": "dict", "items": [[encode(k, tensors, depth + 1), encode(v, tensors, depth + 1)]
                                           for k, v in value.items()]}
        if callable(value):
            return {"t": "callable", "type": qualname(value), "name": getattr(value, "__name__", "")}
        try:
            text = repr_(value)[:300]
        except Exception:
            text = "<unrepresentable>"
        return {"t": "opaque", "type": qualname(value), "repr": text}

    def decode(node, tensors, device):
        kind = node["t"]
        if kind == "tensor":
            t = tensors[node["i"]]
            t = t.to(device) if device != "cpu" else t
            return t.requires_grad_(True) if node.get("requires_grad") else t
        if kind == "json":
            return node["v"]
        if kind == "float":
            return float_(node["v"])
        if kind in ("list", "tuple"):
            items = [decode(v, tensors, device) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {decode(k, tensors, device): decode(v, tensors, device) for k, v in node["items"]}
        raise ValueError(f"cannot decode {kind}")

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
        blob = b""
        if tensors:
            buf = BytesIO()
            save(list(tensors), buf)
            blob = buf.getvalue()
        payload["blob"] = b64encode(blob).decode("ascii")
        payload["ns"] = bindings()
        if sinks:                      # a request through the door: the answer goes back through it
            sinks[-1].append(dumps(payload))
        else:
            publish({MIME: dumps(payload)}, metadata={})

    sinks = []

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
                blob = b64decode(req["blob"])
                sent = load(BytesIO(blob), weights_only=True) if blob else []
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

    if output_limit:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None and hasattr(stream, "parent_header"):
                budget(stream, output_limit)

    setattr(builtins, token, agent)

    # A student's `import grader; grader.check()` cell (their own check while they work) must
    # not fail at grading time, where the grader package is out of the kernel's view.
    try:
        import grader as _grader_pkg  # noqa: F401 - inline.check() does nothing in a grading kernel
    except Exception:
        import types as _types

        stub = _types.ModuleType("grader")

        def check(*_args, **_kwargs):
            print("grader.check() does nothing while your notebook is being graded.")

        stub.check = check
        sys.modules["grader"] = stub

    # Both doors below call the agent as the cell `<token>(op, request)` would (the notebook's
    # globals, then builtins) and report a failure to call it as that cell's error would read.
    def call_by_name(request):
        fn = user_ns[token] if token in user_ns else getattr(builtins, token)
        fn(str_(request.get("op", "")), str_(request.get("request", "")))

    def call_error(exc):
        try:
            evalue = str_(exc)[:2000]
        except BaseException:
            evalue = "<unprintable>"
        if type_(exc) is AttributeError and token in evalue:
            return "NameError", f"name '{token}' is not defined"
        return type_(exc).__name__, evalue

    # The same request as a shell message of its own ("grader_request", content {op, request}),
    # not a cell: the grader's calls skip a cell's machinery (input transformation, compilation,
    # history, execute_input), the most of a request's cost. ipykernel publishes busy/idle around
    # it and turns SIGINT into KeyboardInterrupt while it runs, as for a cell. The agent is
    # called by name (call_by_name): whatever a notebook does to it has the same effect either
    # way. The answer travels as always (display data on iopub); the shell reply only says how
    # the call ended.
    kernel = getattr(ip, "kernel", None)
    handlers = getattr(kernel, "shell_handlers", None)
    session = getattr(kernel, "session", None)
    if isinstance_(handlers, dict) and session is not None:
        send = session.send

        def handle(stream, ident, parent):
            content = {"status": "ok"}
            try:
                call_by_name(parent.get("content") or {})
            except BaseException as exc:
                ename, evalue = call_error(exc)
                content = {"status": "error", "ename": ename, "evalue": evalue, "traceback": []}
            finally:
                send(stream, "grader_reply", content, parent, ident=ident)

        handlers["grader_request"] = handle

    # The agent's own door: a unix socket in the kernel's private ipc folder (only this kernel
    # and the grader can reach it), served by the kernel's event loop on its main thread, between
    # messages, as a shell message would be. A request costs no ipykernel messaging at all (no
    # busy/idle, no reply through the shell channel's thread, no flushes through the iopub
    # thread): a tenth of a millisecond instead of several. It keeps the other doors' effects:
    # the callable is looked up by name as a cell would; SIGINT raises KeyboardInterrupt while
    # it runs (the grader's timeout interrupts the kernel as for a cell); what the call prints to
    # sys.stdout / sys.stderr comes back with the answer, cut at the same budget; and every
    # answer published as display data during the request (the agent's, or one a notebook
    # forges) comes back through the door, in order, as it would have arrived on iopub.
    # Frames both ways: 4-byte big-endian length, then JSON.
    def open_door(path):
        import signal, socket, struct
        from tornado.ioloop import IOLoop

        loop = IOLoop.current()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(4)
        server.setblocking(False)
        conns = {}
        SIGINT, default_int_handler, sig = signal.SIGINT, signal.default_int_handler, signal.signal
        pack, unpack = struct.pack, struct.unpack
        note = f"\n[grader: output beyond {output_limit // 1024} KB was dropped]\n"

        class Capture:
            def __init__(self, underlying, parts, used):
                self._underlying, self._parts, self._used = underlying, parts, used

            def write(self, text):
                if not isinstance_(text, str_):
                    text = str_(text)
                used = self._used[0]
                self._used[0] = used + len_(text)
                if output_limit and used >= output_limit:
                    return len_(text)
                if output_limit and used + len_(text) > output_limit:
                    self._parts.append(text[: output_limit - used] + note)
                else:
                    self._parts.append(text)
                return len_(text)

            def writelines(self, lines):
                for line in lines:
                    self.write(line)

            def flush(self):
                pass

            def __getattr__(self, name):
                return getattr(self._underlying, name)

        def serve_door(frame):
            out = {"status": "ok"}
            replies, parts, used = [], [], [0]
            sinks.append(replies)
            pub = ip.display_pub
            original = pub.publish
            had_own = "publish" in getattr(pub, "__dict__", {})

            def publish_here(data, metadata=None, *args, **kwargs):
                if isinstance_(data, dict) and MIME in data:
                    replies.append(data[MIME])
                    return None
                return original(data, metadata, *args, **kwargs)

            saved_out, saved_err = sys.stdout, sys.stderr
            cap_out, cap_err = Capture(saved_out, parts, used), Capture(saved_err, parts, used)
            old_int = None
            try:
                request = loads(frame)
                out["id"] = request.get("id")
                pub.publish = publish_here
                sys.stdout, sys.stderr = cap_out, cap_err
                old_int = sig(SIGINT, default_int_handler)
                call_by_name(request)
            except BaseException as exc:
                ename, evalue = call_error(exc)
                out.update(status="error", ename=ename, evalue=evalue)
            finally:
                if old_int is not None:
                    sig(SIGINT, old_int)
                if sys.stdout is cap_out:          # a notebook that swapped the streams keeps its own
                    sys.stdout = saved_out
                if sys.stderr is cap_err:
                    sys.stderr = saved_err
                if pub.publish is publish_here:
                    if had_own:
                        pub.publish = original
                    else:
                        try:
                            del pub.publish
                        except AttributeError:
                            pub.publish = original
                sinks.pop()
            out["replies"] = replies
            out["output"] = "".join(parts)
            return dumps(out).encode()

        def on_data(fd, events):
            conn, buf = conns.get(fd, (None, None))
            if conn is None:
                return
            try:
                data = conn.recv(1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_handler(fd)
                conns.pop(fd, None)
                conn.close()
                return
            buf.extend(data)
            while len_(buf) >= 4:
                size = unpack(">I", bytes(buf[:4]))[0]
                if len_(buf) < 4 + size:
                    break
                frame = bytes(buf[4:4 + size])
                del buf[:4 + size]
                try:
                    answer = serve_door(frame)
                except BaseException as exc:
                    answer = dumps({"status": "error", "ename": type_(exc).__name__, "evalue": "",
                                    "replies": [], "output": ""}).encode()
                try:
                    conn.setblocking(True)
                    conn.sendall(pack(">I", len_(answer)) + answer)
                    conn.setblocking(False)
                except OSError:
                    pass

        def on_accept(fd, events):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.setblocking(False)
            conns[conn.fileno()] = (conn, bytearray())
            loop.add_handler(conn.fileno(), on_data, IOLoop.READ)

        loop.add_handler(server.fileno(), on_accept, IOLoop.READ)

    if door:
        try:
            open_door(door)
        except Exception:
            pass                               # the grader then knocks in vain and uses the shell

