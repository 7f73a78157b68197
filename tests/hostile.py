"""Hostile outside systems on loopback (127.0.0.1): a portal and a mail server that misbehave.

`HostilePortal` answers the portal's protocol (login, LayDanhSachHoSo) through a function of
the request, or forwards to a real portal (the simulator) what that function leaves alone. Its
answers may trickle one byte at a time. `TricklingSmtp` speaks just enough SMTP to hold a
client: every reply one byte at a time, or an EHLO reply that never ends. Both stop their
threads when closed, and a client that went away ends a trickle at its next byte.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import requests


@dataclass
class Reply:
    """What the hostile portal answers: `body` as is, or trickled after its first `head` bytes."""

    body: bytes
    status: int = 200
    trickle_seconds: float = 0.0  # pause before each byte after `head`
    head: int = 0
    chunked: bool = False


def page(data: list[Any], *, total: int | None = None, size: int = 500, index: int = 1) -> Reply:
    """Return a LayDanhSachHoSo answer holding `data`."""
    body: dict[str, Any] = {"error_code": "00", "message": "", "pageIndex": index}
    body.update(pageSize=size, data=data)
    if total is not None:
        body["total"] = total
    return Reply(orjson.dumps(body))


Behaviour = Callable[[dict[str, Any]], Reply | None]


class HostilePortal:
    """A portal on 127.0.0.1 whose API answers come from `behave(request)` (None: `upstream`).

    Set `behave` again to change it between runs (lambda _: None forwards everything).
    """

    def __init__(
        self,
        behave: Behaviour,
        upstream: str | None = None,
        rewrite: Callable[[dict[str, Any], bytes], bytes] | None = None,
    ) -> None:
        self.behave = behave
        self.upstream = upstream
        self.rewrite = rewrite  # applied to what `upstream` answered
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

            def do_POST(self) -> None:
                """Answer one request of the portal's protocol."""
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = orjson.loads(raw)
                owner.requests.append(request)
                endpoint = self.path.rpartition("/")[2]
                reply: Reply | None = None
                if endpoint == "auth" and owner.upstream is None:
                    reply = Reply(orjson.dumps({"error_code": "00", "session": "s"}))
                elif endpoint != "auth":
                    reply = owner.behave(request)
                if reply is None:
                    assert owner.upstream is not None
                    forwarded = requests.post(f"{owner.upstream}/{endpoint}", data=raw, timeout=30)
                    content = forwarded.content
                    if owner.rewrite is not None and endpoint != "auth":
                        content = owner.rewrite(request, content)
                    reply = Reply(content, forwarded.status_code)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self._write(reply)
                except OSError:
                    self.close_connection = True  # the client gave up: so does this thread

            def _write(self, reply: Reply) -> None:
                body = reply.body
                first, rest = body[: reply.head], body[reply.head :]
                parts = [first] + ([rest] if not reply.trickle_seconds else list(_bytes(rest)))
                for number, part in enumerate(parts):
                    stop = number and reply.trickle_seconds
                    if stop and owner.closed.wait(reply.trickle_seconds):
                        raise OSError("closed")
                    if not part:
                        continue
                    if reply.chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    else:
                        self.wfile.write(part)
                    self.wfile.flush()
                if reply.chunked:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()

        self.closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL the client is given."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/dvcqg"

    def __enter__(self) -> HostilePortal:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.closed.set()
        self._server.shutdown()
        self._server.server_close()


def _bytes(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


class TricklingSmtp:
    """An SMTP server on 127.0.0.1 that answers slowly: each reply byte after `seconds`.

    With `endless_ehlo`, the greeting is prompt but the EHLO reply is "250-X" lines, one every
    `seconds`, without end.
    """

    def __init__(self, seconds: float, *, endless_ehlo: bool = False) -> None:
        self.seconds = seconds
        self.endless_ehlo = endless_ehlo
        self.closed = threading.Event()
        self.connections = 0
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner.connections += 1
                try:
                    self._talk()
                except OSError:
                    return  # the client gave up

            def _say(self, text: str, *, slow: bool) -> None:
                for byte in _bytes(text.encode("ascii")):
                    if slow and owner.closed.wait(owner.seconds):
                        raise OSError("closed")
                    self.wfile.write(byte)
                    self.wfile.flush()

            def _talk(self) -> None:
                slow = not owner.endless_ehlo
                self._say("220 hostile ESMTP\r\n", slow=slow)
                while not owner.closed.is_set():
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO") and owner.endless_ehlo:
                        while not owner.closed.wait(owner.seconds):
                            self._say("250-X\r\n", slow=False)
                        return
                    if verb == b"DATA":
                        self._say("354 go on\r\n", slow=slow)
                        while self.rfile.readline() not in (b".\r\n", b""):
                            pass
                    if verb == b"QUIT":
                        self._say("221 bye\r\n", slow=slow)
                        return
                    self._say("250 OK\r\n", slow=slow)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        return int(self._server.server_address[1])

    def __enter__(self) -> TricklingSmtp:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.closed.set()
        self._server.shutdown()
        self._server.server_close()


def elapsed(since: float) -> float:
    """Return the seconds since `since` (time.monotonic())."""
    return time.monotonic() - since


__all__ = ["HostilePortal", "Reply", "TricklingSmtp", "elapsed", "page"]
