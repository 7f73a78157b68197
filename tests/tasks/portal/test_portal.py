"""The portal client against the simulator over real HTTP, and its pure parts on tables."""

from __future__ import annotations

import logging
import pickle
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from portal_sim.server import AUTH, Faults, PortalSimulator
from portal_sim.store import ListStore
from standins.fake_portal import FakePortal
from tasks.portal.client import (
    Agency,
    FetchStats,
    HttpPortal,
    PortalAuthError,
    PortalBadResponse,
    PortalError,
    PortalServiceError,
    PortalUnavailable,
    check_record,
    is_transient,
    merge_pages,
    parse_agency,
)
from tasks.portal.dossiers import Dossier, RejectedRecord
from tasks.portal.paging import PagingError
from tests.builders import AGENCY, OTHER_AGENCY, raw_dossier

START = "20240501000000"
END = "20240531235959"
DOSSIERS = "LayDanhSachHoSo"
PASSWORD = "Mat-khau-Bi-Mat-42"

AGENCY_ROWS = [
    {
        "MaDonVi": AGENCY,
        "TenDonVi": "Sở Khoa học và Công nghệ",
        "CapDonVi": 1,
        "MaDonViCha": "000.00.00.H99",
    },
    {
        "MaDonVi": OTHER_AGENCY,
        "TenDonVi": "Sở Tư pháp",
        "CapDonVi": 1,
        "MaDonViCha": "000.00.00.H99",
    },
]


def records(count: int) -> list[dict[str, Any]]:
    """Return `count` valid open dossiers of AGENCY, listed out of MaHoSo order."""
    return [raw_dossier(f"HS-{n:04d}") for n in reversed(range(count))]


SimulatorFactory = Callable[..., PortalSimulator]


