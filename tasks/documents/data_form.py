"""The data form (biểu mẫu số liệu): the Biểu II.06a counts as an .xlsx spreadsheet.

The sheet is first described as plain data (`FormSheet`), then written by one small
function. Every cell holds a number, never a formula, so any reader (LibreOffice, Excel,
openpyxl) sees the totals without recalculating.

Beside the columns of Biểu II.06a the form shows the dossiers withdrawn and returned, so that
every row adds up: (3) received = (8) resolved + (12) in progress + (15) withdrawn + (16)
returned (docs/kpi-rules.md, "Reconciliation"); a note under the table says so. It prints on
A4 landscape at PRINT_SCALE, one page wide (the column widths are chosen for it), under the
"UBND TỈNH ..." line and the agency, and ends with the preparer's and the head's signatures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from tasks.documents.files import write_atomically
from tasks.documents.report_text import date_line
from tasks.figures.engine import FigureName, FiguresReport
from tasks.figures.periods import Period

FORM_TITLE = "Biểu mẫu số liệu kết quả tiếp nhận, giải quyết TTHC"
SUMMARY_TITLE = "Biểu mẫu tổng hợp kết quả tiếp nhận, giải quyết TTHC"
FORM_CODE = "Biểu số II.06a/VPCP/KSTT"
CENTRE_NAME = "Trung tâm Phục vụ hành chính công tỉnh"
TOTAL_LABEL = "Tổng cộng"
FIELD_HEADER = "Lĩnh vực"
DEPARTMENT_HEADER = "Cơ quan, đơn vị"
SHEET_TITLE = "Biểu mẫu số liệu"

# (group label, [(figure key, column label)]) in the column order of Biểu II.06a.
COLUMN_GROUPS: tuple[tuple[str, tuple[tuple[FigureName, str], ...]], ...] = (
    (
        "Số hồ sơ tiếp nhận",
        (
            ("received_total", "Tổng số"),
            ("received_online", "Trực tuyến"),
            ("received_direct", "Trực tiếp"),
            ("received_postal", "Qua bưu chính công ích"),
            ("carried_over", "Kỳ trước chuyển qua"),
        ),
    ),
    (
        "Số hồ sơ đã giải quyết",
        (
            ("resolved", "Tổng số"),
            ("resolved_early", "Trước hạn"),
            ("resolved_on_time", "Đúng hạn"),
            ("resolved_late", "Quá hạn"),
        ),
    ),
    (
        "Số hồ sơ đang giải quyết",
        (
            ("in_progress", "Tổng số"),
            ("in_progress_not_due", "Trong hạn"),
            ("in_progress_overdue", "Quá hạn"),
        ),
    ),
    (
        "Số hồ sơ xin rút, trả lại",
        (
            ("withdrawn", "Tổ chức, cá nhân xin rút"),
            ("returned", "Trả lại tổ chức, cá nhân"),
        ),
    ),
)
# The same keys as tasks.figures.FORM_KEYS, in the same order (a test checks it).
COUNT_KEYS: tuple[FigureName, ...] = tuple(
    key for _, columns in COLUMN_GROUPS for key, _ in columns
)

# Layout: header block rows, then two rows of column headers and one of column numbers.
FIRST_COLUMNS = 2  # STT, name
HEADER_ROW = 7
NUMBER_ROW = HEADER_ROW + 2
FIRST_DATA_ROW = NUMBER_ROW + 1
LAST_COLUMN = FIRST_COLUMNS + len(COUNT_KEYS)
COUNT_FORMAT = "#,##0"
# The columns (by their printed number) whose sum is the dossiers received, as the note says.
RECONCILED: tuple[FigureName, tuple[FigureName, ...]] = (
    "received_total",
    ("resolved", "in_progress", "withdrawn", "returned"),
)

# Print: A4 landscape at this scale (percent), one page wide; widths in character units.
PRINT_SCALE = 90
STT_WIDTH = 5
NAME_WIDTH = 34
COUNT_WIDTH = 7.5
PREPARER = "NGƯỜI LẬP BIỂU"
HEAD = "THỦ TRƯỞNG ĐƠN VỊ"
# Rows left empty for the signatures and the seal.
SIGNATURE_ROWS = 4

_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FONT = "Times New Roman"


class InconsistentFigures(ValueError):
    """The field rows of a data form do not add up to the report's figures."""


@dataclass(frozen=True)
class FormRow:
    """One line of the form: a field of activity or a department, with its counts."""

    name: str
    counts: dict[FigureName, int]


