"""The rendered report: the seed's sentences word for word, the layout, escaping, safe writing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table

from tasks.documents.report_document import (
    CHART_WIDTH_CM,
    ReportTemplateError,
    build_charts,
    build_report_context,
    number_line,
    render_report,
    report_path,
)
from tasks.figures.engine import (
    FIGURE_KEYS,
    DataQuality,
    FiguresReport,
    Reconciliation,
    compute_rates,
)
from tasks.figures.periods import Period
from tasks.settings.models import Department, DepartmentTexts, Settings, Signer

TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "report.docx"
MAY = Period.month(2024, 5)

SEED_STRENGTH = (
    "Hướng dẫn các tổ chức, cá nhân thanh toán phí và lệ phí giải quyết các thủ tục hành chính "
    "qua công dịch vụ công quốc gia và thanh toán lệ phí và lệ phí bằng hình thức chuyển khoản "
    "từ kho bạc nhà nước (*thanh toán trực tuyến qua công dịch vụ công chưa hỗ trợ thanh toán "
    "bằng tài khoản kho bạc*)."
)
SEED_WEAKNESS = (
    "Tiếp nhận và trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích vẫn "
    "chưa được cao (*Hiện nay 100% hồ sơ nộp trực tuyến, cán bộ tại bộ phận một cửa đã hướng "
    "dẫn việc nhận và kết quả qua dịch vụ bưu chính công ích. Tuy nhiên việc lựa chọn do tổ "
    "chức cá nhân do vậy tỷ lệ này phụ thuộc rất nhiều*)."
)
SEED_LEGAL_BASIS = (
    "Thực hiện Nghị định số 61/2018/NĐ-CP ngày 23/4/2018 của Chính phủ về thực hiện cơ chế một "
    "cửa, một cửa liên thông; Công văn số 293/VP-TTPVHCC ngày 12/8/2020 của Văn phòng UBND tỉnh "
    "về thực hiện chế độ báo cáo kết quả giải quyết TTHC tại Trung tâm Phục vụ hành chính công "
    "tỉnh."
)
SEED_NEXT_TASKS = [
    "Tiếp tục tuyên truyền, vận động và hướng dẫn cá nhân, tổ chức thực hiện TTHC qua dịch vụ "
    "công mức độ 3,4. Gửi hồ sơ và nhận kết quả qua dịch vụ Bưu chính công ích với tỉ lệ cao.",
    "Tiếp tục duy trì và phát huy kết quả đã đạt được trong {period}, lấy sự hài lòng của tổ "
    "chức, công dân là thước đo chất lượng và hiệu quả phục vụ cán bộ công chức thực hiện một "
    "cửa của cơ quan, đơn vị.",
]

# Every sentence and bullet line of the seed's "1. Kết quả", and the computed part of the
# evaluation, as the seed prints them (asterisks of italics removed).
SEED_LINES = [
    "Thực hiện Nghị định số 61/2018/NĐ-CP ngày 23/4/2018 của Chính phủ về thực hiện cơ chế một "
    "cửa, một cửa liên thông; Công văn số 293/VP-TTPVHCC ngày 12/8/2020 của Văn phòng UBND tỉnh "
    "về thực hiện chế độ báo cáo kết quả giải quyết TTHC tại Trung tâm Phục vụ hành chính công "
    "tỉnh. Sở Khoa học và Công nghệ báo cáo kết quả tháng 5/2024 như sau:",
    "1. Kết quả",
    "Trong tháng 5/2024, Sở Khoa học và Công nghệ đã tiếp nhận tổng số 63 hồ sơ, trong đó:",
    "- Kỳ trước là 03 hồ sơ, trong kỳ là 60 hồ sơ;",
    "- Đã trả kết quả 54 hồ sơ, trong đó hồ sơ giải quyết trước hạn là 49 hồ sơ, đúng hạn là "
    "05, quá hạn là 0 hồ sơ;",
    "- Hồ sơ đang giải quyết là 05, trong đó: chưa đến hạn là 05 hồ sơ, quá hạn là 0 hồ sơ;",
    "- Hồ sơ yêu cầu bổ sung là 0 hồ sơ;",
    "- Hồ sơ trả lại cho tổ chức, cá nhân là 0;",
    "- Hồ sơ liên thông phát sinh trong kỳ là 0 hồ sơ;",
    "- Tổng số hồ sơ giải quyết mức độ 3,4 là 60 hồ sơ (đạt tỷ lệ là 100%).",
    "- Hồ sơ gửi liên thông Văn phòng UBND tỉnh trong kỳ là 0 hồ sơ, kết quả trước hạn 0 hồ sơ, "
    "đúng hạn 0 hồ sơ, quá hạn: 0 hồ sơ; hồ sơ đang giải quyết liên thông là 0 hồ sơ, chưa "
    "đến hạn là 0 hồ sơ, quá hạn là 0 hồ sơ.",
    "Tổng số hồ sơ trả qua Bưu điện theo Quyết định số 45/2016/QĐ-TTg ngày 19/10/2016 của "
    "Chính phủ về việc tiếp nhận hồ sơ, trả kết quả giải quyết thủ tục hành chính qua dịch vụ "
    "Bưu chính công ích là 40 hồ sơ (đạt 66,7%).",
    "(Gửi kèm theo biểu mẫu số liệu báo cáo)",
    "* Đánh giá chung:",
    "- Ưu điểm:",
    "Số hồ sơ giải quyết trước hạn là 49/54 hồ sơ chiếm 90,7%, trong kỳ không có hồ sơ nào "
    "chậm, muộn.",
    "Số lượng hồ sơ trực tuyến mức độ 3,4 trong tháng phát sinh tỷ lệ cao 100% hồ sơ nộp trực "
    "tuyến.",
    SEED_STRENGTH.replace("*", ""),
    "Tiếp nhận và trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích "
    "trong kỳ đạt tỷ lệ 66,7% đã tăng hơn so với tháng trước (tháng 4 là 28%).",
    "- Tồn tại hạn chế:",
    SEED_WEAKNESS.replace("*", ""),
    "2. Nhiệm vụ trọng tâm trong tháng tới",
    SEED_NEXT_TASKS[0],
    SEED_NEXT_TASKS[1].replace("{period}", "tháng 5/2024"),
    "3. Kiến nghị, đề xuất: Không",
    "Trên đây báo cáo kết quả tiếp nhận, giải quyết TTHC tại Trung tâm Phục vụ hành chính công "
    "tỉnh tháng 5/2024 của Sở Khoa học và Công nghệ./.",
]


def tiny_png() -> bytes:
    """Return a valid 2x1 PNG, enough for python-docx to read its size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def seed_report() -> FiguresReport:
    counts = dict.fromkeys(FIGURE_KEYS, 0)
    counts.update(
        carried_over=3,
        received_new=60,
        received_total=63,
        received_online=60,
        resolved=54,
        resolved_early=49,
        resolved_on_time=5,
        in_progress=5,
        in_progress_not_due=5,
        withdrawn=4,
        online_l34=60,
        postal_return=40,
        digitised=60,
    )
    quality = DataQuality(withdrawn=4, reconciliation=Reconciliation(63, 54, 0, 4, 5))
    return FiguresReport("000.00.15.H99", MAY, counts, compute_rates(counts), [], quality)


