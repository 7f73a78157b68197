"""How hard the client presses the portal: a bound on concurrent requests, and paging ahead.

A portal is shared by a whole province and rate-limits: `portal.max_concurrent_requests`
bounds the requests this process has under way to one portal at once, whatever the number
of departments fetched in parallel (each task opens its own client, so the bound is held in
one `RequestSlots` per portal and process, not per client). Within that bound one agency's
fetch may read several pages at once (`read_ahead`): once the first page has told the total
and the page size, every later page's offsets are known (docs/portal-api.md, "Paging"), and
the pages are still handed on one by one, in order, to the same checks.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import TypeVar

__all__ = ["NoSlotFree", "PageTimeout", "RequestSlots", "read_ahead", "shared_slots"]

T = TypeVar("T")


class NoSlotFree(Exception):
    """No request slot became free within the wait allowed."""


class PageTimeout(Exception):
    """A page read ahead did not arrive within the time its reading may take at most."""


class RequestSlots:
    """At most `limit` requests under way at once; `held(timeout)` takes one for a request."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a request limit of {limit} must be at least 1")
        self.limit = limit
        self._semaphore = threading.BoundedSemaphore(limit)

    def held(self, timeout: float) -> _Held:
        """Return a context that holds one slot, raising NoSlotFree after `timeout` seconds."""
        return _Held(self._semaphore, timeout)


class _Held:
    def __init__(self, semaphore: threading.BoundedSemaphore, timeout: float) -> None:
        self._semaphore = semaphore
        self._timeout = timeout

    def __enter__(self) -> None:
        if not self._semaphore.acquire(timeout=self._timeout):
            raise NoSlotFree(f"no request slot free within {self._timeout:g} s")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._semaphore.release()


_shared: dict[tuple[str, int], RequestSlots] = {}
_shared_lock = threading.Lock()


def shared_slots(portal: str, limit: int) -> RequestSlots:
    """Return the one RequestSlots of this process for `portal` (its base URL) and `limit`."""
    with _shared_lock:
        slots = _shared.get((portal, limit))
        if slots is None:
            slots = _shared[(portal, limit)] = RequestSlots(limit)
        return slots


def read_ahead(
    fetch: Callable[[int], T], first: int, last: int, width: int, timeout: float
) -> Generator[tuple[int, T], None, None]:
    """Yield (index, fetch(index)) for `first`..`last` in order, up to `width` fetched at once.

    A page is read ahead only while fewer than `width` wait to be handed on, so memory stays
    at `width` pages. Each wait for one ends after `timeout` seconds (PageTimeout). When the
    caller stops early (an empty page, an error), the pages not yet started are cancelled and
    those under way finish (each within its own deadline) before this returns.
    """
    if last < first:
        return
    executor = ThreadPoolExecutor(max_workers=max(1, width), thread_name_prefix="portal-page")
    pending: deque[tuple[int, Future[T]]] = deque()
    following = first
    try:
        while pending or following <= last:
            while following <= last and len(pending) < width:
                pending.append((following, executor.submit(fetch, following)))
                following += 1
            index, future = pending.popleft()
            try:
                result = future.result(timeout=timeout)
            except FutureTimeout:
                raise PageTimeout(f"page {index} did not arrive within {timeout:g} s") from None
            yield index, result
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
