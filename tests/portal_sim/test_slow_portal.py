"""The simulator as a slow portal: latency, a capped page size, 503s, a 429 burst at its moment,
and its count of the requests it answers at once. Raw HTTP, real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from portal_sim.server import AUTH, Faults, PortalSimulator
from portal_sim.store import ListStore
from tests.builders import AGENCY, raw_dossier

START = "20240501000000"
END = "20240531235959"
DOSSIERS = "LayDanhSachHoSo"


@pytest.fixture
def store() -> ListStore:
    rows = [{"MaDonVi": AGENCY, "TenDonVi": "Sở KH&CN", "CapDonVi": 1, "MaDonViCha": ""}]
    return ListStore(rows, [raw_dossier(f"HS-{n:04d}") for n in range(120)])


@pytest.fixture
def sim(store: ListStore) -> Iterator[PortalSimulator]:
    with PortalSimulator(store, max_page_size=50) as simulator:
        yield simulator


def login(sim: PortalSimulator) -> str:
    answer = requests.post(
        f"{sim.url}/auth", json={"username": "demo", "password": "demo"}, timeout=5
    )
    session: str = answer.json()["session"]
    return session


def settle(sim: PortalSimulator) -> None:
    """Wait (5 s at most) until the simulator has finished answering: a client reads an answer
    before the server's handler has counted it done."""
    deadline = time.monotonic() + 5
    while sim.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.in_flight == 0


def page_request(sim: PortalSimulator, session: str, index: int, size: int) -> requests.Response:
    payload: dict[str, Any] = {
        "session": session,
        "service": DOSSIERS,
        "madonvi": AGENCY,
        "tungay": START,
        "denngay": END,
        "pageIndex": index,
        "pageSize": size,
    }
    return requests.post(f"{sim.url}/api", json=payload, timeout=10)


@pytest.mark.parametrize(("asked", "served", "rows"), [(500, 50, 50), (50, 50, 50), (30, 30, 30)])
def test_a_page_size_cap_of_50(sim: PortalSimulator, asked: int, served: int, rows: int) -> None:
    body = page_request(sim, login(sim), 1, asked).json()

    assert (body["pageSize"], len(body["data"]), body["total"]) == (served, rows, 120)


def test_every_answer_waits_the_latency(sim: PortalSimulator) -> None:
    session = login(sim)
    sim.faults.latency_seconds = 0.3

    started = time.monotonic()
    answer = page_request(sim, session, 1, 50)
    took = time.monotonic() - started

    assert answer.status_code == 200
    assert took >= 0.3


def test_the_429_burst_waits_for_its_moment(sim: PortalSimulator) -> None:
    sim.faults = Faults(throttle_burst=2, throttle_after=3, retry_after_seconds=1)

    statuses = [requests.post(f"{sim.url}/auth", json={}, timeout=5) for _ in range(6)]

    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429, 200]
    assert statuses[3].headers["Retry-After"] == "1"
    assert sim.stats["fault:429"] == 2


def test_a_share_of_503_near_its_rate(store: ListStore) -> None:
    with PortalSimulator(store, faults=Faults(unavailable_share=0.1, seed=15)) as sim:
        statuses = [requests.post(f"{sim.url}/auth", json={}, timeout=5) for _ in range(200)]

    unavailable = sum(r.status_code == 503 for r in statuses)
    assert 8 <= unavailable <= 35  # 10% of 200, drawn from a fixed seed
    assert sim.stats["fault:503"] == unavailable


@pytest.mark.parametrize("clients", [1, 3, 6])
def test_counts_the_most_requests_answered_at_once(sim: PortalSimulator, clients: int) -> None:
    session = login(sim)
    sim.faults.latency_seconds = 0.3
    settle(sim)
    sim.reset_stats()

    with ThreadPoolExecutor(clients) as pool:
        answers = list(
            pool.map(lambda i: page_request(sim, session, i % 3 + 1, 50), range(clients))
        )

    assert all(answer.status_code == 200 for answer in answers)
    assert sim.snapshot()["max_concurrent"] == clients
    assert sim.stats["requests"] == clients
    settle(sim)


def test_reset_starts_counting_afresh(sim: PortalSimulator) -> None:
    login(sim)
    settle(sim)
    sim.reset_stats()

    assert sim.snapshot() == {"max_concurrent": 0}
    login(sim)
    assert sim.stats[AUTH] == 1
