"""Tests of tasks/documents/data_form.py: the data form read back as a user's spreadsheet would show it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from tasks.documents.data_form import (
    COUNT_KEYS,
    FIRST_DATA_ROW,
    InconsistentFigures,
    write_department_data_form,
    write_summary_data_form,
)
from tasks.documents.pdf import convert_to_pdf
from tasks.figures.engine import (
    FIGURE_KEYS,
    FORM_KEYS,
    DataQuality,
    FieldFigures,
    FiguresReport,
    compute_figures,
    compute_rates,
)
from tasks.figures.periods import Period
from tasks.portal.dossiers import Dossier

MAY = Period.parse("2024-05")
HEADERS_TOP = [
    "STT",
    "Lĩnh vực",
    "Số hồ sơ tiếp nhận",
    None,
    None,
    None,
    None,
    "Số hồ sơ đã giải quyết",
    None,
    None,
    None,
    "Số hồ sơ đang giải quyết",
    None,
    None,
    "Số hồ sơ xin rút, trả lại",
    None,
]
HEADERS_BOTTOM = [None, None, "Tổng số", "Trực tuyến", "Trực tiếp", "Qua bưu chính công ích",
                  "Kỳ trước chuyển qua", "Tổng số", "Trước hạn", "Đúng hạn", "Quá hạn",
                  "Tổng số", "Trong hạn", "Quá hạn", "Tổ chức, cá nhân xin rút",
                  "Trả lại tổ chức, cá nhân"]  # fmt: skip


def counts(*values: int) -> dict[str, int]:
    return dict(zip(FORM_KEYS, values, strict=True))


# The seed's totals (63 received, 54 resolved 49/5/0, 5 in progress, 4 withdrawn) split over
# two fields.
SEED_FIELDS = [
    FieldFigures("G09-KHCN-01", "Hoạt động khoa học và công nghệ", counts(41, 28, 0, 10, 3, 36, 33, 3, 0, 3, 3, 0, 2, 0)),
    FieldFigures("G09-KHCN-02", "An toàn bức xạ và hạt nhân", counts(22, 22, 0, 0, 0, 18, 16, 2, 0, 2, 2, 0, 2, 0)),
]  # fmt: skip


def make_report(
    fields: list[FieldFigures], period: Period = MAY, agency: str = "A"
) -> FiguresReport:
    figures = dict.fromkeys(FIGURE_KEYS, 0)
    for field in fields:
        for key in FORM_KEYS:
            figures[key] += field.counts[key]
    figures["received_new"] = figures["received_total"] - figures["carried_over"]
    return FiguresReport(agency, period, figures, compute_rates(figures), fields, DataQuality())


def rows_of(path: Path) -> tuple[Worksheet, list[list[object]]]:
    sheet = load_workbook(path).active
    assert isinstance(sheet, Worksheet)
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


def data_rows(rows: list[list[object]]) -> list[list[object]]:
    """Return the table's rows from the first field to "Tổng cộng"."""
    table = rows[FIRST_DATA_ROW - 1 :]
    end = next(i for i, row in enumerate(table) if row[1] == "Tổng cộng")
    return table[: end + 1]


def test_form_columns_are_the_figures_form_keys() -> None:
    assert COUNT_KEYS == FORM_KEYS


def test_department_form_has_field_rows_and_the_reports_totals(tmp_path: Path) -> None:
    report = make_report(SEED_FIELDS)
    path = write_department_data_form(report, "Sở Khoa học và Công nghệ", tmp_path / "f.xlsx")

    _, rows = rows_of(path)
    *fields, total = data_rows(rows)
    assert [row[:2] for row in fields] == [
        [1, "Hoạt động khoa học và công nghệ"],
        [2, "An toàn bức xạ và hạt nhân"],
    ]
    assert total[:2] == [None, "Tổng cộng"]
    assert total[2:] == [report.figures[key] for key in FORM_KEYS]
    assert total[2:] == [63, 50, 0, 10, 3, 54, 49, 5, 0, 5, 5, 0, 4, 0]
    for column in range(2, 16):
        assert sum(row[column] for row in fields) == total[column]


def test_department_form_header_block_and_two_row_headers(tmp_path: Path) -> None:
    path = write_department_data_form(
        make_report(SEED_FIELDS), "Sở Khoa học và Công nghệ", tmp_path / "f.xlsx"
    )
    sheet, rows = rows_of(path)
    texts = [row[0] for row in rows[:6]]
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in texts
    assert "BIỂU MẪU SỐ LIỆU KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT TTHC" in texts
    assert "Kỳ báo cáo: tháng 5/2024" in texts
    assert rows[6] == HEADERS_TOP
    assert rows[7] == HEADERS_BOTTOM
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A7:A8", "B7:B8", "C7:G7", "H7:K7", "L7:N7", "O7:P7"} <= merged


def test_form_is_set_up_for_screen_and_print(tmp_path: Path) -> None:
    path = write_department_data_form(make_report(SEED_FIELDS), "Sở X", tmp_path / "f.xlsx")
    sheet, _ = rows_of(path)
    assert sheet.freeze_panes == f"C{FIRST_DATA_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.print_title_rows == "$7:$9"
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["C"].width
    assert sheet[f"C{FIRST_DATA_ROW}"].number_format == "#,##0"
    assert sheet[f"C{FIRST_DATA_ROW}"].border.left.style == "thin"


