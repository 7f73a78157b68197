"""Tests of tasks/figures/engine.py: every rule of kpi-rules.md, its boundaries, and the seed month."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.figures.engine import (
    FIGURE_KEYS,
    FORM_KEYS,
    NAMED_LIMIT,
    RATE_KEYS,
    FiguresReport,
    Reconciliation,
    closing_time,
    compute_figures,
    compute_rates,
)
from tasks.figures.periods import Period
from tasks.portal.dossiers import (
    STATUS_ACCEPTED,
    STATUS_FINANCIAL_OBLIGATION,
    STATUS_IN_PROGRESS,
    STATUS_NEWLY_SUBMITTED,
    STATUS_NOT_ACCEPTED,
    STATUS_RESOLVED,
    STATUS_RESULT_RETURNED,
    STATUS_RETURNED,
    STATUS_SUPPLEMENT_REQUESTED,
    STATUS_WITHDRAWN,
    Dossier,
    Forwarding,
    RejectedRecord,
    SupplementRequest,
)
from tests.builders import (
    AGENCY,
    OTHER_AGENCY,
    SEED_PERIOD,
    SEED_PREVIOUS_PERIOD,
    SEED_STATED_FIGURES,
    VPUBND,
    dossier,
    forwarded,
    seed_april_2024,
    seed_may_2024,
    stamp,
)

MAY = Period.month(2024, 5)
START = "2024-05-01 00:00:00"
END = "2024-05-31 23:59:59"
BEFORE_START = "2024-04-30 23:59:59"
AFTER_END = "2024-06-01 00:00:00"

# The figures that say where each dossier stands; the boundary table asserts all of them.
STATE_KEYS = (
    "carried_over",
    "received_new",
    "received_total",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress",
    "in_progress_not_due",
    "in_progress_overdue",
    "returned",
    "withdrawn",
)
VPUBND_KEYS = tuple(key for key in FIGURE_KEYS if key.startswith("vpubnd_"))


def report_of(
    records: Iterable[Dossier | RejectedRecord], period: Period = MAY, office: str = VPUBND
) -> FiguresReport:
    """Compute the report of AGENCY with the test office code."""
    return compute_figures(records, period, AGENCY, office)


def figures_of(*records: Dossier | RejectedRecord, period: Period = MAY) -> dict[str, int]:
    """Return the figures of `records` for `period` (May 2024 by default)."""
    return report_of(records, period).figures


def only(keys: Sequence[str], figures: dict[str, int]) -> dict[str, int]:
    """Return the non-zero figures among `keys`, so a table states only what it expects."""
    return {key: figures[key] for key in keys if figures[key]}


def counts(*names: str) -> dict[str, int]:
    """Return {name: 1} for every name: one dossier that lands in each of those figures."""
    return dict.fromkeys(names, 1)


NEW_OPEN = ("received_new", "received_total", "in_progress", "in_progress_not_due")
NEW_OVERDUE = ("received_new", "received_total", "in_progress", "in_progress_overdue")
CARRIED_OPEN = ("carried_over", "received_total", "in_progress", "in_progress_not_due")
CARRIED_OVERDUE = ("carried_over", "received_total", "in_progress", "in_progress_overdue")
NEW_RESOLVED = ("received_new", "received_total", "resolved")
CARRIED_RESOLVED = ("carried_over", "received_total", "resolved")

STATE_CASES: list[Any] = [
    # reception at the period's edges
    pytest.param(
        dossier(received=END, due="2024-06-10"), counts(*NEW_OPEN), id="received last second"
    ),
    pytest.param(
        dossier(received=START, due="2024-06-10"), counts(*NEW_OPEN), id="received first second"
    ),
    pytest.param(
        dossier(received=BEFORE_START, due="2024-06-10"),
        counts(*CARRIED_OPEN),
        id="received the second before start, still open",
    ),
    pytest.param(dossier(received=AFTER_END), {}, id="received the second after end"),
    pytest.param(
        dossier(received="2024-04-10", status=STATUS_RESOLVED, finished=BEFORE_START),
        {},
        id="closed the second before start",
    ),
    # resolution at the period's edges
    pytest.param(
        dossier(received="2024-04-29", status=STATUS_RESOLVED, due=START, finished=START),
        counts(*CARRIED_RESOLVED, "resolved_on_time"),
        id="carried over, closed the first second",
    ),
    pytest.param(
        dossier(received=START, status=STATUS_RESULT_RETURNED, due="2024-05-05", finished=START),
        counts(*NEW_RESOLVED, "resolved_early"),
        id="received and closed the first second",
    ),
    pytest.param(
        dossier(received="2024-05-20", status=STATUS_RESOLVED, due="2024-06-05", finished=END),
        counts(*NEW_RESOLVED, "resolved_early"),
        id="closed the last second",
    ),
    pytest.param(
        dossier(received="2024-05-20", status=STATUS_RESULT_RETURNED, due=END, finished=AFTER_END),
        counts(*NEW_OPEN),
        id="closed a second after end, due at end: not due",
    ),
    pytest.param(
        dossier(
            received="2024-05-20",
            status=STATUS_RESULT_RETURNED,
            due="2024-05-31 23:59:58",
            finished=AFTER_END,
        ),
        counts(*NEW_OVERDUE),
        id="closed a second after end, due a second before end: overdue",
    ),
    pytest.param(
        dossier(received="2024-05-20", status=STATUS_RESOLVED, due=AFTER_END, finished=AFTER_END),
        counts(*NEW_OPEN),
        id="closed a second after end, due then: not due",
    ),
    pytest.param(
        dossier(
            received="2024-04-20", status=STATUS_RESOLVED, due="2024-05-20", finished=AFTER_END
        ),
        counts(*CARRIED_OVERDUE),
        id="carried over, closed after end, overdue",
    ),
    # timeliness: dates compared, not times of day
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_RESULT_RETURNED,
            due="2024-05-10 08:00",
            finished="2024-05-10 16:30",
        ),
        counts(*NEW_RESOLVED, "resolved_on_time"),
        id="resolved on the due date, later in the day",
    ),
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_RESULT_RETURNED,
            due="2024-05-10 17:00",
            finished="2024-05-10 07:00",
        ),
        counts(*NEW_RESOLVED, "resolved_on_time"),
        id="resolved on the due date, earlier in the day",
    ),
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_RESULT_RETURNED,
            due="2024-05-10 00:00:00",
            finished="2024-05-09 23:59:59",
        ),
        counts(*NEW_RESOLVED, "resolved_early"),
        id="resolved the day before",
    ),
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_RESOLVED,
            due="2024-05-10 23:59:59",
            finished="2024-05-11 00:00:00",
        ),
        counts(*NEW_RESOLVED, "resolved_late"),
        id="resolved the day after",
    ),
    pytest.param(
        dossier(
            received="2024-04-02",
            status=STATUS_RESOLVED,
            due="2024-04-20",
            finished="2024-05-03",
        ),
        counts(*CARRIED_RESOLVED, "resolved_late"),
        id="carried over, resolved late",
    ),
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_RESULT_RETURNED,
            due="2024-05-10",
            finished="2024-05-09",
            handed_back="2024-06-03",
        ),
        counts(*NEW_RESOLVED, "resolved_early"),
        id="status 10 closes at NgayKetThucXuLy, not NgayTra",
    ),
    # in progress: full timestamps against the end
    pytest.param(
        dossier(received="2024-05-02", due=END), counts(*NEW_OPEN), id="open, due at the end"
    ),
    pytest.param(
        dossier(received="2024-05-02", due="2024-05-31 17:00"),
        counts(*NEW_OVERDUE),
        id="open, due on the last day before the end second",
    ),
    pytest.param(
        dossier(received="2024-05-02", due=AFTER_END),
        counts(*NEW_OPEN),
        id="open, due the second after end",
    ),
    pytest.param(
        dossier(received="2024-05-02", due=END, status=STATUS_IN_PROGRESS, finished="2024-05-05"),
        counts(*NEW_OPEN),
        id="status 4 stays open whatever its NgayKetThucXuLy",
    ),
    # withdrawn (7): closing time NgayTra, else NgayKetThucXuLy
    pytest.param(
        dossier(received="2024-05-02", status=STATUS_WITHDRAWN, handed_back="2024-05-05"),
        counts("received_new", "received_total", "withdrawn"),
        id="withdrawn in period by NgayTra",
    ),
    pytest.param(
        dossier(received="2024-05-02", status=STATUS_WITHDRAWN, finished="2024-05-05"),
        counts("received_new", "received_total", "withdrawn"),
        id="withdrawn in period by NgayKetThucXuLy",
    ),
    pytest.param(
        dossier(
            received="2024-05-02",
            status=STATUS_WITHDRAWN,
            due="2024-06-10",
            handed_back=AFTER_END,
            finished="2024-05-05",
        ),
        counts(*NEW_OPEN),
        id="withdrawn: NgayTra after end wins over NgayKetThucXuLy",
    ),
    pytest.param(
        dossier(
            received="2024-04-20",
            status=STATUS_WITHDRAWN,
            handed_back=START,
            finished="2024-04-25",
        ),
        counts("carried_over", "received_total", "withdrawn"),
        id="withdrawn: NgayTra at start wins over NgayKetThucXuLy before",
    ),
    pytest.param(
        dossier(received="2024-04-20", status=STATUS_WITHDRAWN, handed_back=BEFORE_START),
        {},
        id="withdrawn before start",
    ),
    # returned (8)
    pytest.param(
        dossier(received="2024-05-02", status=STATUS_RETURNED, handed_back=END),
        counts("received_new", "received_total", "returned"),
        id="returned at the last second",
    ),
    pytest.param(
        dossier(received="2024-04-02", status=STATUS_RETURNED, finished="2024-05-06"),
        counts("carried_over", "received_total", "returned"),
        id="carried over, returned by NgayKetThucXuLy",
    ),
    pytest.param(
        dossier(received="2024-05-02", status=STATUS_RETURNED, handed_back=AFTER_END, due=END),
        counts(*NEW_OPEN),
        id="returned after end",
    ),
]


@pytest.mark.parametrize(("record", "expected"), STATE_CASES)
def test_where_a_dossier_stands_at_the_end(record: Dossier, expected: dict[str, int]) -> None:
    assert only(STATE_KEYS, figures_of(record)) == expected


@pytest.mark.parametrize(
    "status",
    [STATUS_ACCEPTED, STATUS_IN_PROGRESS, STATUS_SUPPLEMENT_REQUESTED, STATUS_FINANCIAL_OBLIGATION],
)
def test_open_statuses_are_in_progress(status: int) -> None:
    records = [
        dossier("HS-1", "2024-04-20", status, due="2024-05-15"),
        dossier("HS-2", "2024-05-20", status, due="2024-06-15"),
    ]
    assert only(STATE_KEYS, figures_of(*records)) == {
        "carried_over": 1,
        "received_new": 1,
        "received_total": 2,
        "in_progress": 2,
        "in_progress_not_due": 1,
        "in_progress_overdue": 1,
    }


def test_a_missing_due_date_counts_on_time_or_not_due_and_is_noted() -> None:
    report = report_of(
        [
            dossier("HS-1", "2024-05-02", STATUS_RESOLVED, due="", finished="2024-05-20"),
            dossier("HS-2", "2024-05-02", STATUS_IN_PROGRESS, due=""),
        ]
    )
    assert only(STATE_KEYS, report.figures) == {
        "received_new": 2,
        "received_total": 2,
        "resolved": 1,
        "resolved_on_time": 1,
        "in_progress": 1,
        "in_progress_not_due": 1,
    }
    assert report.data_quality.missing_due_date >= 1


@pytest.mark.parametrize("status", [STATUS_NEWLY_SUBMITTED, STATUS_NOT_ACCEPTED])
def test_statuses_1_and_3_are_excluded_from_every_figure_and_noted(status: int) -> None:
    records = [
        dossier(
            f"HS-{n}",
            received,
            status,
            finished=finished,
            channel=2,
            result_form=1,
            interagency=True,
            fee_bearing=True,
            paid_online=True,
            digitised=True,
            forwarding=forwarded("2024-05-10", due="2024-05-20", finished="2024-05-15"),
            supplements=["2024-05-12"],
        )
        for n, (received, finished) in enumerate(
            [("2024-05-10", ""), ("2024-04-10", ""), ("2024-05-10", "2024-05-20")], start=1
        )
    ]
    report = report_of(records)
    assert only(FIGURE_KEYS, report.figures) == {}
    assert all(rate is None for rate in report.rates.values())
    assert report.by_field == []
    quality = report.data_quality
    assert quality.excluded_by_status == {status: 3}
    assert quality.excluded == 3
    assert quality.excluded_codes == ["HS-1", "HS-2", "HS-3"]
    assert not quality.is_clean


def test_excluded_statuses_are_counted_apart() -> None:
    records = [
        dossier("HS-1", status=STATUS_NEWLY_SUBMITTED),
        dossier("HS-2", status=STATUS_NOT_ACCEPTED),
        dossier("HS-3", status=STATUS_NOT_ACCEPTED),
        dossier("HS-4", status=STATUS_IN_PROGRESS),
    ]
    report = report_of(records)
    assert report.data_quality.excluded_by_status == {1: 1, 3: 2}
    assert report.figures["received_total"] == 1
    assert report.data_quality.to_json()["excluded"] == {
        "count": 3,
        "by_status": {"1": 1, "3": 2},
        "codes": ["HS-1", "HS-2", "HS-3"],
    }


@pytest.mark.parametrize(
    ("received", "requests", "expected"),
    [
        pytest.param("2024-05-02", ["2024-05-15"], 1, id="requested in period"),
        pytest.param("2024-05-02", [START], 1, id="requested at the first second"),
        pytest.param("2024-05-02", [END], 1, id="requested at the last second"),
        pytest.param("2024-04-02", [BEFORE_START], 0, id="requested the second before start"),
        pytest.param("2024-05-02", [AFTER_END], 0, id="requested the second after end"),
        pytest.param("2024-05-02", ["2024-05-10", "2024-05-20"], 1, id="two requests, one dossier"),
        pytest.param("2024-04-02", ["2024-04-10", "2024-05-03"], 1, id="carried over"),
        pytest.param("2024-05-02", [""], 0, id="entry without NgayBoSung"),
        pytest.param("2024-05-02", [], 0, id="no request"),
    ],
)
def test_supplement_requested(received: str, requests: list[str], expected: int) -> None:
    record = dossier(received=received, due="2024-06-30", supplements=requests)
    assert figures_of(record)["supplement_requested"] == expected


def test_supplement_requested_ignores_the_time_supplements_arrived() -> None:
    record = dossier(
        received="2024-05-02",
        supplements=[SupplementRequest(stamp("2024-04-02"), stamp("2024-05-03"))],
    )
    assert figures_of(record)["supplement_requested"] == 0


CHANNEL_KEYS = ("received_online", "received_direct", "received_postal", "online_l34")


@pytest.mark.parametrize(
    ("received", "channel", "level", "expected"),
    [
        ("2024-05-02", 2, 4, counts("received_online", "online_l34")),
        ("2024-05-02", 2, 3, counts("received_online", "online_l34")),
        ("2024-05-02", 2, 2, counts("received_online")),
        ("2024-05-02", 2, 0, counts("received_online")),
        ("2024-05-02", 1, 4, counts("received_direct")),
        ("2024-05-02", 3, 3, counts("received_postal")),
        ("2024-05-02", 0, 4, {}),
        ("2024-04-02", 2, 4, {}),  # carried over: the split is of received_new only
        ("2024-04-02", 1, 2, {}),
    ],
)
def test_channels_and_online_levels(
    received: str, channel: int, level: int, expected: dict[str, int]
) -> None:
    record = dossier(received=received, due="2024-06-30", channel=channel, online_level=level)
    assert only(CHANNEL_KEYS, figures_of(record)) == expected


@pytest.mark.parametrize(
    ("received", "flags", "expected"),
    [
        ("2024-05-02", {"result_form": 1}, counts("postal_return")),
        ("2024-05-02", {"result_form": 0}, {}),
        ("2024-04-02", {"result_form": 1}, {}),
        ("2024-05-02", {"interagency": True}, counts("interagency_new")),
        ("2024-04-02", {"interagency": True}, {}),
        ("2024-05-02", {"fee_bearing": True}, counts("fee_bearing")),
        (
            "2024-05-02",
            {"fee_bearing": True, "paid_online": True},
            counts("fee_bearing", "paid_online"),
        ),
        ("2024-05-02", {"paid_online": True}, {}),
        ("2024-04-02", {"fee_bearing": True, "paid_online": True}, {}),
        ("2024-05-02", {"digitised": True}, counts("digitised")),
        ("2024-04-02", {"digitised": True}, {}),
    ],
)
def test_attributes_of_the_new_dossiers(
    received: str, flags: dict[str, Any], expected: dict[str, int]
) -> None:
    keys = ("postal_return", "interagency_new", "fee_bearing", "paid_online", "digitised")
    record = dossier(received=received, due="2024-06-30", **flags)
    assert only(keys, figures_of(record)) == expected


def test_attributes_count_new_dossiers_whatever_became_of_them() -> None:
    flags: dict[str, Any] = {"result_form": 1, "digitised": True, "fee_bearing": True}
    records = [
        dossier("HS-1", "2024-05-02", STATUS_RESOLVED, finished="2024-05-03", **flags),
        dossier("HS-2", "2024-05-02", STATUS_WITHDRAWN, handed_back="2024-05-03", **flags),
        dossier("HS-3", "2024-05-02", STATUS_RETURNED, handed_back="2024-05-03", **flags),
        dossier("HS-4", "2024-05-02", STATUS_IN_PROGRESS, **flags),
    ]
    figures = figures_of(*records)
    assert (figures["postal_return"], figures["digitised"], figures["fee_bearing"]) == (4, 4, 4)


FORWARDING_CASES: list[Any] = [
    pytest.param(
        forwarded("2024-05-10", due="2024-06-10"),
        counts("vpubnd_sent", "vpubnd_in_progress", "vpubnd_not_due"),
        id="sent in period, open, not due",
    ),
    pytest.param(
        forwarded("2024-05-10", due="2024-06-10", to=OTHER_AGENCY), {}, id="sent to another agency"
    ),
    pytest.param(
        forwarded(START, due="2024-05-10", finished="2024-05-09"),
        counts("vpubnd_sent", "vpubnd_early"),
        id="sent at the first second, early",
    ),
    pytest.param(
        forwarded(END, due=END),
        counts("vpubnd_sent", "vpubnd_in_progress", "vpubnd_not_due"),
        id="sent at the last second, due at end",
    ),
    pytest.param(
        forwarded(BEFORE_START, due="2024-05-20"),
        counts("vpubnd_in_progress", "vpubnd_overdue"),
        id="sent before start, open, overdue",
    ),
    pytest.param(forwarded(AFTER_END, due="2024-06-10"), {}, id="sent after end"),
    pytest.param(
        forwarded("2024-05-10", due="2024-05-20 08:00", finished="2024-05-20 17:00"),
        counts("vpubnd_sent", "vpubnd_on_time"),
        id="result on the due date, later in the day",
    ),
    pytest.param(
        forwarded("2024-05-10", due="2024-05-20 23:59:59", finished="2024-05-21 00:00:00"),
        counts("vpubnd_sent", "vpubnd_late"),
        id="result the day after",
    ),
    pytest.param(
        forwarded("2024-04-10", due="2024-04-20", finished="2024-05-03"),
        counts("vpubnd_late"),
        id="sent in April, late result in May",
    ),
    pytest.param(
        forwarded("2024-04-10", due="2024-06-05", finished=END),
        counts("vpubnd_early"),
        id="result at the last second",
    ),
    pytest.param(
        forwarded("2024-05-10", due="2024-05-31 23:59:58", finished=AFTER_END),
        counts("vpubnd_sent", "vpubnd_in_progress", "vpubnd_overdue"),
        id="result a second after end, overdue",
    ),
    pytest.param(
        forwarded("2024-04-10", due="2024-04-20", finished=BEFORE_START),
        {},
        id="result the second before start",
    ),
    pytest.param(
        forwarded("2024-05-10"),
        counts("vpubnd_sent", "vpubnd_in_progress", "vpubnd_not_due"),
        id="no due time",
    ),
    pytest.param(forwarded(""), {}, id="not sent"),
]


@pytest.mark.parametrize(("link", "expected"), FORWARDING_CASES)
def test_forwarding_to_the_provincial_office(link: Forwarding, expected: dict[str, int]) -> None:
    record = dossier(received="2024-04-05", due="2024-06-30", forwarding=link)
    assert only(VPUBND_KEYS, figures_of(record)) == expected


def test_forwarding_counts_only_the_configured_office_code() -> None:
    records = [
        dossier("HS-1", forwarding=forwarded("2024-05-11", to=VPUBND)),
        dossier("HS-2", forwarding=forwarded("2024-05-11", to=OTHER_AGENCY)),
    ]
    assert report_of(records, office=VPUBND).figures["vpubnd_sent"] == 1
    assert report_of(records, office=OTHER_AGENCY).figures["vpubnd_sent"] == 1
    assert report_of(records, office="000.00.99.H99").figures["vpubnd_sent"] == 0


def test_forwarding_with_no_recipient_is_not_the_office_when_none_is_configured() -> None:
    """An unconfigured office code ("") must not match forwardings that name no recipient."""
    record = dossier(forwarding=forwarded("2024-05-11", to=""))
    assert only(VPUBND_KEYS, report_of([record], office="").figures) == {}


def test_by_field_rows_count_the_data_form_and_sum_to_the_totals() -> None:
    records = [
        dossier("A-1", "2024-04-20", STATUS_RESOLVED, due="2024-05-10", finished="2024-05-08", field_code="LV01"),
        dossier("A-2", "2024-05-02", STATUS_RESOLVED, due="2024-05-10", finished="2024-05-10", field_code="LV01", channel=1),
        dossier("A-3", "2024-05-02", STATUS_IN_PROGRESS, due="2024-05-20", field_code="LV01", channel=3),
        dossier("B-1", "2024-05-03", STATUS_RESOLVED, due="2024-05-10", finished="2024-05-12", field_code="LV02"),
        dossier("B-2", "2024-05-03", STATUS_WITHDRAWN, handed_back="2024-05-04", field_code="LV02"),
        dossier("B-3", "2024-04-03", STATUS_IN_PROGRESS, due="2024-06-10", field_code="LV02"),
        dossier("C-1", "2024-05-03", STATUS_IN_PROGRESS, due="2024-06-10", field_code="", field_name=""),
        dossier("X-1", "2024-06-03", STATUS_IN_PROGRESS, field_code="LV03"),  # after end
        dossier("X-2", "2024-05-03", STATUS_NOT_ACCEPTED, field_code="LV03"),  # excluded
    ]  # fmt: skip
    report = report_of(records)
    rows = {row.code: (row.name, only(FORM_KEYS, row.counts)) for row in report.by_field}
    assert rows == {
        "": ("", counts("received_total", "received_online", "in_progress", "in_progress_not_due")),
        "LV01": (
            "Hoạt động khoa học và công nghệ",
            {
                "received_total": 3,
                "received_direct": 1,
                "received_postal": 1,
                "carried_over": 1,
                "resolved": 2,
                "resolved_early": 1,
                "resolved_on_time": 1,
                "in_progress": 1,
                "in_progress_overdue": 1,
            },
        ),
        "LV02": (
            "Tiêu chuẩn, đo lường, chất lượng",
            {
                "received_total": 3,
                "received_online": 2,
                "carried_over": 1,
                "resolved": 1,
                "resolved_late": 1,
                "in_progress": 1,
                "in_progress_not_due": 1,
                "withdrawn": 1,
            },
        ),
    }
    assert [row.code for row in report.by_field] == ["", "LV01", "LV02"]
    for row in report.by_field:  # every row adds up, as the data form shows it
        c = row.counts
        assert c["received_total"] == (
            c["resolved"] + c["in_progress"] + c["withdrawn"] + c["returned"]
        ), row.code
    for key in FORM_KEYS:
        assert sum(row.counts[key] for row in report.by_field) == report.figures[key], key


def test_rejected_records_are_counted_and_named_not_figured() -> None:
    rejected = RejectedRecord("HS-BAD", "NgayTiepNhan '2024-05-01' is not a time yyyyMMddHHmmss")
    report = report_of([rejected, dossier("HS-1"), RejectedRecord("", "MaHoSo is missing")])
    assert report.figures["received_total"] == 1
    quality = report.data_quality
    assert quality.rejected_count == 2
    assert [r.code for r in quality.rejected] == ["HS-BAD", ""]
    assert not quality.is_clean
    assert quality.to_json()["rejected"] == {
        "count": 2,
        "records": [
            {
                "MaHoSo": "HS-BAD",
                "reason": "NgayTiepNhan '2024-05-01' is not a time yyyyMMddHHmmss",
            },
            {"MaHoSo": "", "reason": "MaHoSo is missing"},
        ],
    }


def test_beyond_the_named_limit_records_are_only_counted() -> None:
    many = NAMED_LIMIT + 5
    rejected = [RejectedRecord(f"R-{n}", "bad") for n in range(many)]
    excluded = [dossier(f"E-{n}", status=STATUS_NOT_ACCEPTED) for n in range(many)]
    quality = report_of([*rejected, *excluded]).data_quality
    assert (quality.rejected_count, len(quality.rejected)) == (many, NAMED_LIMIT)
    assert (quality.excluded, len(quality.excluded_codes)) == (many, NAMED_LIMIT)


def test_an_empty_month_has_zero_figures_and_no_rates() -> None:
    report = report_of([])
    assert report.figures == dict.fromkeys(FIGURE_KEYS, 0)
    assert report.rates == dict.fromkeys(RATE_KEYS, None)
    assert report.data_quality.is_clean
    assert report.data_quality.reconciliation == Reconciliation(0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        pytest.param({}, dict.fromkeys(RATE_KEYS, None), id="nothing"),
        pytest.param(
            {"received_new": 60, "online_l34": 60, "postal_return": 40, "digitised": 0},
            {
                "early_rate": None,
                "on_time_or_early_rate": None,
                "online_l34_rate": 1.0,
                "postal_rate": 40 / 60,
                "paid_online_rate": None,
                "digitised_rate": 0.0,
            },
            id="received but nothing resolved, no fee",
        ),
        pytest.param(
            {"resolved": 54, "resolved_early": 49, "resolved_on_time": 5, "fee_bearing": 4, "paid_online": 1},
            {
                "early_rate": 49 / 54,
                "on_time_or_early_rate": 1.0,
                "online_l34_rate": None,
                "postal_rate": None,
                "paid_online_rate": 0.25,
                "digitised_rate": None,
            },
            id="resolved but nothing new",
        ),
    ],
)  # fmt: skip
def test_rates_and_zero_denominators(
    figures: dict[str, int], expected: dict[str, float | None]
) -> None:
    assert compute_rates({**dict.fromkeys(FIGURE_KEYS, 0), **figures}) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (dossier(status=STATUS_RESOLVED, finished="2024-05-03", handed_back="2024-05-04"), "20240503000000"),
        (dossier(status=STATUS_RESULT_RETURNED, finished="2024-05-03"), "20240503000000"),
        (dossier(status=STATUS_WITHDRAWN, finished="2024-05-03", handed_back="2024-05-04"), "20240504000000"),
        (dossier(status=STATUS_WITHDRAWN, finished="2024-05-03"), "20240503000000"),
        (dossier(status=STATUS_RETURNED, finished="2024-05-03", handed_back="2024-05-04"), "20240504000000"),
        (dossier(status=STATUS_IN_PROGRESS, finished="2024-05-03"), ""),
        (dossier(status=STATUS_SUPPLEMENT_REQUESTED), ""),
    ],
)  # fmt: skip
def test_closing_time(record: Dossier, expected: str) -> None:
    assert closing_time(record) == expected


# --- the seed report, figure by figure ------------------------------------------------------

SEED_FIGURES = {
    **SEED_STATED_FIGURES,
    "received_online": 60,
    "received_direct": 0,
    "received_postal": 0,
    "paid_online": 0,
    "fee_bearing": 0,
    "digitised": 0,
}


def test_the_seed_month_figure_by_figure() -> None:
    records = seed_may_2024()
    assert len(records) == 63
    report = compute_figures(records, SEED_PERIOD, AGENCY, VPUBND)
    assert report.figures == SEED_FIGURES
    assert report.rates["early_rate"] == pytest.approx(49 / 54)
    assert f"{report.rates['early_rate']:.1%}" == "90.7%"
    assert report.rates["online_l34_rate"] == 1.0
    assert f"{report.rates['postal_rate']:.1%}" == "66.7%"
    assert report.rates["on_time_or_early_rate"] == 1.0
    assert report.rates["paid_online_rate"] is None


def test_the_seed_month_notes_its_four_withdrawn_dossiers() -> None:
    report = compute_figures(seed_may_2024(), SEED_PERIOD, AGENCY, VPUBND)
    quality = report.data_quality
    assert quality.withdrawn == 4
    assert quality.reconciliation == Reconciliation(63, 54, 0, 4, 5)
    assert quality.reconciliation.balanced
    assert not quality.is_clean
    # the seed's own arithmetic: 63 - (54 + 0 + 5) = 4 when withdrawals are left out
    assert Reconciliation(63, 54, 0, 0, 5).difference == 4


def test_the_seed_month_by_field_sums_to_its_totals() -> None:
    report = compute_figures(seed_may_2024(), SEED_PERIOD, AGENCY, VPUBND)
    assert [row.code for row in report.by_field] == ["LV01", "LV02"]
    for key in FORM_KEYS:
        assert sum(row.counts[key] for row in report.by_field) == SEED_FIGURES[key], key


def test_the_seed_previous_month_postal_rate_is_28_percent() -> None:
    report = compute_figures(seed_april_2024(), SEED_PREVIOUS_PERIOD, AGENCY, VPUBND)
    assert report.figures["received_new"] == 25
    assert report.rates["postal_rate"] == pytest.approx(0.28)
    assert report.figures["in_progress"] == 3  # the three May carries over


def test_to_json_is_flat_with_every_figure_and_rate() -> None:
    report = compute_figures(seed_may_2024(), SEED_PERIOD, AGENCY, VPUBND)
    data = report.to_json()
    assert data["agency"] == AGENCY
    assert data["period"] == "2024-05"
    assert {key: data[key] for key in FIGURE_KEYS} == SEED_FIGURES
    assert set(RATE_KEYS) <= data.keys()
    assert data["data_quality"]["withdrawn"] == 4
    assert data["data_quality"]["reconciliation"]["balanced"] is True


def test_with_duplicates_merged_returns_a_noted_copy() -> None:
    report = report_of([dossier("HS-1")])
    merged = report.with_duplicates_merged(2)
    assert merged.data_quality.duplicates_merged == 2
    assert not merged.data_quality.is_clean
    assert report.data_quality.duplicates_merged == 0
    assert merged.figures == report.figures


# --- properties over random records ------------------------------------------------------------

_PERIODS = [
    Period.month(2024, 5),
    Period.month(2024, 4),
    Period.month(2024, 2),
    Period.parse("2024-Q2"),
    Period.parse("2024-H1"),
    Period.parse("2024"),
]
_SECOND = timedelta(seconds=1)


def _edges(period: Period) -> list[datetime]:
    """Return the seconds around the period's ends, where off-by-one errors live."""
    return [edge + k * _SECOND for edge in (period.start, period.end) for k in (-1, 0, 1)]