@pytest.fixture
def simulator() -> Iterator[SimulatorFactory]:
    """Start simulators over a ListStore of the given records; stop them after the test."""
    started: list[PortalSimulator] = []

    def start(raw_records: list[Any], **options: Any) -> PortalSimulator:
        options.setdefault("users", {"demo": PASSWORD})
        sim = PortalSimulator(ListStore(AGENCY_ROWS, raw_records), **options).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the client asked for, recorded instead of slept."""
    return []


def client(sim: PortalSimulator, sleeps: list[float], **options: Any) -> HttpPortal:
    """A client to `sim`, one request at a time unless told otherwise.

    One at a time, the order of the requests (and so of the faults each meets, the waits
    asked) is the test's to state; reading ahead has tests of its own (test_politeness.py).
    """
    options.setdefault("password", PASSWORD)
    options.setdefault("max_concurrent_requests", 1)
    return HttpPortal(
        sim.url,
        "demo",
        sleep=sleeps.append,
        rng=random.Random(7),
        timeout=5,
        **options,
    )


def fetch(portal: HttpPortal, stats: FetchStats | None = None) -> list[Dossier | RejectedRecord]:
    return list(portal.iter_dossiers(AGENCY, START, END, stats))


def codes(items: list[Dossier | RejectedRecord]) -> list[str]:
    return [item.code for item in items]


# -- paging ---------------------------------------------------------------------------


def test_pages_with_the_size_the_server_used_until_an_empty_page(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(25), max_page_size=4)
    stats = FetchStats()

    got = fetch(client(sim, sleeps, page_size=10), stats)

    assert codes(got) == [f"HS-{n:04d}" for n in range(25)]
    assert all(isinstance(item, Dossier) for item in got)
    assert (stats.pages, stats.records, stats.rejected) == (8, 25, 0)  # 7 pages + the empty one
    assert sim.stats[DOSSIERS] == 8
    assert sim.stats[AUTH] == 1
    assert sleeps == []


def test_streams_page_by_page_holding_back_one_page(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(30), max_page_size=5)

    stream = client(sim, sleeps).iter_dossiers(AGENCY, START, END)
    assert sim.stats[DOSSIERS] == 0  # nothing is read before the first record is asked for
    assert next(stream).code == "HS-0000"

    assert sim.stats[DOSSIERS] == 2


def test_a_page_size_changed_during_paging_is_a_clear_error(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(30), max_page_size=5)
    stream = client(sim, sleeps).iter_dossiers(AGENCY, START, END)
    next(stream)

    sim.max_page_size = 3
    with pytest.raises(PortalBadResponse, match="pageSize changed from 5 to 3"):
        list(stream)


def test_an_agency_with_no_dossier_yields_nothing(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(3))
    stats = FetchStats()

    assert list(client(sim, sleeps).iter_dossiers(OTHER_AGENCY, START, END, stats)) == []
    assert stats.pages == 1


def test_lists_agencies(simulator: SimulatorFactory, sleeps: list[float]) -> None:
    sim = simulator([])

    agencies = client(sim, sleeps).list_agencies()

    assert agencies[0] == Agency(AGENCY, "Sở Khoa học và Công nghệ", 1, "000.00.00.H99")
    assert [a.code for a in agencies] == [AGENCY, OTHER_AGENCY]


# -- sessions and credentials ---------------------------------------------------------


@pytest.mark.parametrize(
    ("session_calls", "relogins"),
    [
        (3, 1),  # 6 page calls: 3 + 3
        (2, 2),  # 2 + 2 + 2
        (6, 0),
    ],
)
def test_logs_in_again_once_per_expired_session(
    simulator: SimulatorFactory, sleeps: list[float], session_calls: int, relogins: int
) -> None:
    sim = simulator(records(10), max_page_size=2, faults=Faults(session_calls=session_calls))
    stats = FetchStats()

    got = fetch(client(sim, sleeps), stats)

    assert codes(got) == [f"HS-{n:04d}" for n in range(10)]
    assert stats.relogins == relogins
    assert sim.stats[AUTH] == relogins + 1
    assert sim.stats["fault:session"] == relogins


def test_a_fresh_session_refused_again_is_not_retried_forever(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(3), session_ttl_seconds=0)  # every session is born expired

    with pytest.raises(PortalAuthError, match="rejected a fresh session"):
        fetch(client(sim, sleeps))

    assert sim.stats[AUTH] == 2
    assert sim.stats[DOSSIERS] == 2


def test_bad_credentials_fail_at_once_with_the_portal_message(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(3))

    with pytest.raises(PortalAuthError) as caught:
        fetch(client(sim, sleeps, password="wrong-" + PASSWORD))

    assert "Sai tên đăng nhập hoặc mật khẩu" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert sim.stats[AUTH] == 1
    assert sim.stats[DOSSIERS] == 0
    assert sleeps == []


# -- transient failures ---------------------------------------------------------------


def test_honours_retry_after_on_429(simulator: SimulatorFactory, sleeps: list[float]) -> None:
    sim = simulator(records(4), faults=Faults(throttle_burst=2, retry_after_seconds=7))
    stats = FetchStats()

    got = fetch(client(sim, sleeps), stats)

    assert len(got) == 4
    assert sleeps == [7.0, 7.0]
    assert stats.retries == 2


def test_recovers_from_a_burst_of_503_with_growing_backoff(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(4), faults=Faults(unavailable_burst=3, only={DOSSIERS}))
    stats = FetchStats()

    got = fetch(client(sim, sleeps, backoff_base=1.0, backoff_max=3.0), stats)

    assert len(got) == 4
    assert stats.retries == 3
    # Backoff 1, 2, 4 capped at 3, each between half and all of it (jitter).
    assert [0.5 <= sleeps[0] <= 1, 1 <= sleeps[1] <= 2, 1.5 <= sleeps[2] <= 3] == [True] * 3
    assert sim.stats["fault:503"] == 3


def test_gives_up_after_max_attempts_naming_url_service_and_cause(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(4), faults=Faults(unavailable_burst=Faults.ALWAYS, only={DOSSIERS}))

    with pytest.raises(PortalUnavailable) as caught:
        fetch(client(sim, sleeps, max_attempts=3))

    message = str(caught.value)
    assert f"{sim.url}/api" in message
    assert DOSSIERS in message
    assert "HTTP 503" in message
    assert caught.value.attempts == 3
    assert sim.stats[DOSSIERS] == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "fault",
    ["connection_resets", "cut_bodies", "truncated_bodies", "html_bodies", "unavailable_burst"],
)
def test_recovers_from_one_transient_failure_in_the_middle_of_paging(
    simulator: SimulatorFactory, sleeps: list[float], fault: str
) -> None:
    sim = simulator(records(10), max_page_size=3)
    portal = client(sim, sleeps)
    stats = FetchStats()
    stream = portal.iter_dossiers(AGENCY, START, END, stats)
    first = next(stream)  # two pages read

    setattr(sim.faults, fault, 1)
    rest = list(stream)

    assert codes([first, *rest]) == [f"HS-{n:04d}" for n in range(10)]
    assert stats.retries == 1
    assert len(sleeps) == 1
    assert getattr(sim.faults, fault) == 0  # the fault did happen


def test_a_body_that_is_never_json_is_a_clear_error_after_one_retry(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(3), faults=Faults(html_bodies=Faults.ALWAYS, only={DOSSIERS}))

    with pytest.raises(PortalBadResponse) as caught:
        fetch(client(sim, sleeps))

    assert "not a JSON object, twice in a row" in str(caught.value)
    assert "Hệ thống đang bảo trì" in str(caught.value)  # what the portal said instead
    assert sim.stats[DOSSIERS] == 2


def test_retries_a_timeout(simulator: SimulatorFactory) -> None:
    sim = simulator(records(3), faults=Faults(latency_seconds=0.5))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sim.faults.latency_seconds = 0  # the portal is fast again by the next attempt

    portal = HttpPortal(sim.url, "demo", PASSWORD, timeout=0.05, sleep=sleep)
    stats = FetchStats()

    assert len(list(portal.iter_dossiers(AGENCY, START, END, stats))) == 3
    assert stats.retries == 1


def test_an_unreachable_portal_is_unavailable(sleeps: list[float]) -> None:
    portal = HttpPortal(
        "http://127.0.0.1:9/dvcqg", "demo", PASSWORD, max_attempts=2, sleep=sleeps.append
    )

    with pytest.raises(PortalUnavailable, match=r"127\.0\.0\.1:9/dvcqg/auth \(auth\)"):
        portal.list_agencies()

    assert len(sleeps) == 1


def test_never_logs_the_password(
    simulator: SimulatorFactory, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    sim = simulator(records(3), faults=Faults(unavailable_burst=2, session_calls=1))
    caplog.set_level(logging.DEBUG)

    fetch(client(sim, sleeps))
    with pytest.raises(PortalAuthError) as caught:
        fetch(client(sim, sleeps, password=PASSWORD + "x"))

    assert caplog.records  # something was logged
    assert PASSWORD not in caplog.text
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(client(sim, sleeps))


# -- service errors, duplicates, bad records ------------------------------------------


def test_a_service_error_is_final_and_shows_the_message(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(3), faults=Faults(failing_agencies={AGENCY}))

    with pytest.raises(PortalServiceError) as caught:
        fetch(client(sim, sleeps))

    assert f"Lỗi khi truy vấn hồ sơ của đơn vị {AGENCY}" in str(caught.value)
    assert caught.value.error_code == "03"
    assert sim.stats[DOSSIERS] == 1
    assert sleeps == []


def test_merges_records_repeated_across_pages_keeping_the_latest(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    sim = simulator(records(10), max_page_size=3, faults=Faults(repeat_across_pages=True))
    stats = FetchStats()

    got = fetch(client(sim, sleeps), stats)

    assert codes(got) == [f"HS-{n:04d}" for n in range(10)]
    # Pages [0 1 2] [2 3 4] [4 5 6] [6 7 8] [8 9]: the repeats are newer by a minute.
    assert stats.duplicates_merged == 4
    updated = {item.code: item.updated for item in got if isinstance(item, Dossier)}
    assert [code for code, stamp in updated.items() if stamp == "20240510080100"] == [
        "HS-0002",
        "HS-0004",
        "HS-0006",
        "HS-0008",
    ]


def test_rejects_bad_records_by_name_and_keeps_the_rest(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    bad = [
        raw_dossier("HS-0001", NgayTiepNhan="2024-05-10"),
        raw_dossier("HS-0003", TrangThaiHoSo=42),
        raw_dossier(None),
    ]
    sim = simulator([*records(5)[::2], *bad], max_page_size=2)  # HS-0004, 0002, 0000 valid
    stats = FetchStats()

    got = fetch(client(sim, sleeps), stats)

    rejected = [item for item in got if isinstance(item, RejectedRecord)]
    assert sorted(item.code for item in got if isinstance(item, Dossier)) == [
        "HS-0000",
        "HS-0002",
        "HS-0004",
    ]
    assert [(r.code, r.reason) for r in rejected] == [
        ("", "MaHoSo is missing"),
        ("HS-0001", "NgayTiepNhan '2024-05-10' is not a time yyyyMMddHHmmss"),
        ("HS-0003", "TrangThaiHoSo 42 is not a status 1..10"),
    ]
    assert (stats.records, stats.rejected) == (3, 3)


def test_a_bad_agency_row_is_a_clear_error(sleeps: list[float]) -> None:
    rows = [*AGENCY_ROWS, {"TenDonVi": "Sở Y tế", "CapDonVi": 1}]
    with PortalSimulator(ListStore(rows, []), users={"demo": PASSWORD}) as sim:
        portal = client(sim, sleeps)
        with pytest.raises(PortalBadResponse, match="agency row 3 has no MaDonVi"):
            portal.list_agencies()


# -- pure parts -----------------------------------------------------------------------


def label(record: dict[str, Any]) -> str:
    """Name a record of the table below: "B:new", or "-" when it has no MaHoSo."""
    code = record["MaHoSo"] or "-"
    return f"{code}:{record['tag']}" if record["tag"] else code


def _raw(code: str | None, updated: str = "20240501000000", tag: str = "") -> dict[str, Any]:
    return {"MaHoSo": code, "NgayCapNhat": updated, "tag": tag}


@pytest.mark.parametrize(
    ("pages", "kept", "merged"),
    [
        pytest.param([[_raw("A"), _raw("B")], [_raw("C")]], ["A", "B", "C"], 0, id="no repeat"),
        pytest.param(
            [[_raw("A"), _raw("B", "20240501000000", "old")], [_raw("B", "20240502000000", "new")]],
            ["A", "B:new"],
            1,
            id="later copy newer",
        ),
        pytest.param(
            [[_raw("B", "20240502000000", "new")], [_raw("B", "20240501000000", "old"), _raw("C")]],
            ["B:new", "C"],
            1,
            id="earlier copy newer",
        ),
        pytest.param(
            [[_raw("B", tag="first")], [_raw("B", tag="second")]],
            ["B:second"],
            1,
            id="tie keeps the copy read last",
        ),
        pytest.param([[_raw("A"), _raw("A"), _raw("A")]], ["A"], 2, id="within one page"),
        pytest.param([[_raw(None), _raw(None)], []], ["-", "-"], 0, id="no MaHoSo: not merged"),
    ],
)
def test_merge_pages(pages: list[list[Any]], kept: list[str], merged: int) -> None:
    stats = FetchStats()

    out = list(merge_pages(pages, stats))

    assert [label(record) for record in out] == kept
    assert stats.duplicates_merged == merged


def test_merge_pages_refuses_a_repeat_two_pages_apart_rather_than_count_it_twice() -> None:
    a1, a2, b1, b2 = (raw_dossier(code) for code in ("A1", "A2", "B1", "B2"))
    pages = [[a1, a2], [b1, b2], [a1, a2]]

    with pytest.raises(PagingError, match="page 3: MaHoSo 'A1' comes after 'A2' was passed"):
        list(merge_pages(pages, FetchStats()))


def test_merge_pages_lets_records_that_are_no_dossier_stand_anywhere() -> None:
    # A portal may list broken rows out of order (validation rejects them): no order to keep.
    pages = [
        [raw_dossier("A1"), {"MaHoSo": "~BROKEN-1"}],
        [raw_dossier("B1"), {"MaHoSo": "~BROKEN-2"}],
        [raw_dossier("C1")],
    ]

    out = list(merge_pages(pages, FetchStats()))

    assert [record["MaHoSo"] for record in out] == ["A1", "~BROKEN-1", "B1", "~BROKEN-2", "C1"]


def test_merge_pages_holds_back_a_single_page() -> None:
    read: list[int] = []

    def pages() -> Iterator[list[Any]]:
        for n in range(5):
            read.append(n)
            yield [_raw(f"P{n}")]

    stream = merge_pages(pages(), FetchStats())
    assert next(stream)["MaHoSo"] == "P0"
    assert read == [0, 1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (raw_dossier("HS-1"), "HS-1"),
        (
            raw_dossier("HS-2", MaDonVi=OTHER_AGENCY),
            RejectedRecord(
                "HS-2", f"MaDonVi {OTHER_AGENCY} is not the agency asked for ({AGENCY})"
            ),
        ),
        ("not a record", RejectedRecord("", "record is a str, not an object")),
        (raw_dossier("HS-3", without=["MaDonVi"]), RejectedRecord("HS-3", "MaDonVi is missing")),
    ],
)
def test_check_record(raw: Any, expected: str | RejectedRecord) -> None:
    result = check_record(raw, AGENCY)

    if isinstance(expected, str):
        assert isinstance(result, Dossier)
        assert result.code == expected
    else:
        assert result == expected


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


@pytest.mark.parametrize(
    ("failure", "transient"),
    [
        (_response(429), True),
        (_response(502), True),
        (_response(503), True),
        (_response(504), True),
        (_response(500), False),
        (_response(404), False),
        (_response(200), False),
        (requests.ConnectTimeout(), True),
        (requests.ReadTimeout(), True),
        (requests.ConnectionError(), True),
        (requests.exceptions.ChunkedEncodingError(), True),
        (requests.exceptions.SSLError(), False),
        (requests.exceptions.InvalidURL(), False),
        (ValueError(), False),
    ],
)
def test_is_transient(failure: requests.Response | BaseException, transient: bool) -> None:
    assert is_transient(failure) is transient


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (AGENCY_ROWS[0], Agency(AGENCY, "Sở Khoa học và Công nghệ", 1, "000.00.00.H99")),
        ({"MaDonVi": " X ", "CapDonVi": "3"}, Agency("X", "", 3, "")),
        (
            {"MaDonVi": "X", "CapDonVi": "cao"},
            "agency X \\(row 1\\): CapDonVi 'cao' is not a number",
        ),
        ({"CapDonVi": 1}, "agency row 1 has no MaDonVi"),
        ([], "agency row 1 is a list, not an object"),
    ],
)
def test_parse_agency(row: Any, expected: Agency | str) -> None:
    if isinstance(expected, Agency):
        assert parse_agency(row, 1) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            parse_agency(row, 1)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2024-05-01", END, "window start '2024-05-01' is not a time"),
        (END, START, "is after its end"),
    ],
)
def test_a_bad_window_is_refused_before_any_call(start: str, end: str, problem: str) -> None:
    portal = HttpPortal("http://127.0.0.1:9/dvcqg", "demo", PASSWORD)
    with pytest.raises(ValueError, match=problem):
        portal.iter_dossiers(AGENCY, start, end)


# -- the fake -------------------------------------------------------------------------


def test_fake_portal_selects_pages_and_validates_like_the_http_one(
    simulator: SimulatorFactory, sleeps: list[float]
) -> None:
    served = [
        *records(7),
        raw_dossier("HS-0003", NgayCapNhat="20240520000000"),  # a newer copy
        raw_dossier("HS-0100", TrangThaiHoSo=0),  # invalid
        raw_dossier("HS-0200", MaDonVi=OTHER_AGENCY),  # another agency's
        raw_dossier("HS-0300", NgayTiepNhan="20240601080000"),  # received after the window
        raw_dossier(
            "HS-0400",
            NgayTiepNhan="20240401080000",
            TrangThaiHoSo=10,
            NgayKetThucXuLy="20240420080000",  # closed before the window
        ),
    ]
    agencies = [parse_agency(row, n) for n, row in enumerate(AGENCY_ROWS, 1)]
    fake = FakePortal(agencies, served, page_size=3)
    sim = simulator(served, max_page_size=3)
    fake_stats, http_stats = FetchStats(), FetchStats()

    from_fake = list(fake.iter_dossiers(AGENCY, START, END, fake_stats))
    from_http = list(client(sim, sleeps).iter_dossiers(AGENCY, START, END, http_stats))

    assert from_fake == from_http
    assert codes(from_fake) == [*(f"HS-{n:04d}" for n in range(7)), "HS-0100"]
    assert fake_stats == FetchStats(
        pages=fake_stats.pages,
        requests=fake_stats.requests,
        duplicates_merged=1,
        rejected=1,
        records=7,
    )
    assert (http_stats.duplicates_merged, http_stats.rejected, http_stats.records) == (1, 1, 7)
    assert fake.list_agencies() == agencies
    assert fake.calls == [(AGENCY, START, END)]


def test_fake_portal_fails_for_the_agencies_told() -> None:
    fake = FakePortal([], records(2), failing_agencies={AGENCY})

    stream = fake.iter_dossiers(AGENCY, START, END)

    with pytest.raises(PortalServiceError, match=AGENCY):
        next(stream)


@pytest.mark.parametrize(
    "error",
    [
        PortalServiceError("LayDanhSachHoSo", "Không tìm thấy đơn vị", "03"),
        PortalUnavailable("http://portal/dvcqg", "LayDanhSachHoSo", "503", 5),
        PortalBadResponse("http://portal/dvcqg", "LayDanhSachHoSo", "not JSON twice"),
    ],
)
def test_portal_errors_survive_pickling_for_dask_workers(error: PortalError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