@dataclass(frozen=True)
class FormSheet:
    """Everything the data form shows, independent of the spreadsheet library."""

    agency: str
    title: str
    period_label: str
    name_header: str
    rows: tuple[FormRow, ...]
    total: dict[FigureName, int]
    # "UBND TỈNH DEMO": the authority the agency belongs to, printed above it.
    parent_authority: str = ""
    # "Demo, ngày ... tháng ... năm 2024" above the head's signature; none when empty.
    date_line: str = ""

    @property
    def subject(self) -> str:
        """Return the form's title with its period, as its core properties carry it."""
        return f"{self.title} {self.period_label}"


def department_form(
    report: FiguresReport, department_name: str, parent_authority: str = "", place: str = ""
) -> FormSheet:
    """Describe a department's form: one row per field of activity, then the report's totals."""
    rows = tuple(
        FormRow(name=field.name.strip() or field.code or "(không rõ lĩnh vực)", counts=field.counts)
        for field in report.by_field
    )
    total = {key: report.figures[key] for key in COUNT_KEYS}
    summed = _sum_counts(row.counts for row in rows)
    wrong = [key for key in COUNT_KEYS if summed[key] != total[key]]
    if wrong:
        details = ", ".join(f"{key} {summed[key]} != {total[key]}" for key in wrong)
        raise InconsistentFigures(
            f"data form of {department_name} ({report.agency}, {report.period.key}): "
            f"the field rows do not add up to the figures: {details}"
        )
    return FormSheet(
        agency=department_name,
        title=FORM_TITLE,
        period_label=report.period.label,
        name_header=FIELD_HEADER,
        rows=rows,
        total=total,
        parent_authority=parent_authority,
        date_line=date_line(place, report.period) if place else "",
    )


def summary_form(
    rows: Sequence[tuple[str, FiguresReport]],
    period: Period,
    agency: str = CENTRE_NAME,
    parent_authority: str = "",
    place: str = "",
) -> FormSheet:
    """Describe the Centre's form: one row per department, then the sum of all departments."""
    for name, report in rows:
        if report.period != period:
            raise ValueError(
                f"summary data form of {period.key}: {name} has figures of {report.period.key}"
            )
    form_rows = tuple(
        FormRow(name=name, counts={key: report.figures[key] for key in COUNT_KEYS})
        for name, report in rows
    )
    return FormSheet(
        agency=agency,
        title=SUMMARY_TITLE,
        period_label=period.label,
        name_header=DEPARTMENT_HEADER,
        rows=form_rows,
        total=_sum_counts(row.counts for row in form_rows),
        parent_authority=parent_authority,
        date_line=date_line(place, period) if place else "",
    )


def write_department_data_form(
    report: FiguresReport,
    department_name: str,
    out_path: Path,
    *,
    parent_authority: str = "",
    place: str = "",
) -> Path:
    """Write a department's data form to `out_path` (.xlsx) and return the path."""
    sheet = department_form(report, department_name, parent_authority, place)
    return write_form(sheet, out_path)


def write_summary_data_form(
    rows: Sequence[tuple[str, FiguresReport]],
    period: Period,
    out_path: Path,
    *,
    agency: str = CENTRE_NAME,
    parent_authority: str = "",
    place: str = "",
) -> Path:
    """Write the Centre's summary data form (one row per department) and return the path."""
    return write_form(summary_form(rows, period, agency, parent_authority, place), out_path)


def write_form(sheet: FormSheet, out_path: Path) -> Path:
    """Write `sheet` to `out_path` atomically: a reader never sees a half-written file."""
    workbook = build_workbook(sheet, datetime.now(UTC))
    return write_atomically(out_path, workbook.save)


def build_workbook(sheet: FormSheet, rendered_at: datetime) -> Workbook:
    """Lay `sheet` out as a workbook: header block, two-row headers, rows, total, print setup."""
    workbook = Workbook()
    # Column widths count characters of the Normal style's font: Times New Roman (Liberation
    # Serif in LibreOffice, with the same metrics), not the default Calibri that LibreOffice
    # replaces by a wider font where Calibri is not installed, so that the form prints one
    # page wide in either.
    workbook._named_styles["Normal"].font = Font(name=_FONT, size=11)
    _set_properties(workbook, sheet, rendered_at)
    worksheet = workbook.active
    assert worksheet is not None  # a new Workbook always has one sheet
    worksheet.title = SHEET_TITLE
    _write_header_block(worksheet, sheet)
    _write_column_headers(worksheet, sheet.name_header)
    row = FIRST_DATA_ROW
    for number, form_row in enumerate(sheet.rows, start=1):
        _write_count_row(worksheet, row, number, form_row.name, form_row.counts, bold=False)
        row += 1
    _write_count_row(worksheet, row, None, TOTAL_LABEL, sheet.total, bold=True)
    _write_footer(worksheet, row + 1, sheet.date_line)
    _set_up_page(worksheet)
    return workbook


