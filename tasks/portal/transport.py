"""HTTP with a total deadline and a size limit per request, for the portal client.

requests' timeout bounds each socket read; a portal that trickles its answer one byte at a time
would hold a request forever. `DeadlineSession.post_within` runs one request under a Watchdog
that shuts the request's socket down when the deadline passes, whatever phase it is in
(connecting, headers, body), and reads the body as a stream that may not exceed `max_bytes`.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tasks.settings.deadline import Watchdog

__all__ = [
    "TRANSIENT_HTTP_STATUSES",
    "DeadlineExceeded",
    "DeadlineSession",
    "ResponseTooLarge",
    "is_transient",
    "retry_after_seconds",
]

TRANSIENT_HTTP_STATUSES = frozenset({429, 502, 503, 504})

# Per thread, the list that collects the connections of the request under way: the watchdog's
# targets (a pooled connection is reused, so it registers at each request, not at connect).
_current = threading.local()


class DeadlineExceeded(Exception):
    """The whole request took longer than its deadline."""


class ResponseTooLarge(Exception):
    """The answer's body is larger than the limit."""


def _register(connection: HTTPConnection) -> None:
    watched = getattr(_current, "watched", None)
    if watched is not None:
        watched.append(connection)


class _Connection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _TlsConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TlsPool}


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


class DeadlineSession(requests.Session):
    """A requests Session whose `post_within` has a total deadline and a body size limit."""

    def __init__(self, pool_size: int = 10) -> None:
        super().__init__()
        # One kept-alive connection per request under way at once (pages read ahead).
        adapter = _Adapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def post_within(
        self, url: str, *, deadline: float, max_bytes: int, **kwargs: Any
    ) -> tuple[requests.Response, bytes]:
        """POST and return the response with its whole body, within `deadline` seconds.

        Raise DeadlineExceeded when the deadline passed first, ResponseTooLarge when the body
        is longer than `max_bytes`; requests' own exceptions otherwise.
        """
        watched: list[HTTPConnection] = []
        _current.watched = watched

        def abort() -> None:
            for connection in list(watched):
                _shut_down(connection)

        watchdog = Watchdog(deadline, abort)
        try:
            with watchdog:
                try:
                    with self.post(url, stream=True, **kwargs) as response:
                        return response, _read_body(response, max_bytes)
                except (requests.RequestException, OSError):
                    if watchdog.expired:
                        raise DeadlineExceeded(
                            f"no complete answer within {deadline:g} s"
                        ) from None
                    raise
        finally:
            _current.watched = None


def _read_body(response: requests.Response, max_bytes: int) -> bytes:
    """Return the body, refusing one longer than `max_bytes` before reading it all."""
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"the answer declares {int(declared)} bytes, over {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"the answer is longer than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def is_transient(failure: requests.Response | BaseException) -> bool:
    """Tell whether a failed HTTP exchange is worth retrying.

    Transient: HTTP 429, 502, 503, 504; timeouts; connections refused, dropped or reset;
    bodies cut short. Not transient: certificate errors and every other status.
    """
    if isinstance(failure, requests.Response):
        return failure.status_code in TRANSIENT_HTTP_STATUSES
    if isinstance(failure, requests.exceptions.SSLError):
        return False  # a certificate problem is configuration: retrying cannot fix it
    return isinstance(
        failure,
        requests.Timeout | requests.ConnectionError | requests.exceptions.ChunkedEncodingError,
    )


def retry_after_seconds(response: requests.Response) -> float | None:
    """Return the Retry-After of a response in seconds, None when absent or not a number."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare; plain backoff is good enough
    return max(seconds, 0.0)
