"""The portal simulator: docs/portal-api.md served over real HTTP, with faults injected on demand.

`PortalSimulator` runs a threaded HTTP/1.1 server (keep-alive) on loopback in a background
thread and answers `POST {base}/auth` and `POST {base}/api` from a `DossierStore`. Tests change
`simulator.faults` at any time to make the next requests fail the ways a real portal does
(503s, 429 with Retry-After, expired sessions, bodies cut short or not JSON, dropped
connections, records repeated across pages, an agency that always fails) and read
`simulator.stats` to count what the client asked.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson

from portal_sim.faults import COUNTED_FAULTS, Faults, broken_records, parse_faults, touched
from portal_sim.store import DossierStore
from tasks.portal.dossiers import is_portal_time

__all__ = [
    "AUTH",
    "Faults",
    "PortalSimulator",
    "parse_faults",
    "serve_forever",
]

logger = logging.getLogger(__name__)

AUTH = "auth"  # the name `Faults.only` and `PortalSimulator.stats` give the login endpoint
SERVICE_AGENCIES = "LayDanhSachDonVi"
SERVICE_DOSSIERS = "LayDanhSachHoSo"
PAGE_SIZE_LIMIT = 1000  # the contract's upper bound for pageSize

OK = "00"
SESSION_EXPIRED = "401"
BAD_PARAMETER = "01"
UNKNOWN_SERVICE = "02"
AGENCY_FAILURE = "03"
BAD_REQUEST = "400"
NOT_FOUND = "404"
INTERNAL_ERROR = "500"

BAD_CREDENTIALS_MESSAGE = "Sai tên đăng nhập hoặc mật khẩu"
SESSION_EXPIRED_MESSAGE = "Phiên làm việc đã hết hạn hoặc không hợp lệ, vui lòng đăng nhập lại"
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Hệ thống đang bảo trì</h1><p>Vui lòng thử lại sau.</p></body></html>"
).encode()


@dataclass
class _Session:
    username: str
    expires_at: float
    calls: int = 0


class _Answer:
    """One HTTP answer: status, JSON or raw body, and how to mangle it."""

    __slots__ = ("body", "content_type", "cut", "headers", "reset", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        content_type: str = "application/json; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.cut = False
        self.reset = False


def _json(payload: Mapping[str, Any], status: int = 200) -> _Answer:
    """Answer with a JSON body."""
    return _Answer(status, orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))


def _service_error(code: str, message: str, status: int = 200) -> _Answer:
    """Answer with the portal's error object."""
    return _json({"error_code": code, "message": message}, status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: PortalSimulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on clients that keep a connection open, so their handler threads end."""
        with self.connections_lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves a whole paging run
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        """Answer a POST through the simulator."""
        length_header = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self._write(_service_error(BAD_REQUEST, "Thiếu Content-Length hợp lệ", 400))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        simulator = self.server.simulator
        # Under way from its body read to its answer ready (latency included), not while the
        # answer is sent: once sent, the client may start its next request before this thread
        # runs again, and the count would hold one request twice.
        simulator.request_started()
        try:
            answer = simulator.answer(self.path, body)
        finally:
            simulator.request_ended()
        if answer.reset:
            self.close_connection = True
            return
        self._write(answer)

    def do_GET(self) -> None:
        """Refuse GET: the API only takes POST."""
        self.server.simulator.count("GET")
        answer = _service_error(BAD_REQUEST, "Chỉ hỗ trợ phương thức POST", 405)
        answer.headers["Allow"] = "POST"
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        body = answer.body
        declared = len(body)
        if answer.cut:
            body = body[: declared // 2]
            self.close_connection = True
        lines = [
            f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}",
            f"Content-Type: {answer.content_type}",
            f"Content-Length: {declared}",
            *(f"{name}: {value}" for name, value in answer.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            # One write: headers and body in the same segment, no Nagle/delayed-ACK stall.
            self.wfile.write(head + body)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log to the logging module at debug level, not to stderr."""
        logger.debug("portal-sim %s " + format, self.address_string(), *args)


class PortalSimulator:
    """The portal API of docs/portal-api.md over HTTP on loopback, from a DossierStore.

    Use as a context manager (or `start()`/`stop()`); `url` is the base URL a client
    configures. `faults` may be replaced or changed while it runs; `stats` counts requests
    per endpoint (AUTH, service names, "requests" in all), the most requests it was ever
    answering at once ("max_concurrent": from the body read to the answer ready, latency
    included; `in_flight` is the number now) and the faults injected
    ("fault:503", "fault:429", "fault:reset", "fault:cut", "fault:truncated", "fault:html",
    "fault:session", "fault:repeat", "fault:agency", "fault:malformed"). With `ssl_context`
    (a server context holding the certificate) it serves HTTPS.
    """

    def __init__(
        self,
        store: DossierStore,
        users: Mapping[str, str] | None = None,
        faults: Faults | None = None,
        session_ttl_seconds: float = 1800,
        max_page_size: int = PAGE_SIZE_LIMIT,
        base_path: str = "/dvcqg",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not 1 <= max_page_size <= PAGE_SIZE_LIMIT:
            raise ValueError(f"max_page_size {max_page_size} is out of range 1..{PAGE_SIZE_LIMIT}")
        self.store = store
        self.users = dict(users) if users is not None else {"demo": "demo"}
        self.faults = faults if faults is not None else Faults()
        self.session_ttl_seconds = session_ttl_seconds
        self.max_page_size = max_page_size
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.stats: Counter[str] = Counter()
        self._host = host
        self._port = port
        self._clock = clock
        self._ssl_context = ssl_context
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> PortalSimulator:
        """Bind the socket and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._port), self)
        if self._ssl_context is not None:
            self._server.socket = self._ssl_context.wrap_socket(
                self._server.socket, server_side=True
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"portal-sim:{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("portal simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, hang up on open connections and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PortalSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port bound (the ephemeral one when created with port 0)."""
        if self._server is None:
            raise RuntimeError("the portal simulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL of the API, e.g. http://127.0.0.1:50123/dvcqg."""
        host = self._host if self._host not in ("", "0.0.0.0") else "127.0.0.1"
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{self.base_path}"

    def expire_sessions(self) -> None:
        """Forget every session, as a portal restart would."""
        with self._lock:
            self._sessions.clear()

    def count(self, key: str) -> None:
        """Add one to `stats[key]` (thread-safe)."""
        with self._lock:
            self.stats[key] += 1

    def request_started(self) -> None:
        """Count one more request being answered; keep the most ever seen at once."""
        with self._lock:
            self.in_flight += 1
            if self.in_flight > self.stats["max_concurrent"]:
                self.stats["max_concurrent"] = self.in_flight

    def request_ended(self) -> None:
        """Count one request fewer being answered."""
        with self._lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, int]:
        """Return a copy of `stats`, taken at one moment."""
        with self._lock:
            return dict(self.stats)

    def reset_stats(self) -> None:
        """Start counting afresh (the requests under way stay counted as under way)."""
        with self._lock:
            self.stats.clear()
            self.stats["max_concurrent"] = self.in_flight

    # -- requests ----------------------------------------------------------------------

    def answer(self, path: str, raw_body: bytes) -> _Answer:
        """Return the answer to a POST of `raw_body` to `path`, faults applied."""
        route = path.split("?", 1)[0]
        endpoint = ""
        if route == f"{self.base_path}/auth":
            endpoint = AUTH
        elif route != f"{self.base_path}/api":
            self.count("requests")
            return _service_error(NOT_FOUND, f"Không tìm thấy đường dẫn {route}", 404)
        try:
            request = orjson.loads(raw_body)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            self.count("requests")
            return _service_error(BAD_REQUEST, "Nội dung yêu cầu không phải là đối tượng JSON", 400)
        if not endpoint:
            service = request.get("service")
            endpoint = service if isinstance(service, str) else ""

        with self._lock:
            self.stats["requests"] += 1
            self.stats[endpoint or "<no service>"] += 1
            fault = self._due_fault(endpoint)
            latency = self.faults.latency_seconds
        if latency > 0:
            time.sleep(latency)
        if fault == "connection_resets":
            answer = _Answer()
            answer.reset = True
            return answer
        if fault == "unavailable_burst":
            return _service_error("503", "Hệ thống đang quá tải, vui lòng thử lại sau", 503)
        if fault == "throttle_burst":
            answer = _service_error("429", "Quá nhiều yêu cầu, vui lòng thử lại sau", 429)
            answer.headers["Retry-After"] = str(self.faults.retry_after_seconds)
            return answer
        if fault == "html_bodies":
            return _Answer(200, HTML_ERROR_PAGE, "text/html; charset=utf-8")

        try:
            answer = self._auth(request) if endpoint == AUTH else self._api(request)
        except Exception as exc:  # the simulator must answer, as a portal would, not hang up
            logger.exception("portal simulator failed on %s", endpoint)
            answer = _service_error(INTERNAL_ERROR, f"Lỗi hệ thống: {exc}", 500)
        if fault == "truncated_bodies":
            answer.body = answer.body[: max(1, len(answer.body) // 2)]
        elif fault == "cut_bodies":
            answer.cut = True
        return answer

    def _due_fault(self, endpoint: str) -> str:
        """Pick the fault this request suffers ("" for none); the caller holds the lock."""
        faults = self.faults
        if not faults.applies_to(endpoint):
            return ""
        if faults.draw_unavailable():
            self.stats["fault:503"] += 1
            return "unavailable_burst"
        for name, stat in COUNTED_FAULTS.items():
            if name == "throttle_burst" and self.stats["requests"] <= faults.throttle_after:
                continue  # the burst waits for its moment
            if faults.take(name):
                self.stats[stat] += 1
                return name
        return ""

    def _auth(self, request: Mapping[str, Any]) -> _Answer:
        username = request.get("username")
        password = request.get("password")
        username = username if isinstance(username, str) else ""
        expected = self.users.get(username)
        if (
            expected is None
            or not isinstance(password, str)
            or not hmac.compare_digest(expected.encode(), password.encode())
        ):
            return _json({"error_code": 1, "message": BAD_CREDENTIALS_MESSAGE})
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            # Drop expired sessions here so a long run does not accumulate them.
            for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
                del self._sessions[key]
            self._sessions[token] = _Session(username, now + self.session_ttl_seconds)
        return _json(
            {"error_code": 0, "session": token, "expires_in": int(self.session_ttl_seconds)}
        )

    def _api(self, request: Mapping[str, Any]) -> _Answer:
        token = request.get("session")
        token = token if isinstance(token, str) else ""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[token]
                session = None
            if session is not None and self.faults.session_calls > 0:
                if session.calls >= self.faults.session_calls:
                    del self._sessions[token]
                    self.stats["fault:session"] += 1
                    session = None
                else:
                    session.calls += 1
        if session is None:
            return _service_error(SESSION_EXPIRED, SESSION_EXPIRED_MESSAGE)

        service = request.get("service")
        if service == SERVICE_AGENCIES:
            return _json({"error_code": OK, "message": "", "data": self.store.agencies()})
        if service == SERVICE_DOSSIERS:
            return self._dossiers(request)
        if not isinstance(service, str) or not service:
            return _service_error(UNKNOWN_SERVICE, "Thiếu tham số service (tên dịch vụ)")
        return _service_error(
            UNKNOWN_SERVICE,
            f"Dịch vụ {service!r} không tồn tại; các dịch vụ hỗ trợ: "
            f"{SERVICE_AGENCIES}, {SERVICE_DOSSIERS}",
        )

    def _dossiers(self, request: Mapping[str, Any]) -> _Answer:
        agency = request.get("madonvi")
        if not isinstance(agency, str) or not agency.strip():
            return _service_error(BAD_PARAMETER, "Thiếu tham số madonvi (mã đơn vị)")
        agency = agency.strip()
        stamps: list[str] = []
        for name in ("tungay", "denngay"):
            value = request.get(name)
            if not isinstance(value, str) or not is_portal_time(value):
                return _service_error(
                    BAD_PARAMETER,
                    f"Tham số {name} = {value!r} không đúng định dạng thời gian yyyyMMddHHmmss",
                )
            stamps.append(value)
        from_stamp, to_stamp = stamps
        if from_stamp > to_stamp:
            return _service_error(
                BAD_PARAMETER, f"tungay {from_stamp} phải không muộn hơn denngay {to_stamp}"
            )
        page_index = _positive_int(request.get("pageIndex"))
        if page_index is None:
            return _service_error(
                BAD_PARAMETER,
                f"Tham số pageIndex = {request.get('pageIndex')!r} phải là số nguyên từ 1",
            )
        asked_size = _positive_int(request.get("pageSize"))
        if asked_size is None or asked_size > PAGE_SIZE_LIMIT:
            return _service_error(
                BAD_PARAMETER,
                f"Tham số pageSize = {request.get('pageSize')!r} phải là số nguyên "
                f"từ 1 đến {PAGE_SIZE_LIMIT}",
            )
        known = {str(row.get("MaDonVi", "")).strip() for row in self.store.agencies()}
        if agency not in known:
            return _service_error(BAD_PARAMETER, f"Không tìm thấy đơn vị có mã {agency}")
        if agency in self.faults.failing_agencies:
            self.count("fault:agency")
            return _service_error(
                AGENCY_FAILURE, f"Lỗi khi truy vấn hồ sơ của đơn vị {agency}, vui lòng thử lại sau"
            )

        size = min(asked_size, self.max_page_size)
        window = self.store.window(agency, from_stamp, to_stamp)
        if self.faults.repeat_across_pages and size > 1 and page_index > 1:
            # As if one dossier were inserted before the reading position while each page
            # was read: every page starts again with the last record of the page before.
            data = list(window.page((page_index - 1) * (size - 1), size))
            if data:
                data[0] = touched(data[0], self.faults.repeat_update_seconds)
                self.count("fault:repeat")
        else:
            data = window.page((page_index - 1) * size, size)
        if self.faults.malformed_records > 0 and data:
            data = [
                *data,
                *broken_records(agency, page_index, from_stamp, self.faults.malformed_records),
            ]
            self.count("fault:malformed")
        return _json(
            {
                "error_code": OK,
                "message": "",
                "total": window.total,
                "pageIndex": page_index,
                "pageSize": size,
                "data": data,
            }
        )


def _positive_int(value: Any) -> int | None:
    """Return `value` as an integer >= 1 (from an int or digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
        return number if number >= 1 else None
    return None


def serve_forever(
    store: DossierStore,
    host: str = "127.0.0.1",
    port: int = 8080,
    faults: Faults | None = None,
    *,
    users: Mapping[str, str] | None = None,
    max_page_size: int = PAGE_SIZE_LIMIT,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the portal API until interrupted (Ctrl+C) or `stop` is set.

    `on_ready` receives the base URL once the socket is bound (the command prints it).
    """
    simulator = PortalSimulator(
        store, users=users, faults=faults, max_page_size=max_page_size, host=host, port=port
    )
    stop = stop if stop is not None else threading.Event()
    with simulator:
        if on_ready is not None:
            on_ready(simulator.url)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            logger.info("portal simulator interrupted")
