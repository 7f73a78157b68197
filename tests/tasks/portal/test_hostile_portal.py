"""The portal client against hostile portals on loopback: every fetch ends, counts stay exact.

Each hanging case is bounded by its own pytest timeout, far above the deadline it checks.
"""

from __future__ import annotations

import itertools
import unicodedata
from typing import Any

import pytest

from tasks.portal.client import FetchStats, HttpPortal, PortalBadResponse, PortalUnavailable
from tasks.portal.dossiers import Dossier, RejectedRecord
from tests.builders import AGENCY, raw_dossier
from tests.hostile import HostilePortal, Reply, page

START = "20240501000000"
END = "20240531235959"


def portal(hostile: HostilePortal, **options: Any) -> HttpPortal:
    options.setdefault("max_attempts", 2)
    return HttpPortal(hostile.url, "demo", "demo", sleep=lambda _: None, timeout=5, **options)


def fetch(client: HttpPortal, stats: FetchStats | None = None) -> list[Dossier | RejectedRecord]:
    return list(client.iter_dossiers(AGENCY, START, END, stats))


def records(prefix: str, count: int) -> list[dict[str, Any]]:
    return [raw_dossier(f"{prefix}-{n:04d}") for n in range(count)]


def pages_of(*pages: list[dict[str, Any]]) -> Any:
    """Answer page n with the n-th of `pages` (an empty page after them)."""

    def behave(request: dict[str, Any]) -> Reply:
        index = int(request["pageIndex"])
        data = pages[index - 1] if index <= len(pages) else []
        return page(data, size=len(pages[0]), index=index)

    return behave


# Without a total deadline the trickle of this body (about 1.5 KB, 0.5 s a byte) would last
# some 12 minutes a try: the test's own timeout is what bounds it, not a measured time.
@pytest.mark.timeout(30)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_trickling_answer_ends_at_the_deadline_times_the_attempts(chunked: bool) -> None:
    body = page(records("HS", 3)).body

    def behave(_: dict[str, Any]) -> Reply:
        return Reply(body, head=20, trickle_seconds=0.5, chunked=chunked)

    with HostilePortal(behave) as hostile:
        with pytest.raises(PortalUnavailable, match=r"no complete answer within 1 s") as failed:
            fetch(portal(hostile, deadline=1.0))
        tries = [r for r in hostile.requests if r.get("service") == "LayDanhSachHoSo"]

    assert failed.value.attempts == 2 and len(tries) == 2


@pytest.mark.timeout(60)
def test_full_pages_of_new_records_past_the_declared_total_end_the_fetch() -> None:
    counter = itertools.count()

    def behave(request: dict[str, Any]) -> Reply:
        data = [raw_dossier(f"HS-{next(counter):08d}") for _ in range(5)]
        return page(data, total=10, size=5, index=int(request["pageIndex"]))

    with HostilePortal(behave) as hostile:
        with pytest.raises(PortalBadResponse, match=r"declared 10 dossiers .* keeps serving more"):
            fetch(portal(hostile))
        # The login, pages 1-3 (two for the total, one of slack) and the refused 4th.
        assert len(hostile.requests) == 5


@pytest.mark.timeout(60)
def test_pages_without_end_or_total_stop_at_max_pages() -> None:
    counter = itertools.count()

    def behave(request: dict[str, Any]) -> Reply:
        data = [raw_dossier(f"HS-{next(counter):08d}") for _ in range(5)]
        return page(data, size=5, index=int(request["pageIndex"]))

    with HostilePortal(behave) as hostile:
        with pytest.raises(PortalBadResponse, match=r"more than portal.max_pages \(20\)"):
            fetch(portal(hostile, max_pages=20))
        assert len(hostile.requests) == 22  # the login, 20 pages and the refused 21st


@pytest.mark.timeout(60)
def test_pages_alternating_a_b_a_b_end_at_the_first_repeat() -> None:
    a, b = records("A", 5), records("B", 5)

    def behave(request: dict[str, Any]) -> Reply:
        index = int(request["pageIndex"])
        return page(a if index % 2 else b, size=5, index=index)

    with (
        HostilePortal(behave) as hostile,
        pytest.raises(PortalBadResponse, match=r"page 3 of .* repeats a page read before"),
    ):
        fetch(portal(hostile))


