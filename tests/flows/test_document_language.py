"""The 2024-05 set as its readers get it: Vietnamese only, and no record named in a signed report.

One real run of every department (Prefect API, portal simulator, loopback SMTP server), then
every .docx and .xlsx it wrote and every e-mail a department received is read for English words
of the validator; the records the validator set aside go to the operators, by name, in
Vietnamese.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl

from flows.monthly_report import monthly_report
from tests.flows.conftest import FlowSetup

OPERATOR = "quantri@demo.gov.vn"
PERIOD = "2024-05"
# Words of the validator's English messages ("NgayTiepNhan is missing", "TrangThaiHoSo 12 is
# not a status 1..10", "... is not a time yyyyMMddHHmmss") and of English prose at large.
ENGLISH = re.compile(
    r"\b(is|are|not|missing|status|time|number|object|list|entry|resolved|has|have|neither|"
    r"nor|record|records|agency|asked|the|of|and|or|with|without|yyyyMMddHHmmss)\b"
)
# A MaHoSo as the simulator makes them ("H99.09-240513-0006").
RECORD_ID = re.compile(r"\bH\d{2}\.\d{2}-\d{6}-\d{4}\b")


def docx_text(path: Path) -> str:
    """Return the text of every XML part of a .docx (body, headers, footers), tags removed."""
    with zipfile.ZipFile(path) as package:
        parts = [
            package.read(name).decode("utf-8")
            for name in package.namelist()
            if name.startswith("word/") and name.endswith(".xml")
        ]
    return "\n".join(re.sub(r"<[^>]+>", " ", part) for part in parts)


def xlsx_text(path: Path) -> str:
    workbook = openpyxl.load_workbook(path)
    return "\n".join(
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    )


def test_documents_and_department_mails_are_vietnamese_and_the_operators_get_the_records(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # One run for both checks: a run of the whole province is the slow part.
    state = monthly_report(period=PERIOD, return_state=True)
    assert state.is_completed(), state.message
    check_no_english_and_no_record(flow_setup)
    check_the_note_counts_and_the_operators_get_the_records(flow_setup)


def check_no_english_and_no_record(may_run: FlowSetup) -> None:
    folder = may_run.output_dir / "reports" / PERIOD
    documents = sorted(folder.glob("*.docx")) + sorted(folder.glob("*.xlsx"))
    assert len(documents) >= 12  # six departments and the Centre, a report and a form each
    found: dict[str, list[str]] = {}
    for path in documents:
        text = docx_text(path) if path.suffix == ".docx" else xlsx_text(path)
        words = ENGLISH.findall(text) + RECORD_ID.findall(text)
        if words:
            found[path.name] = sorted(set(words))
    department_mails = [m for m in may_run.smtp.received if OPERATOR not in m.envelope_to]
    assert department_mails
    for message in department_mails:
        words = ENGLISH.findall(message.subject + "\n" + message.text())
        if words:
            found[f"e-mail {message.subject}"] = sorted(set(words))
    assert found == {}


def check_the_note_counts_and_the_operators_get_the_records(may_run: FlowSetup) -> None:
    report = docx_text(may_run.output_dir / "reports" / PERIOD / f"Báo cáo TTHC {PERIOD} STP.docx")
    assert "03 hồ sơ có dữ liệu không hợp lệ, không tính vào số liệu" in report
    skhcn = docx_text(may_run.output_dir / "reports" / PERIOD / f"Báo cáo TTHC {PERIOD} SKHCN.docx")
    assert "04 hồ sơ do tổ chức, cá nhân xin rút" in skhcn

    [notice] = may_run.smtp.messages_to(OPERATOR)
    body = notice.text()
    assert "STP: 03 hồ sơ có dữ liệu không hợp lệ" in body
    assert "thiếu NgayTiepNhan" in body
    assert "không phải trạng thái từ 1 đến 10" in body
    assert "không phải thời điểm dạng yyyyMMddHHmmss" in body
    assert len(RECORD_ID.findall(body)) >= 3
    assert not re.search(r"\b(is|not|missing)\b", body)