_FIRST_MOMENT = datetime(2023, 12, 1)
_SPAN_SECONDS = int((datetime(2025, 2, 1) - _FIRST_MOMENT).total_seconds())
_FORMAT = "%Y%m%d%H%M%S"


def _text(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime(_FORMAT)


def _random_record(code: str, seed: int, period: Period, consistent: bool) -> Dossier:
    """Build one dossier from `seed`; when `consistent`, nothing precedes its reception.

    Hypothesis draws only the seed: drawing the twenty-odd fields one by one made the
    property tests several times slower. Times crowd where off-by-one errors live: on the
    seconds around the period's (and the previous period's) ends, and due and finish times
    on the same or a neighbouring day at another time of day.
    """
    rng = random.Random(seed)
    edges = _edges(period) * 2 + _edges(period.previous())  # this period's edges twice as often

    def moment() -> datetime:
        if rng.random() < 0.4:
            return rng.choice(edges)
        return _FIRST_MOMENT + timedelta(seconds=rng.randrange(_SPAN_SECONDS))

    def maybe() -> datetime | None:
        return None if rng.random() < 0.25 else moment()

    def near(base: datetime | None) -> datetime | None:
        """Return `base`, a moment of its day or of a day next to it, an edge, or anything."""
        roll = rng.random()
        if base is None or roll < 0.2:
            return maybe()
        if roll < 0.35:
            return rng.choice(edges)
        if roll < 0.5:
            return base
        day = datetime.combine(base.date(), datetime.min.time())
        return day + timedelta(days=rng.randint(-1, 1), seconds=rng.randrange(86_400))

    received = moment()

    def after(value: datetime | None, floor: datetime | None = received) -> datetime | None:
        if consistent and value is not None and floor is not None:
            return max(value, floor)
        return value

    status = rng.randint(1, 10)
    resolved = status in (STATUS_RESOLVED, STATUS_RESULT_RETURNED)
    due = near(received + timedelta(days=rng.randint(0, 20)))
    finished = after(near(due) or moment() if resolved else maybe())
    handed_back = after(maybe(), finished if resolved else received)
    if status in (STATUS_WITHDRAWN, STATUS_RETURNED) and finished is None and handed_back is None:
        handed_back = after(moment())
    closing = (
        finished
        if resolved
        else (handed_back or finished)
        if status in (STATUS_WITHDRAWN, STATUS_RETURNED)
        else None
    )
    requests = []
    for _ in range(rng.randint(0, 2)):
        requested = after(maybe())
        if consistent and requested is not None and closing is not None:
            requested = min(requested, closing)  # supplements are asked while open
        requests.append(SupplementRequest(_text(requested), ""))
    link = None
    if rng.random() < 0.7:
        sent = after(maybe())
        link_due = near(sent)
        link = Forwarding(
            to_agency=VPUBND if rng.random() < 0.75 else OTHER_AGENCY,
            sent=_text(sent),
            due=_text(link_due),
            finished="" if rng.random() < 0.35 else _text(after(near(link_due), sent)),
        )
    field_code = rng.choice(["", "LV01", "LV02", "LV03"])
    return Dossier(
        code=code,
        agency=AGENCY,
        received=_text(received),
        status=status,
        field_code=field_code,
        field_name=f"Lĩnh vực {field_code}",
        due=_text(due),
        finished=_text(finished),
        handed_back=_text(handed_back),
        channel=rng.randint(0, 3),
        result_form=rng.choice([0, 1, 2]),
        online_level=rng.choice([0, 2, 3, 4]),
        interagency=rng.random() < 0.5,
        forwarding=link,
        supplements=tuple(requests),
        fee_bearing=rng.random() < 0.5,
        paid_online=rng.random() < 0.5,
        digitised=rng.random() < 0.5,
    )


@st.composite
def _cases(
    draw: st.DrawFn, consistent: bool = True
) -> tuple[list[Dossier | RejectedRecord], Period]:
    """Draw a period and a table of records whose times crowd around its edges.

    One seed makes the whole table: a list of per-record seeds from Hypothesis repeats
    values so often that most tables held the same few records. Shrinking the size keeps
    the first records of a failing table.
    """
    period = draw(st.sampled_from(_PERIODS))
    rng = random.Random(draw(st.integers(0, 2**64 - 1)))
    table: list[Dossier | RejectedRecord] = [
        _random_record(f"HS-{n:04d}", rng.getrandbits(64), period, consistent)
        for n in range(draw(st.integers(0, 25)))
    ]
    if draw(st.booleans()):
        table.append(RejectedRecord("HS-BAD", "NgayTiepNhan is missing"))
    return table, period


def _check_identities(report: FiguresReport) -> None:
    f = report.figures
    assert all(value >= 0 for value in f.values())
    assert f["received_total"] == f["carried_over"] + f["received_new"]
    assert f["received_total"] == f["resolved"] + f["returned"] + f["withdrawn"] + f["in_progress"]
    assert f["resolved"] == f["resolved_early"] + f["resolved_on_time"] + f["resolved_late"]
    assert f["in_progress"] == f["in_progress_not_due"] + f["in_progress_overdue"]
    assert f["vpubnd_in_progress"] == f["vpubnd_not_due"] + f["vpubnd_overdue"]
    assert f["received_online"] + f["received_direct"] + f["received_postal"] <= f["received_new"]
    assert f["online_l34"] <= f["received_online"]
    assert f["paid_online"] <= f["fee_bearing"] <= f["received_new"]
    reconciliation = report.data_quality.reconciliation
    assert reconciliation is not None and reconciliation.balanced
    for key in FORM_KEYS:
        assert sum(row.counts[key] for row in report.by_field) == f[key], key
    for rate in report.rates.values():
        assert rate is None or 0.0 <= rate <= 1.0


@settings(max_examples=200, deadline=None)
@given(_cases(consistent=False))
def test_identities_hold_for_any_records(
    case: tuple[list[Dossier | RejectedRecord], Period],
) -> None:
    table, period = case
    _check_identities(report_of(table, period))


def _at(text: str) -> datetime | None:
    return datetime.strptime(text, _FORMAT) if text else None


def _timeliness(finished: datetime, due: datetime | None) -> str:
    # No due date: the engine's convention is on time (and a data-quality note).
    if due is None or finished.date() == due.date():
        return "on_time"
    return "early" if finished.date() < due.date() else "late"


def reference_figures(
    records: Iterable[Dossier | RejectedRecord], period: Period, office: str
) -> dict[str, int]:
    """Compute the figures straight from the wording of kpi-rules.md, with datetimes."""
    start, end = period.start, period.end
    out = dict.fromkeys(FIGURE_KEYS, 0)

    def add(key: str, condition: bool = True) -> None:
        out[key] += int(condition)

    for record in records:
        if isinstance(record, RejectedRecord) or record.status in (1, 3):
            continue
        received = _at(record.received)
        assert received is not None
        if record.status in (9, 10):
            closing = _at(record.finished)
        elif record.status in (7, 8):
            closing = _at(record.handed_back) or _at(record.finished)
        else:
            closing = None
        closed_in_period = closing is not None and start <= closing <= end
        in_progress_at_start = closing is None or closing >= start
        in_progress_at_end = received <= end and (closing is None or closing > end)
        due = _at(record.due)

        add("carried_over", received < start and in_progress_at_start)
        if start <= received <= end:
            add("received_new")
            add("received_online", record.channel == 2)
            add("received_direct", record.channel == 1)
            add("received_postal", record.channel == 3)
            add("interagency_new", record.interagency)
            add("online_l34", record.channel == 2 and record.online_level in (3, 4))
            add("postal_return", record.result_by_post)
            add("fee_bearing", record.fee_bearing)
            add("paid_online", record.fee_bearing and record.paid_online)
            add("digitised", record.digitised)
        if closed_in_period and closing is not None:
            add("resolved", record.status in (9, 10))
            if record.status in (9, 10):
                add("resolved_" + _timeliness(closing, due))
            add("returned", record.status == 8)
            add("withdrawn", record.status == 7)
        if in_progress_at_end:
            add("in_progress")
            add("in_progress_not_due" if due is None or due >= end else "in_progress_overdue")
        add(
            "supplement_requested",
            any(
                (moment := _at(s.requested)) is not None and start <= moment <= end
                for s in record.supplements
            ),
        )
        link = record.forwarding
        if link is not None and link.to_agency == office:
            sent, link_due, link_finished = _at(link.sent), _at(link.due), _at(link.finished)
            add("vpubnd_sent", sent is not None and start <= sent <= end)
            if link_finished is not None and start <= link_finished <= end:
                add("vpubnd_" + _timeliness(link_finished, link_due))
            if sent is not None and sent <= end and (link_finished is None or link_finished > end):
                add("vpubnd_in_progress")
                overdue = link_due is not None and link_due < end
                add("vpubnd_overdue" if overdue else "vpubnd_not_due")
    out["received_total"] = out["carried_over"] + out["received_new"]
    return out


@settings(max_examples=200, deadline=None)
@given(_cases())
def test_figures_agree_with_the_rules_read_literally(
    case: tuple[list[Dossier | RejectedRecord], Period],
) -> None:
    table, period = case
    report = report_of(table, period)
    expected = reference_figures(table, period, VPUBND)
    assert report.figures == expected
    assert report.rates == compute_rates(expected)
    _check_identities(report)
    backwards = report_of(reversed(table), period)
    assert (backwards.figures, backwards.by_field) == (report.figures, report.by_field)