def _set_properties(workbook: Workbook, sheet: FormSheet, rendered_at: datetime) -> None:
    """Fill the core properties: the form's subject, its agency, the time it was rendered."""
    properties = workbook.properties
    # Core properties hold UTC without a zone (openpyxl writes them with a "Z").
    moment = rendered_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    properties.created = properties.modified = moment
    properties.title = properties.subject = _text(sheet.subject)
    properties.creator = properties.lastModifiedBy = _text(sheet.agency)
    properties.language = "vi-VN"


def _sum_counts(counts: Iterable[dict[FigureName, int]]) -> dict[FigureName, int]:
    total = dict.fromkeys(COUNT_KEYS, 0)
    for row in counts:
        for key in COUNT_KEYS:
            total[key] += row[key]
    return total


def _text(value: str) -> str:
    # Control characters make openpyxl refuse to save; they carry no meaning in a name.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _put_text(worksheet: Worksheet, row: int, column: int, value: str) -> None:
    cell = worksheet.cell(row=row, column=column, value=_text(value))
    # A name such as "=HYPERLINK(...)" must stay text, not become a formula.
    cell.data_type = "s"


def _write_header_block(worksheet: Worksheet, sheet: FormSheet) -> None:
    last = get_column_letter(LAST_COLUMN)
    middle = FIRST_COLUMNS + 5
    for row, text, bold in ((1, sheet.parent_authority, False), (2, sheet.agency, True)):
        worksheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=middle - 1)
        _put_text(worksheet, row, 1, text.upper())
        cell = worksheet.cell(row=row, column=1)
        cell.font = Font(name=_FONT, bold=bold, size=12)
        cell.alignment = Alignment(horizontal="center")
    worksheet.merge_cells(start_row=1, start_column=middle, end_row=1, end_column=LAST_COLUMN)
    _put_text(worksheet, 1, middle, FORM_CODE)
    worksheet.cell(row=1, column=middle).font = Font(name=_FONT, italic=True, size=11)
    worksheet.cell(row=1, column=middle).alignment = Alignment(horizontal="right")

    for row, text, font in (
        (4, sheet.title.upper(), Font(name=_FONT, bold=True, size=14)),
        (5, f"Kỳ báo cáo: {sheet.period_label}", Font(name=_FONT, italic=True, size=12)),
    ):
        worksheet.merge_cells(f"A{row}:{last}{row}")
        _put_text(worksheet, row, 1, text)
        worksheet.cell(row=row, column=1).font = font
        worksheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")
    worksheet.merge_cells(f"A6:{last}6")
    _put_text(worksheet, 6, 1, "Đơn vị tính: hồ sơ")
    worksheet.cell(row=6, column=1).font = Font(name=_FONT, italic=True, size=11)
    worksheet.cell(row=6, column=1).alignment = Alignment(horizontal="right")


def column_number(key: FigureName) -> int:
    """Return the printed number "(n)" of a count's column (its column index)."""
    return FIRST_COLUMNS + 1 + COUNT_KEYS.index(key)


def reconciliation_note() -> str:
    """Return the note under the table: which columns add up to the dossiers received."""
    total, parts = RECONCILED
    numbers = " + ".join(f"({column_number(key)})" for key in parts)
    return (
        f"Ghi chú: ({column_number(total)}) = {numbers}: số hồ sơ tiếp nhận bằng số hồ sơ đã "
        "giải quyết, đang giải quyết, tổ chức, cá nhân xin rút và trả lại tổ chức, cá nhân."
    )


