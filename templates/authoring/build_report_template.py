"""Write templates/report.docx once, with python-docx (a one-time authoring script).

The template is the source of truth for the layout: after this script has produced it, edit
it in Word (fonts, spacing, wording of the fixed text) and keep the docxtpl tags intact. Run
this script again only to start over; it overwrites templates/report.docx.

    .venv/bin/python templates/authoring/build_report_template.py

Layout: Decree 30/2020/NĐ-CP, Annex I, and docs/report-format.md. A4 portrait, margins top 2 cm,
bottom 2 cm, left 3 cm, right 2 cm; Times New Roman 14 pt, justified, first-line indent
1.27 cm, 6 pt after, single line spacing; page numbers centred in the header from page 2 on.

Tags the template uses (filled by tasks.report_document.build_report_context):
parent_authority, department_name_upper, number_line, date_line, subject, legal_basis (RichText),
results_intro, result_lines, postal_line, data_quality_lines, national_index_lines, strengths,
weaknesses,
next_tasks (lists of RichText), next_period_word, proposals (RichText), chart_resolution,
resolution_caption, chart_trend, trend_caption, closing, noi_nhan, signer_authority,
signer_title, signer_name.

Page breaks: headings, sub-headings ("- Ưu điểm:") and lead-in lines keep with the paragraph
after them, every paragraph has widow/orphan control, and the closing line, Nơi nhận and the
signature stay on one page (the signature row cannot split). The charts are an appendix
("PHỤ LỤC") on a page of their own after the signature: inside section 3 they pushed the
closing line and the signature onto a page of their own, and after "(Gửi kèm theo biểu mẫu
số liệu báo cáo)" they would cut section 1 from "Đánh giá chung"; the signed text stays one
reading, and each chart keeps its caption.

Rules ("Đường kẻ 1/3", "Đường kẻ bằng dòng chữ" styles) and the masthead's column widths are
sized from the filled text at render time (tasks.documents.layout); the values here are the
layout of the seed's department. Every element is written in the order the ECMA-376 schema
gives (_insert_ordered): Word refuses or "repairs" a document whose w:pPr or w:tblPr children
are out of order.
"""

from __future__ import annotations

from pathlib import Path

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table
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

OUTPUT = Path(__file__).resolve().parents[1] / "report.docx"

CENTERED = "Báo cáo - Căn giữa"
HEADING = "Báo cáo - Đề mục"
RECIPIENTS = "Báo cáo - Nơi nhận"
CHART = "Báo cáo - Biểu đồ"
CAPTION = "Báo cáo - Chú thích biểu đồ"
SUBHEADING = "Báo cáo - Tiểu mục"


def _document_defaults(document: Document) -> None:
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
    document: Document, name: str, *, centered: bool, size: float, space_after: float
) -> ParagraphStyle:
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(style, ParagraphStyle)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    style.font.size = Pt(size)
    form = style.paragraph_format
    form.alignment = WD_ALIGN_PARAGRAPH.CENTER if centered else WD_ALIGN_PARAGRAPH.LEFT
    form.first_line_indent = Cm(0)
    form.space_after = Pt(space_after)
    return style


def _styles(document: Document) -> None:
    _paragraph_style(document, CENTERED, centered=True, size=14, space_after=0)
    _paragraph_style(document, RECIPIENTS, centered=False, size=11, space_after=0)
    # A chart keeps with its caption; the caption ends the pair.
    _paragraph_style(
        document, CHART, centered=True, size=12, space_after=0
    ).paragraph_format.keep_with_next = True
    _paragraph_style(document, CAPTION, centered=True, size=12, space_after=12)
    subheading = _paragraph_style(document, SUBHEADING, centered=False, size=14, space_after=6)
    subheading.font.italic = True
    subheading.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    subheading.paragraph_format.first_line_indent = Cm(1.27)
    subheading.paragraph_format.keep_with_next = True
    for name in (RULE_THIRD, RULE_FULL):
        _rule_style(document, name)
    heading = document.styles.add_style(HEADING, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(heading, ParagraphStyle)
    heading.base_style = document.styles["Normal"]
    heading.quick_style = True
    heading.font.bold = True
    heading.paragraph_format.keep_with_next = True


def _rule_style(document: Document, name: str) -> None:
    """A paragraph style drawn as a short rule: an empty line 2 pt high with a bottom border."""
    style = _paragraph_style(document, name, centered=True, size=2, space_after=0)
    style.paragraph_format.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "6")
    bottom.set(qn("w:space"), "1")
    bottom.set(qn("w:color"), "000000")
    borders.append(bottom)
    insert_ordered(style.element.get_or_add_pPr(), borders, PPR_ORDER)


