"""The agent's own door: a unix socket in the kernel's private ipc folder (only this kernel and
the grader can reach it), opened at install time when the grader names a path for it. Its
grader side is grader/bridge/door.py.

It is served by the kernel's event loop on its main thread, between messages, as a shell
message would be. A request costs no ipykernel messaging at all (no busy/idle, no reply
through the shell channel's thread, no flushes through the iopub thread): a tenth of a
millisecond instead of several. It keeps the other doors' effects: the callable is looked up
by name as a cell would; SIGINT raises KeyboardInterrupt while it runs (the grader's timeout
interrupts the kernel as for a cell); what the call prints to sys.stdout / sys.stderr comes
back with the answer, cut at the same budget; and every answer published as display data
during the request (the agent's, or one a notebook forges) comes back through the door, in
order, as it would have arrived on iopub. Frames both ways: 4-byte big-endian length, then JSON.
"""

from __future__ import annotations

import signal
import socket
import struct
import sys
from typing import Any, Callable

from grader.bridge.inkernel.bound import MIME, dumps, isinstance_, len_, loads, str_, type_
from grader.bridge.inkernel.standin import ASKING

SIGINT, default_int_handler, set_signal = signal.SIGINT, signal.default_int_handler, signal.signal
frame_pack, frame_unpack = struct.pack, struct.unpack


class Capture:
    """A stream that keeps what a request prints (cut at the output budget) instead of sending it."""

    def __init__(self, underlying: Any, parts: list[str], used: list[int], limit: int) -> None:
        self._underlying, self._parts, self._used, self._limit = underlying, parts, used, limit
        self._note = f"\n[grader: output beyond {limit // 1024} KB was dropped]\n"

    def write(self, text: Any) -> int:
        if not isinstance_(text, str_):
            text = str_(text)
        used, limit = self._used[0], self._limit
        self._used[0] = used + len_(text)
        if limit and used >= limit:
            return len_(text)
        if limit and used + len_(text) > limit:
            self._parts.append(text[: limit - used] + self._note)
        else:
            self._parts.append(text)
        return len_(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._underlying, name)


class Door:
    """The socket at `path`, served on the kernel's IOLoop: each frame a request, answered in turn."""

    def __init__(
        self,
        path: str,
        ip: Any,
        output_limit: int,
        sinks: list[list[str]],
        call_by_name: Callable[[dict[str, Any]], None],
        call_error: Callable[[BaseException], tuple[str, str]],
    ) -> None:
        from tornado.ioloop import IOLoop

        self.ip, self.output_limit, self.sinks = ip, output_limit, sinks
        self.call_by_name, self.call_error = call_by_name, call_error
        self.loop, self.read_event = IOLoop.current(), IOLoop.READ
        self.conns: dict[int, tuple[socket.socket, bytearray]] = {}
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.server.setblocking(False)
        self.loop.add_handler(self.server.fileno(), self.on_accept, self.read_event)

    def on_accept(self, fd: int, events: int) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.conns[conn.fileno()] = (conn, bytearray())
        self.loop.add_handler(conn.fileno(), self.on_data, self.read_event)

    def on_data(self, fd: int, events: int) -> None:
        conn, buf = self.conns.get(fd, (None, None))
        if conn is None or buf is None:
            return
        try:
            data = conn.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.loop.remove_handler(fd)
            self.conns.pop(fd, None)
            conn.close()
            return
        buf.extend(data)
        while len_(buf) >= 4:
            size = frame_unpack(">I", bytes(buf[:4]))[0]
            if len_(buf) < 4 + size:
                break
            frame = bytes(buf[4 : 4 + size])
            del buf[: 4 + size]
            self.answer(conn, frame)

    def answer(self, conn: socket.socket, frame: bytes) -> None:
        ASKING.append(conn)  # a stand-in asks the grader through this connection meanwhile
        try:
            answer = self.serve(frame)
        except BaseException as exc:
            answer = dumps(
                {"status": "error", "ename": type_(exc).__name__, "evalue": "", "replies": [], "output": ""}
            ).encode()
        finally:
            ASKING.pop()
        try:
            conn.setblocking(True)
            conn.sendall(frame_pack(">I", len_(answer)) + answer)
            conn.setblocking(False)
        except OSError:
            pass

    def serve(self, frame: bytes) -> bytes:
        """One request: the agent called by name, its answers and what it printed kept for the reply."""
        out: dict[str, Any] = {"status": "ok"}
        replies: list[str] = []
        parts: list[str] = []
        used = [0]
        self.sinks.append(replies)
        pub = self.ip.display_pub
        original = pub.publish
        had_own = "publish" in getattr(pub, "__dict__", {})

        def publish_here(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
            if isinstance_(data, dict) and MIME in data:
                replies.append(data[MIME])
                return None
            return original(data, metadata, *args, **kwargs)

        saved = (sys.stdout, sys.stderr)
        captured = (
            Capture(saved[0], parts, used, self.output_limit),
            Capture(saved[1], parts, used, self.output_limit),
        )
        old_int = None
        try:
            request = loads(frame)
            out["id"] = request.get("id")
            pub.publish = publish_here
            sys.stdout, sys.stderr = captured  # type: ignore[assignment]
            old_int = set_signal(SIGINT, default_int_handler)
            self.call_by_name(request)
        except BaseException as exc:
            ename, evalue = self.call_error(exc)
            out.update(status="error", ename=ename, evalue=evalue)
        finally:
            self.put_back(old_int, saved, captured, pub, publish_here, original, had_own)
        out["replies"] = replies
        out["output"] = "".join(parts)
        return dumps(out).encode()

    def put_back(
        self,
        old_int: Any,
        saved: tuple[Any, Any],
        captured: tuple[Any, Any],
        pub: Any,
        publish_here: Any,
        original: Any,
        had_own: bool,
    ) -> None:
        """SIGINT's handler, the streams and the display publisher as they were before the request."""
        if old_int is not None:
            set_signal(SIGINT, old_int)
        if sys.stdout is captured[0]:  # a notebook that swapped the streams keeps its own
            sys.stdout = saved[0]
        if sys.stderr is captured[1]:
            sys.stderr = saved[1]
        if pub.publish is publish_here:
            if had_own:
                pub.publish = original
            else:
                try:
                    del pub.publish
                except AttributeError:
                    pub.publish = original
        self.sinks.pop()
