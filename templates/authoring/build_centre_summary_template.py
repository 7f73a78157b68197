"""Write templates/centre_summary.docx once, with python-docx (a one-time authoring script).

The template is the source of truth for the layout of the Centre's summary report: after this
script has produced it, edit it in Word (fonts, spacing, fixed wording) and keep the docxtpl
tags intact. Run this script again only to start over; it overwrites the template.

    .venv/bin/python templates/authoring/build_centre_summary_template.py

Layout: as the department report (Decree 30/2020/NĐ-CP, Annex I): A4 portrait, margins top
2 cm, bottom 2 cm, left 3 cm, right 2 cm; Times New Roman 14 pt, justified, first-line indent
1.27 cm, 6 pt after; page numbers centred in the header from page 2 on.

Tags the template uses (filled by tasks.centre_summary.summary_context): parent_authority,
issuer_upper, number_line, date_line, subject, intro, rows (each: rank, name, received_total,
resolved, early_rate, on_time_or_early_rate, online_l34_rate, postal_rate,
in_progress_overdue, index_score), total (the same keys), ranking_note, attachment_note, findings, closing,
noi_nhan, signer_authority, signer_title, signer_name.

Page breaks as in the department report: headings keep with the next paragraph, widow/orphan
control everywhere, table rows never split, and the closing line, Nơi nhận and the signature
stay on one page. The rules, the masthead's columns and the ranking table's column widths are
sized from the filled text at render time (tasks.documents.layout, tasks.documents.
centre_summary); the values here are a starting point. Every element is written in the order
the ECMA-376 schema gives (_insert_ordered).
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell
from docx_parts import (
    FONT,
    PPR_ORDER,
    RULE_FULL,
    RULE_THIRD,
    TBLPR_ORDER,
    TEXT_WIDTH_CM,
    drop_styles_with_effects,
    insert_ordered,
    line,
    page,
    rule,
    set_fonts,
)

from tasks.documents.unused_styles import drop_unused_styles

OUTPUT = Path(__file__).resolve().parents[1] / "centre_summary.docx"

CENTERED = "Tổng hợp - Căn giữa"
HEADING = "Tổng hợp - Đề mục"
RECIPIENTS = "Tổng hợp - Nơi nhận"
CELL = "Tổng hợp - Ô bảng"
NOTE = "Tổng hợp - Ghi chú"


# (group header or None, header, tag of the row's value, width in cm) of the ranking table,
# in the column order of the brief; the widths sum to the 16 cm of text width.
COLUMNS: tuple[tuple[str | None, str, str, float], ...] = (
    (None, "Xếp hạng", "rank", 1.2),
    (None, "Cơ quan, đơn vị", "name", 3.2),
    ("Số hồ sơ", "Tiếp nhận", "received_total", 1.4),
    ("Số hồ sơ", "Đã giải quyết", "resolved", 1.4),
    ("Tỷ lệ giải quyết", "Trước hạn", "early_rate", 1.4),
    ("Tỷ lệ giải quyết", "Đúng hạn và trước hạn", "on_time_or_early_rate", 1.4),
    ("Tỷ lệ hồ sơ", "Trực tuyến mức độ 3, 4", "online_l34_rate", 1.4),
    ("Tỷ lệ hồ sơ", "Trả kết quả qua BCCI", "postal_rate", 1.4),
    (None, "Hồ sơ đang giải quyết quá hạn", "in_progress_overdue", 1.4),
    (None, "Bộ chỉ số 766: điểm (hạng)", "index_score", 1.8),
)
CELL_MARGIN_CM = 0.08


def _document_defaults(document: DocxDocument) -> None:
    """Make Times New Roman 14 pt, Vietnamese, the default of every style."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), "28")
    language = rpr.find(qn("w:lang"))
    language.set(qn("w:val"), "vi-VN")
    language.set(qn("w:eastAsia"), "vi-VN")
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "120")
    spacing.set(qn("w:line"), "240")

    normal = document.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    normal.font.name = FONT
    set_fonts(normal.element.get_or_add_rPr())
    normal.font.size = Pt(14)
    body = normal.paragraph_format
    body.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.first_line_indent = Cm(1.27)
    body.space_before = Pt(0)
    body.space_after = Pt(6)
    body.line_spacing = 1.0
    body.widow_control = True