def department(name: str = "Sở Khoa học và Công nghệ") -> Department:
    return Department(
        key="SKHCN",
        agency_code="000.00.15.H99",
        name=name,
        parent_authority="UBND tỉnh Demo",
        document_symbol="BC-SKHCN",
        signer=Signer(authority="KT. GIÁM ĐỐC", title="PHÓ GIÁM ĐỐC", name="Triệu Ngọc Trung"),
    )


def seed_texts(**changes: Any) -> DepartmentTexts:
    values: dict[str, Any] = {
        "legal_basis": SEED_LEGAL_BASIS,
        "strengths": [SEED_STRENGTH],
        "weaknesses": [SEED_WEAKNESS],
        "next_tasks": SEED_NEXT_TASKS,
        "proposals": "Không",
    }
    values.update(changes)
    return DepartmentTexts(**values)


NOI_NHAN = [
    "Trung tâm Phục vụ hành chính công",
    "Lãnh đạo Sở",
    "Các phòng, đơn vị trực thuộc Sở",
    "Lưu: VT, VP",
]


def seed_context(
    dept: Department | None = None, texts: DepartmentTexts | None = None
) -> dict[str, Any]:
    return build_report_context(
        department=dept or department(),
        texts=texts or seed_texts(),
        noi_nhan=NOI_NHAN,
        report=seed_report(),
        previous_rates={"postal_rate": 0.28},
        period=MAY,
        trend_points=[(month, {"postal_rate": 0.28}) for month in MAY.trailing_months(12)],
        settings=Settings(place="Demo"),
    )


