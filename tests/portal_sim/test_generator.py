"""The scenario generator: exact figures, determinism, validation, lazy volume stores."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from portal_sim.generator import ScenarioError, ScenarioStore, load_scenario
from portal_sim.store import in_window
from tasks.figures.engine import FIGURE_KEYS, FiguresReport, compute_figures
from tasks.figures.periods import Period
from tasks.portal.dossiers import InvalidDossier, RejectedRecord, parse_dossier
from tests.builders import SEED_STATED_FIGURES

SCENARIOS = Path(__file__).resolve().parents[2] / "portal_sim" / "scenarios"
DEMO = SCENARIOS / "demo.yaml"
SKHCN = "000.00.15.H99"
STP = "000.00.09.H99"
VPUBND = "000.00.01.H99"

SEED_FIGURES = {
    **SEED_STATED_FIGURES,
    "received_online": 60,
    "received_direct": 0,
    "received_postal": 0,
}


@pytest.fixture(scope="module")
def demo() -> ScenarioStore:
    return ScenarioStore.from_file(DEMO, seed=0)


def window_records(
    store: ScenarioStore, agency: str, from_stamp: str, to_stamp: str, page_size: int = 500
) -> list[dict[str, Any]]:
    window = store.window(agency, from_stamp, to_stamp)
    records: list[dict[str, Any]] = []
    while True:
        page = window.page(len(records), page_size)
        if not page:
            break
        records.extend(page)
    assert len(records) == window.total
    return records


def parsed(records: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for raw in records:
        try:
            out.append(parse_dossier(raw))
        except InvalidDossier as error:
            out.append(RejectedRecord(error.code, error.reason))
    return out


def figures_of(store: ScenarioStore, agency: str, month: str) -> FiguresReport:
    period = Period.parse(month)
    records = window_records(store, agency, period.start_stamp, period.end_stamp)
    return compute_figures(parsed(records), period, agency, store.vpubnd_agency)


# --------------------------------------------------------------------------- the seed


def test_skhcn_may_2024_gives_the_seed_figures(demo: ScenarioStore) -> None:
    report = figures_of(demo, SKHCN, "2024-05")
    assert {k: report.figures[k] for k in SEED_FIGURES} == SEED_FIGURES
    assert report.rates["early_rate"] == pytest.approx(49 / 54)
    assert report.rates["online_l34_rate"] == 1.0
    assert report.rates["postal_rate"] == pytest.approx(40 / 60)
    quality = report.data_quality
    assert quality.excluded == 0 and quality.rejected_count == 0
    assert quality.reconciliation is not None and quality.reconciliation.balanced


def test_skhcn_april_2024_has_postal_rate_28_percent_and_leaves_3_in_progress(
    demo: ScenarioStore,
) -> None:
    report = figures_of(demo, SKHCN, "2024-04")
    assert report.rates["postal_rate"] == 0.28
    assert report.figures["in_progress"] == 3
    assert report.data_quality.excluded == 0 and report.data_quality.rejected_count == 0


# --------------------------------------------------------------------------- every month


def demo_pairs() -> list[tuple[str, str]]:
    scenario = load_scenario(DEMO)
    return [(spec.code, m.key) for spec in scenario.agencies for m in spec.months]


@pytest.mark.parametrize(("agency", "month"), demo_pairs())
def test_every_month_of_the_demo_gives_the_planned_figures(
    demo: ScenarioStore, agency: str, month: str
) -> None:
    report = figures_of(demo, agency, month)
    planned = demo.planned_figures(agency, month)
    assert {k: report.figures[k] for k in FIGURE_KEYS} == planned
    assert report.data_quality.reconciliation is not None
    assert report.data_quality.reconciliation.balanced


def test_the_plan_keeps_every_figure_the_scenario_states(demo: ScenarioStore) -> None:
    scenario = load_scenario(DEMO)
    checked = 0
    for spec in scenario.agencies:
        for month, stated in spec.stated.items():
            planned = demo.planned_figures(spec.code, month)
            for key, value in stated.items():
                assert planned[key] == value, (spec.code, month, key)
                checked += 1
    assert checked > 150


def test_carried_over_is_the_previous_months_in_progress(demo: ScenarioStore) -> None:
    for row in demo.agencies():
        months = demo.months(row["MaDonVi"])
        for before, after in itertools.pairwise(months):
            previous = demo.planned_figures(row["MaDonVi"], before)
            current = demo.planned_figures(row["MaDonVi"], after)
            assert current["carried_over"] == previous["in_progress"]


def test_the_demo_is_varied(demo: ScenarioStore) -> None:
    totals = dict.fromkeys(FIGURE_KEYS, 0)
    for row in demo.agencies():
        for month in demo.months(row["MaDonVi"]):
            for key, value in demo.planned_figures(row["MaDonVi"], month).items():
                totals[key] += value
    for key in (
        "resolved_late",
        "resolved_on_time",
        "in_progress_overdue",
        "supplement_requested",
        "returned",
        "withdrawn",
        "interagency_new",
        "received_direct",
        "received_postal",
        "vpubnd_sent",
        "vpubnd_early",
        "vpubnd_on_time",
        "vpubnd_late",
        "vpubnd_not_due",
        "vpubnd_overdue",
    ):
        assert totals[key] > 0, key
    assert 0 < totals["paid_online"] < totals["fee_bearing"]
    assert 0 < totals["digitised"] < totals["received_new"]


def test_the_demo_agencies(demo: ScenarioStore) -> None:
    rows = {row["MaDonVi"]: row for row in demo.agencies()}
    expected = {
        "000.00.15.H99": "Sở Khoa học và Công nghệ",
        "000.00.09.H99": "Sở Tư pháp",
        "000.00.17.H99": "Sở Y tế",
        "000.00.12.H99": "Sở Giáo dục và Đào tạo",
        "000.00.20.H99": "Sở Tài nguyên và Môi trường",
        "000.00.01.H99": "Văn phòng UBND tỉnh",
    }
    for code, name in expected.items():
        assert rows[code] == {
            "MaDonVi": code,
            "TenDonVi": name,
            "CapDonVi": 1,
            "MaDonViCha": "000.00.00.H99",
        }
        assert demo.months(code)[0] == "2023-05" and demo.months(code)[-1] == "2024-08"
    assert sum(1 for row in rows.values() if row["CapDonVi"] == 2) >= 2
    assert demo.vpubnd_agency == VPUBND


def test_stp_may_2024_has_excluded_and_malformed_records(demo: ScenarioStore) -> None:
    report = figures_of(demo, STP, "2024-05")
    quality = report.data_quality
    assert quality.excluded_by_status == {1: 2, 3: 1}
    assert quality.rejected_count == 3
    reasons = " | ".join(r.reason for r in quality.rejected)
    assert "NgayTiepNhan is missing" in reasons
    assert "is not a time" in reasons
    assert "TrangThaiHoSo 12" in reasons
    assert all(r.code.startswith("H99.09-2405") for r in quality.rejected)
    assert {k: report.figures[k] for k in FIGURE_KEYS} == demo.planned_figures(STP, "2024-05")
    assert demo.planned_extras(STP, "2024-05")["status_1"] == 2
    # malformed records belong to their month only; status 1 stays open, as on the portal
    june = figures_of(demo, STP, "2024-06").data_quality
    assert june.rejected_count == 0 and june.excluded_by_status == {1: 2}


def test_records_look_like_the_portals(demo: ScenarioStore) -> None:
    records = list(demo.records(SKHCN))
    codes = [r["MaHoSo"] for r in records]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert all(code.startswith("H99.15-") for code in codes)
    fields = {
        "MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "MaDonVi", "NgayTiepNhan",
        "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "TrangThaiHoSo", "KenhThucHien", "HinhThuc",
        "MucDo", "LaLienThong", "LienThong", "DanhSachHoSoBoSung", "CoPhiLePhi",
        "DuocThanhToanTrucTuyen", "HoSoCoThanhPhanSoHoa", "NgayCapNhat",
    }  # fmt: skip
    for raw in records:
        assert set(raw) == fields
        dossier = parse_dossier(raw)
        assert dossier.updated >= dossier.received
        assert dossier.due >= dossier.received
        if dossier.finished:
            assert dossier.finished >= dossier.received
    assert {r["TenLinhVuc"] for r in records} >= {"Tiêu chuẩn, đo lường, chất lượng"}
    statuses = {r["TrangThaiHoSo"] for r in records}
    assert {7, 10} <= statuses


def test_a_monthly_window_follows_the_window_rule(demo: ScenarioStore) -> None:
    everything = list(demo.records(SKHCN))
    for from_stamp, to_stamp in [
        ("20240501000000", "20240531235959"),
        ("20240415080000", "20240416120000"),
        ("20230101000000", "20230131235959"),
        ("20240101000000", "20241231235959"),
    ]:
        expected = [r["MaHoSo"] for r in everything if in_window(r, from_stamp, to_stamp)]
        served = window_records(demo, SKHCN, from_stamp, to_stamp, page_size=7)
        assert [r["MaHoSo"] for r in served] == expected


def test_served_records_are_copies(demo: ScenarioStore) -> None:
    window = demo.window(SKHCN, "20240501000000", "20240531235959")
    first = window.page(0, 1)[0]
    first["NgayCapNhat"] = "changed"
    assert window.page(0, 1)[0]["NgayCapNhat"] != "changed"


# --------------------------------------------------------------------------- determinism


def dump(store: ScenarioStore) -> str:
    return json.dumps(
        {row["MaDonVi"]: list(store.records(row["MaDonVi"])) for row in store.agencies()},
        ensure_ascii=False,
    )


def test_the_same_seed_gives_byte_identical_records(demo: ScenarioStore) -> None:
    assert dump(ScenarioStore.from_file(DEMO, seed=0)) == dump(demo)


def test_another_seed_gives_other_records_with_the_same_figures(demo: ScenarioStore) -> None:
    other = ScenarioStore.from_file(DEMO, seed=7)
    assert dump(other) != dump(demo)
    assert figures_of(other, SKHCN, "2024-05").figures == figures_of(demo, SKHCN, "2024-05").figures
    for month in ("2023-09", "2024-02", "2024-08"):
        report = figures_of(other, "000.00.20.H99", month)
        assert {k: report.figures[k] for k in FIGURE_KEYS} == other.planned_figures(
            "000.00.20.H99", month
        )


# --------------------------------------------------------------------------- validation


def base_scenario(**figures: Any) -> dict[str, Any]:
    return {
        "months": "2024-01..2024-03",
        "agencies": [
            {
                "code": "000.00.15.H99",
                "name": "Sở Khoa học và Công nghệ",
                "catalogue": "skhcn",
                "series": {"received_new": [20, 30, 25]},
                "figures": figures,
            }
        ],
    }


INCONSISTENT = [
    (
        "carried_over does not follow",
        {"2024-02": {"carried_over": 9, "received_new": 30}},
        "2024-02",
        "carried_over is stated as 9",
    ),
    (
        "received_total does not add up",
        {"2024-01": {"received_new": 20, "received_total": 25}},
        "2024-01",
        "received_total",
    ),
    (
        "resolved parts do not add up",
        {
            "2024-01": {
                "received_new": 20,
                "resolved": 15,
                "resolved_early": 10,
                "resolved_on_time": 2,
                "resolved_late": 1,
            }
        },
        "2024-01",
        "but resolved is 15",
    ),
    (
        "outcomes exceed the dossiers",
        {"2024-03": {"received_new": 25, "withdrawn": 20, "in_progress": 40}},
        "2024-03",
        "more than carried_over + received_new",
    ),
    (
        "channels exceed received_new",
        {"2024-01": {"received_new": 20, "received_online": 15, "received_postal": 9}},
        "2024-01",
        "more than received_new 20",
    ),
    (
        "online_l34 above online",
        {"2024-01": {"received_new": 20, "received_online": 10, "online_l34": 11}},
        "2024-01",
        "online_l34 11 is more than received_online 10",
    ),
    (
        "paid_online above fee_bearing",
        {"2024-02": {"received_new": 30, "fee_bearing": 5, "paid_online": 6}},
        "2024-02",
        "paid_online 6 is more than fee_bearing 5",
    ),
    (
        "vpubnd_sent above interagency_new",
        {"2024-01": {"received_new": 20, "interagency_new": 1, "vpubnd_sent": 2}},
        "2024-01",
        "vpubnd_sent 2 is more than interagency_new 1",
    ),
    (
        "overdue dossiers carried over cannot be resolved early",
        {
            "2024-01": {"received_new": 20, "in_progress": 5, "in_progress_overdue": 5},
            "2024-02": {
                "received_new": 30,
                "resolved_late": 0,
                "withdrawn": 0,
                "returned": 0,
                "in_progress_overdue": 0,
            },
        },
        "2024-02",
        "already overdue",
    ),
    (
        "a figure that does not exist",
        {"2024-01": {"received_new": 20, "resolved_sooner": 3}},
        "2024-01",
        "'resolved_sooner' is not a figure",
    ),
    ("a negative count", {"2024-01": {"received_new": -1}}, "2024-01", "is not a count"),
]


@pytest.mark.parametrize(
    ("case", "figures", "month", "message"), INCONSISTENT, ids=[c[0] for c in INCONSISTENT]
)
def test_an_inconsistent_scenario_is_refused_naming_file_agency_and_month(
    tmp_path: Path, case: str, figures: dict[str, Any], month: str, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(base_scenario(**figures), allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        ScenarioStore.from_file(path)
    text = str(caught.value)
    assert str(path) in text, case
    assert "000.00.15.H99" in text and "Sở Khoa học và Công nghệ" in text
    assert f"month {month}" in text
    assert message in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"series": {"received_new": [20, 30]}}, "must list 3 values"),
        ({"series": {}}, "month 2024-01: received_new is not stated"),
        ({"catalogue": "nowhere"}, "unknown catalogue 'nowhere'"),
        ({"rates": {"online": 1.5}}, "rate online = 1.5 is more than 1"),
        ({"rates": {"speed": 0.5}}, "unknown rate 'speed'"),
        ({"figures": {"2025-01": {"received_new": 3}}}, "a month outside its range"),
        ({"extra": {"2024-01": {"status_9": 1}}}, "extra 'status_9'"),
        ({"colour": "blue"}, "unknown keys ['colour']"),
    ],
)
def test_a_malformed_scenario_is_refused_naming_file_and_agency(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    data = base_scenario()
    data["agencies"][0].update(change)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        ScenarioStore.from_file(path)
    assert str(path) in str(caught.value) and "000.00.15.H99" in str(caught.value)
    assert message in str(caught.value)


def test_a_consistent_small_scenario_with_defaults_is_generated() -> None:
    store = ScenarioStore.from_dict(base_scenario(), seed=3)
    for month in ("2024-01", "2024-02", "2024-03"):
        report = figures_of(store, SKHCN, month)
        assert {k: report.figures[k] for k in FIGURE_KEYS} == store.planned_figures(SKHCN, month)


# --------------------------------------------------------------------------- volume


SMALL_VOLUME: dict[str, Any] = {
    "months": "2024-01..2024-03",
    "vpubnd_agency": "000.00.01.H99",
    "rates": {"interagency": 0.2, "vpubnd": 0.5, "supplement": 0.1, "late": 0.05, "max_days": 8},
    "agencies": [
        {"code": "000.00.09.H99", "name": "Sở Tư pháp", "catalogue": "stp", "dossiers": 3000},
    ],
    "agency_groups": [
        {
            "count": 2,
            "code": "000.31.{n:02d}.H99",
            "name": "UBND xã {place}",
            "level": 3,
            "catalogue": "commune",
            "dossiers": 150,
        }
    ],
}

VOLUME_WINDOWS = [
    ("20240101000000", "20240131235959"),
    ("20240201000000", "20240229235959"),
    ("20240301000000", "20240331235959"),
    ("20240214103000", "20240214103000"),
    ("20231201000000", "20231231235959"),
    ("20240401000000", "20240430235959"),
    ("20200101000000", "20301231235959"),
]


@pytest.fixture(scope="module")
def volume() -> ScenarioStore:
    return ScenarioStore.from_dict(SMALL_VOLUME, seed=11, source="small-volume")


@pytest.mark.parametrize(("from_stamp", "to_stamp"), VOLUME_WINDOWS)
@pytest.mark.parametrize("page_size", [1000, 97])
def test_volume_pages_are_consistent(
    volume: ScenarioStore, from_stamp: str, to_stamp: str, page_size: int
) -> None:
    agency = "000.00.09.H99"
    everything = list(volume.records(agency))
    expected = [r["MaHoSo"] for r in everything if in_window(r, from_stamp, to_stamp)]
    served = window_records(volume, agency, from_stamp, to_stamp, page_size)
    codes = [r["MaHoSo"] for r in served]
    assert len(set(codes)) == len(codes)
    assert codes == expected
    assert volume.window(agency, from_stamp, to_stamp).total == len(expected)


def test_volume_records_are_valid_and_ordered(volume: ScenarioStore) -> None:
    agency = "000.00.09.H99"
    records = list(volume.records(agency))
    assert len(records) == volume.dossier_count(agency) == 3000
    codes = [r["MaHoSo"] for r in records]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    received = [r["NgayTiepNhan"] for r in records]
    assert received == sorted(received)
    dossiers = [parse_dossier(r) for r in records]
    statuses = {d.status for d in dossiers}
    assert {7, 8, 10} <= statuses and statuses & {2, 4, 5}
    assert any(d.forwarding is not None for d in dossiers)
    assert any(d.supplements for d in dossiers)
    for month in ("2024-01", "2024-02", "2024-03"):
        report = figures_of(volume, agency, month)
        assert report.data_quality.reconciliation is not None
        assert report.data_quality.reconciliation.balanced
        assert report.data_quality.rejected_count == 0
        assert report.figures["resolved_late"] > 0 and report.figures["vpubnd_sent"] > 0


def test_volume_agency_groups(volume: ScenarioStore) -> None:
    rows = volume.agencies()
    assert [r["MaDonVi"] for r in rows] == ["000.00.09.H99", "000.31.01.H99", "000.31.02.H99"]
    assert rows[1]["TenDonVi"].startswith("UBND xã ") and rows[1]["CapDonVi"] == 3
    assert rows[1]["TenDonVi"] != rows[2]["TenDonVi"]
    assert volume.window("000.31.02.H99", "20200101000000", "20301231235959").total == 150


def test_volume_is_deterministic(volume: ScenarioStore) -> None:
    again = ScenarioStore.from_dict(SMALL_VOLUME, seed=11)
    other = ScenarioStore.from_dict(SMALL_VOLUME, seed=12)
    window = ("20240201000000", "20240229235959")
    assert again.window("000.00.09.H99", *window).page(0, 300) == volume.window(
        "000.00.09.H99", *window
    ).page(0, 300)
    assert other.window("000.00.09.H99", *window).page(0, 300) != volume.window(
        "000.00.09.H99", *window
    ).page(0, 300)


def test_the_million_is_served_lazily() -> None:
    started = time.perf_counter()
    store = ScenarioStore.from_file(SCENARIOS / "volume-1m.yaml")
    agency = store.agencies()[0]["MaDonVi"]
    whole = store.window(agency, "20200101000000", "20301231235959")
    assert whole.total == 1_000_000
    last_page = whole.page(999_500, 1000)
    assert len(last_page) == 500
    month = store.window(agency, "20240501000000", "20240531235959")
    middle = month.page(month.total // 2, 1000)
    assert len(middle) == 1000
    assert all(in_window(r, "20240501000000", "20240531235959") for r in middle + month.page(0, 5))
    assert time.perf_counter() - started < 10


def test_the_province_has_120_agencies_and_300000_dossiers() -> None:
    store = ScenarioStore.from_file(SCENARIOS / "province.yaml")
    rows = store.agencies()
    assert len(rows) == 120
    assert sum(1 for r in rows if r["CapDonVi"] == 1) == 20
    assert sum(1 for r in rows if r["CapDonVi"] == 3) == 100
    assert len({r["MaDonVi"] for r in rows}) == 120
    assert len({r["TenDonVi"] for r in rows}) == 120
    assert sum(store.dossier_count(r["MaDonVi"]) for r in rows) == 300_000
