"""Lines and rules sized from the text (tasks/documents/layout.py), and the page-break settings.

What LibreOffice makes of them is checked in tests/flows/test_page_layout.py; here, the
numbers and the settings in the .docx, which need no renderer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Length
from docx.table import Table
from docx.text.paragraph import Paragraph

from tasks.documents.centre_summary import render_centre_summary
from tasks.documents.layout import (
    RULE_FULL,
    RULE_THIRD,
    Measure,
    line_widths,
    text_width,
    two_lines,
)
from tasks.documents.report_document import render_report
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config
from tasks.settings.models import Settings, Signer
from tests.tasks.documents.test_centre_summary import ROWS
from tests.tasks.documents.test_centre_summary import TEMPLATE as SUMMARY_TEMPLATE
from tests.tasks.documents.test_report_document import (
    CHARTS,
    MAY,
    TEMPLATE,
    department,
    seed_context,
)

SUBJECT = (
    "Kết quả tiếp nhận, giải quyết TTHC tại Trung tâm Phục vụ hành chính công tỉnh tháng 5/2024"
)
DEMO_NAMES = [d.name for d in load_config(DEFAULT_CONFIG_DIR, {}).departments.departments]
TEXT_WIDTH = Cm(16)


# --- measuring --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size", "bold", "points"),
    [
        ("A", 14, False, 1479 / 2048 * 14),  # Times New Roman's "A": 1479 of 2048 units
        ("A", 14, True, 1479 / 2048 * 14),
        ("m", 10, False, 1593 / 2048 * 10),
        ("m", 10, True, 1706 / 2048 * 10),
        (" ", 12, False, 512 / 2048 * 12),
    ],
)
def test_text_width_is_times_new_roman(text: str, size: float, bold: bool, points: float) -> None:
    assert text_width(text, size, bold=bold) == pytest.approx(points)


def test_vietnamese_letters_are_measured_at_least_as_their_base() -> None:
    for letter, base in [("Ơ", "O"), ("ư", "u"), ("Ệ", "E"), ("ạ", "a"), ("Đ", "D")]:
        assert text_width(letter, 14) >= text_width(base, 14) * 0.95, letter
    assert text_width("SỞ KHOA HỌC VÀ CÔNG NGHỆ", 13, bold=True) > text_width("SO KHOA", 13)


@pytest.mark.parametrize(
    ("text", "size", "bold", "width_cm", "lines"),
    [
        ("SỞ TƯ PHÁP", 13, True, 6.5, ["SỞ TƯ PHÁP"]),
        (
            "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
            13,
            True,
            6.3,
            ["TRUNG TÂM PHỤC VỤ", "HÀNH CHÍNH CÔNG"],
        ),
        # The subject breaks where the seed breaks it, after "TTHC".
        (SUBJECT, 14, True, 16, [SUBJECT[:34], SUBJECT[35:]]),
        (
            "Tổng hợp kết quả tiếp nhận, giải quyết TTHC của các sở, ban, ngành tháng 5/2024",
            14,
            True,
            16,
            ["Tổng hợp kết quả tiếp nhận, giải quyết TTHC", "của các sở, ban, ngành tháng 5/2024"],
        ),
        ("Sở Tài nguyên và Môi trường", 11, False, 2.0, ["Sở Tài nguyên", "và Môi trường"]),
    ],
)
def test_two_lines(text: str, size: float, bold: bool, width_cm: float, lines: list[str]) -> None:
    fits = Cm(width_cm).pt
    assert two_lines(text, fits, Measure(size, bold, False)) == lines


# --- the report as rendered ------------------------------------------------------------------


def _render(tmp_path: Path, name: str = "Sở Khoa học và Công nghệ") -> Document:
    out = tmp_path / "r.docx"
    render_report(TEMPLATE, seed_context(department(name)), CHARTS, out)
    return docx.Document(str(out))


def _rules(paragraphs: list[Paragraph]) -> list[tuple[Paragraph, Paragraph]]:
    """Return (rule, the text above it) pairs."""
    pairs = []
    for index, paragraph in enumerate(paragraphs):
        if paragraph.style is not None and paragraph.style.name in (RULE_THIRD, RULE_FULL):
            above = next(p for p in reversed(paragraphs[:index]) if p.text.strip())
            pairs.append((paragraph, above))
    return pairs


def _rule_length(rule: Paragraph, space: Length) -> float:
    """Return a rule's length in points: its space less its indents."""
    form = rule.paragraph_format
    return (space - (form.left_indent or 0) - (form.right_indent or 0)) / 12700


def _padding(table: Table) -> int:
    margins = table._tbl.tblPr.find(qn("w:tblCellMar"))
    return sum(
        int(margins.find(qn(f"w:{edge}")).get(qn("w:w"))) * 635 for edge in ("left", "right")
    )


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_every_demo_department_name_is_one_masthead_line(tmp_path: Path, name: str) -> None:
    document = _render(tmp_path, name)
    masthead = document.tables[0]
    left, right = masthead.rows[0].cells
    assert name.upper() in [p.text for p in left.paragraphs]
    # The two columns run at most 1 cm past the text's 16 cm, half of it in each margin.
    assert left.width + right.width <= Cm(17)
    for cell in (left, right):
        space = cell.width - _padding(masthead)
        for paragraph in cell.paragraphs:
            assert max(line_widths(paragraph)) * 12700 <= space, paragraph.text


