# Kernel-side half of the bridge, part 6 of 6: the agent's own door. Sent into the kernel as
# text with the other parts (see grader/bridge/agent.py), never imported; opened once, at
# install time, when the grader names a path for it. Its grader side is grader/bridge/door.py.
#
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
def __grader_door__(path, ip, output_limit, MIME, sinks, call_by_name, call_error):
    import json, signal, socket, struct, sys
    from tornado.ioloop import IOLoop

    dumps, loads = json.dumps, json.loads
    isinstance_, type_, len_, str_ = isinstance, type, len, str

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
