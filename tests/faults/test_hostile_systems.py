"""The monthly run while outside systems are hostile or slow: every run ends, in bounded time,
counts stay exact, and the re-run completes with nothing lost or sent twice.

The portal's misbehaviour hits one department (STP) through a proxy in front of the province's
simulator; the mail server's hits every department. Deadlines are short through the settings;
each test's own timeout bounds it, whatever the code under test does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tasks.store.database import DATABASE_FILE
from tests.faults.conftest import ScenarioLog
from tests.faults.province import (
    Baseline,
    Province,
    assert_consistent,
    assert_delivered_once,
    assert_rerun_completes,
    differences,
    report_lines,
)
from tests.hostile import HostilePortal, Reply, TricklingSmtp, page

STP_AGENCY = "000.00.09.H99"
DOSSIERS = "LayDanhSachHoSo"


def _stp(request: dict[str, Any]) -> bool:
    return request.get("service") == DOSSIERS and request.get("madonvi") == STP_AGENCY


def _forward(_: dict[str, Any]) -> None:
    return None


@pytest.fixture
def proxied(province: Province) -> Iterator[tuple[Province, HostilePortal]]:
    """The province aimed at a hostile proxy in front of its simulator (forwarding, at first)."""
    upstream = province.simulator.url
    with HostilePortal(_forward, upstream=upstream) as hostile:
        province.environ["TTHC_PORTAL__BASE_URL"] = hostile.url
        yield province, hostile


def _timed_run(province: Province) -> tuple[Any, float]:
    started = time.monotonic()
    state = province.run()
    return state, time.monotonic() - started


def _fails_stp_only_then_rerun_completes(
    province: Province, hostile: HostilePortal, baseline: Baseline, expected: str
) -> float:
    state, took = _timed_run(province)

    assert state.is_failed()
    assert "STP" in str(state.message) and expected in str(state.message), state.message
    assert_consistent(province)
    received = province.received()
    assert {department for department, _ in received} == {"SKHCN", "SYT"}  # held: the Centre
    hostile.behave = _forward  # the portal is fixed
    assert_rerun_completes(province, baseline)
    return took


@pytest.mark.timeout(180)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_trickling_portal_costs_its_deadline_times_the_attempts(
    proxied: tuple[Province, HostilePortal],
    baseline: Baseline,
    scenario_log: ScenarioLog,
    chunked: bool,
) -> None:
    province, hostile = proxied
    province.environ["TTHC_PORTAL__DEADLINE_SECONDS"] = "1"
    province.environ["TTHC_PORTAL__MAX_ATTEMPTS"] = "2"
    body = page([]).body

    def trickle(request: dict[str, Any]) -> Reply | None:
        return Reply(body, head=5, trickle_seconds=0.5, chunked=chunked) if _stp(request) else None

    hostile.behave = trickle
    took = _fails_stp_only_then_rerun_completes(
        province, hostile, baseline, "no complete answer within 1 s"
    )
    kind = "chunked" if chunked else "fixed length"
    scenario_log.fault(
        f"portal: one byte every 0.5 s ({kind}), deadline 1 s × 2 tries × 3 fetches",
        "STP failed at its deadlines; re-run completed",
        province,
        figures_equal=True,
        seconds=took,
    )


def _endless_pages(request: dict[str, Any]) -> Reply | None:
    if not _stp(request):
        return None
    index = int(request["pageIndex"])
    start = 10 * index
    data = [_record(f"HS-STP-{n:08d}") for n in range(start, start + 10)]
    return page(data, total=10, size=10, index=index)


def _record(code: str) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "MaDonVi": STP_AGENCY,
        "NgayTiepNhan": "20240510080000",
        "TrangThaiHoSo": 4,
        "NgayHenTra": "20240520170000",
    }


def _a_b_a_pages() -> Any:
    a = [_record(f"HS-STP-A{n:04d}") for n in range(10)]
    b = [_record(f"HS-STP-B{n:04d}") for n in range(10)]

    def behave(request: dict[str, Any]) -> Reply | None:
        if not _stp(request):
            return None
        index = int(request["pageIndex"])
        data = {1: a, 2: b, 3: a}.get(index, [])
        return page(data, size=10, index=index)

    return behave


def _a_b_a_b_pages() -> Any:
    a = [_record(f"HS-STP-A{n:04d}") for n in range(10)]
    b = [_record(f"HS-STP-B{n:04d}") for n in range(10)]

    def behave(request: dict[str, Any]) -> Reply | None:
        if not _stp(request):
            return None
        index = int(request["pageIndex"])
        return page(a if index % 2 else b, size=10, index=index)

    return behave


PAGING: dict[str, tuple[Any, str]] = {
    "full pages of new records forever, declaring total 10": (
        lambda: _endless_pages,
        "declared 10 dossiers",
    ),
    "pages A, B, A, B, ... forever": (_a_b_a_b_pages, "repeats a page read before"),
    "pages A, B, A, then empty": (_a_b_a_pages, "repeats a page read before"),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", list(PAGING))
def test_paging_that_would_never_end_or_over_count_fails_the_department_clearly(
    proxied: tuple[Province, HostilePortal],
    baseline: Baseline,
    scenario_log: ScenarioLog,
    name: str,
) -> None:
    province, hostile = proxied
    make, expected = PAGING[name]
    hostile.behave = make()

    took = _fails_stp_only_then_rerun_completes(province, hostile, baseline, expected)

    scenario_log.fault(
        f"portal: {name}",
        "STP failed naming the pages; re-run completed",
        province,
        figures_equal=True,
        seconds=took,
    )


@pytest.mark.timeout(180)
def test_xml_illegal_characters_from_the_portal_are_removed_and_counted(
    proxied: tuple[Province, HostilePortal], baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province, hostile = proxied

    def poison(request: dict[str, Any], content: bytes) -> bytes:
        body = orjson.loads(content)
        if _stp(request) and body.get("data"):
            for number, record in enumerate(body["data"][:3]):
                record["TenTTHC"] = (
                    str(record.get("TenTTHC", "")) + ["\ufffe", "\uffff", "\x0b"][number]
                )
            return orjson.dumps(body)
        return content

    hostile.rewrite = poison
    state, took = _timed_run(province)

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=True) == []
    stp = province.documents()
    [report] = [path for name, path in stp.items() if "STP" in name and name.endswith(".docx")]
    assert any("3 nội dung văn bản" in line for line in report_lines(report))
    scenario_log.fault(
        "portal: U+FFFE, U+FFFF and a control character in text fields",
        "removed, counted in the data note; all sent",
        province,
        figures_equal=True,
        seconds=took,
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("endless_ehlo", [False, True], ids=["every byte slow", "endless EHLO"])
def test_a_trickling_mail_server_ends_every_delivery_at_its_deadline(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog, endless_ehlo: bool
) -> None:
    real_port = province.environ["TTHC_SMTP__PORT"]
    with TricklingSmtp(0.5, endless_ehlo=endless_ehlo) as hostile:
        province.environ["TTHC_SMTP__PORT"] = str(hostile.port)
        province.environ["TTHC_SMTP__DEADLINE_SECONDS"] = "1"
        state, took = _timed_run(province)

    assert state.is_failed()
    assert "did not end within 1 s" in str(state.message), state.message
    assert province.received() == {}
    province.environ["TTHC_SMTP__PORT"] = real_port  # the mail server is fixed
    assert_rerun_completes(province, baseline)
    kind = "EHLO reply without end" if endless_ehlo else "every reply byte after 0.5 s"
    scenario_log.fault(
        f"mail server: {kind}, deadline 1 s × 3 sessions",
        "every department failed at its deadline; re-run completed",
        province,
        figures_equal=True,
        seconds=took,
    )


@pytest.mark.timeout(180)
def test_the_run_deadline_ends_the_run_naming_what_it_waited_for(
    proxied: tuple[Province, HostilePortal], baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province, hostile = proxied
    body = page([]).body
    province.environ["TTHC_PORTAL__DEADLINE_SECONDS"] = "4"
    province.environ["TTHC_PORTAL__MAX_ATTEMPTS"] = "1"
    province.environ["TTHC_RUNNER__PORTAL_RETRY_DELAYS_SECONDS"] = "[]"
    province.environ["TTHC_RUNNER__RUN_DEADLINE_SECONDS"] = "2"
    hostile.behave = lambda r: Reply(body, head=5, trickle_seconds=0.5) if _stp(r) else None

    state, took = _timed_run(province)

    assert state.is_failed()
    message = str(state.message)
    assert "run_deadline_seconds (2 s)" in message and "figures STP" in message, message
    del province.environ["TTHC_RUNNER__RUN_DEADLINE_SECONDS"]
    hostile.behave = _forward
    assert_rerun_completes(province, baseline)  # the lock was released
    scenario_log.fault(
        "run: longer than runner.run_deadline_seconds (2 s)",
        "Failed naming 'figures STP'; lock released; re-run completed",
        province,
        figures_equal=True,
        seconds=took,
    )


@pytest.mark.timeout(180)
def test_an_output_folder_with_url_characters_holds_its_own_database(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    odd = province.root / "odd#dir?mode=ro&x=%41"
    Path(province.environ["TTHC_OUTPUT_DIR"]).rename(odd)
    province.environ["TTHC_OUTPUT_DIR"] = str(odd)

    state, took = _timed_run(province)

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert (odd / DATABASE_FILE).is_file()
    assert sorted(p.name for p in province.root.iterdir() if p.name.startswith("odd")) == [odd.name]
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "output folder named 'odd#dir?mode=ro&x=%41'",
        "survived; the database is in that folder",
        province,
        figures_equal=True,
        seconds=took,
    )
