"""The data-quality details for the operators: each record set aside and why, in Vietnamese.

The signed report's note counts (report_text.data_quality_lines); the records themselves, named
by MaHoSo with the validator's reason, go to the operators only: the run's summary artifact
and the operators' notice e-mail. The validator (tasks/portal/dossiers.py, paging.py) words
its reasons in English for the log; `reason_in_vietnamese` words them for people, field names
(NgayTiepNhan, TrangThaiHoSo...) kept as the portal spells them.
"""

from __future__ import annotations

import re

from tasks.documents.numbers import format_count
from tasks.figures.engine import DataQuality

# How many records a notice names before it only counts the rest.
NAMED_IN_NOTICE = 20

_VALUE = r"(?P<value>.*)"
# (pattern of the validator's reason, its Vietnamese wording) in the order tried.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), wording)
    for pattern, wording in (
        (r"(?P<name>[\w.]+) is missing", "thiếu {name}"),
        (
            rf"(?P<name>[\w.]+) {_VALUE} is not a time yyyyMMddHHmmss",
            "{name} {value} không phải thời điểm dạng yyyyMMddHHmmss",
        ),
        (rf"(?P<name>\w+) {_VALUE} is not a number", "{name} {value} không phải là số"),
        (
            rf"TrangThaiHoSo {_VALUE} is not a status 1\.\.10",
            "TrangThaiHoSo {value} không phải trạng thái từ 1 đến 10",
        ),
        (
            r"TrangThaiHoSo (?P<value>\d+) \(resolved\) has no NgayKetThucXuLy",
            "TrangThaiHoSo {value} (đã giải quyết) nhưng không có NgayKetThucXuLy",
        ),
        (
            r"TrangThaiHoSo (?P<value>\d+) has neither NgayTra nor NgayKetThucXuLy",
            "TrangThaiHoSo {value} nhưng không có NgayTra hoặc NgayKetThucXuLy",
        ),
        (
            r"record is a (?P<value>\w+), not an object",
            "bản ghi không phải một đối tượng JSON (kiểu {value})",
        ),
        (r"(?P<name>\w+) is not an object", "{name} không phải một đối tượng JSON"),
        (r"(?P<name>\w+) is not a list", "{name} không phải một danh sách"),
        (
            r"an entry of (?P<name>\w+) is not an object",
            "một mục của {name} không phải một đối tượng JSON",
        ),
        (
            rf"MaDonVi {_VALUE} is not the agency asked for \((?P<name>.*)\)",
            "MaDonVi {value} không phải đơn vị được yêu cầu ({name})",
        ),
    )
)
UNKNOWN_REASON = "dữ liệu không hợp lệ"


def reason_in_vietnamese(reason: str) -> str:
    """Return the validator's reason worded in Vietnamese (a generic phrase if unknown)."""
    for pattern, wording in _REASONS:
        match = pattern.fullmatch(reason)
        if match:
            return wording.format(**match.groupdict())
    return UNKNOWN_REASON


def quoted(text: str) -> str:
    """Return `text` with every unprintable character escaped ("\\r", "\\x1b").

    A MaHoSo comes from the portal: a line break in it must not forge a line of the log, of
    the artifact or of the e-mail that names it.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def rejected_details(quality: DataQuality, limit: int = NAMED_IN_NOTICE) -> list[str]:
    """Return "MaHoSo: lý do" for the first `limit` records rejected, then how many more."""
    lines = [
        quoted(f"{record.code or '(không có MaHoSo)'}: {reason_in_vietnamese(record.reason)}")
        for record in quality.rejected[:limit]
    ]
    rest = quality.rejected_count - len(lines)
    if rest > 0:
        lines.append(f"và {format_count(rest)} hồ sơ khác (xem nhật ký của lượt chạy)")
    return lines


def operator_notice(quality: DataQuality) -> str | None:
    """Return the operators' notice on the records set aside as invalid; None when none was."""
    if not quality.rejected_count:
        return None
    count = format_count(quality.rejected_count)
    details = "; ".join(rejected_details(quality))
    return (
        f"{count} hồ sơ có dữ liệu không hợp lệ, không tính vào số liệu (báo cáo chỉ ghi số "
        f"lượng; cần kiểm tra trên cổng dịch vụ công): {details}"
    )
