"""The run plan: which departments, when the Centre's summary is made, failures as data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tasks.delivery.ledger import DeliveryOutcome
from tasks.figures.engine import FiguresReport
from tasks.figures.periods import InvalidPeriod, Period
from tasks.run.plan import (
    Failure,
    RunSummary,
    Step,
    TargetResult,
    UnknownDepartment,
    decide_centre,
    first_failure,
    plan_run,
    resolve_period,
)
from tasks.run.targets import CentreTarget, DepartmentTarget
from tasks.settings.keys import CENTRE_KEY
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config
from tasks.settings.models import AppConfig

MAY = Period.parse("2024-05")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(DEFAULT_CONFIG_DIR, {})


def _everyone(config: AppConfig) -> list[str]:
    return [d.key for d in config.departments.departments]


def _report() -> FiguresReport:
    from tasks.figures.engine import compute_figures

    return compute_figures([], MAY, "000.00.00.H99", "000.00.01.H99")


@pytest.mark.parametrize(
    ("requested", "makes_summary"),
    [([], True), (["SKHCN"], False), (["SKHCN", "STP"], False)],
)
def test_only_a_run_of_every_department_makes_the_centre_summary(
    config: AppConfig, requested: list[str], makes_summary: bool
) -> None:
    plan = plan_run(config, MAY, requested)

    assert (plan.centre is not None) == makes_summary
    assert plan.keys == (requested or _everyone(config))
    assert set(plan.left_out) == set(_everyone(config)) - set(plan.keys)


def test_an_unknown_department_is_refused_naming_the_known_ones(config: AppConfig) -> None:
    with pytest.raises(UnknownDepartment, match=r"'SKHCM'.*SKHCN"):
        plan_run(config, MAY, ["SKHCM"])


@pytest.mark.parametrize(
    ("requested", "missing", "held"),
    [
        (["SKHCN"], [], "lượt chạy không gồm STP"),
        ([], ["STP"], "chưa có số liệu của STP"),
        ([], [], None),
    ],
)
def test_the_centre_decision_names_why_the_summary_is_held(
    config: AppConfig, requested: list[str], missing: list[str], held: str | None
) -> None:
    plan = plan_run(config, MAY, requested)
    reports: dict[str, FiguresReport | None] = {
        key: None if key in missing else _report() for key in plan.keys
    }

    decision = decide_centre(plan, reports)

    assert (decision.held or "").startswith(held or "")
    assert (decision.target is None) == (held is not None)
    if decision.target is not None:
        assert [name for name, _ in decision.rows] == [t.name for t in plan.departments]


def test_the_centre_is_a_typed_target_recorded_under_the_reserved_key() -> None:
    centre = CentreTarget("Trung tâm")
    department = DepartmentTarget("SKHCN", "Sở Khoa học và Công nghệ")

    assert (centre.ledger_key, centre.key) == (CENTRE_KEY, CENTRE_KEY)
    assert department.ledger_key == "SKHCN"
    assert centre != DepartmentTarget(CENTRE_KEY, "Trung tâm")


def test_failures_are_data_and_the_message_is_made_from_them() -> None:
    summary = RunSummary(MAY, dry_run=False)
    ok = TargetResult(DepartmentTarget("SKHCN", "Sở KHCN"))
    broken = TargetResult(
        DepartmentTarget("STP", "Sở Tư pháp"),
        failure=Failure("STP", "figures", "PortalServiceError: Lỗi: a - b: c"),
    )
    summary.departments += [ok, broken]
    summary.centre = TargetResult(
        CentreTarget("Trung tâm"), failure=Failure(CENTRE_KEY, "delivery", "x@demo.gov.vn")
    )

    assert [f.target_key for f in summary.failures] == ["STP", CENTRE_KEY]
    assert summary.failed == {
        "STP": "PortalServiceError: Lỗi: a - b: c",
        CENTRE_KEY: "x@demo.gov.vn",
    }
    assert summary.failure_message().splitlines() == [
        "báo cáo 2024-05: 2 chưa hoàn thành",
        "- STP: PortalServiceError: Lỗi: a - b: c",
        f"- {CENTRE_KEY}: x@demo.gov.vn",
    ]


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("", datetime(2024, 6, 1, 0, 30, tzinfo=UTC), "2024-05"),
        ("", datetime(2024, 5, 31, 17, 30, tzinfo=UTC), "2024-05"),  # 00:30 on 1 June in Hà Nội
        ("2024-Q1", datetime(2024, 6, 1, tzinfo=UTC), "2024-Q1"),
    ],
)
def test_resolve_period(text: str, now: datetime, expected: str) -> None:
    assert resolve_period(text, now, VIETNAM).key == expected


def test_a_period_that_has_not_started_is_refused() -> None:
    with pytest.raises(InvalidPeriod, match="has not started"):
        resolve_period("2099-01", datetime(2024, 6, 1, tzinfo=UTC), VIETNAM)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("figures", None), ("documents", None), ("delivery", None)], None),
        (
            [("figures", None), ("documents", "OSError: disk full"), ("delivery", "NotReady")],
            Failure("SKHCN", "documents", "OSError: disk full"),
        ),
        (
            # A reason with a line break that looks like another failure stays one reason.
            [("figures", "PortalServiceError: x\n- STP: y"), ("documents", None)],
            Failure("SKHCN", "figures", "PortalServiceError: x"),
        ),
        ([("delivery", "x" * 900)], Failure("SKHCN", "delivery", "x" * 500)),
    ],
)
def test_a_target_fails_at_its_first_incomplete_step(
    steps: list[tuple[Step, str | None]], expected: Failure | None
) -> None:
    assert first_failure("SKHCN", steps) == expected


def _delivered(key: str, sent: list[str], skipped: list[str] = []) -> DeliveryOutcome:  # noqa: B006
    return DeliveryOutcome("2024-05", key, "hash", 1, sent=list(sent), skipped=list(skipped))


def _summary(dry_run: bool) -> RunSummary:
    summary = RunSummary(MAY, dry_run=dry_run)
    three = ["a@demo.gov.vn", "b@demo.gov.vn", "c@demo.gov.vn"]
    summary.departments += [
        TargetResult(DepartmentTarget("SKHCN", "Sở KHCN"), delivery=_delivered("SKHCN", three)),
        TargetResult(
            DepartmentTarget("STP", "Sở Tư pháp"),
            delivery=_delivered("STP", ["d@demo.gov.vn"], ["e@demo.gov.vn"]),
        ),
    ]
    return summary


def test_messages_and_recipients_are_counted_apart() -> None:
    summary = _summary(dry_run=False)

    # One message to three recipients is one message.
    assert (summary.messages, summary.recipients, summary.skipped) == (2, 4, 1)
    assert summary.delivery_text() == (
        "2 thư đã gửi tới 4 người nhận; bỏ qua 1 người nhận đã có bản này"
    )
    assert [r.delivery_line(False) for r in summary.departments] == [
        "SKHCN: 1 thư, 3 người nhận, bỏ qua 0",
        "STP: 1 thư, 1 người nhận, bỏ qua 1",
    ]


def test_a_dry_run_never_says_sent_and_names_the_eml_folder(tmp_path: Path) -> None:
    summary = _summary(dry_run=True)
    folder = tmp_path / "dry-run" / "2024-05"
    for result in summary.departments:
        assert result.delivery is not None
        result.delivery.eml_files.append(folder / f"{result.key}.eml")

    text = summary.delivery_text()

    assert "đã gửi" not in text
    assert text == (
        "chạy thử, không gửi thư nào: 2 thư thử (.eml) sẽ gửi tới 4 người nhận, "
        f"lưu ở {folder}; bỏ qua 1 người nhận đã có bản này"
    )
    assert summary.departments[0].delivery_line(True) == (
        "SKHCN: 1 thư thử, sẽ gửi 3 người nhận, bỏ qua 0"
    )


def test_a_department_without_any_dossier_of_the_period_is_a_notice() -> None:
    empty = TargetResult(DepartmentTarget("SKHCN", "Sở KHCN"), report=_report())
    summary = RunSummary(MAY, dry_run=False, departments=[empty])

    [(key, notice)] = summary.notices
    assert key == "SKHCN"
    assert notice.startswith("không có hồ sơ nào tiếp nhận trong kỳ")
    assert summary.failures == []  # still reported: a notice, not a failure


def test_records_set_aside_as_invalid_are_a_notice_naming_them_in_vietnamese() -> None:
    from tasks.figures.engine import compute_figures
    from tasks.portal.dossiers import RejectedRecord

    bad = [
        RejectedRecord("H99.09-240513-0006", "NgayTiepNhan is missing"),
        RejectedRecord("H99.09-240521-0012", "TrangThaiHoSo 12 is not a status 1..10"),
    ]
    report = compute_figures(bad, MAY, "000.00.09.H99", "000.00.01.H99")
    summary = RunSummary(
        MAY,
        dry_run=False,
        departments=[TargetResult(DepartmentTarget("STP", "Sở Tư pháp"), report=report)],
    )

    notices = dict(summary.notices)
    assert notices["STP"] == (
        "02 hồ sơ có dữ liệu không hợp lệ, không tính vào số liệu (báo cáo chỉ ghi số lượng; cần "
        "kiểm tra trên cổng dịch vụ công): H99.09-240513-0006: thiếu NgayTiepNhan; "
        "H99.09-240521-0012: TrangThaiHoSo 12 không phải trạng thái từ 1 đến 10"
    )
    assert summary.failures == []