def _borderless(table: Table, widths_cm: list[float]) -> None:
    """Remove every border of `table` and fix its column widths."""
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    insert_ordered(properties, borders, TBLPR_ORDER)
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _masthead(document: Document) -> None:
    """The two-column block at the top: issuing body and number, national motto and date."""
    left_width, right_width = 6.5, 9.5
    table = document.add_table(rows=1, cols=2)
    _borderless(table, [left_width, right_width])
    # Narrow padding (0.1 cm), so that the issuing body and the national motto fit one line each.
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), "57")
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    insert_ordered(table._tbl.tblPr, margins, TBLPR_ORDER)
    left, right = table.rows[0].cells
    line(left, "{{ parent_authority }}", CENTERED, size=13, first=True)
    line(left, "{{ department_name_upper }}", CENTERED, size=13, bold=True)
    rule(left, RULE_THIRD, 2.2, left_width)
    number = line(left, "{{ number_line }}", CENTERED, size=13)
    number.paragraph_format.space_before = Pt(6)

    line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", CENTERED, size=12, bold=True, first=True)
    line(right, "Độc lập - Tự do - Hạnh phúc", CENTERED, size=13, bold=True)
    rule(right, RULE_FULL, 6.0, right_width)
    place = line(right, "{{ date_line }}", CENTERED, size=14, italic=True)
    place.paragraph_format.space_before = Pt(6)


def _title(document: Document) -> None:
    title = line(document, "BÁO CÁO", CENTERED, size=14, bold=True)
    title.paragraph_format.space_before = Pt(18)
    line(document, "{{ subject }}", CENTERED, size=14, bold=True)
    rule(document, RULE_THIRD, 5.0, TEXT_WIDTH_CM)
    document.paragraphs[-1].paragraph_format.space_after = Pt(12)


def _loop(document: Document, items: str, tag: str, style: str = "Normal") -> None:
    """Add one paragraph per item of the list `items`."""
    line(document, f"{{%p for item in {items} %}}", style)
    line(document, tag, style)
    line(document, "{%p endfor %}", style)


def _body(document: Document) -> None:
    line(document, "{{r legal_basis }}", "Normal")
    line(document, "1. Kết quả", HEADING)
    line(document, "{{ results_intro }}", "Normal").paragraph_format.keep_with_next = True
    _loop(document, "result_lines", "{{ item }}")
    line(document, "{{ postal_line }}", "Normal")
    line(document, "(Gửi kèm theo biểu mẫu số liệu báo cáo)", "Normal")
    line(document, "{%p if data_quality_lines %}", "Normal")
    line(document, "Ghi chú về số liệu:", SUBHEADING)
    _loop(document, "data_quality_lines", "{{ item }}")
    line(document, "{%p endif %}", "Normal")
    # The department's standing in the national index (Bộ chỉ số 766); no paragraph without one.
    _loop(document, "national_index_lines", "{{ item }}")

    line(document, "* Đánh giá chung:", HEADING)
    line(document, "- Ưu điểm:", SUBHEADING)
    _loop(document, "strengths", "{{r item }}")
    line(document, "- Tồn tại hạn chế:", SUBHEADING)
    _loop(document, "weaknesses", "{{r item }}")

    heading = line(document, "2. Nhiệm vụ trọng tâm trong ", HEADING)
    heading.add_run("{{ next_period_word }}")
    heading.add_run(" tới")
    _loop(document, "next_tasks", "{{r item }}")
    proposals = line(document, "3. Kiến nghị, đề xuất: ", HEADING)
    proposals.add_run("{{r proposals }}")

    # The closing line, the spacer and the signature table stay together on one page.
    line(document, "{{ closing }}", "Normal").paragraph_format.keep_with_next = True


def _appendix(document: Document) -> None:
    """The charts, on a page of their own after the signature, each above its caption."""
    line(document, "{%p if chart_resolution or chart_trend %}", CENTERED)
    title = line(document, "PHỤ LỤC", CENTERED, size=14, bold=True)
    title.paragraph_format.page_break_before = True
    title.paragraph_format.keep_with_next = True
    lead = line(document, "Biểu đồ kèm theo Báo cáo {{ period_label }}", CENTERED, italic=True)
    lead.paragraph_format.space_after = Pt(12)
    lead.paragraph_format.keep_with_next = True
    for chart in ("resolution", "trend"):
        line(document, f"{{%p if chart_{chart} %}}", CHART)
        line(document, f"{{{{ chart_{chart} }}}}", CHART)
        line(document, f"{{{{ {chart}_caption }}}}", CAPTION, italic=True)
        line(document, "{%p endif %}", CHART)
    line(document, "{%p endif %}", CENTERED)


def _signature(document: Document) -> None:
    """The two-column block at the bottom: recipients, and the signer."""
    spacer = line(document, "", "Normal")
    spacer.paragraph_format.space_after = Pt(0)
    spacer.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=2)
    _borderless(table, [7.0, 9.0])
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
    """Write the report template to `output` and return its path."""
    document = docx.Document()
    _document_defaults(document)
    _styles(document)
    page(document, CENTERED)
    _masthead(document)
    _title(document)
    _body(document)
    _signature(document)
    _appendix(document)
    # Replaced at render time (title = subject, author = the department, dates = render time).
    document.core_properties.title = "Báo cáo kết quả tiếp nhận, giải quyết TTHC"
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
