"""ListStore: the window rule of portal-api.md at its boundaries, paging, malformed records."""

from __future__ import annotations

from typing import Any

import pytest

from portal_sim.store import ListStore, in_window

AGENCY = "000.00.15.H99"
OTHER = "000.00.09.H99"
MAY_START, MAY_END = "20240501000000", "20240531235959"


def record(code: str = "H99.15-240510-0001", agency: str = AGENCY, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "MaHoSo": code,
        "MaDonVi": agency,
        "NgayTiepNhan": "20240510090000",
        "NgayHenTra": "20240520170000",
        "NgayKetThucXuLy": "",
        "NgayTra": "",
        "TrangThaiHoSo": 4,
    }
    base.update(fields)
    return base


# (case, received, finished NgayKetThucXuLy, handed back NgayTra, served in May?)
WINDOW_CASES = [
    ("received on the last second", "20240531235959", "", "", True),
    ("received one second after", "20240601000000", "", "", False),
    ("received long before, still open", "20230101080000", "", "", True),
    ("open with null closing fields", "20240401080000", None, None, True),
    ("finished on the first second", "20240401080000", "20240501000000", "", True),
    ("finished one second before", "20240401080000", "20240430235959", "", False),
    ("finished in the window", "20240401080000", "20240515100000", "20240516100000", True),
    ("finished after the window", "20240401080000", "20240603100000", "", True),
    (
        "finished before, handed back in: NgayKetThucXuLy decides",
        "20240401080000",
        "20240430160000",
        "20240502090000",
        False,
    ),
    ("withdrawn (NgayTra only) in the window", "20240401080000", "", "20240501000000", True),
    ("withdrawn (NgayTra only) before", "20240401080000", "", "20240430235959", False),
    ("received and closed inside", "20240502080000", "20240503080000", "20240503090000", True),
]


@pytest.mark.parametrize(
    ("case", "received", "finished", "handed", "served"),
    WINDOW_CASES,
    ids=[c[0] for c in WINDOW_CASES],
)
def test_window_rule_at_its_boundaries(
    case: str, received: str, finished: str | None, handed: str | None, served: bool
) -> None:
    rec = record(NgayTiepNhan=received, NgayKetThucXuLy=finished, NgayTra=handed)
    store = ListStore([], [rec])
    window = store.window(AGENCY, MAY_START, MAY_END)
    assert window.total == (1 if served else 0), case
    assert window.page(0, 10) == ([rec] if served else [])
    assert in_window(rec, MAY_START, MAY_END) is served


# (case, record fields) of records whose times cannot be read: served in every window
MALFORMED = [
    ("no NgayTiepNhan", {"NgayTiepNhan": None}),
    ("empty NgayTiepNhan", {"NgayTiepNhan": ""}),
    ("NgayTiepNhan not a time", {"NgayTiepNhan": "10/05/2024 09:00"}),
    ("NgayTiepNhan impossible date", {"NgayTiepNhan": "20240532090000"}),
    ("NgayTiepNhan a number", {"NgayTiepNhan": 20240510090000}),
    ("closing time not a time", {"NgayKetThucXuLy": "2024-04-01"}),
]


@pytest.mark.parametrize(("case", "fields"), MALFORMED, ids=[c[0] for c in MALFORMED])
@pytest.mark.parametrize(
    ("from_stamp", "to_stamp"),
    [
        (MAY_START, MAY_END),
        ("20200101000000", "20200131235959"),
        ("20300101000000", "20301231235959"),
    ],
)
def test_malformed_records_are_served_in_every_window_of_their_agency(
    case: str, fields: dict[str, Any], from_stamp: str, to_stamp: str
) -> None:
    bad = record(**fields)
    store = ListStore([], [bad])
    assert store.window(AGENCY, from_stamp, to_stamp).page(0, 10) == [bad], case
    assert store.window(OTHER, from_stamp, to_stamp).total == 0


def test_records_without_an_agency_or_not_objects_are_served_to_every_agency() -> None:
    no_agency = record(code="A", agency="")
    not_an_object: Any = "not a record"
    store = ListStore([], [no_agency, not_an_object])
    for agency in (AGENCY, OTHER):
        assert store.window(agency, MAY_START, MAY_END).total == 2


def test_only_the_agency_asked_is_served() -> None:
    mine = record(code="H99.15-240510-0001")
    theirs = record(code="H99.09-240510-0001", agency=OTHER)
    store = ListStore([], [mine, theirs])
    assert store.window(AGENCY, MAY_START, MAY_END).page(0, 10) == [mine]
    assert store.window(f" {OTHER} ", MAY_START, MAY_END).page(0, 10) == [theirs]
    assert store.window("000.00.99.H99", MAY_START, MAY_END).total == 0


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 3, ["A1", "A2", "A3"]),
        (3, 3, ["A4", "A5"]),
        (5, 3, []),
        (0, 1000, ["A1", "A2", "A3", "A4", "A5"]),
        (4, 1, ["A5"]),
        (-1, 3, []),
        (0, 0, []),
    ],
)
def test_pages_are_ordered_by_code(offset: int, limit: int, expected: list[str]) -> None:
    records = [record(code=f"A{k}") for k in (3, 1, 5, 2, 4)]
    window = ListStore([], records).window(AGENCY, MAY_START, MAY_END)
    assert window.total == 5
    assert [r["MaHoSo"] for r in window.page(offset, limit)] == expected


def test_the_window_reads_the_records_at_call_time() -> None:
    store = ListStore([], [record(code="A1")])
    before = store.window(AGENCY, MAY_START, MAY_END)
    store.records.append(record(code="A0"))
    store.records[0]["NgayTiepNhan"] = "20240601080000"  # A1 now received after May
    after = store.window(AGENCY, MAY_START, MAY_END)
    assert before.total == 1
    assert [r["MaHoSo"] for r in after.page(0, 10)] == ["A0"]


def test_agencies_are_served_as_copies() -> None:
    rows = [
        {
            "MaDonVi": AGENCY,
            "TenDonVi": "Sở Khoa học và Công nghệ",
            "CapDonVi": 1,
            "MaDonViCha": "000.00.00.H99",
        }
    ]
    store = ListStore(rows, [])
    served = store.agencies()
    assert served == rows
    served[0]["TenDonVi"] = "changed"
    assert store.agencies() == rows
    assert ListStore().agencies() == []
    assert ListStore().window(AGENCY, MAY_START, MAY_END).total == 0
