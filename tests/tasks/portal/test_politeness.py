"""Politeness: portal.max_concurrent_requests never exceeded (the simulator counts, real HTTP),
pages read ahead within it, 503s and a 429 burst retried, and read_ahead's own bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from portal_sim.server import Faults, PortalSimulator
from portal_sim.store import ListStore
from tasks.portal.client import FetchStats, HttpPortal, PortalAuthError, PortalUnavailable
from tasks.portal.dossiers import Dossier
from tasks.portal.politeness import NoSlotFree, RequestSlots, read_ahead
from tests.builders import AGENCY, OTHER_AGENCY, raw_dossier

START = "20240501000000"
END = "20240531235959"
THIRD_AGENCY = "000.00.21.H99"
AGENCIES = (AGENCY, OTHER_AGENCY, THIRD_AGENCY)
PER_AGENCY = 40


def rows() -> list[dict[str, Any]]:
    return [
        {"MaDonVi": code, "TenDonVi": code, "CapDonVi": 1, "MaDonViCha": ""} for code in AGENCIES
    ]


def records() -> list[dict[str, Any]]:
    return [
        raw_dossier(f"{code}-{n:04d}", MaDonVi=code)
        for code in AGENCIES
        for n in reversed(range(PER_AGENCY))
    ]


@pytest.fixture
def sim() -> Iterator[PortalSimulator]:
    """A portal of three agencies, 40 dossiers each, at most 5 a page (9 requests each)."""
    with PortalSimulator(ListStore(rows(), records()), max_page_size=5) as simulator:
        yield simulator


def client(sim: PortalSimulator, limit: int, **options: Any) -> HttpPortal:
    return HttpPortal(sim.url, "demo", "demo", max_concurrent_requests=limit, timeout=5, **options)


def fetch_all(sim: PortalSimulator, limit: int, **options: Any) -> dict[str, list[str]]:
    """Fetch every agency as a run does: one client per department, in parallel threads."""

    def one(agency: str) -> list[str]:
        with client(sim, limit, **options) as portal:
            items = list(portal.iter_dossiers(agency, START, END, FetchStats()))
        assert all(isinstance(item, Dossier) for item in items)
        return [item.code for item in items]

    with ThreadPoolExecutor(len(AGENCIES)) as pool:
        return dict(zip(AGENCIES, pool.map(one, AGENCIES), strict=True))


def expected() -> dict[str, list[str]]:
    return {code: [f"{code}-{n:04d}" for n in range(PER_AGENCY)] for code in AGENCIES}


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_never_more_requests_at_once_than_the_setting(sim: PortalSimulator, limit: int) -> None:
    sim.faults.latency_seconds = 0.05  # long enough for requests to overlap

    got = fetch_all(sim, limit)

    assert got == expected()
    assert 1 <= sim.stats["max_concurrent"] <= limit
    # Three clients each reading ahead press the bound: it is reached, not merely respected.
    assert sim.stats["max_concurrent"] == limit


def test_one_agency_reads_its_pages_ahead_within_the_bound(sim: PortalSimulator) -> None:
    sim.faults.latency_seconds = 0.05
    stats = FetchStats()

    with client(sim, 4) as portal:
        got = [item.code for item in portal.iter_dossiers(AGENCY, START, END, stats)]

    assert got == expected()[AGENCY]
    assert sim.stats["max_concurrent"] == 4
    assert (stats.pages, stats.requests, stats.records) == (9, 10, PER_AGENCY)  # + the login


def test_503s_and_a_429_burst_are_waited_out_reading_ahead(sim: PortalSimulator) -> None:
    sim.faults = Faults(
        latency_seconds=0.02,
        unavailable_share=0.1,
        seed=3,
        throttle_burst=3,
        throttle_after=6,
        retry_after_seconds=1,
    )
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(seconds)
        time.sleep(min(seconds, 0.05))  # really waits, briefly: the slots are given back

    got = fetch_all(sim, 3, sleep=sleep, max_attempts=8)

    assert got == expected()
    assert sim.stats["fault:429"] == 3
    assert sim.stats["fault:503"] >= 1
    assert waits.count(1.0) == 3  # each 429 waited its Retry-After
    assert sim.stats["max_concurrent"] <= 3


def test_a_retry_after_longer_than_the_deadline_is_not_waited(sim: PortalSimulator) -> None:
    sim.faults = Faults(throttle_burst=1, retry_after_seconds=600)
    waits: list[float] = []

    with (
        client(sim, 2, sleep=waits.append, deadline=30) as portal,
        pytest.raises(PortalUnavailable, match="asks to wait 600 s"),
    ):
        list(portal.iter_dossiers(AGENCY, START, END))

    assert waits == []


# -- the pieces ------------------------------------------------------------------------


def test_a_slot_is_waited_for_at_most_its_timeout() -> None:
    slots = RequestSlots(1)

    with slots.held(1.0), pytest.raises(NoSlotFree, match=r"within 0\.05 s"), slots.held(0.05):
        pass
    with slots.held(0.05):  # given back
        pass


class Recorder:
    """A fetch that counts the calls under way at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls: list[int] = []

    def __call__(self, index: int) -> int:
        with self.lock:
            self.calls.append(index)
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.01)
        with self.lock:
            self.now -= 1
        return index * 10


@pytest.mark.parametrize(("width", "first", "last"), [(1, 2, 9), (3, 2, 9), (8, 1, 3), (4, 5, 4)])
def test_read_ahead_hands_on_in_order_within_its_width(width: int, first: int, last: int) -> None:
    fetch = Recorder()

    got = list(read_ahead(fetch, first, last, width, timeout=5))

    assert got == [(i, i * 10) for i in range(first, last + 1)]
    assert fetch.most <= width


def test_read_ahead_stops_reading_when_its_reader_stops() -> None:
    fetch = Recorder()
    pages = read_ahead(fetch, 1, 100, 3, timeout=5)

    assert next(pages) == (1, 10)
    pages.close()

    assert len(fetch.calls) <= 1 + 3  # the one handed on and at most `width` ahead


def test_sessions_used_up_by_pages_read_ahead_are_renewed(sim: PortalSimulator) -> None:
    """Each session serves 3 calls: pages read at once find it expired, one after another."""
    sim.faults = Faults(latency_seconds=0.02, session_calls=3)

    got = fetch_all(sim, 4)

    assert got == expected()
    assert sim.stats["fault:session"] >= 1
    assert sim.stats["max_concurrent"] <= 4


def test_a_session_refused_at_once_is_still_a_refused_login(sim: PortalSimulator) -> None:
    sim.session_ttl_seconds = 0  # every session is born expired

    with client(sim, 4) as portal, pytest.raises(PortalAuthError, match="rejected a fresh session"):
        list(portal.iter_dossiers(AGENCY, START, END))
