"""The evaluation rules of docs/evaluation-rules.md, table by table, on the pure functions."""

from __future__ import annotations

import pytest

from tasks.documents.report_text import (
    comparison_runs,
    evaluate,
    shortfall_paragraph,
    strengths,
    trend,
    weaknesses,
)
from tasks.figures.engine import FIGURE_KEYS, DataQuality, FiguresReport, Rates, compute_rates
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentTexts, EvaluationSettings, Settings, TargetRates

MAY = Period.month(2024, 5)
SEED = {
    "received_new": 60,
    "resolved": 54,
    "resolved_early": 49,
    "resolved_on_time": 5,
    "online_l34": 60,
    "postal_return": 40,
    "digitised": 60,
}
# The 2024-05 demo's Sở Y tế: 06 late dossiers, online 60,2% (target 80%), postal 20,3%
# after 20,2% (target 50%).
SYT = {
    "received_new": 1000,
    "resolved": 100,
    "resolved_early": 85,
    "resolved_on_time": 9,
    "resolved_late": 6,
    "online_l34": 602,
    "postal_return": 203,
    "digitised": 700,
}
SYT_BEFORE: Rates = {"online_l34_rate": 0.55, "postal_rate": 0.202}


def report(**values: int) -> FiguresReport:
    counts = dict.fromkeys(FIGURE_KEYS, 0)
    counts.update(values)
    return FiguresReport("X", MAY, counts, compute_rates(counts), [], DataQuality())


def texts(paragraphs: list) -> list[str]:
    return [p.text for p in paragraphs]


@pytest.mark.parametrize(
    ("current", "previous", "steady", "expected"),
    [
        (0.203, 0.202, 0.01, "steady"),
        (0.203, 0.202, 0.0, "up"),
        (0.667, 0.28, 0.01, "up"),
        (0.5, 0.7, 0.01, "down"),
        (0.5, 0.5049, 0.01, "steady"),
        (0.5, 0.5, 0.01, "equal"),
        (40 / 60, 0.6668, 0.0, "equal"),  # both print 66,7%
        (0.5, 0.49, 0.01, "up"),  # exactly the threshold is a change
        (None, 0.5, 0.01, None),
        (0.5, None, 0.01, None),
    ],
)
def test_trend(current: float | None, previous: float | None, steady: float, expected: str) -> None:
    assert trend(current, previous, steady) == expected


def test_a_small_change_reads_tuong_duong() -> None:
    runs = comparison_runs(0.667, 0.664, MAY, 0.01)
    assert "".join(r.text for r in runs) == " tương đương tháng trước (tháng 4 là 66,4%)"
    assert [r.text for r in runs if r.italic] == ["tháng 4 là 66,4%"]


@pytest.mark.parametrize(
    ("rate", "previous", "steady", "line"),
    [
        (
            0.602,
            0.55,
            0.01,
            "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, tăng so với tháng trước (tháng 4 là "
            "55%) nhưng chưa đạt chỉ tiêu 80%.",
        ),
        (
            0.602,
            0.65,
            0.01,
            "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, giảm so với tháng trước (tháng 4 là "
            "65%), chưa đạt chỉ tiêu 80%.",
        ),
        (
            0.602,
            0.6,
            0.01,
            "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, tương đương tháng trước (tháng 4 là "
            "60%), chưa đạt chỉ tiêu 80%.",
        ),
        (
            0.602,
            0.6021,
            0.01,
            "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, bằng tháng trước, chưa đạt chỉ tiêu 80%.",
        ),
        (0.602, None, 0.01, "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, chưa đạt chỉ tiêu 80%."),
    ],
)
def test_a_rate_under_its_target_is_a_shortfall_whichever_way_it_moved(
    rate: float, previous: float | None, steady: float, line: str
) -> None:
    assert shortfall_paragraph("online_l34_rate", rate, 0.8, previous, MAY, steady).text == line


