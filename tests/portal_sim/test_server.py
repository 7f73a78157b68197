"""The simulator's API contract (portal-api.md) and its faults, with raw HTTP requests."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from portal_sim.server import AUTH, Faults, PortalSimulator, parse_faults, serve_forever
from portal_sim.store import ListStore
from tests.builders import AGENCY, OTHER_AGENCY, raw_dossier

START = "20240501000000"
END = "20240531235959"
DOSSIERS = "LayDanhSachHoSo"

AGENCY_ROWS = [
    {"MaDonVi": AGENCY, "TenDonVi": "Sở Khoa học và Công nghệ", "CapDonVi": 1, "MaDonViCha": ""},
    {"MaDonVi": OTHER_AGENCY, "TenDonVi": "Sở Tư pháp", "CapDonVi": 1, "MaDonViCha": ""},
]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> ListStore:
    """Seven open dossiers of AGENCY (HS-0000..HS-0006), listed out of order."""
    return ListStore(AGENCY_ROWS, [raw_dossier(f"HS-{n:04d}") for n in (3, 0, 6, 1, 5, 2, 4)])


@pytest.fixture
def sim(store: ListStore, clock: Clock) -> Iterator[PortalSimulator]:
    with PortalSimulator(store, max_page_size=3, clock=clock) as simulator:
        yield simulator


def post(sim: PortalSimulator, endpoint: str, payload: Any) -> dict[str, Any]:
    response = requests.post(f"{sim.url}/{endpoint}", json=payload, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    return body


def login(sim: PortalSimulator) -> str:
    session: str = post(sim, "auth", {"username": "demo", "password": "demo"})["session"]
    return session


def call(sim: PortalSimulator, service: str, **params: Any) -> dict[str, Any]:
    return post(sim, "api", {"session": login(sim), "service": service, **params})


def page(sim: PortalSimulator, index: int = 1, size: int = 3, **params: Any) -> dict[str, Any]:
    values = {"madonvi": AGENCY, "tungay": START, "denngay": END, **params}
    return call(sim, DOSSIERS, pageIndex=index, pageSize=size, **values)


def codes(body: dict[str, Any]) -> list[str]:
    return [record["MaHoSo"] for record in body["data"]]


# -- the contract ---------------------------------------------------------------------


def test_login_gives_a_random_session(sim: PortalSimulator) -> None:
    first = post(sim, "auth", {"username": "demo", "password": "demo"})
    second = post(sim, "auth", {"username": "demo", "password": "demo"})

    assert first["error_code"] == 0
    assert first["expires_in"] == 1800
    assert len(first["session"]) >= 20
    assert first["session"] != second["session"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "demo", "password": "sai"},
        {"username": "ai-do", "password": "demo"},
        {"username": "demo"},
        {},
    ],
)
def test_bad_credentials(sim: PortalSimulator, credentials: dict[str, str]) -> None:
    assert post(sim, "auth", credentials) == {
        "error_code": 1,
        "message": "Sai tên đăng nhập hoặc mật khẩu",
    }


def test_bodies_are_plain_utf8(sim: PortalSimulator) -> None:
    response = requests.post(f"{sim.url}/auth", json={"username": "x", "password": "y"}, timeout=5)

    assert "Sai tên đăng nhập".encode() in response.content  # not \\u escapes


def test_lists_agencies(sim: PortalSimulator) -> None:
    body = call(sim, "LayDanhSachDonVi")

    assert body == {"error_code": "00", "message": "", "data": AGENCY_ROWS}


def test_serves_pages_in_mahoso_order_with_the_envelope(sim: PortalSimulator) -> None:
    body = page(sim, 2)

    assert {k: v for k, v in body.items() if k != "data"} == {
        "error_code": "00",
        "message": "",
        "total": 7,
        "pageIndex": 2,
        "pageSize": 3,
    }
    assert codes(body) == ["HS-0003", "HS-0004", "HS-0005"]
    assert body["data"][0] == raw_dossier("HS-0003")


@pytest.mark.parametrize(("asked", "served"), [(1, 1), (3, 3), (10, 3), (1000, 3)])
def test_caps_the_page_size_and_says_so(sim: PortalSimulator, asked: int, served: int) -> None:
    body = page(sim, 1, asked)

    assert body["pageSize"] == served
    assert len(body["data"]) == served


@pytest.mark.parametrize(("index", "expected"), [(3, ["HS-0006"]), (4, []), (99, [])])
def test_the_last_page_and_past_it(sim: PortalSimulator, index: int, expected: list[str]) -> None:
    body = page(sim, index)

    assert body["error_code"] == "00"
    assert codes(body) == expected
    assert body["total"] == 7


@pytest.mark.parametrize(
    ("received", "finished", "handed_back", "served"),
    [
        ("20240430235959", "", "", True),  # carried over, still open
        ("20240531235959", "", "", True),  # received at the last second
        ("20240601000000", "", "", False),  # received after the window
        ("20240410080000", "20240430235959", "", False),  # finished before the window
        ("20240410080000", "20240501000000", "", True),  # finished at the first second
        ("20240410080000", "", "20240502080000", True),  # handed back (withdrawn) in May
        ("20240410080000", "", "20240420080000", False),  # handed back in April
        ("20240410080000", "20240520080000", "20240420080000", True),  # NgayKetThucXuLy wins
    ],
)
def test_window_rule(
    sim: PortalSimulator,
    store: ListStore,
    received: str,
    finished: str,
    handed_back: str,
    served: bool,
) -> None:
    store.records = [
        raw_dossier("HS-X", NgayTiepNhan=received, NgayKetThucXuLy=finished, NgayTra=handed_back)
    ]

    assert codes(page(sim)) == (["HS-X"] if served else [])


def test_serves_only_the_agency_asked(sim: PortalSimulator, store: ListStore) -> None:
    store.records.append(raw_dossier("HS-9999", MaDonVi=OTHER_AGENCY))

    assert codes(page(sim, madonvi=OTHER_AGENCY)) == ["HS-9999"]
    assert page(sim, 3)["total"] == 7


def test_an_expired_session_answers_401(sim: PortalSimulator, clock: Clock) -> None:
    session = login(sim)
    agencies = {"session": session, "service": "LayDanhSachDonVi"}
    assert post(sim, "api", agencies)["error_code"] == "00"

    clock.now += 1800

    expired = post(sim, "api", agencies)
    assert expired["error_code"] == "401"
    assert "đăng nhập lại" in expired["message"]
    assert post(sim, "api", {**agencies, "session": login(sim)})["error_code"] == "00"


@pytest.mark.parametrize("session", ["khong-co", None, 42])
def test_an_unknown_session_answers_401(sim: PortalSimulator, session: Any) -> None:
    body = post(sim, "api", {"session": session, "service": "LayDanhSachDonVi"})

    assert body["error_code"] == "401"


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"service": "LayDanhSachCanBo"}, "LayDanhSachCanBo"),
        ({"service": None}, "service"),
        ({"madonvi": None}, "madonvi"),
        ({"madonvi": "  "}, "madonvi"),
        ({"madonvi": "000.00.99.H99"}, "000.00.99.H99"),
        ({"tungay": "2024-05-01"}, "tungay"),
        ({"denngay": "20240532000000"}, "denngay"),
        ({"tungay": END, "denngay": START}, "tungay"),
        ({"pageIndex": 0}, "pageIndex"),
        ({"pageIndex": "một"}, "pageIndex"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 1001}, "pageSize"),
        ({"pageSize": True}, "pageSize"),
    ],
)
def test_bad_parameters_are_service_errors(
    sim: PortalSimulator, params: dict[str, Any], mentions: str
) -> None:
    request = {
        "service": DOSSIERS,
        "madonvi": AGENCY,
        "tungay": START,
        "denngay": END,
        "pageIndex": 1,
        "pageSize": 3,
        **params,
    }

    body = call(sim, **request)

    assert body["error_code"] not in ("00", "401")
    assert mentions in body["message"]
    assert "data" not in body


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("POST", "/dvcqg/khac", b"{}", 404),
        ("POST", "/api", b"{}", 404),
        ("POST", "/dvcqg/api", b"not json", 400),
        ("POST", "/dvcqg/auth", b"[1, 2]", 400),
        ("GET", "/dvcqg/api", None, 405),
    ],
)
def test_http_errors(sim: PortalSimulator, method: str, path: str, data: Any, status: int) -> None:
    base = sim.url.removesuffix("/dvcqg")
    response = requests.request(method, base + path, data=data, timeout=5)

    assert response.status_code == status
    assert response.json()["message"]


def test_keeps_the_connection_alive(sim: PortalSimulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        for _ in range(3):
            connection.request("POST", "/dvcqg/auth", body=b'{"username":"demo","password":"demo"}')
            response = connection.getresponse()
            assert orjson.loads(response.read())["error_code"] == 0
            assert response.getheader("Connection") is None  # not closed
    finally:
        connection.close()


def test_counts_requests_per_endpoint(sim: PortalSimulator) -> None:
    page(sim)
    page(sim, 2)
    call(sim, "LayDanhSachDonVi")

    assert sim.stats[AUTH] == 3
    assert sim.stats[DOSSIERS] == 2
    assert sim.stats["LayDanhSachDonVi"] == 1
    assert sim.stats["requests"] == 6


# -- faults ---------------------------------------------------------------------------


def test_a_burst_of_503_then_service_again(sim: PortalSimulator) -> None:
    sim.faults.unavailable_burst = 2
    statuses = [
        requests.post(f"{sim.url}/auth", json={"username": "demo", "password": "demo"}, timeout=5)
        for _ in range(3)
    ]

    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert sim.stats["fault:503"] == 2


def test_429_says_when_to_come_back(sim: PortalSimulator) -> None:
    sim.faults = Faults(throttle_burst=1, retry_after_seconds=12)
    response = requests.post(f"{sim.url}/auth", json={}, timeout=5)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "12"


def test_a_share_of_503_is_the_same_for_the_same_seed(store: ListStore) -> None:
    def statuses(seed: int) -> list[int]:
        with PortalSimulator(store, faults=Faults(unavailable_share=0.5, seed=seed)) as sim:
            return [
                requests.post(f"{sim.url}/auth", json={}, timeout=5).status_code for _ in range(20)
            ]

    first = statuses(1)
    assert first == statuses(1)
    assert 503 in first
    assert 200 in first


def test_faults_only_hit_the_endpoints_named(sim: PortalSimulator) -> None:
    sim.faults = Faults(unavailable_burst=Faults.ALWAYS, only={DOSSIERS})

    assert call(sim, "LayDanhSachDonVi")["error_code"] == "00"
    session = login(sim)
    response = requests.post(
        f"{sim.url}/api", json={"session": session, "service": DOSSIERS}, timeout=5
    )
    assert response.status_code == 503


def test_a_connection_reset(sim: PortalSimulator) -> None:
    sim.faults.connection_resets = 1

    with pytest.raises(requests.ConnectionError):
        requests.post(f"{sim.url}/auth", json={}, timeout=5)
    assert requests.post(f"{sim.url}/auth", json={}, timeout=5).status_code == 200


def test_a_body_cut_short(sim: PortalSimulator) -> None:
    sim.faults.cut_bodies = 1

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(f"{sim.url}/auth", json={}, timeout=5)


def test_a_truncated_json_body(sim: PortalSimulator) -> None:
    sim.faults.truncated_bodies = 1
    response = requests.post(f"{sim.url}/auth", json={}, timeout=5)

    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_an_html_page_instead_of_json(sim: PortalSimulator) -> None:
    sim.faults.html_bodies = 2
    responses = [requests.post(f"{sim.url}/auth", json={}, timeout=5) for _ in range(3)]

    assert [r.headers["Content-Type"].split(";")[0] for r in responses] == [
        "text/html",
        "text/html",
        "application/json",
    ]
    assert responses[0].text.startswith("<!DOCTYPE html>")


def test_a_session_that_expires_after_n_calls(sim: PortalSimulator) -> None:
    sim.faults.session_calls = 2
    session = login(sim)
    request = {"session": session, "service": "LayDanhSachDonVi"}

    answers = [post(sim, "api", request)["error_code"] for _ in range(3)]

    assert answers == ["00", "00", "401"]


def test_an_agency_that_always_fails(sim: PortalSimulator) -> None:
    sim.faults.failing_agencies = {AGENCY}

    failed = page(sim)
    assert failed["error_code"] == "03"
    assert AGENCY in failed["message"]
    assert page(sim, madonvi=OTHER_AGENCY)["error_code"] == "00"


def test_pages_that_repeat_the_last_record(sim: PortalSimulator) -> None:
    sim.faults.repeat_across_pages = True

    pages = [codes(page(sim, index)) for index in (1, 2, 3, 4)]
    second = page(sim, 2)["data"][0]

    assert pages == [
        ["HS-0000", "HS-0001", "HS-0002"],
        ["HS-0002", "HS-0003", "HS-0004"],
        ["HS-0004", "HS-0005", "HS-0006"],
        ["HS-0006"],
    ]
    assert second["NgayCapNhat"] == "20240510080100"  # a minute newer than the original


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Faults()),
        (
            "unavailable_share=0.2, seed=3, throttle_burst=always, repeat_across_pages=true",
            Faults(unavailable_share=0.2, seed=3, throttle_burst=-1, repeat_across_pages=True),
        ),
        (
            "failing_agencies=A|B,latency_seconds=0.5",
            Faults(failing_agencies={"A", "B"}, latency_seconds=0.5),
        ),
    ],
)
def test_parse_faults(text: str, expected: Faults) -> None:
    assert parse_faults(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [("speed=3", "key among"), ("seed", "key=value"), ("seed=x", "'x' is not a valid int")],
)
def test_parse_faults_refuses_nonsense(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_faults(text)


def test_serve_forever_until_stopped(store: ListStore) -> None:
    ready: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever,
        args=(store, "127.0.0.1", 0),
        kwargs={"on_ready": ready.append, "stop": stop},
    )
    thread.start()
    try:
        while not ready and thread.is_alive():
            thread.join(0.01)
        response = requests.post(
            f"{ready[0]}/auth", json={"username": "demo", "password": "demo"}, timeout=5
        )
        assert response.json()["error_code"] == 0
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