@pytest.mark.timeout(60)
def test_pages_a_b_a_then_empty_never_count_a_dossier_twice() -> None:
    a, b = records("A", 500), records("B", 500)

    with (
        HostilePortal(pages_of(a, b, a)) as hostile,
        pytest.raises(PortalBadResponse, match="repeats a page read before"),
    ):
        fetch(portal(hostile))


@pytest.mark.timeout(60)
def test_a_changed_copy_of_an_earlier_page_fails_loudly_rather_than_over_count() -> None:
    a, b = records("A", 500), records("B", 500)
    a_again = [dict(raw, NgayCapNhat="20240601000000") for raw in a[1:]]

    with (
        HostilePortal(pages_of(a, b, a_again)) as hostile,
        pytest.raises(PortalBadResponse, match="not in MaHoSo order"),
    ):
        fetch(portal(hostile))


@pytest.mark.timeout(60)
def test_repeats_at_page_boundaries_are_merged_exactly_with_the_right_count() -> None:
    everything = records("HS", 12)
    # Each page starts again with the last record of the one before (data changed meanwhile).
    pages = [everything[0:4], everything[3:7], everything[6:10], everything[9:12]]

    with HostilePortal(pages_of(*pages)) as hostile:
        stats = FetchStats()
        got = fetch(portal(hostile), stats)

    assert [item.code for item in got] == [raw["MaHoSo"] for raw in everything]
    assert stats.duplicates_merged == 3


@pytest.mark.timeout(60)
def test_fewer_records_than_the_declared_total_is_a_clear_error() -> None:
    def behave(request: dict[str, Any]) -> Reply:
        index = int(request["pageIndex"])
        return page(records("HS", 5) if index == 1 else [], total=8, size=5, index=index)

    with (
        HostilePortal(behave) as hostile,
        pytest.raises(PortalBadResponse, match="declared 8 dossiers but served 5"),
    ):
        fetch(portal(hostile))


@pytest.mark.timeout(60)
def test_an_answer_over_the_size_limit_is_refused_without_reading_it_whole() -> None:
    big = page(records("HS", 500)).body  # about 300 KB

    with (
        HostilePortal(lambda _: Reply(big, chunked=True)) as hostile,
        pytest.raises(PortalBadResponse, match=r"longer than 65536 bytes"),
    ):
        fetch(portal(hostile, max_page_bytes=65536))
    with (
        HostilePortal(lambda _: Reply(big)) as hostile,
        pytest.raises(PortalBadResponse, match=r"declares \d+ bytes, over 65536"),
    ):
        fetch(portal(hostile, max_page_bytes=65536))


@pytest.mark.timeout(60)
def test_texts_are_cleaned_at_the_boundary_and_counted() -> None:
    nfc = "HS-Ế-0001"
    nfd = unicodedata.normalize("NFD", nfc)
    data = [
        raw_dossier(nfc, TenTTHC="Cấp phép\ufffe", NgayCapNhat="20240501000000"),
        raw_dossier(nfd, TenTTHC="Cấp phép\uffff", NgayCapNhat="20240502000000"),
        raw_dossier("HS-0002", TenLinhVuc="Khoa h\u006f\u0323c\x0b"),
    ]

    with HostilePortal(pages_of(data)) as hostile:
        stats = FetchStats()
        got = fetch(portal(hostile), stats)

    assert all(isinstance(item, Dossier) for item in got)
    dossiers = [item for item in got if isinstance(item, Dossier)]
    assert [d.code for d in dossiers] == [nfc, "HS-0002"]  # NFC and NFD: one dossier
    assert stats.duplicates_merged == 1
    assert dossiers[0].procedure_name == "Cấp phép"
    assert dossiers[1].field_name == "Khoa học"
    assert stats.text_cleaned == 3  # the kept copy's code (NFD) and name, and the field name


def test_a_year_0000_is_not_a_time() -> None:
    data = [raw_dossier("HS-0001", NgayTiepNhan="00000101000000")]

    with HostilePortal(pages_of(data)) as hostile:
        got = fetch(portal(hostile))

    assert got == [
        RejectedRecord("HS-0001", "NgayTiepNhan '00000101000000' is not a time yyyyMMddHHmmss")
    ]