@pytest.mark.parametrize(
    ("figures", "previous", "good", "bad"),
    [
        # the seed: every rate at target, nothing late
        (
            SEED,
            {"postal_rate": 0.28},
            [
                "Số hồ sơ giải quyết trước hạn là 49/54 hồ sơ chiếm 90,7%, trong kỳ không có hồ "
                "sơ nào chậm, muộn.",
                "Số lượng hồ sơ trực tuyến mức độ 3,4 trong tháng phát sinh tỷ lệ cao 100% hồ sơ "
                "nộp trực tuyến.",
                "Tiếp nhận và trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính "
                "công ích trong kỳ đạt tỷ lệ 66,7% đã tăng hơn so với tháng trước (tháng 4 là "
                "28%).",
            ],
            ["Không."],
        ),
        # SYT: late dossiers, online and postal under target although they rose
        (
            SYT,
            SYT_BEFORE,
            ["Số hồ sơ giải quyết trước hạn là 85/100 hồ sơ chiếm 85%."],
            [
                "Tỷ lệ hồ sơ trực tuyến mức độ 3,4 đạt 60,2%, tăng so với tháng trước (tháng 4 "
                "là 55%) nhưng chưa đạt chỉ tiêu 80%.",
                "Tỷ lệ hồ sơ tiếp nhận và trả kết quả qua dịch vụ bưu chính công ích đạt 20,3%, "
                "tương đương tháng trước (tháng 4 là 20,2%), chưa đạt chỉ tiêu 50%.",
                "Còn 06 hồ sơ giải quyết quá hạn.",
            ],
        ),
        # early share under target, nothing late: "no late dossier" is the strength left
        (
            {"resolved": 10, "resolved_early": 5, "resolved_on_time": 5},
            None,
            ["Trong kỳ không có hồ sơ nào giải quyết chậm, muộn."],
            ["Tỷ lệ hồ sơ giải quyết trước hạn đạt 50%, chưa đạt chỉ tiêu 80%."],
        ),
        # early share under target and late dossiers: no strength at all
        (
            {"resolved": 10, "resolved_early": 5, "resolved_late": 5},
            None,
            ["Không."],
            [
                "Tỷ lệ hồ sơ giải quyết trước hạn đạt 50%, chưa đạt chỉ tiêu 80%.",
                "Còn 05 hồ sơ giải quyết quá hạn.",
            ],
        ),
        # nothing at all: neither side says anything of the figures
        ({}, None, ["Không."], ["Không."]),
    ],
)
def test_strengths_and_weaknesses(
    figures: dict[str, int], previous: Rates | None, good: list[str], bad: list[str]
) -> None:
    given = report(**figures)
    none = DepartmentTexts()
    assert texts(strengths(given, previous, TargetRates(), none, 0.01)) == good
    assert texts(weaknesses(given, TargetRates(), none, previous, 0.01)) == bad


LATE_CASES = [
    {"resolved": 100, "resolved_early": 94, "resolved_late": 6},
    {"resolved": 100, "resolved_early": 50, "resolved_on_time": 44, "resolved_late": 6},
    {"resolved": 1, "resolved_late": 1},
    {**SYT},
]


@pytest.mark.parametrize("figures", LATE_CASES)
def test_late_dossiers_are_never_a_strength(figures: dict[str, int]) -> None:
    found = evaluate(report(**figures), None, TargetRates(), 0.01)
    assert all("resolved_late" not in f.judges for f in found.strengths)
    assert all("quá hạn" not in f.paragraph.text for f in found.strengths)
    assert any(f.paragraph.text.endswith("hồ sơ giải quyết quá hạn.") for f in found.weaknesses)


@pytest.mark.parametrize(
    ("figures", "previous"),
    [
        (SEED, {"postal_rate": 0.28}),
        (SYT, SYT_BEFORE),
        (SYT, None),
        ({**SEED, "postal_return": 12, "digitised": 6, "fee_bearing": 4, "paid_online": 1}, None),
        (
            {"resolved": 10, "resolved_early": 8, "resolved_on_time": 2, "in_progress_overdue": 3},
            None,
        ),
        ({"received_new": 10, "online_l34": 8, "postal_return": 5, "vpubnd_late": 1}, None),
        ({"resolved": 10, "resolved_early": 5, "resolved_on_time": 5}, None),
    ],
)
@pytest.mark.parametrize("targets", [TargetRates(), TargetRates(early_rate=0.95, postal_rate=0.2)])
def test_no_figure_is_both_a_strength_and_a_weakness(
    figures: dict[str, int], previous: Rates | None, targets: TargetRates
) -> None:
    found = evaluate(report(**figures), previous, targets, 0.01)
    praised = {name for f in found.strengths for name in f.judges}
    blamed = {name for f in found.weaknesses for name in f.judges}
    assert not praised & blamed
    assert all(f.judges for f in (*found.strengths, *found.weaknesses))


@pytest.mark.parametrize(
    ("value", "ok"), [(0.0, True), (0.05, True), (1.0, True), (-0.01, False), (1.5, False)]
)
def test_the_threshold_is_a_setting(value: float, ok: bool) -> None:
    assert Settings().evaluation.steady_change == 0.01
    if ok:
        assert EvaluationSettings(steady_change=value).steady_change == value
    else:
        with pytest.raises(ValueError, match="steady_change"):
            EvaluationSettings(steady_change=value)
