"""Tests of tasks/documents/data_note.py: the operators' list of records set aside, in Vietnamese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tasks.documents.data_note import (
    UNKNOWN_REASON,
    operator_notice,
    reason_in_vietnamese,
    rejected_details,
)
from tasks.figures.engine import DataQuality
from tasks.portal.dossiers import RejectedRecord
from tasks.portal.paging import check_record

AGENCY = "000.00.09.H99"
GOOD: dict[str, Any] = {
    "MaHoSo": "H99.09-240513-0006",
    "MaDonVi": AGENCY,
    "NgayTiepNhan": "20240513080000",
    "TrangThaiHoSo": 4,
}
ENGLISH = re.compile(r"\b(is|not|missing|a|an|has|no|neither|nor|of|the|record|entry|asked)\b")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"NgayTiepNhan": None}, "thiếu NgayTiepNhan"),
        ({"MaHoSo": ""}, "thiếu MaHoSo"),
        ({"MaDonVi": ""}, "thiếu MaDonVi"),
        (
            {"NgayTiepNhan": "2024-05-13"},
            "NgayTiepNhan '2024-05-13' không phải thời điểm dạng yyyyMMddHHmmss",
        ),
        ({"TrangThaiHoSo": 12}, "TrangThaiHoSo 12 không phải trạng thái từ 1 đến 10"),
        ({"TrangThaiHoSo": "x"}, "TrangThaiHoSo 'x' không phải là số"),
        (
            {"TrangThaiHoSo": 9},
            "TrangThaiHoSo 9 (đã giải quyết) nhưng không có NgayKetThucXuLy",
        ),
        ({"TrangThaiHoSo": 7}, "TrangThaiHoSo 7 nhưng không có NgayTra hoặc NgayKetThucXuLy"),
        ({"LienThong": [1]}, "LienThong không phải một đối tượng JSON"),
        (
            {"LienThong": {"NgayGui": "x"}},
            "LienThong.NgayGui 'x' không phải thời điểm dạng yyyyMMddHHmmss",
        ),
        ({"DanhSachHoSoBoSung": {"a": 1}}, "DanhSachHoSoBoSung không phải một danh sách"),
        (
            {"DanhSachHoSoBoSung": [1]},
            "một mục của DanhSachHoSoBoSung không phải một đối tượng JSON",
        ),
        (
            {"MaDonVi": "000.00.15.H99"},
            f"MaDonVi 000.00.15.H99 không phải đơn vị được yêu cầu ({AGENCY})",
        ),
    ],
)
def test_every_validator_reason_reads_in_vietnamese(change: dict[str, Any], reason: str) -> None:
    record = check_record({**GOOD, **change}, AGENCY)
    assert isinstance(record, RejectedRecord)
    assert reason_in_vietnamese(record.reason) == reason
    assert not ENGLISH.search(reason)


def test_a_record_that_is_not_an_object_reads_in_vietnamese() -> None:
    record = check_record(["x"], AGENCY)
    assert isinstance(record, RejectedRecord)
    assert (
        reason_in_vietnamese(record.reason) == "bản ghi không phải một đối tượng JSON (kiểu list)"
    )


def test_an_unknown_reason_never_leaks_its_english() -> None:
    assert reason_in_vietnamese("something else went wrong") == UNKNOWN_REASON


def test_details_name_each_record_and_count_the_rest() -> None:
    quality = DataQuality(
        rejected=[RejectedRecord(f"H{i}", "NgayTiepNhan is missing") for i in range(3)]
        + [RejectedRecord("", "MaHoSo is missing")],
        rejected_count=30,
    )
    assert rejected_details(quality, limit=2) == [
        "H0: thiếu NgayTiepNhan",
        "H1: thiếu NgayTiepNhan",
        "và 28 hồ sơ khác (xem nhật ký của lượt chạy)",
    ]
    assert rejected_details(quality)[3] == "(không có MaHoSo): thiếu MaHoSo"


def test_the_operators_notice_counts_then_names() -> None:
    assert operator_notice(DataQuality()) is None
    quality = DataQuality(
        rejected=[RejectedRecord("H99.09-240513-0006", "TrangThaiHoSo 12 is not a status 1..10")],
        rejected_count=1,
    )
    assert operator_notice(quality) == (
        "01 hồ sơ có dữ liệu không hợp lệ, không tính vào số liệu (báo cáo chỉ ghi số lượng; "
        "cần kiểm tra trên cổng dịch vụ công): H99.09-240513-0006: TrangThaiHoSo 12 không phải "
        "trạng thái từ 1 đến 10"
    )


def test_the_run_summary_artifact_lists_the_records() -> None:
    from flows.artifacts import summary_markdown
    from tasks.figures.engine import compute_figures
    from tasks.figures.periods import Period
    from tasks.run.plan import RunSummary, TargetResult
    from tasks.run.targets import DepartmentTarget

    may = Period.parse("2024-05")
    bad = [RejectedRecord("H99.09-240513-0006", "NgayTiepNhan is missing")]
    report = compute_figures(bad, may, AGENCY, "000.00.01.H99")
    result = TargetResult(DepartmentTarget("STP", "Sở Tư pháp"), report=report)
    text = summary_markdown(RunSummary(may, dry_run=False, departments=[result]), may)
    assert "  - H99.09-240513-0006: thiếu NgayTiepNhan" in text


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("HS-1\r\nBcc: attacker@evil.example", "HS-1\\r\\nBcc: attacker@evil.example"),
        ("HS-CTRL\x0b\x1b[31m", "HS-CTRL\\x0b\\x1b[31m"),
        ("H99.09-240513-0006", "H99.09-240513-0006"),
    ],
)
def test_a_code_cannot_break_a_line(code: str, shown: str) -> None:
    quality = DataQuality(rejected=[RejectedRecord(code, "MaHoSo is missing")], rejected_count=1)
    [line] = rejected_details(quality)
    assert line == f"{shown}: thiếu MaHoSo"
    assert "\n" not in (operator_notice(quality) or "")