def _paragraph_style(
    document: DocxDocument,
    name: str,
    *,
    alignment: WD_ALIGN_PARAGRAPH,
    size: float,
    space_after: float,
    bold: bool = False,
    italic: bool = False,
    indent: bool = False,
) -> ParagraphStyle:
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(style, ParagraphStyle)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    style.font.size = Pt(size)
    style.font.bold = bold or None
    style.font.italic = italic or None
    form = style.paragraph_format
    form.alignment = alignment
    if not indent:
        form.first_line_indent = Cm(0)
    form.space_after = Pt(space_after)
    return style


def _styles(document: DocxDocument) -> None:
    centre, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT
    _paragraph_style(document, CENTERED, alignment=centre, size=14, space_after=0)
    _paragraph_style(document, RECIPIENTS, alignment=left, size=11, space_after=0)
    _paragraph_style(document, CELL, alignment=centre, size=11, space_after=0)
    _paragraph_style(
        document,
        NOTE,
        alignment=WD_ALIGN_PARAGRAPH.JUSTIFY,
        size=12,
        space_after=6,
        italic=True,
        indent=True,
    )
    heading = _paragraph_style(
        document, HEADING, alignment=WD_ALIGN_PARAGRAPH.JUSTIFY, size=14, space_after=6, bold=True
    )
    heading.paragraph_format.first_line_indent = Cm(1.27)
    heading.paragraph_format.keep_with_next = True
    for name in (RULE_THIRD, RULE_FULL):
        rule = _paragraph_style(document, name, alignment=centre, size=2, space_after=0)
        rule.paragraph_format.line_spacing = Pt(2)
        borders = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        bottom.set(qn("w:val"), "single")
        bottom.set(qn("w:sz"), "6")
        bottom.set(qn("w:space"), "1")
        bottom.set(qn("w:color"), "000000")
        borders.append(bottom)
        insert_ordered(rule.element.get_or_add_pPr(), borders, PPR_ORDER)


def _table_borders(table: Table, value: str) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        if value != "nil":
            element.set(qn("w:sz"), "4")
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    insert_ordered(table._tbl.tblPr, borders, TBLPR_ORDER)


def _fixed_widths(table: Table, widths_cm: list[float]) -> None:
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _masthead(document: DocxDocument) -> None:
    """The two-column block at the top: issuing body and number, national motto and date."""
    left_width, right_width = 6.5, 9.5
    table = document.add_table(rows=1, cols=2)
    _table_borders(table, "nil")
    _fixed_widths(table, [left_width, right_width])
    # Narrow padding, so that the issuing body and the national motto fit one line each.
    _cell_margins(table, 0.1)
    left, right = table.rows[0].cells
    line(left, "{{ parent_authority }}", CENTERED, size=13, first=True)
    line(left, "{{ issuer_upper }}", CENTERED, size=13, bold=True)
    rule(left, RULE_THIRD, 2.2, left_width)
    number = line(left, "{{ number_line }}", CENTERED, size=13)
    number.paragraph_format.space_before = Pt(6)

    line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", CENTERED, size=12, bold=True, first=True)
    line(right, "Độc lập - Tự do - Hạnh phúc", CENTERED, size=13, bold=True)
    rule(right, RULE_FULL, 6.0, right_width)
    place = line(right, "{{ date_line }}", CENTERED, size=14, italic=True)
    place.paragraph_format.space_before = Pt(6)


def _title(document: DocxDocument) -> None:
    title = line(document, "BÁO CÁO", CENTERED, size=14, bold=True)
    title.paragraph_format.space_before = Pt(18)
    line(document, "{{ subject }}", CENTERED, size=14, bold=True)
    rule(document, RULE_THIRD, 5.0, TEXT_WIDTH_CM)
    document.paragraphs[-1].paragraph_format.space_after = Pt(12)


