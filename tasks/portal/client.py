"""The portal client: the one interface to the public-service portal (docs/portal-api.md).

`Portal` is what the flows call. `HttpPortal` talks to a real portal (or the simulator) over
HTTP with retries, re-login and paging (a fake from memory for tests is in
standins/fake_portal.py). Both stream each agency's dossiers page by page through the same de-duplication and
validation (`merge_pages`, `check_records`), so memory does not grow with the number of
dossiers and a bad record becomes a `RejectedRecord` in the stream instead of an error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import certifi
import orjson
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from tasks.portal.dossiers import Dossier, RejectedRecord, clean_text, is_portal_time
from tasks.portal.paging import (
    FetchStats,
    PageGuard,
    PagingError,
    check_record,
    check_records,
    merge_pages,
    record_code,
)
from tasks.portal.politeness import NoSlotFree, PageTimeout, read_ahead, shared_slots
from tasks.portal.transport import (
    TRANSIENT_HTTP_STATUSES,
    DeadlineExceeded,
    DeadlineSession,
    ResponseTooLarge,
    is_transient,
    retry_after_seconds,
)
from tasks.portal.wire import decode_body

__all__ = [
    "TRANSIENT_HTTP_STATUSES",
    "Agency",
    "FetchStats",
    "HttpPortal",
    "Portal",
    "PortalAuthError",
    "PortalBadResponse",
    "PortalError",
    "PortalServiceError",
    "PortalUnavailable",
    "check_record",
    "check_records",
    "is_transient",
    "merge_pages",
    "parse_agency",
    "record_code",
    "retry_after_seconds",
]

logger = logging.getLogger(__name__)

SERVICE_AGENCIES = "LayDanhSachDonVi"
SERVICE_DOSSIERS = "LayDanhSachHoSo"
AUTH = "auth"
_OK_CODES = ("00", "0")
_SESSION_EXPIRED = "401"


# -- values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Agency:
    """One agency (đơn vị) of LayDanhSachDonVi."""

    code: str  # MaDonVi
    name: str  # TenDonVi
    level: int  # CapDonVi: 1 province-level department, 2 district, 3 commune
    parent: str  # MaDonViCha, "" when none


class Portal(Protocol):
    """Read agencies and dossiers from the portal."""

    def list_agencies(self) -> list[Agency]:
        """Return every agency the portal knows."""
        ...

    def iter_dossiers(
        self, agency: str, start: str, end: str, stats: FetchStats | None = None
    ) -> Iterator[Dossier | RejectedRecord]:
        """Stream the dossiers of `agency` open at some moment of [start, end], validated."""
        ...


# -- errors ---------------------------------------------------------------------------


class PortalError(Exception):
    """Any failure to read from the portal."""


class PortalAuthError(PortalError):
    """The portal refused the credentials (or a fresh session): final, never retried."""


class PortalServiceError(PortalError):
    """The portal answered a call with a service error: final for that call."""

    def __init__(self, service: str, message: str, error_code: str = "") -> None:
        code = f" (error_code {error_code})" if error_code else ""
        super().__init__(f"portal service {service} failed{code}: {message}")
        self.service = service
        self.message = message
        self.error_code = error_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their message alone; a Dask worker sends this one back whole.
        return (type(self), (self.service, self.message, self.error_code))


class PortalUnavailable(PortalError):
    """The portal could not be reached or kept failing transiently until retries ran out."""

    def __init__(self, url: str, service: str, cause: str, attempts: int) -> None:
        super().__init__(
            f"portal {url} ({service}) unavailable after {attempts} attempt(s): {cause}"
        )
        self.url = url
        self.service = service
        self.cause = cause
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.service, self.cause, self.attempts))


class PortalBadResponse(PortalError):
    """The portal answered something the contract does not allow (not JSON twice, bad rows)."""

    def __init__(self, url: str, service: str, problem: str) -> None:
        super().__init__(f"portal {url} ({service}) answered badly: {problem}")
        self.url = url
        self.service = service
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.service, self.problem))


# -- records ------------------------------------------------------------------------


def parse_agency(row: Any, position: int) -> Agency:
    """Read one row of LayDanhSachDonVi; raise ValueError naming the row (1-based) and why."""
    if not isinstance(row, Mapping):
        raise ValueError(f"agency row {position} is a {type(row).__name__}, not an object")
    code = row.get("MaDonVi")
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"agency row {position} has no MaDonVi")
    level = row.get("CapDonVi")
    if isinstance(level, str) and level.strip().isdigit():
        level = int(level)
    if not isinstance(level, int) or isinstance(level, bool):
        raise ValueError(f"agency {code} (row {position}): CapDonVi {level!r} is not a number")
    name = row.get("TenDonVi")
    parent = row.get("MaDonViCha")
    return Agency(
        code=clean_text(code.strip())[0],
        name="" if name is None else clean_text(str(name).strip())[0],
        level=level,
        parent="" if parent is None else clean_text(str(parent).strip())[0],
    )


def check_window(start: str, end: str) -> None:
    for name, value in (("start", start), ("end", end)):
        if not is_portal_time(value):
            raise ValueError(f"window {name} {value!r} is not a time yyyyMMddHHmmss")
    if start > end:
        raise ValueError(f"window start {start} is after its end {end}")


# -- the HTTP client ------------------------------------------------------------------


class HttpPortal:
    """The portal over HTTP(S): lazy login, one re-login per expired session, retries, paging.

    `verify` is True (the authorities of certifi, requests' own; REQUESTS_CA_BUNDLE in the
    environment is ignored), False, or the path of a CA bundle. `timeout` bounds each socket
    read, `deadline` a whole request (connecting, headers, body) and `max_page_bytes` its body;
    `max_pages` bounds one agency's paging, `max_concurrent_requests` the requests under way
    at once to this portal from the whole process (tasks/portal/politeness.py) and the pages
    one fetch reads ahead. `sleep` and `rng` are injectable so tests neither
    wait nor depend on chance. The password is kept only to log in and never appears in logs
    or errors.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 30.0,
        deadline: float = 120.0,
        max_page_bytes: int = 64 * 1024 * 1024,
        max_pages: int = 2000,
        page_size: int = 500,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30,
        max_concurrent_requests: int = 4,
        verify: bool | str = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError(f"page_size {page_size} is out of range 1..1000")
        if max_attempts < 1:
            raise ValueError(f"max_attempts {max_attempts} must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.timeout = timeout
        self.deadline = deadline
        self.max_page_bytes = max_page_bytes
        self.max_pages = max_pages
        self.page_size = page_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_concurrent_requests = max_concurrent_requests
        # Shared by every client of this portal in the process: the bound is the run's.
        self._slots = shared_slots(self.base_url, max_concurrent_requests)
        # The longest one page can take: each attempt waits for a slot and answers within
        # `deadline`, then waits at most `deadline` (a Retry-After) or `backoff_max`.
        self._page_bound = max_attempts * (3 * deadline + backoff_max)
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._http = DeadlineSession(pool_size=max(10, max_concurrent_requests))
        # True becomes certifi's bundle by name, given with each request: requests lets
        # REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment replace `verify=True` (or a
        # session's bundle), which would silently trust other authorities than configured.
        self._verify: bool | str = certifi.where() if verify is True else verify
        self._http.verify = self._verify
        self._http.headers.update({"Content-Type": "application/json; charset=utf-8"})
        self._token: str | None = None
        self._token_served = 0  # calls the current session answered
        self._login_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpPortal({self.base_url!r}, username={self.username!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> HttpPortal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- Portal ------------------------------------------------------------------------

    def list_agencies(self) -> list[Agency]:
        """Return every agency of LayDanhSachDonVi."""
        body = self._call(SERVICE_AGENCIES, FetchStats())
        rows = body.get("data")
        if not isinstance(rows, list):
            raise PortalBadResponse(self._url("api"), SERVICE_AGENCIES, "data is not a list")
        try:
            return [parse_agency(row, position) for position, row in enumerate(rows, 1)]
        except ValueError as error:
            raise PortalBadResponse(self._url("api"), SERVICE_AGENCIES, str(error)) from None

    def iter_dossiers(
        self, agency: str, start: str, end: str, stats: FetchStats | None = None
    ) -> Iterator[Dossier | RejectedRecord]:
        """Stream the dossiers of `agency` open at some moment of [start, end], page by page."""
        check_window(start, end)
        stats = stats if stats is not None else FetchStats()
        guard = PageGuard(agency, self.page_size, self.max_pages)
        return self._checked(agency, guard, stats, self._pages(agency, start, end, guard, stats))

    def _checked(
        self, agency: str, guard: PageGuard, stats: FetchStats, pages: Iterator[list[Any]]
    ) -> Iterator[Dossier | RejectedRecord]:
        """Validate the merged pages, then check the count against the declared total."""
        try:
            yield from check_records(merge_pages(pages, stats), agency, stats)
            guard.finish()
        except PagingError as error:
            raise self._bad(str(error)) from None

    # -- paging ------------------------------------------------------------------------

    def _pages(
        self, agency: str, start: str, end: str, guard: PageGuard, stats: FetchStats
    ) -> Iterator[list[Any]]:
        """Yield the non-empty pages of LayDanhSachHoSo until one comes back empty.

        The first page tells the total and the page size; the pages it announces (and the
        empty one after them) are then read up to `max_concurrent_requests` at once and
        handed on in order. Past them (records added meanwhile), one page at a time.
        """

        def fetch(index: int) -> tuple[dict[str, Any], FetchStats]:
            # Its own counts: a page read ahead runs in another thread than the one counting.
            counts = FetchStats()
            body = self._call(
                SERVICE_DOSSIERS,
                counts,
                madonvi=agency,
                tungay=start,
                denngay=end,
                pageIndex=index,
                pageSize=guard.page_size,
            )
            return body, counts

        def accept(index: int, body: dict[str, Any], counts: FetchStats) -> list[Any]:
            stats.requests += counts.requests
            stats.retries += counts.retries
            stats.relogins += counts.relogins
            stats.pages += 1
            data = body.get("data")
            if data is None:
                data = []
            if not isinstance(data, list):
                raise self._bad(f"page {index} of {agency}: data is not a list")
            if data:
                guard.check(index, data, body)  # raises PagingError: ends the fetch
            return data

        data = accept(1, *fetch(1))
        if not data:
            return
        yield data
        index = 2
        if guard.total is not None and self.max_concurrent_requests > 1:
            # The empty page after the announced ones comes too; never past max_pages + 1.
            last = min(-(-guard.total // guard.page_size) + 1, self.max_pages + 1)
            ahead = read_ahead(fetch, 2, last, self.max_concurrent_requests, self._page_bound)
            try:
                for index, (body, counts) in ahead:
                    data = accept(index, body, counts)
                    if not data:
                        return
                    yield data
            except PageTimeout as error:
                raise PortalUnavailable(self._url("api"), SERVICE_DOSSIERS, str(error), 1) from None
            finally:
                ahead.close()
            index = last + 1
        while True:
            data = accept(index, *fetch(index))
            if not data:
                return
            yield data
            index += 1

    def _bad(self, problem: str) -> PortalBadResponse:
        return PortalBadResponse(self._url("api"), SERVICE_DOSSIERS, problem)

    # -- calls -------------------------------------------------------------------------

    def _url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint}"

    def _call(self, service: str, stats: FetchStats, **params: Any) -> dict[str, Any]:
        """Call `service` in a session: log in if needed, again when the session expired.

        A session refused before it served any call, right after this call logged in again,
        is a refused login (final). One that served calls expired: pages read ahead at once
        may use it up between two of them, so a call logs in again up to max_attempts times.
        """
        relogins = 0
        while True:
            token = self._token or self._login(stats, again=relogins > 0)
            body = self._post(
                "api",
                {"session": token, "service": service, **params},
                stats,
                decode_body if service == SERVICE_DOSSIERS else orjson.loads,
            )
            code = str(body.get("error_code", ""))
            if code in _OK_CODES:
                if self._token == token:
                    self._token_served += 1
                return body
            message = str(body.get("message") or "")
            if code == _SESSION_EXPIRED:
                with self._login_lock:
                    fresh = self._token == token and self._token_served == 0
                    if self._token == token:
                        self._token = None
                if (fresh and relogins > 0) or relogins >= self.max_attempts:
                    raise PortalAuthError(
                        f"portal {self.base_url} rejected a fresh session of {self.username!r} "
                        f"for {service}: {message or 'error_code 401'}"
                    )
                relogins += 1
                continue
            if "error_code" not in body:
                raise PortalBadResponse(self._url("api"), service, "the answer has no error_code")
            raise PortalServiceError(service, message or "(no message)", code)

    def _login(self, stats: FetchStats, *, again: bool = False) -> str:
        """Open a session; raise PortalAuthError, without retrying, if the portal refuses.

        `again`: a session expired; counted as a re-login when this thread is the one that
        opens the new session (pages read ahead may all find the old one expired).
        """
        with self._login_lock:
            if self._token is not None:
                return self._token  # another thread logged in meanwhile
            if again:
                stats.relogins += 1
                logger.info("portal session expired: logging in again")
            body = self._post(AUTH, {"username": self.username, "password": self._password}, stats)
            token = body.get("session")
            if str(body.get("error_code", "")) not in _OK_CODES or not isinstance(token, str):
                message = str(body.get("message") or "no session in the answer")
                raise PortalAuthError(
                    f"portal {self.base_url} refused the login of {self.username!r}: {message}"
                )
            self._token = token
            self._token_served = 0
            return token

    def _post(
        self,
        endpoint: str,
        payload: Mapping[str, Any],
        stats: FetchStats,
        decode: Callable[[bytes], Any] = orjson.loads,
    ) -> dict[str, Any]:
        """POST JSON and return the decoded object, retrying what `is_transient` allows.

        `decode` reads the body (raising orjson.JSONDecodeError when it is not JSON): pages
        of dossiers are decoded into typed records (tasks/portal/wire.py).
        """
        url = self._url(endpoint)
        service = str(payload.get("service", endpoint))
        data = orjson.dumps(payload)
        # A body that is not JSON may be a passing fault (cut short, a proxy's error page) or a
        # wrong address; the same such body twice in a row is the latter, and not retried.
        last_non_json: bytes | None = None

        def exchange() -> dict[str, Any]:
            nonlocal last_non_json
            try:
                with self._slots.held(self.deadline):
                    stats.requests += 1
                    response, content = self._http.post_within(
                        url,
                        deadline=self.deadline,
                        max_bytes=self.max_page_bytes,
                        data=data,
                        timeout=self.timeout,
                        verify=self._verify,
                    )
            except NoSlotFree as error:
                raise _TransientFailure(f"{error} (portal.max_concurrent_requests)") from None
            except DeadlineExceeded as error:
                raise _TransientFailure(f"{error} (portal.deadline_seconds)") from None
            except ResponseTooLarge as error:
                raise PortalBadResponse(url, service, f"{error} (portal.max_page_bytes)") from None
            except requests.RequestException as error:
                if not is_transient(error):
                    raise PortalUnavailable(url, service, _describe(error), 1) from None
                raise _TransientFailure(_describe(error)) from None
            if is_transient(response):
                wait = retry_after_seconds(response) if response.status_code == 429 else None
                if wait is not None and wait > self.deadline:
                    # Waiting that long would hold the run: the department is tried again
                    # later (runner.portal_retry_delays_seconds), within the run's deadline.
                    raise PortalUnavailable(
                        url,
                        service,
                        f"HTTP 429 asks to wait {wait:g} s, more than portal.deadline_seconds "
                        f"({self.deadline:g} s)",
                        1,
                    )
                raise _TransientFailure(f"HTTP {response.status_code}", wait)
            if response.status_code != 200:
                raise PortalServiceError(
                    service,
                    f"HTTP {response.status_code} from {url}: {_snippet(content)}",
                    str(response.status_code),
                )
            try:
                body = decode(content)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                return body
            if last_non_json == content:
                raise PortalBadResponse(
                    url,
                    service,
                    "HTTP 200 with a body that is not a JSON object, twice in a row: "
                    + _snippet(content),
                )
            last_non_json = content
            raise _TransientFailure("HTTP 200 with a body that is not a JSON object")

        def log_retry(state: RetryCallState) -> None:
            stats.retries += 1
            failure = state.outcome.exception() if state.outcome is not None else None
            logger.warning(
                "portal %s (%s) attempt %d/%d failed: %s; retrying in %.1fs",
                url,
                service,
                state.attempt_number,
                self.max_attempts,
                failure,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_TransientFailure),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(exchange)
        except _TransientFailure as failure:
            raise PortalUnavailable(url, service, failure.cause, self.max_attempts) from None

    def _wait(self, state: RetryCallState) -> float:
        """Wait what a 429's Retry-After asks, else exponential backoff with jitter."""
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _TransientFailure) and failure.wait is not None:
            return failure.wait
        # Half fixed, half random, capped at backoff_max: many clients do not retry in step.
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        return ceiling / 2 + self._rng.random() * ceiling / 2


class _TransientFailure(Exception):
    """One attempt failed in a way another attempt may cure; `wait` is the server's Retry-After."""

    def __init__(self, cause: str, wait: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.wait = wait


def _describe(error: BaseException) -> str:
    """Name a transport error briefly: its kind and innermost cause, no request body."""
    kind = type(error).__name__
    text = str(error)
    return f"{kind}: {text}" if text else kind


def _snippet(content: bytes, limit: int = 120) -> str:
    text = content[:limit].decode("utf-8", errors="replace").replace("\n", " ").strip()
    return repr(text + ("…" if len(content) > limit else ""))
