"""The report's section on the national index and the Centre summary's 766 column (no IO)."""

from __future__ import annotations

from tasks.documents.index_text import index_lines, summary_ranking, summary_scores
from tasks.documents.numbers import format_score
from tasks.figures.periods import Period
from tasks.national_index.model import ComponentScore, UnitScore
from tasks.national_index.standing import Standing

MAY = Period.month(2024, 5)
SCORES = {"CKMB": 11.79, "TDGQ": 19.6, "ONLINE": 6.49, "TTTT": 6.13, "MDSH": 11.0, "MDHL": 18}


def unit(total: float, rank: int, missing: tuple[str, ...] = ()) -> UnitScore:
    components = {
        code: ComponentScore(score) for code, score in SCORES.items() if code not in missing
    }
    return UnitScore("id", "H99.15", "Sở KH&CN - tỉnh Demo", "AGENCY", total, rank, components)


def test_the_section_states_total_rank_and_each_component_with_its_maximum() -> None:
    lines = index_lines("Sở Khoa học và Công nghệ", MAY, Standing(unit(73.01, 4), 14, 2))

    assert lines == [
        "Kết quả đánh giá theo Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người "
        "dân, doanh nghiệp (Quyết định số 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ) "
        "trên Cổng Dịch vụ công quốc gia tháng 5/2024: Sở Khoa học và Công nghệ đạt "
        "73,01/100 điểm, xếp thứ 4/14 sở, ban, ngành của tỉnh (cùng điểm với 2 cơ quan khác); "
        "trong đó:",
        "- Công khai, minh bạch: 11,79/18 điểm;",
        "- Tiến độ giải quyết: 19,6/20 điểm;",
        "- Dịch vụ trực tuyến: 6,49/12 điểm;",
        "- Thanh toán trực tuyến: 6,13/10 điểm;",
        "- Số hóa hồ sơ: 11/22 điểm;",
        "- Mức độ hài lòng: 18/18 điểm.",
    ]


def test_a_missing_component_reads_not_available_never_zero() -> None:
    lines = index_lines("Sở Y tế", MAY, Standing(unit(60, 1, ("MDHL",)), 5))

    assert "xếp thứ 1/5 sở, ban, ngành của tỉnh; trong đó:" in lines[0]
    assert lines[-1] == "- Mức độ hài lòng: chưa có số liệu (tối đa 18 điểm)."


def test_an_unavailable_index_says_the_portal_has_not_provided_it() -> None:
    [line] = index_lines("Sở Y tế", MAY, Standing(None))

    assert line.endswith(
        "tháng 5/2024: Cổng Dịch vụ công quốc gia chưa cung cấp số liệu của Sở Y tế tại thời "
        "điểm lập báo cáo."
    )


def test_no_standing_no_section() -> None:
    assert index_lines("Sở Y tế", MAY, None) == []


def test_the_summary_column_ranks_the_departments_by_the_index() -> None:
    standings = {
        "Sở A": Standing(unit(60, 3)),
        "Sở B": Standing(unit(75.5, 1)),
        "Sở C": Standing(unit(60, 3)),
        "Sở D": Standing(None),
    }
    names = ["Sở A", "Sở B", "Sở C", "Sở D", "Sở E"]

    assert summary_scores(names, standings) == {
        "Sở A": "60 (2)",
        "Sở B": "75,5 (1)",
        "Sở C": "60 (2)",
        "Sở D": "-",
        "Sở E": "-",
    }
    assert summary_ranking(names, standings, MAY) == (
        "Xếp hạng theo Bộ chỉ số 766 tháng 5/2024: 1. Sở B (75,5 điểm); 2. Sở A (60 điểm); "
        "2. Sở C (60 điểm)."
    )
    assert summary_scores(names, None) == {}
    assert summary_ranking(names, None, MAY) is None
    assert summary_ranking(["Sở D"], {"Sở D": Standing(None)}, MAY) == (
        "Bộ chỉ số 766 tháng 5/2024: Cổng Dịch vụ công quốc gia chưa cung cấp số liệu tại thời "
        "điểm lập báo cáo."
    )


def test_scores_are_written_as_served_with_a_decimal_comma() -> None:
    assert [format_score(v) for v in (19.6, 60, 0, 11.0, 33.36, None)] == [
        "19,6",
        "60",
        "0",
        "11",
        "33,36",
        "-",
    ]