def test_rules_are_a_third_of_the_name_and_subject_and_the_whole_motto(tmp_path: Path) -> None:
    document = _render(tmp_path)
    masthead = document.tables[0]
    ratios = {}
    for cell in masthead.rows[0].cells:
        for rule, above in _rules(cell.paragraphs):
            length = _rule_length(rule, cell.width - _padding(masthead))
            ratios[above.text] = length / max(line_widths(above))
    for rule, above in _rules(document.paragraphs):
        ratios[above.text] = _rule_length(rule, TEXT_WIDTH) / max(line_widths(above))
    assert ratios == {
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ": pytest.approx(1 / 3, abs=0.02),
        "Độc lập - Tự do - Hạnh phúc": pytest.approx(1, abs=0.02),
        f"{SUBJECT[:34]}\n{SUBJECT[35:]}": pytest.approx(1 / 3, abs=0.02),
    }


def test_headings_lead_ins_and_charts_keep_with_the_next_paragraph(tmp_path: Path) -> None:
    document = _render(tmp_path)
    keeps = {
        p.text: bool(p.paragraph_format.keep_with_next or p.style.paragraph_format.keep_with_next)
        for p in document.paragraphs
        if p.style is not None
    }
    for text in (
        "1. Kết quả",
        "Trong tháng 5/2024, Sở Khoa học và Công nghệ đã tiếp nhận tổng số 63 hồ sơ, trong đó:",
        "Ghi chú về số liệu:",
        "* Đánh giá chung:",
        "- Ưu điểm:",
        "- Tồn tại hạn chế:",
        "2. Nhiệm vụ trọng tâm trong tháng tới",
        "PHỤ LỤC",
    ):
        assert keeps[text], text
    closing = next(p for p in document.paragraphs if p.text.startswith("Trên đây"))
    assert closing.paragraph_format.keep_with_next
    charts = [p for p in document.paragraphs if p._p.xpath(".//pic:pic")]
    assert len(charts) == 2
    assert all(p.style.paragraph_format.keep_with_next for p in charts)
    assert document.styles["Normal"].paragraph_format.widow_control


def test_the_signature_row_cannot_split_and_the_charts_follow_it(tmp_path: Path) -> None:
    document = _render(tmp_path)
    signature = document.tables[1]
    assert signature.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None
    body = list(document.element.body.iterchildren())
    appendix = next(p for p in document.paragraphs if p.text == "PHỤ LỤC")
    assert appendix.paragraph_format.page_break_before
    assert body.index(signature._tbl) < body.index(appendix._p)
    captions = [
        p.text for p in document.paragraphs if p.text.startswith(("Biểu đồ 1", "Biểu đồ 2"))
    ]
    assert len(captions) == 2
    after = [p.text for p in document.paragraphs][
        [p.text for p in document.paragraphs].index("PHỤ LỤC") :
    ]
    assert all(caption in after for caption in captions)


def test_without_charts_there_is_no_appendix(tmp_path: Path) -> None:
    out = render_report(TEMPLATE, seed_context(), {}, tmp_path / "r.docx")
    assert "PHỤ LỤC" not in [p.text for p in docx.Document(str(out)).paragraphs]


def test_core_properties_describe_the_report(tmp_path: Path) -> None:
    now = datetime(2024, 6, 3, 1, 2, 3, tzinfo=UTC)
    out = render_report(TEMPLATE, seed_context(), {}, tmp_path / "r.docx", now=now)
    properties = docx.Document(str(out)).core_properties
    assert properties.title == SUBJECT
    assert properties.author == "Sở Khoa học và Công nghệ"
    assert properties.last_modified_by == "Sở Khoa học và Công nghệ"
    assert properties.comments == ""
    assert properties.created == properties.modified == now.replace(tzinfo=None) or (
        properties.created == properties.modified == now
    )


# --- the Centre's summary --------------------------------------------------------------------


def test_the_summary_is_signed_by_the_configured_signer(tmp_path: Path) -> None:
    signer = Signer(authority="KT. Giám đốc", title="Phó Giám đốc", name="Lê Thị Minh")
    settings = Settings(centre_signer=signer)
    out = render_centre_summary(SUMMARY_TEMPLATE, ROWS, MAY, settings, tmp_path / "s.docx")
    right = docx.Document(str(out)).tables[-1].rows[0].cells[1]
    assert [p.text for p in right.paragraphs if p.text] == [
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Lê Thị Minh",
    ]


def test_the_demo_configuration_names_the_centre_signer() -> None:
    signer = load_config(DEFAULT_CONFIG_DIR, {}).settings.centre_signer
    assert signer.title == "Giám đốc"
    assert signer.name


def test_agency_names_never_break_inside_a_word(tmp_path: Path) -> None:
    out = render_centre_summary(SUMMARY_TEMPLATE, ROWS, MAY, Settings(), tmp_path / "s.docx")
    table = next(t for t in docx.Document(str(out)).tables if len(t.columns) > 2)
    widths = [cell.width for cell in table.rows[-1].cells]
    assert sum(widths) == pytest.approx(TEXT_WIDTH, rel=0.01)
    bold = Measure(11, True, False)  # the widest the cells' text is set
    for row in table.rows[2:]:
        for cell, width in zip(row.cells, widths, strict=True):
            space = (width - _padding(table)) / 12700
            assert all(bold(word) <= space for word in cell.text.split()), cell.text
        # A name takes at most two lines, each broken between words.
        name, space = row.cells[1].text, (widths[1] - _padding(table)) / 12700
        regular = Measure(11, False, False)
        assert all(regular(line) <= space for line in two_lines(name, space, regular)), name
