"""Tests of tasks/documents/charts.py: PNG bytes a Word document can embed, in Vietnamese."""

from __future__ import annotations

import math
import struct
import threading
import warnings
from collections.abc import Callable

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tasks.documents.charts import (
    DPI,
    FONT_FILE,
    RESOLUTION_EMPTY,
    TREND_EMPTY,
    WIDTH_CM,
    figure_png,
    month_label,
    resolution_chart_png,
    resolution_figure,
    trend_chart_png,
    trend_figure,
)
from tasks.documents.report_document import CHART_WIDTH_CM
from tasks.figures.periods import Period

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEED_SPLIT = {"resolved_early": 49, "resolved_on_time": 5, "resolved_late": 0}
ZERO_SPLIT = {"resolved_early": 0, "resolved_on_time": 0, "resolved_late": 0}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def glyph_warnings(draw: Callable[[], bytes]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def texts_of(figure: Figure) -> list[str]:
    figure.canvas.draw()
    return [text.get_text() for text in figure.findobj(match=lambda a: hasattr(a, "get_text"))]


def twelve_months(rates: Callable[[int], dict[str, float | None]]) -> list:
    months = Period.parse("2024-05").trailing_months(12)
    return [(month, rates(i)) for i, month in enumerate(months)]


SEED_TREND = twelve_months(
    lambda i: {"early_rate": 0.9, "online_l34_rate": 1.0, "postal_rate": 0.28 + i * 0.035}
)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: resolution_chart_png(SEED_SPLIT),
        lambda: resolution_chart_png(ZERO_SPLIT),
        lambda: trend_chart_png(SEED_TREND),
        lambda: trend_chart_png([]),
    ],
    ids=["resolution", "resolution-empty", "trend", "trend-empty"],
)
def test_charts_are_at_least_200_dpi_where_placed_without_missing_glyphs(
    draw: Callable[[], bytes],
) -> None:
    data = draw()
    width, height = png_size(data)
    assert width == int(WIDTH_CM / 2.54 * DPI)  # 1342 px
    assert width / (CHART_WIDTH_CM / 2.54) >= 200  # dots per inch as printed in the report
    assert 450 <= height <= 900
    assert glyph_warnings(draw) == []


FIGURES = {
    "resolution": lambda: resolution_figure(SEED_SPLIT),
    "resolution-empty": lambda: resolution_figure(ZERO_SPLIT),
    "trend": lambda: trend_figure(SEED_TREND),
    "trend-empty": lambda: trend_figure([]),
}


def drawn_texts(figure: Figure) -> list:
    figure.canvas.draw()
    return [
        text
        for text in figure.findobj(match=lambda a: hasattr(a, "get_fontproperties"))
        if text.get_text().strip() and text.get_visible()
    ]


@pytest.mark.parametrize("build", FIGURES.values(), ids=FIGURES.keys())
def test_every_text_is_the_serif_at_9_pt_or_more_as_printed(build: Callable[[], Figure]) -> None:
    texts = drawn_texts(build())
    assert texts
    scale = CHART_WIDTH_CM / WIDTH_CM  # the document shrinks or stretches the image by this
    for text in texts:
        properties = text.get_fontproperties()
        assert properties.get_file() == str(FONT_FILE), text.get_text()
        assert properties.get_size_in_points() * scale >= 9, text.get_text()


@pytest.mark.parametrize("build", FIGURES.values(), ids=FIGURES.keys())
def test_no_title_inside_the_image(build: Callable[[], Figure]) -> None:
    figure = build()
    assert figure.get_suptitle() == ""
    assert all(axes.get_title() == "" for axes in figure.axes)
    words = " ".join(t.get_text() for t in drawn_texts(figure))
    assert "Biểu đồ" not in words
    assert "Diễn biến" not in words
    assert "Kết quả giải quyết" not in words


def test_trend_legend_words_the_rates_as_the_text_does() -> None:
    (legend,) = trend_figure(SEED_TREND).legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [
        "Tỷ lệ giải quyết trước hạn",
        "Tỷ lệ hồ sơ trực tuyến mức độ 3,4",
        "Tỷ lệ trả kết quả qua dịch vụ bưu chính công ích",
    ]
    assert not any("BCCI" in label or "3, 4" in label for label in labels)


def test_glyph_check_sees_a_missing_glyph() -> None:
    def draw_cjk() -> bytes:
        figure = Figure()
        FigureCanvasAgg(figure)
        figure.text(0.1, 0.1, "中", fontfamily="DejaVu Sans")
        figure.canvas.draw()
        return b""

    assert glyph_warnings(draw_cjk)