def test_names_stay_text_never_formulas(tmp_path: Path) -> None:
    field = FieldFigures(
        "X", '=HYPERLINK("http://x")\x07 <&{{', counts(1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0)
    )
    nameless = FieldFigures("G09-03", " ", counts(1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0))
    path = write_department_data_form(make_report([field, nameless]), "Sở X", tmp_path / "f.xlsx")
    sheet, rows = rows_of(path)
    assert data_rows(rows)[0][1] == '=HYPERLINK("http://x") <&{{'
    assert sheet[f"B{FIRST_DATA_ROW}"].data_type == "s"
    assert data_rows(rows)[1][1] == "G09-03"


def test_department_form_refuses_fields_that_do_not_add_up(tmp_path: Path) -> None:
    report = make_report(SEED_FIELDS)
    wrong = replace(report, figures={**report.figures, "resolved": 55})
    with pytest.raises(InconsistentFigures, match=r"Sở X .*resolved 54 != 55"):
        write_department_data_form(wrong, "Sở X", tmp_path / "f.xlsx")
    assert not (tmp_path / "f.xlsx").exists()


def test_department_form_with_no_dossiers_has_a_zero_total(tmp_path: Path) -> None:
    path = write_department_data_form(make_report([]), "Sở X", tmp_path / "f.xlsx")
    _, rows = rows_of(path)
    assert data_rows(rows) == [[None, "Tổng cộng", *[0] * 14]]


def test_department_form_from_computed_figures(tmp_path: Path) -> None:
    records = [
        Dossier("H1", "A", "20240502080000", 10, field_code="F1", field_name="Lĩnh vực 1",
                due="20240510170000", finished="20240508100000", channel=2),
        Dossier("H2", "A", "20240420080000", 4, field_code="F2", field_name="Lĩnh vực 2",
                due="20240605170000", channel=1),
        Dossier("H3", "A", "20240503080000", 4, field_code="F1", field_name="Lĩnh vực 1",
                due="20240515170000", channel=3),
    ]  # fmt: skip
    report = compute_figures(records, MAY, "A", "VP")
    path = write_department_data_form(report, "Sở X", tmp_path / "f.xlsx")
    _, rows = rows_of(path)
    assert data_rows(rows) == [
        [1, "Lĩnh vực 1", 2, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
        [2, "Lĩnh vực 2", 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0],
        [None, "Tổng cộng", 3, 1, 0, 1, 1, 1, 1, 0, 0, 2, 1, 1, 0, 0],
    ]


def test_summary_form_has_a_row_per_department_and_their_sum(tmp_path: Path) -> None:
    science = make_report(SEED_FIELDS, agency="S")
    justice = make_report([SEED_FIELDS[1]], agency="T")
    path = write_summary_data_form(
        [("Sở Khoa học và Công nghệ", science), ("Sở Tư pháp", justice)], MAY, tmp_path / "s.xlsx"
    )
    _, rows = rows_of(path)
    assert rows[6][1] == "Cơ quan, đơn vị"
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH" in [row[0] for row in rows[:6]]
    assert "Kỳ báo cáo: tháng 5/2024" in [row[0] for row in rows[:6]]
    first, second, total = data_rows(rows)
    assert first[:3] == [1, "Sở Khoa học và Công nghệ", 63]
    assert second[:3] == [2, "Sở Tư pháp", 22]
    assert total[2:] == [a + b for a, b in zip(first[2:], second[2:], strict=True)]


def test_summary_form_refuses_figures_of_another_period(tmp_path: Path) -> None:
    april = make_report(SEED_FIELDS, period=Period.parse("2024-04"))
    with pytest.raises(ValueError, match="Sở Y has figures of 2024-04"):
        write_summary_data_form([("Sở Y", april)], MAY, tmp_path / "s.xlsx")


def test_writing_replaces_an_existing_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "f.xlsx"
    write_department_data_form(make_report(SEED_FIELDS), "Sở X", out)
    write_department_data_form(make_report([]), "Sở X", out)
    _, rows = rows_of(out)
    assert len(data_rows(rows)) == 1
    assert [p.name for p in out.parent.iterdir()] == ["f.xlsx"]


# --- print, heading, signatures, reconciliation, properties (issue 11, defect 7) -------------

# A4 landscape less the form's 0.5-inch side margins, in millimetres.
PRINTABLE_WIDTH_MM = 297 - 2 * 12.7


def column_mm(width: float) -> float:
    """Return a column's printed width: `width` characters of 7 px, plus 5 px, at 96 px/inch."""
    return (width * 7 + 5) * 25.4 / 96


def seed_form(tmp_path: Path) -> Path:
    return write_department_data_form(
        make_report(SEED_FIELDS),
        "Sở Khoa học và Công nghệ",
        tmp_path / "f.xlsx",
        parent_authority="UBND Tỉnh Demo",
        place="Demo",
    )


def test_form_prints_on_a4_landscape_at_85_percent_or_more(tmp_path: Path) -> None:
    sheet, _ = rows_of(seed_form(tmp_path))
    setup = sheet.page_setup
    assert setup.orientation == "landscape"
    assert setup.paperSize == 9  # A4
    # A fixed scale: "fit to page" would let the reader shrink it, as to 69% before.
    assert not sheet.sheet_properties.pageSetUpPr.fitToPage
    assert setup.scale is not None and setup.scale >= 85
    widths = [
        sheet.column_dimensions[get_column_letter(column)].width
        for column in range(1, len(COUNT_KEYS) + 3)
    ]
    printed = sum(column_mm(width) for width in widths) * setup.scale / 100
    assert printed <= PRINTABLE_WIDTH_MM


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_prints_the_form_one_page_wide(tmp_path: Path) -> None:
    pdf = convert_to_pdf(seed_form(tmp_path), timeout=120)
    assert pdf is not None
    text = pdf_text(pdf)
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages) == 1, f"{len(pages)} pages"
    first = pages[0]
    # Every column, the first and the last, and the signatures are on that one page.
    for words in ("(1)", "(16)", "UBND TỈNH DEMO", "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"):
        assert words in first, words


def pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_form_is_headed_by_the_province_and_signed(tmp_path: Path) -> None:
    _, rows = rows_of(seed_form(tmp_path))
    assert rows[0][0] == "UBND TỈNH DEMO"
    assert rows[1][0] == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    after = [cell for row in rows[FIRST_DATA_ROW + len(SEED_FIELDS) :] for cell in row if cell]
    assert "Demo, ngày ... tháng ... năm 2024" in after
    assert after.index("NGƯỜI LẬP BIỂU") < after.index("(Ký, ghi rõ họ tên)")
    assert after.index("THỦ TRƯỞNG ĐƠN VỊ") < after.index("(Ký tên, đóng dấu)")


def column_of(rows: list[list[object]], label: str, group: str) -> int:
    """Return the index of the column headed `label` under the group header `group`."""
    top, bottom = rows[FIRST_DATA_ROW - 4], rows[FIRST_DATA_ROW - 3]
    start = top.index(group)
    return bottom.index(label, start)


def test_every_row_of_the_rendered_form_reconciles(tmp_path: Path) -> None:
    records = [
        Dossier("H1", "A", "20240502080000", 10, field_code="F1", field_name="Lĩnh vực 1",
                due="20240510170000", finished="20240508100000", channel=2),
        Dossier("H2", "A", "20240420080000", 4, field_code="F2", field_name="Lĩnh vực 2",
                due="20240605170000", channel=1),
        Dossier("H3", "A", "20240503080000", 7, field_code="F1", field_name="Lĩnh vực 1",
                handed_back="20240506080000", channel=2),
        Dossier("H4", "A", "20240503080000", 8, field_code="F2", field_name="Lĩnh vực 2",
                handed_back="20240507080000", channel=2),
        Dossier("H5", "A", "20240504080000", 7, field_code="F2", field_name="Lĩnh vực 2",
                finished="20240509080000", channel=2),
    ]  # fmt: skip
    report = compute_figures(records, MAY, "A", "VP")
    _, rows = rows_of(write_department_data_form(report, "Sở X", tmp_path / "f.xlsx"))
    received = column_of(rows, "Tổng số", "Số hồ sơ tiếp nhận")
    resolved = column_of(rows, "Tổng số", "Số hồ sơ đã giải quyết")
    in_progress = column_of(rows, "Tổng số", "Số hồ sơ đang giải quyết")
    withdrawn = column_of(rows, "Tổ chức, cá nhân xin rút", "Số hồ sơ xin rút, trả lại")
    returned = column_of(rows, "Trả lại tổ chức, cá nhân", "Số hồ sơ xin rút, trả lại")
    table = data_rows(rows)
    assert [row[withdrawn] for row in table] == [1, 1, 2]
    assert [row[returned] for row in table] == [0, 1, 1]
    for row in table:
        assert row[received] == (
            row[resolved] + row[in_progress] + row[withdrawn] + row[returned]
        ), row
    numbers = rows[FIRST_DATA_ROW - 2]
    note = next(cell for row in rows for cell in row if str(cell).startswith("Ghi chú:"))
    assert note.startswith(
        f"Ghi chú: {numbers[received]} = {numbers[resolved]} + {numbers[in_progress]} + "
        f"{numbers[withdrawn]} + {numbers[returned]}:"
    )


def test_form_core_properties_name_the_form_the_agency_and_the_render_time(
    tmp_path: Path,
) -> None:
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    properties = load_workbook(seed_form(tmp_path)).properties
    after = datetime.now(UTC).replace(tzinfo=None)
    assert properties.title == "Biểu mẫu số liệu kết quả tiếp nhận, giải quyết TTHC tháng 5/2024"
    assert properties.creator == "Sở Khoa học và Công nghệ"
    assert properties.created is not None and before <= properties.created <= after
    assert properties.modified is not None and before <= properties.modified <= after