def _cell_text(cell: _Cell, text: str, *, bold: bool = False, size: float | None = None) -> None:
    line(cell, text, CELL, bold=bold, size=size, first=True)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _cell_margins(table: Table, margin_cm: float) -> None:
    """Narrow the left and right padding of every cell, so short headers fit in narrow columns."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(round(margin_cm / 2.54 * 1440)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    insert_ordered(table._tbl.tblPr, margins, TBLPR_ORDER)


def _ranking_table(document: DocxDocument) -> None:
    """The table of every department: two header rows, one row a department, the total row."""
    table = document.add_table(rows=6, cols=len(COLUMNS))
    _table_borders(table, "single")
    _cell_margins(table, CELL_MARGIN_CM)
    _fixed_widths(table, [width for _, _, _, width in COLUMNS])
    group_row, header_row, loop_start, row, loop_end, total = table.rows
    for table_row in table.rows:
        # No row splits across a page (CT_TrPr's children are a choice: any order is valid).
        table_row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for header in (group_row, header_row):
        # The header rows repeat at the top of every page the table runs over.
        header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    index = 0
    while index < len(COLUMNS):
        group, label, _, _ = COLUMNS[index]
        if group is None:
            merged = group_row.cells[index].merge(header_row.cells[index])
            _cell_text(merged, label, bold=True, size=10.5)
            index += 1
            continue
        span = sum(1 for column in COLUMNS[index:] if column[0] == group)
        _cell_text(
            group_row.cells[index].merge(group_row.cells[index + span - 1]),
            group,
            bold=True,
            size=10.5,
        )
        for offset in range(span):
            _cell_text(
                header_row.cells[index + offset], COLUMNS[index + offset][1], bold=True, size=10.5
            )
        index += span
    _cell_text(loop_start.cells[0], "{%tr for row in rows %}")
    _cell_text(loop_end.cells[0], "{%tr endfor %}")
    for cell, (_, _, key, _) in zip(row.cells, COLUMNS, strict=True):
        _cell_text(cell, f"{{{{ row.{key} }}}}")
    row.cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
    for cell, (_, _, key, _) in zip(total.cells, COLUMNS, strict=True):
        _cell_text(cell, f"{{{{ total.{key} }}}}", bold=True)


def _body(document: DocxDocument) -> None:
    line(document, "{{ intro }}", "Normal")
    line(document, "1. Kết quả tiếp nhận, giải quyết TTHC của các cơ quan, đơn vị", HEADING)
    _ranking_table(document)
    line(document, "{{ ranking_note }}", NOTE).paragraph_format.space_before = Pt(6)
    line(document, "{{ attachment_note }}", "Normal")
    line(document, "2. Đánh giá chung", HEADING)
    line(document, "{%p for item in findings %}", "Normal")
    line(document, "{{ item }}", "Normal")
    line(document, "{%p endfor %}", "Normal")
    # The closing line, the spacer and the signature table stay together on one page.
    line(document, "{{ closing }}", "Normal").paragraph_format.keep_with_next = True


def _signature(document: DocxDocument) -> None:
    """The two-column block at the bottom: recipients, and the signer."""
    spacer = line(document, "", "Normal")
    spacer.paragraph_format.space_after = Pt(0)
    spacer.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=2)
    _table_borders(table, "nil")
    _fixed_widths(table, [7.0, 9.0])
    # The row never splits: Nơi nhận and the signature print on one page.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = table.rows[0].cells
    line(left, "Nơi nhận:", RECIPIENTS, size=12, bold=True, italic=True, first=True)
    line(left, "{%p for item in noi_nhan %}", RECIPIENTS)
    line(left, "{{ item }}", RECIPIENTS, size=11)
    line(left, "{%p endfor %}", RECIPIENTS)

    line(right, "{%p if signer_authority %}", CENTERED, first=True)
    line(right, "{{ signer_authority }}", CENTERED, size=14, bold=True)
    line(right, "{%p endif %}", CENTERED)
    line(right, "{{ signer_title }}", CENTERED, size=14, bold=True)
    for _ in range(4):  # room for the signature and the seal
        line(right, "", CENTERED)
    line(right, "{{ signer_name }}", CENTERED, size=14, bold=True)


def build(output: Path = OUTPUT) -> Path:
    """Write the Centre's summary template to `output` and return its path."""
    document = Document()
    _document_defaults(document)
    _styles(document)
    page(document, CENTERED)
    _masthead(document)
    _title(document)
    _body(document)
    _signature(document)
    document.core_properties.title = "Báo cáo tổng hợp kết quả tiếp nhận, giải quyết TTHC"
    document.core_properties.author = "tthc-report"
    document.core_properties.comments = ""
    drop_styles_with_effects(document)
    # python-docx's default template brings 172 styles; LibreOffice reads each for every PDF.
    drop_unused_styles(document)
    output.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(output))
    return output


if __name__ == "__main__":
    print(build())