def _write_footer(worksheet: Worksheet, first_row: int, date_text: str) -> None:
    """Write the note under the table, the date line and the two signature blocks."""
    last = get_column_letter(LAST_COLUMN)
    note_row = first_row + 1
    worksheet.merge_cells(f"A{note_row}:{last}{note_row}")
    _put_text(worksheet, note_row, 1, reconciliation_note())
    worksheet.cell(row=note_row, column=1).font = Font(name=_FONT, italic=True, size=11)
    worksheet.cell(row=note_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    worksheet.row_dimensions[note_row].height = 30

    # Left block under STT and the names; right block under the last seven count columns.
    left = (1, FIRST_COLUMNS + 2)
    right = (LAST_COLUMN - 6, LAST_COLUMN)
    row = note_row + 2
    if date_text:
        _put_merged(worksheet, row, right, date_text, Font(name=_FONT, italic=True, size=12))
        row += 1
    bold = Font(name=_FONT, bold=True, size=12)
    _put_merged(worksheet, row, left, PREPARER, bold)
    _put_merged(worksheet, row, right, HEAD, bold)
    hint = Font(name=_FONT, italic=True, size=11)
    _put_merged(worksheet, row + 1, left, "(Ký, ghi rõ họ tên)", hint)
    _put_merged(worksheet, row + 1, right, "(Ký tên, đóng dấu)", hint)
    # The empty rows below are where the signatures and the seal go.
    worksheet.print_area = f"A1:{last}{row + 1 + SIGNATURE_ROWS}"


def _put_merged(
    worksheet: Worksheet, row: int, columns: tuple[int, int], text: str, font: Font
) -> None:
    worksheet.merge_cells(
        start_row=row, start_column=columns[0], end_row=row, end_column=columns[1]
    )
    _put_text(worksheet, row, columns[0], text)
    cell = worksheet.cell(row=row, column=columns[0])
    cell.font = font
    cell.alignment = Alignment(horizontal="center")


def _write_column_headers(worksheet: Worksheet, name_header: str) -> None:
    top, bottom = HEADER_ROW, HEADER_ROW + 1
    for column, label in ((1, "STT"), (2, name_header)):
        worksheet.merge_cells(start_row=top, start_column=column, end_row=bottom, end_column=column)
        _put_text(worksheet, top, column, label)
    column = FIRST_COLUMNS + 1
    for group, columns in COLUMN_GROUPS:
        last = column + len(columns) - 1
        worksheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=last)
        _put_text(worksheet, top, column, group)
        for offset, (_, label) in enumerate(columns):
            _put_text(worksheet, bottom, column + offset, label)
        column = last + 1
    for column in range(1, LAST_COLUMN + 1):
        _put_text(worksheet, NUMBER_ROW, column, f"({column})")
    header_font = Font(name=_FONT, bold=True, size=11)
    number_font = Font(name=_FONT, italic=True, size=10)
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in (top, bottom, NUMBER_ROW):
        for column in range(1, LAST_COLUMN + 1):
            cell = worksheet.cell(row=row, column=column)
            cell.font = number_font if row == NUMBER_ROW else header_font
            cell.alignment = centred
            cell.border = _BOX
    # Two lines of a group's label; four of the longest label ("Qua bưu chính công ích").
    worksheet.row_dimensions[top].height = 30
    worksheet.row_dimensions[bottom].height = 62


def _write_count_row(
    worksheet: Worksheet,
    row: int,
    number: int | None,
    name: str,
    counts: dict[FigureName, int],
    *,
    bold: bool,
) -> None:
    font = Font(name=_FONT, bold=bold, size=11)
    # A reader does not grow a row for wrapped text when opening the file: a long name gets
    # the lines it needs here (about one character of 11 pt a unit of column width).
    lines = max(1, math.ceil(len(name) / NAME_WIDTH))
    if lines > 1:
        worksheet.row_dimensions[row].height = 15 * lines
    if number is not None:
        worksheet.cell(row=row, column=1, value=number)
    _put_text(worksheet, row, 2, name)
    for offset, key in enumerate(COUNT_KEYS):
        cell = worksheet.cell(row=row, column=FIRST_COLUMNS + 1 + offset, value=counts[key])
        cell.number_format = COUNT_FORMAT
    for column in range(1, LAST_COLUMN + 1):
        cell = worksheet.cell(row=row, column=column)
        cell.font = font
        cell.border = _BOX
        if column == 2:
            cell.alignment = Alignment(
                horizontal="center" if number is None else "left",
                vertical="center",
                wrap_text=True,
            )
        else:
            cell.alignment = Alignment(horizontal="center", vertical="center")


def _set_up_page(worksheet: Worksheet) -> None:
    worksheet.column_dimensions["A"].width = STT_WIDTH
    worksheet.column_dimensions["B"].width = NAME_WIDTH
    for column in range(FIRST_COLUMNS + 1, LAST_COLUMN + 1):
        worksheet.column_dimensions[get_column_letter(column)].width = COUNT_WIDTH
    # Rows above the data and the STT/name columns stay in view while scrolling.
    worksheet.freeze_panes = worksheet.cell(row=FIRST_DATA_ROW, column=FIRST_COLUMNS + 1)
    worksheet.page_setup.orientation = "landscape"
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    # A fixed scale, not "fit to width": shrinking to fit is what printed the form at 69%.
    # The widths above make it one page wide at this scale (a test converts it to PDF).
    worksheet.sheet_properties.pageSetUpPr.fitToPage = False
    worksheet.page_setup.scale = PRINT_SCALE
    worksheet.print_title_rows = f"{HEADER_ROW}:{NUMBER_ROW}"
    worksheet.print_options.horizontalCentered = True
    worksheet.page_margins.left = worksheet.page_margins.right = 0.5
    worksheet.page_margins.top = worksheet.page_margins.bottom = 0.6
