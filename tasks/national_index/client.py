"""The evaluation API's client: the one interface to the national portal's index (Bộ chỉ số 766).

`EvaluationClient` POSTs the same body to `service-results` and the six component endpoints
(docs/national-index-api.md) and joins their answers into a `NationalIndex`. Politeness as the
contract's §10 observed: a random pause between calls, HTTP 403, 429 and 5xx taken as "slow
down" (retried with a growing wait), long time-outs, one request per endpoint. Every fetch has
a total deadline. `service-results` failing makes the whole index unavailable; a component
endpoint failing only leaves that component out, named in `NationalIndex.missing`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import orjson
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from tasks.figures.periods import Period
from tasks.national_index.model import (
    COMPONENTS,
    DEFAULT_PAGE_SIZE,
    SERVICE_RESULTS,
    IndexResponseError,
    NationalIndex,
    build_index,
    envelope_data,
    request_body,
    total_pages,
    unit_items,
)

__all__ = [
    "SLOW_DOWN_STATUSES",
    "EvaluationClient",
    "IndexUnavailable",
    "NationalIndexError",
]

logger = logging.getLogger(__name__)

# The crawler of the contract's §10 retried these: behind a web application firewall a 403
# means "slow down", not "forbidden".
SLOW_DOWN_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
SUCCESS_STATUSES = frozenset({200, 201})
# Pages beyond the first were never seen (pageSize 300 covers a province): a bound, not a limit.
MAX_PAGES = 20
# What the portal's own page sends; unknown whether required (contract §1), harmless if not.
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/plain, */*",
    "Referer": "https://dichvucong.gov.vn/danh-gia-chat-luong-phuc-vu",
    "Origin": "https://dichvucong.gov.vn",
    "User-Agent": "tthc-report (bao cao TTHC; +https://dichvucong.gov.vn)",
}


class NationalIndexError(Exception):
    """Any failure to read the national index."""


class IndexUnavailable(NationalIndexError):
    """The index could not be read: API down, slow-downs until the attempts ran out, bad answer."""

    def __init__(self, endpoint: str, cause: str) -> None:
        super().__init__(f"national index {endpoint}: {cause}")
        self.endpoint = endpoint
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.endpoint, self.cause))


class _SlowDown(Exception):
    """One attempt failed in a way a later attempt may cure."""


class EvaluationClient:
    """The evaluation API at `base_url` (up to and including /api/v1/reporting/evaluation).

    `sleep` and `rng` are injectable so tests neither wait nor depend on chance; `clock` measures
    the total deadline of one fetch.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 45.0,
        max_attempts: int = 6,
        backoff_base: float = 3.0,
        backoff_max: float = 60.0,
        pause_min: float = 1.0,
        pause_max: float = 2.5,
        deadline: float = 900.0,
        page_size: int = DEFAULT_PAGE_SIZE,
        verify: bool | str = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts {max_attempts} must be at least 1")
        if not 0 <= pause_min <= pause_max:
            raise ValueError(f"pauses {pause_min}..{pause_max} are not 0 <= min <= max")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.pause_min = pause_min
        self.pause_max = pause_max
        self.deadline = deadline
        self.page_size = page_size
        self._verify = verify
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._http = requests.Session()
        self._http.headers.update(HEADERS)
        self._http.verify = verify
        self._calls = 0
        self._ends_at: float | None = None

    def __repr__(self) -> str:
        return f"EvaluationClient({self.base_url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> EvaluationClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the index ---------------------------------------------------------------------

    def fetch(self, period: Period, root_id: str) -> NationalIndex:
        """Fetch and join every endpoint's answer for `period` under `root_id`, ranked.

        Raise IndexUnavailable when service-results cannot be read or lists no unit (the
        period is not published yet); a component that cannot be read is left out.
        """
        if not root_id.strip():
            raise ValueError("the root unit (national_index.root_department_id) is not set")
        body = request_body(period, root_id.strip(), self.page_size)
        self._ends_at = self._clock() + self.deadline
        try:
            results = self.read(SERVICE_RESULTS, body, "evaluation")
            if not unit_items(results, "evaluation", SERVICE_RESULTS):
                raise IndexUnavailable(
                    SERVICE_RESULTS, f"no unit listed for {period.key}: not published yet"
                )
            answers: dict[str, Mapping[str, Any]] = {}
            missing: dict[str, str] = {}
            for component in COMPONENTS:
                try:
                    answers[component.code] = self.read(
                        component.endpoint, body, component.list_key
                    )
                except IndexUnavailable as error:
                    logger.warning("national index: %s left out: %s", component.code, error)
                    missing[component.code] = error.cause
            try:
                return build_index(period, root_id.strip(), results, answers, missing)
            except IndexResponseError as error:
                raise IndexUnavailable(SERVICE_RESULTS, str(error)) from None
        finally:
            self._ends_at = None

    def read(self, endpoint: str, body: Mapping[str, Any], list_key: str) -> dict[str, Any]:
        """Return `data` of one endpoint, its further pages' items appended (bounded)."""
        data = self._data(endpoint, body)
        pages = min(total_pages(data), MAX_PAGES)
        for page in range(2, pages + 1):
            more = self._data(endpoint, {**body, "currentPage": page})
            try:
                data[list_key] = [
                    *unit_items(data, list_key, endpoint),
                    *unit_items(more, list_key, endpoint),
                ]
            except IndexResponseError as error:
                raise IndexUnavailable(endpoint, str(error)) from None
        return data

    def _data(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return envelope_data(self._post(endpoint, body), endpoint)
        except IndexResponseError as error:
            raise IndexUnavailable(endpoint, str(error)) from None

    # -- HTTP --------------------------------------------------------------------------

    def _remaining(self) -> float:
        return self.deadline if self._ends_at is None else self._ends_at - self._clock()

    def _post(self, endpoint: str, body: Mapping[str, Any]) -> Any:
        """POST `body` to one endpoint, pausing first and retrying slow-downs; return its JSON."""
        url = f"{self.base_url}/{endpoint}"
        data = orjson.dumps(dict(body))

        def exchange() -> Any:
            self._pause()
            remaining = self._remaining()
            if remaining <= 0:
                raise IndexUnavailable(
                    endpoint, f"no answer within the deadline of {self.deadline:g}s"
                )
            try:
                response = self._http.post(
                    url, data=data, timeout=min(self.timeout, remaining), verify=self._verify
                )
            except requests.exceptions.SSLError as error:
                raise IndexUnavailable(endpoint, f"TLS: {error}") from None
            except requests.RequestException as error:
                raise _SlowDown(f"{type(error).__name__}: {error}") from None
            if response.status_code in SLOW_DOWN_STATUSES:
                raise _SlowDown(f"HTTP {response.status_code}")
            if response.status_code not in SUCCESS_STATUSES:
                raise IndexUnavailable(endpoint, f"HTTP {response.status_code}")
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise IndexUnavailable(endpoint, "the answer is not JSON") from None

        def log_retry(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome is not None else None
            logger.warning(
                "national index %s attempt %d/%d: %s; retrying in %.1fs",
                endpoint,
                state.attempt_number,
                self.max_attempts,
                failure,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_SlowDown),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(exchange)
        except _SlowDown as failure:
            raise IndexUnavailable(
                endpoint, f"{failure} after {self.max_attempts} attempt(s)"
            ) from None

    def _pause(self) -> None:
        """Wait a random pause before every call but the first, as a person's browser would."""
        if self._calls and self.pause_max > 0:
            self._sleep(
                min(self._rng.uniform(self.pause_min, self.pause_max), max(self._remaining(), 0))
            )
        self._calls += 1

    def _wait(self, state: RetryCallState) -> float:
        """Wait backoff_base × 1.4^(attempt−1) plus up to half as much again, capped, in the deadline."""
        base = min(self.backoff_max, self.backoff_base * 1.4 ** (state.attempt_number - 1))
        wait = base + self._rng.random() * base / 2
        return max(0.0, min(wait, self._remaining()))
