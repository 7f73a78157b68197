"""Tests of tasks/documents/data_form.py: the data form read back as a user's spreadsheet would show it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tasks.documents.data_form import (
    COUNT_KEYS,
    FIRST_DATA_ROW,
    InconsistentFigures,
    write_department_data_form,
    write_summary_data_form,
)
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
]
HEADERS_BOTTOM = [None, None, "Tổng số", "Trực tuyến", "Trực tiếp", "Qua BCCI",
                  "Kỳ trước chuyển qua", "Tổng số", "Trước hạn", "Đúng hạn", "Quá hạn",
                  "Tổng số", "Trong hạn", "Quá hạn"]  # fmt: skip


def counts(*values: int) -> dict[str, int]:
    return dict(zip(FORM_KEYS, values, strict=True))


# The seed's totals (63 received, 54 resolved 49/5/0, 5 in progress) split over two fields;
# the four withdrawn dossiers count as received but in neither resolved nor in progress.
SEED_FIELDS = [
    FieldFigures("G09-KHCN-01", "Hoạt động khoa học và công nghệ", counts(41, 28, 0, 10, 3, 36, 33, 3, 0, 3, 3, 0)),
    FieldFigures("G09-KHCN-02", "An toàn bức xạ và hạt nhân", counts(22, 22, 0, 0, 0, 18, 16, 2, 0, 2, 2, 0)),
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
    return rows[FIRST_DATA_ROW - 1 :]


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
    assert total[2:] == [63, 50, 0, 10, 3, 54, 49, 5, 0, 5, 5, 0]
    for column in range(2, 14):
        assert sum(row[column] for row in fields) == total[column]


def test_department_form_header_block_and_two_row_headers(tmp_path: Path) -> None:
    path = write_department_data_form(
        make_report(SEED_FIELDS), "Sở Khoa học và Công nghệ", tmp_path / "f.xlsx"
    )
    sheet, rows = rows_of(path)
    texts = [row[0] for row in rows[:5]]
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ" in texts
    assert "BIỂU MẪU SỐ LIỆU KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT TTHC" in texts
    assert "Kỳ báo cáo: tháng 5/2024" in texts
    assert rows[5] == HEADERS_TOP
    assert rows[6] == HEADERS_BOTTOM
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A6:A7", "B6:B7", "C6:G6", "H6:K6", "L6:N6"} <= merged


def test_form_is_set_up_for_screen_and_print(tmp_path: Path) -> None:
    path = write_department_data_form(make_report(SEED_FIELDS), "Sở X", tmp_path / "f.xlsx")
    sheet, _ = rows_of(path)
    assert sheet.freeze_panes == f"C{FIRST_DATA_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$6:$8"
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["C"].width
    assert sheet[f"C{FIRST_DATA_ROW}"].number_format == "#,##0"
    assert sheet[f"C{FIRST_DATA_ROW}"].border.left.style == "thin"


def test_names_stay_text_never_formulas(tmp_path: Path) -> None:
    field = FieldFigures(
        "X", '=HYPERLINK("http://x")\x07 <&{{', counts(1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)
    )
    nameless = FieldFigures("G09-03", " ", counts(1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0))
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
    assert data_rows(rows) == [[None, "Tổng cộng", *[0] * 12]]


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
        [1, "Lĩnh vực 1", 2, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1],
        [2, "Lĩnh vực 2", 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0],
        [None, "Tổng cộng", 3, 1, 0, 1, 1, 1, 1, 0, 0, 2, 1, 1],
    ]


def test_summary_form_has_a_row_per_department_and_their_sum(tmp_path: Path) -> None:
    science = make_report(SEED_FIELDS, agency="S")
    justice = make_report([SEED_FIELDS[1]], agency="T")
    path = write_summary_data_form(
        [("Sở Khoa học và Công nghệ", science), ("Sở Tư pháp", justice)], MAY, tmp_path / "s.xlsx"
    )
    _, rows = rows_of(path)
    assert rows[5][1] == "Cơ quan, đơn vị"
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH" in [row[0] for row in rows[:5]]
    assert "Kỳ báo cáo: tháng 5/2024" in [row[0] for row in rows[:5]]
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