CHARTS = {"resolution": tiny_png(), "trend": tiny_png()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Document:
    out = report_path(tmp_path_factory.mktemp("out"), "SKHCN", MAY)
    render_report(TEMPLATE, seed_context(), CHARTS, out)
    return docx.Document(str(out))


def all_text(document: Document) -> list[str]:
    """Return the text of every body paragraph and every table cell's paragraph."""
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for cell in table._cells:
            lines.extend(p.text for p in cell.paragraphs)
    return lines


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", SEED_LINES)
def test_report_holds_the_seed_line_word_for_word(rendered: Document, line: str) -> None:
    assert line in all_text(rendered)


def test_report_follows_the_seed_order(rendered: Document) -> None:
    body = [p.text for p in rendered.paragraphs]
    positions = [body.index(line) for line in SEED_LINES]
    assert positions == sorted(positions)


def test_data_quality_note_follows_the_attachment_line(rendered: Document) -> None:
    body = [p.text for p in rendered.paragraphs]
    start = body.index("(Gửi kèm theo biểu mẫu số liệu báo cáo)")
    assert body[start + 1 : start + 3] == [
        "Ghi chú về số liệu:",
        "- 04 hồ sơ do tổ chức, cá nhân xin rút (chưa thể hiện trong các mục trên).",
    ]


def test_comparison_and_department_remarks_are_in_real_italics(rendered: Document) -> None:
    italic = [run.text for p in rendered.paragraphs for run in p.runs if run.italic]
    assert "tháng 4 là 28%" in italic
    assert (
        "thanh toán trực tuyến qua công dịch vụ công chưa hỗ trợ thanh toán bằng tài khoản kho bạc"
        in italic
    )
    assert not any("*" in line for line in all_text(rendered) if line != "* Đánh giá chung:")


def test_masthead_and_title(rendered: Document) -> None:
    left, right = (cell.text.split("\n") for cell in rendered.tables[0].rows[0].cells)
    assert left == ["UBND TỈNH DEMO", "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "", "Số: ..../BC-SKHCN"]
    assert right == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "",
        "Demo, ngày ... tháng ... năm 2024",
    ]
    body = [p.text for p in rendered.paragraphs]
    # The subject is broken where the seed breaks it.
    assert body[:2] == [
        "BÁO CÁO",
        "Kết quả tiếp nhận, giải quyết TTHC\ntại Trung tâm Phục vụ hành chính công tỉnh tháng 5/2024",
    ]


def test_recipients_and_signature(rendered: Document) -> None:
    left, right = rendered.tables[1].rows[0].cells
    assert [p.text for p in left.paragraphs] == [
        "Nơi nhận:",
        "- Trung tâm Phục vụ hành chính công;",
        "- Lãnh đạo Sở;",
        "- Các phòng, đơn vị trực thuộc Sở;",
        "- Lưu: VT, VP.",
    ]
    signature = [p.text for p in right.paragraphs if p.text]
    assert signature == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Triệu Ngọc Trung"]
    # room to sign between the title and the name
    texts = [p.text for p in right.paragraphs]
    assert texts.index("Triệu Ngọc Trung") - texts.index("PHÓ GIÁM ĐỐC") >= 4


def test_signer_without_authority_prints_no_empty_line(tmp_path: Path) -> None:
    dept = department().model_copy(update={"signer": Signer(title="Giám đốc", name="Nguyễn Văn A")})
    out = render_report(TEMPLATE, seed_context(dept), {}, tmp_path / "r.docx")
    right = docx.Document(str(out)).tables[1].rows[0].cells[1]
    assert right.paragraphs[0].text == "GIÁM ĐỐC"


# --- layout ----------------------------------------------------------------------------------


def test_page_is_a4_portrait_with_decree_margins(rendered: Document) -> None:
    section = rendered.sections[0]

    def cm(length: Any) -> float:
        return round(length.cm, 2)  # Word stores twips: 2 cm is 1134 twips, 2.0003 cm

    assert (cm(section.page_width), cm(section.page_height)) == (21.0, 29.7)
    assert cm(section.top_margin) == 2.0
    assert cm(section.bottom_margin) == 2.0
    assert cm(section.left_margin) == 3.0
    assert 1.5 <= cm(section.right_margin) <= 2.0


def test_body_is_times_new_roman_14_justified_with_indent(rendered: Document) -> None:
    normal = rendered.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert normal.font.size == Pt(14)
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "Times New Roman"
    form = normal.paragraph_format
    assert form.first_line_indent == Cm(1.27)
    assert form.space_after == Pt(6)
    assert form.alignment is not None and form.alignment.name == "JUSTIFY"


def run_of(table: Table, column: int, text: str) -> Any:
    for paragraph in table.rows[0].cells[column].paragraphs:
        if paragraph.text == text:
            return paragraph.runs[0]
    raise AssertionError(f"{text!r} not in column {column}")


@pytest.mark.parametrize(
    ("column", "text", "size", "bold", "italic"),
    [
        (0, "UBND TỈNH DEMO", 13, None, None),
        (0, "SỞ KHOA HỌC VÀ CÔNG NGHỆ", 13, True, None),
        (0, "Số: ..../BC-SKHCN", 13, None, None),
        (1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, True, None),
        (1, "Độc lập - Tự do - Hạnh phúc", 13, True, None),
        (1, "Demo, ngày ... tháng ... năm 2024", 14, None, True),
    ],
)
def test_masthead_fonts(
    rendered: Document, column: int, text: str, size: int, bold: bool | None, italic: bool | None
) -> None:
    run = run_of(rendered.tables[0], column, text)
    assert run.font.size == Pt(size)
    assert run.bold is bold
    assert run.italic is italic


@pytest.mark.parametrize(
    ("text", "size", "bold", "italic"),
    [
        ("Nơi nhận:", 12, True, True),
        ("- Lãnh đạo Sở;", 11, None, None),
    ],
)
def test_recipient_fonts(
    rendered: Document, text: str, size: int, bold: bool | None, italic: bool | None
) -> None:
    run = run_of(rendered.tables[1], 0, text)
    assert run.font.size == Pt(size)
    assert (run.bold, run.italic) == (bold, italic)


@pytest.mark.parametrize("text", ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Triệu Ngọc Trung"])
def test_signature_lines_are_bold(rendered: Document, text: str) -> None:
    assert run_of(rendered.tables[1], 1, text).bold is True


@pytest.mark.parametrize("text", ["BÁO CÁO", "1. Kết quả", "* Đánh giá chung:"])
def test_headings_are_bold(rendered: Document, text: str) -> None:
    paragraph = next(p for p in rendered.paragraphs if p.text == text)
    assert paragraph.runs[0].bold or (paragraph.style is not None and paragraph.style.font.bold)


@pytest.mark.parametrize("index", [0, 1])
def test_masthead_and_signature_tables_have_two_columns_and_no_borders(
    rendered: Document, index: int
) -> None:
    table = rendered.tables[index]
    assert len(table.columns) == 2
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None
    assert {edge.get(qn("w:val")) for edge in borders} == {"nil"}


def test_both_charts_are_inline_images_of_the_text_width(rendered: Document) -> None:
    assert len(rendered.inline_shapes) == 2
    assert {shape.width for shape in rendered.inline_shapes} == {Cm(CHART_WIDTH_CM)}
    body = [p.text for p in rendered.paragraphs]
    assert "Biểu đồ 1. Kết quả giải quyết hồ sơ tháng 5/2024" in body
    assert "Biểu đồ 2. Diễn biến các tỷ lệ chính từ tháng 6/2023 đến tháng 5/2024" in body


def test_page_numbers_in_the_header_from_page_two(rendered: Document) -> None:
    section = rendered.sections[0]
    assert section.different_first_page_header_footer
    instructions = section.header._element.xpath(".//w:instrText")
    assert [i.text.strip() for i in instructions] == ["PAGE"]
    assert section.header.paragraphs[0].alignment is None or (
        section.header.paragraphs[0].alignment.name == "CENTER"
    )
    assert section.header.paragraphs[0].style.paragraph_format.alignment.name == "CENTER"
    assert not section.first_page_header._element.xpath(".//w:instrText")
    assert not section.first_page_header._element.xpath(".//w:fldSimple")


def test_without_charts_their_paragraphs_are_left_out(tmp_path: Path) -> None:
    out = render_report(TEMPLATE, seed_context(), {}, tmp_path / "r.docx")
    document = docx.Document(str(out))
    assert len(document.inline_shapes) == 0
    assert not any(p.text.startswith("Biểu đồ") for p in document.paragraphs)


# --- escaping --------------------------------------------------------------------------------

NASTY = "<b>&{{ x }}"


def test_values_print_as_themselves(tmp_path: Path) -> None:
    texts = seed_texts(
        strengths=[f"Ưu điểm {NASTY} (*{NASTY}*)"],
        weaknesses=[NASTY],
        next_tasks=[f"{NASTY} {{% if %}}"],
        proposals=NASTY,
    )
    context = seed_context(department(f"Sở {NASTY}"), texts)
    out = render_report(TEMPLATE, context, {}, tmp_path / "r.docx")
    lines = all_text(docx.Document(str(out)))
    assert f"Ưu điểm {NASTY} ({NASTY})" in lines
    assert NASTY in lines
    assert f"{NASTY} {{% if %}}" in lines
    assert f"3. Kiến nghị, đề xuất: {NASTY}" in lines
    assert f"SỞ {NASTY.upper()}" in lines
    assert any(f"tháng 5/2024 của Sở {NASTY}./." in line for line in lines)


# --- writing ---------------------------------------------------------------------------------


def test_report_path_follows_the_naming_rules(tmp_path: Path) -> None:
    assert report_path(tmp_path, "SKHCN", MAY) == (
        tmp_path / "reports" / "2024-05" / "Báo cáo TTHC 2024-05 SKHCN.docx"
    )


def test_render_replaces_an_old_report_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "r.docx"
    out.parent.mkdir()
    out.write_bytes(b"old")
    render_report(TEMPLATE, seed_context(), CHARTS, out)
    assert list(out.parent.iterdir()) == [out]
    assert "1. Kết quả" in all_text(docx.Document(str(out)))


def test_broken_template_names_itself_and_writes_nothing(tmp_path: Path) -> None:
    broken = docx.Document()
    broken.add_paragraph("{{ no_such_value }}")
    template = tmp_path / "broken.docx"
    broken.save(str(template))
    out = tmp_path / "out" / "r.docx"
    with pytest.raises(ReportTemplateError, match=r"broken\.docx.*no_such_value"):
        render_report(template, seed_context(), {}, out)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


# Each part of a template is compiled once and kept, keyed by its text: a template edited while
# the service runs must be rendered as edited, and the same one rendered twice the same way.
def test_a_template_edited_between_renders_is_rendered_as_edited(tmp_path: Path) -> None:
    def template_saying(words: str) -> Path:
        document = docx.Document()
        document.add_paragraph(f"{words} {{{{ department_name }}}}")
        path = tmp_path / f"{len(words)}.docx"
        document.save(str(path))
        return path

    texts = []
    for words in ("Kính gửi", "Đơn vị báo cáo:", "Kính gửi"):
        out = render_report(template_saying(words), seed_context(), {}, tmp_path / "r.docx")
        texts.append(all_text(docx.Document(str(out))))

    name = seed_context()["department_name"]
    assert [f"Kính gửi {name}"] == texts[0] == texts[2]
    assert texts[1] == [f"Đơn vị báo cáo: {name}"]


def test_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.docx"):
        render_report(tmp_path / "nowhere.docx", seed_context(), {}, tmp_path / "r.docx")


def test_unknown_chart_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pie"):
        render_report(TEMPLATE, seed_context(), {"pie": tiny_png()}, tmp_path / "r.docx")


def test_context_refuses_figures_of_another_period() -> None:
    with pytest.raises(ValueError, match=r"2024-05.*2024-06"):
        build_report_context(
            department(),
            seed_texts(),
            NOI_NHAN,
            seed_report(),
            None,
            Period.month(2024, 6),
            [],
            Settings(),
        )


@pytest.mark.parametrize(
    ("symbol", "line"),
    [
        ("BC-SKHCN", "Số: ..../BC-SKHCN"),
        ("SKHCN", "Số: ..../BC-SKHCN"),
        (" BC-STC ", "Số: ..../BC-STC"),
    ],
)
def test_number_line(symbol: str, line: str) -> None:
    assert number_line(symbol) == line


def test_real_charts_are_embedded(tmp_path: Path) -> None:
    rates: dict[str, float | None] = {"postal_rate": 0.5, "early_rate": 0.9}
    points = [(month, rates) for month in MAY.trailing_months(12)]
    charts = build_charts(seed_report().figures, points)
    assert set(charts) == {"resolution", "trend"}
    assert all(png.startswith(b"\x89PNG") for png in charts.values())
    out = render_report(TEMPLATE, seed_context(), charts, tmp_path / "r.docx")
    assert len(docx.Document(str(out)).inline_shapes) == 2


# --- styles ----------------------------------------------------------------------------------


def test_the_report_carries_the_styles_it_uses_and_no_other(rendered: Document) -> None:
    defined = {style.style_id for style in rendered.styles}
    body = rendered.element.body
    named = {str(v) for v in body.xpath(".//w:pStyle/@w:val | .//w:tblStyle/@w:val")}
    assert named <= defined, f"styles named but not defined: {sorted(named - defined)}"
    # python-docx's default template defined 172, which LibreOffice read for every PDF.
    assert len(defined) <= 25, sorted(defined)
    assert "LightShading-Accent1" not in defined


def test_a_style_added_to_the_template_and_unused_is_left_out(tmp_path: Path) -> None:
    # As after an edit in Word that defines a style no paragraph ends up using.
    template = docx.Document(str(TEMPLATE))
    template.styles.add_style("Kiểu thừa", WD_STYLE_TYPE.PARAGRAPH)
    edited = tmp_path / "report.docx"
    template.save(str(edited))
    out = render_report(edited, seed_context(), CHARTS, tmp_path / "out.docx")
    assert "Kiểu thừa" not in {style.name for style in docx.Document(str(out)).styles}