def test_resolution_chart_labels_counts_and_percentages_in_vietnamese() -> None:
    texts = texts_of(resolution_figure(SEED_SPLIT))
    assert "Số hồ sơ (tổng số 54 hồ sơ đã giải quyết)" in texts
    assert {"Trước hạn", "Đúng hạn", "Quá hạn"} <= set(texts)
    labels = {t.strip() for t in texts}
    assert {"49 hồ sơ (90,7%)", "05 hồ sơ (9,3%)", "0 hồ sơ (0%)"} <= labels


def test_resolution_chart_with_nothing_resolved_says_so() -> None:
    texts = texts_of(resolution_figure(ZERO_SPLIT))
    assert RESOLUTION_EMPTY in texts
    assert not resolution_figure(ZERO_SPLIT).axes


def test_resolution_chart_names_a_missing_figure() -> None:
    with pytest.raises(ValueError, match="resolved_late"):
        resolution_chart_png({"resolved_early": 1, "resolved_on_time": 2})


def test_charts_are_deterministic() -> None:
    assert resolution_chart_png(SEED_SPLIT) == resolution_chart_png(SEED_SPLIT)
    assert trend_chart_png(SEED_TREND) == trend_chart_png(SEED_TREND)
    assert b"Software" not in resolution_chart_png(SEED_SPLIT)


# The trend chart draws its lines on a frame drawn once for the months (the axes, the labels,
# the legend): what it gives must be what drawing the whole figure gives.
UNEVEN_TREND = twelve_months(
    lambda i: {
        "early_rate": [0.0, 1.0, 0.37][i % 3],
        "online_l34_rate": None if i == 4 else 0.05 * i,
        "postal_rate": 1.0 - 0.08 * i,
    }
)
LATER_TREND = [(month, {"postal_rate": 0.5}) for month in Period.parse("2024-11").trailing_months()]


@pytest.mark.parametrize("points", [SEED_TREND, UNEVEN_TREND], ids=["seed", "uneven"])
def test_a_trend_chart_is_its_whole_figure_drawn(points: list) -> None:
    assert trend_chart_png(points) == figure_png(trend_figure(points))


def test_a_trend_chart_does_not_depend_on_what_was_drawn_before() -> None:
    first = trend_chart_png(UNEVEN_TREND)
    trend_chart_png(SEED_TREND)
    trend_chart_png(LATER_TREND)
    again = trend_chart_png(UNEVEN_TREND)
    drawn_apart: list[bytes] = []  # in a thread of its own: no frame drawn there before
    thread = threading.Thread(target=lambda: drawn_apart.append(trend_chart_png(UNEVEN_TREND)))
    thread.start()
    thread.join()

    assert first == again == drawn_apart[0]
    assert trend_chart_png(SEED_TREND) != first


def test_trend_chart_draws_percent_lines_with_month_labels() -> None:
    figure = trend_figure(SEED_TREND)
    (axes,) = figure.axes
    assert [t.get_text() for t in axes.get_xticklabels()][:2] == ["6/2023", "7/2023"]
    assert axes.get_xticklabels()[-1].get_text() == "5/2024"
    assert axes.get_ylim() == (0, 105)
    postal = axes.get_lines()[2]
    assert postal.get_ydata()[0] == pytest.approx(28.0)
    assert "100%" in [t.get_text() for t in axes.get_yticklabels()]


def test_trend_chart_leaves_a_gap_where_a_rate_is_none() -> None:
    points = twelve_months(
        lambda i: {
            "early_rate": None if i == 3 else 0.5,
            "online_l34_rate": None,
            "postal_rate": 0.1,
        }
    )
    early, online, _postal = trend_figure(points).axes[0].get_lines()
    assert math.isnan(early.get_ydata()[3])
    assert early.get_ydata()[4] == pytest.approx(50.0)
    assert all(math.isnan(v) for v in online.get_ydata())


def test_trend_chart_without_any_rate_says_so() -> None:
    points = twelve_months(
        lambda i: {"early_rate": None, "online_l34_rate": None, "postal_rate": None}
    )
    assert TREND_EMPTY in texts_of(trend_figure(points))


def test_trend_chart_rejects_a_rate_outside_zero_to_one() -> None:
    points = twelve_months(
        lambda i: {"early_rate": 90.7, "online_l34_rate": 1.0, "postal_rate": 0.5}
    )
    with pytest.raises(ValueError, match=r"early_rate of 2023-06 is 90\.7"):
        trend_chart_png(points)


@pytest.mark.parametrize(
    ("period", "label"),
    [("2024-05", "5/2024"), ("2023-12", "12/2023"), ("2024-Q2", "2024-Q2")],
)
def test_month_label(period: str, label: str) -> None:
    assert month_label(Period.parse(period)) == label
