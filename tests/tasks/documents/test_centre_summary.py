"""Tests of tasks/documents/centre_summary.py: the Centre's ranked summary, read back from the .docx."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from docx import Document

from tasks.documents.centre_summary import (
    SummaryTemplateError,
    issuing_body,
    rank_departments,
    render_centre_summary,
    summary_context,
)
from tasks.figures.engine import FIGURE_KEYS, DataQuality, FiguresReport, compute_rates
from tasks.figures.periods import Period
from tasks.national_index.model import UnitScore
from tasks.national_index.standing import Standing
from tasks.settings.models import Settings, Signer

TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "centre_summary.docx"
MAY = Period.parse("2024-05")
SETTINGS = Settings()


def report(
    early: int,
    on_time: int,
    late: int,
    *,
    received: int | None = None,
    overdue: int = 0,
    online_l34: int = 0,
    postal: int = 0,
    period: Period = MAY,
) -> FiguresReport:
    figures = dict.fromkeys(FIGURE_KEYS, 0)
    resolved = early + on_time + late
    figures.update(
        resolved=resolved,
        resolved_early=early,
        resolved_on_time=on_time,
        resolved_late=late,
        in_progress=overdue,
        in_progress_overdue=overdue,
        received_new=received if received is not None else resolved + overdue,
        online_l34=online_l34,
        postal_return=postal,
    )
    figures["received_total"] = figures["received_new"]
    return FiguresReport("X", period, figures, compute_rates(figures), [], DataQuality())


SEED = report(49, 5, 0, received=63, online_l34=60, postal=40)  # received_new 63 here
ROWS = [
    ("Sở Tư pháp", report(8, 1, 1, overdue=2)),  # 90% on time or early, 80% early
    ("Sở Khoa học và Công nghệ", SEED),  # 100%, 90,7%
    ("Sở Xây dựng", report(0, 0, 0)),  # nothing resolved: unranked
    ("Sở Y tế", report(10, 0, 0)),  # 100%, 100%
    ("Sở Nội vụ", report(4, 0, 1)),  # 80%, 80%
    ("Sở Công Thương", report(9, 1, 1)),  # 90,9%, 81,8%
]


def ranking_table(path: Path) -> list[list[str]]:
    tables = Document(str(path)).tables
    table = next(t for t in tables if t.rows[0].cells[0].text == "Xếp hạng")
    return [[cell.text for cell in row.cells] for row in table.rows]


def all_text(path: Path) -> str:
    document = Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def test_ranking_by_on_time_rate_then_early_rate() -> None:
    ranked = rank_departments(ROWS)
    assert [(d.rank, d.name) for d in ranked] == [
        (1, "Sở Y tế"),
        (2, "Sở Khoa học và Công nghệ"),
        (3, "Sở Công Thương"),
        (4, "Sở Tư pháp"),
        (5, "Sở Nội vụ"),
        (None, "Sở Xây dựng"),
    ]


def test_equal_rates_share_a_rank_and_keep_their_order() -> None:
    rows = [
        ("A", report(1, 1, 0)),
        ("B", report(5, 0, 0)),
        ("C", report(2, 2, 0)),
        ("D", report(1, 0, 1)),
    ]
    assert [(d.rank, d.name) for d in rank_departments(rows)] == [
        (1, "B"),
        (2, "A"),
        (2, "C"),
        (4, "D"),
    ]


def test_summary_document_table_values_in_rank_order(tmp_path: Path) -> None:
    out = render_centre_summary(TEMPLATE, ROWS, MAY, SETTINGS, tmp_path / "summary.docx")
    groups, header, *rows, total = ranking_table(out)
    assert groups[:4] == ["Xếp hạng", "Cơ quan, đơn vị", "Số hồ sơ", "Số hồ sơ"]
    assert header == [
        "Xếp hạng",
        "Cơ quan, đơn vị",
        "Tiếp nhận",
        "Đã giải quyết",
        "Trước hạn",
        "Đúng hạn và trước hạn",
        "Trực tuyến mức độ 3, 4",
        "Trả kết quả qua BCCI",
        "Hồ sơ đang giải quyết quá hạn",
        "Bộ chỉ số 766: điểm (hạng)",
    ]
    assert rows[1] == [
        "2",
        "Sở Khoa học và Công nghệ",
        "63",
        "54",
        "90,7%",
        "100%",
        "95,2%",
        "63,5%",
        "0",
        "-",  # the national index is not given here
    ]
    # Counts in the table have one format, without the prose's leading zero ("02").
    assert rows[3] == ["4", "Sở Tư pháp", "12", "10", "80%", "90%", "0%", "0%", "2", "-"]
    assert rows[5] == ["-", "Sở Xây dựng", "0", "0", "không phát sinh", "không phát sinh",
                       "không phát sinh", "không phát sinh", "0", "-"]  # fmt: skip
    assert [row[1] for row in rows] == [d.name for d in rank_departments(ROWS)]
    # 63 + 12 + 0 + 10 + 5 + 11 received; 54 + 10 + 0 + 10 + 5 + 11 resolved.
    assert total[:4] == ["", "Tổng cộng", "101", "90"]
    assert total[4:6] == ["88,9%", "96,7%"]  # 80/90 early, 87/90 on time or early
    assert total[8] == "2"


def test_every_abbreviation_in_the_table_is_spelled_out(tmp_path: Path) -> None:
    out = render_centre_summary(TEMPLATE, ROWS, MAY, SETTINGS, tmp_path / "summary.docx")
    _, header, *_ = ranking_table(out)
    paragraphs = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "Trả kết quả qua BCCI" in header
    assert "BCCI: dịch vụ bưu chính công ích." in paragraphs


def test_the_766_column_and_its_ranking(tmp_path: Path) -> None:
    def standing(total: float) -> Standing:
        return Standing(UnitScore("id", "H99.01", "x", "AGENCY", total, 1))

    standings = {"Sở Tư pháp": standing(70.5), "Sở Khoa học và Công nghệ": standing(84.84)}
    out = render_centre_summary(
        TEMPLATE, ROWS, MAY, SETTINGS, tmp_path / "summary.docx", standings=standings
    )

    _, _, *rows, total = ranking_table(out)
    column = {row[1]: row[-1] for row in rows}
    assert column["Sở Khoa học và Công nghệ"] == "84,84 (1)"
    assert column["Sở Tư pháp"] == "70,5 (2)"
    assert column["Sở Xây dựng"] == "-"
    assert total[-1] == ""
    text = all_text(out)
    assert (
        "Xếp hạng theo Bộ chỉ số 766 tháng 5/2024: 1. Sở Khoa học và Công nghệ (84,84 điểm); "
        "2. Sở Tư pháp (70,5 điểm)." in text
    )
    assert "Cột Bộ chỉ số 766: điểm của cơ quan trên Cổng Dịch vụ công quốc gia" in text


def test_summary_document_header_block_title_and_layout(tmp_path: Path) -> None:
    out = render_centre_summary(
        TEMPLATE, ROWS, MAY, SETTINGS, tmp_path / "s.docx", issue_date=date(2024, 6, 5)
    )
    text = all_text(out)
    for expected in (
        "UBND TỈNH DEMO",
        # Longer than any department's name: two balanced lines.
        "TRUNG TÂM PHỤC VỤ\nHÀNH CHÍNH CÔNG\n",
        "Số: ..../BC-TTPVHCC",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Demo, ngày 05 tháng 6 năm 2024",
        "BÁO CÁO",
        "Tổng hợp kết quả tiếp nhận, giải quyết TTHC\ncủa các sở, ban, ngành tháng 5/2024",
        "(Gửi kèm theo biểu mẫu tổng hợp số liệu)",
        "Trên đây là báo cáo tổng hợp kết quả tiếp nhận, giải quyết TTHC của các sở, ban, ngành "
        "tháng 5/2024 của Trung tâm Phục vụ hành chính công tỉnh./.",
        "Nơi nhận:",
        "- Lưu: VT.",
        "GIÁM ĐỐC",
    ):
        assert expected in text
    section = Document(str(out)).sections[0]
    measures = [
        section.page_width,
        section.page_height,
        section.top_margin,
        section.bottom_margin,
        section.left_margin,
        section.right_margin,
    ]
    assert [round(m.cm, 2) for m in measures] == [21, 29.7, 2, 2, 3, 2]  # A4, Decree 30
    normal = Document(str(out)).styles["Normal"]
    assert normal.font.name == "Times New Roman"


def test_findings_name_late_and_overdue_departments(tmp_path: Path) -> None:
    out = render_centre_summary(TEMPLATE, ROWS, MAY, SETTINGS, tmp_path / "s.docx")
    text = all_text(out)
    assert (
        "Các cơ quan, đơn vị còn hồ sơ giải quyết quá hạn: Sở Công Thương (01 hồ sơ), "
        "Sở Tư pháp (01 hồ sơ), Sở Nội vụ (01 hồ sơ)."
    ) in text
    assert "Các cơ quan, đơn vị còn hồ sơ đang giải quyết quá hạn: Sở Tư pháp (02 hồ sơ)." in text
    assert "Có 2/5 cơ quan, đơn vị giải quyết 100% hồ sơ đúng hạn và trước hạn." in text
    assert "Không phát sinh hồ sơ giải quyết trong kỳ: Sở Xây dựng." in text


def test_values_are_escaped_and_print_as_themselves(tmp_path: Path) -> None:
    name = "Sở <Thử> & {{ nghiệm }} {% if %}"
    signer = Signer(authority="KT. Giám đốc", title="Phó Giám đốc", name="Nguyễn <B>")
    out = render_centre_summary(
        TEMPLATE,
        [(name, SEED)],
        MAY,
        Settings(centre_name="Trung tâm <&> tỉnh", province="Tỉnh {{ x }}"),
        tmp_path / "s.docx",
        noi_nhan=["Sở <A> & B;"],
        signer=signer,
    )
    assert ranking_table(out)[2][1] == name
    text = all_text(out)
    assert "UBND TỈNH {{ X }}" in text
    assert "TRUNG TÂM <&>" in text
    assert "- Sở <A> & B;" in text
    assert "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC" in text
    assert "Nguyễn <B>" in text


def test_figures_of_another_period_are_refused() -> None:
    april = report(1, 0, 0, period=Period.parse("2024-04"))
    with pytest.raises(ValueError, match="figures of Sở Y are for 2024-04"):
        summary_context([("Sở Y", april)], MAY, SETTINGS)


def test_a_broken_template_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.docx"
    document = Document()
    document.add_paragraph("{{ no_such_value }}")
    document.save(str(broken))
    with pytest.raises(SummaryTemplateError, match=r"broken\.docx.*no_such_value"):
        render_centre_summary(broken, ROWS, MAY, SETTINGS, tmp_path / "s.docx")
    assert not (tmp_path / "s.docx").exists()


@pytest.mark.parametrize(
    ("centre_name", "issuer"),
    [
        ("Trung tâm Phục vụ hành chính công tỉnh", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"),
        ("Trung tâm Phục vụ hành chính công", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"),
        ("Trung tâm hành chính công tỉnh Demo", "TRUNG TÂM HÀNH CHÍNH CÔNG TỈNH DEMO"),
    ],
)
def test_issuing_body(centre_name: str, issuer: str) -> None:
    assert issuing_body(centre_name) == issuer
