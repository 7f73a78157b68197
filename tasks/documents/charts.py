"""The report's charts: the resolution split and the twelve-month trend of the main rates.

Figures are built with `matplotlib.figure.Figure` and drawn by the Agg canvas directly, never
through pyplot: pyplot keeps global figure state, which Prefect's worker threads would share.
Every text element names its font file, so no rcParams nor the font manager (global state) are
read or changed.

What the report needs of a chart (docs/report-format.md, "Charts"): a serif beside the Times New
Roman text (Noto Serif, from the fontpkg-noto-serif package, SIL OFL 1.1, every Vietnamese
letter); drawn at the width it is placed at, so a size in points here is the printed size, and
none under 9 pt; at least 200 dpi there; no title inside the image (the caption under it in the
document is the title); labels worded as the text says them ("mức độ 3,4", "bưu chính công ích").

Drawing is pure CPU that holds the GIL: `draw_charts` draws a report's two charts in worker
processes where the machine has cores to spare (tasks/documents/workers.py), and a run renders
each report, charts and all, in one of them (report_document.draw_and_render_report).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from functools import partial

import fontpkg_noto_serif
import numpy
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

from tasks.documents.numbers import format_count, format_percent
from tasks.documents.workers import run_all
from tasks.figures.engine import FigureName, Figures, RateName, Rates
from tasks.figures.periods import Period

# Noto Serif Regular (the default instance of the variable font the package ships).
FONT_FILE = fontpkg_noto_serif.ROOT / "files" / "NotoSerif[wdth,wght].ttf"
FONT_FAMILY = fontpkg_noto_serif.FAMILY
# The width the report places a chart at (report_document.CHART_WIDTH_CM; a test compares them).
WIDTH_CM = 15.5
DPI = 220
RESOLUTION_HEIGHT_CM = 6.5
TREND_HEIGHT_CM = 9.0
# Point sizes at WIDTH_CM: the smallest text prints at 9.5 pt (Decree 30 text is 13-14 pt).
TEXT_PT = 10.5
SMALL_PT = 9.5
_CM_PER_INCH = 2.54
# palette_image averages each colour over every MEAN_SAMPLE_STEP-th pixel.
MEAN_SAMPLE_STEP = 5
# Trend frames (see _TrendFrame) a thread keeps at most.
MAX_TREND_FRAMES = 2

RESOLUTION_EMPTY = "Không phát sinh hồ sơ giải quyết"
TREND_EMPTY = "Chưa có số liệu"

# (figure key, label, colour) of the resolution split, in reading order.
RESOLUTION_PARTS: tuple[tuple[FigureName, str, str], ...] = (
    ("resolved_early", "Trước hạn", "#2e7d32"),
    ("resolved_on_time", "Đúng hạn", "#1565c0"),
    ("resolved_late", "Quá hạn", "#c62828"),
)

# (rate key, legend label, colour, marker) of the trend chart.
TREND_SERIES: tuple[tuple[RateName, str, str, str], ...] = (
    ("early_rate", "Tỷ lệ giải quyết trước hạn", "#2e7d32", "o"),
    ("online_l34_rate", "Tỷ lệ hồ sơ trực tuyến mức độ 3,4", "#1565c0", "s"),
    ("postal_rate", "Tỷ lệ trả kết quả qua dịch vụ bưu chính công ích", "#ef6c00", "^"),
)


def font(size: float) -> FontProperties:
    """Return the charts' serif at `size` points (as printed: figures are drawn at WIDTH_CM)."""
    return FontProperties(fname=FONT_FILE, size=size)


def _tick_font(axes: Axes, size: float) -> None:
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_fontproperties(font(size))


def _new_figure(height_cm: float) -> Figure:
    figure = Figure(
        figsize=(WIDTH_CM / _CM_PER_INCH, height_cm / _CM_PER_INCH),
        dpi=DPI,
        layout="constrained",
        facecolor="white",
    )
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Figure) -> bytes:
    """Draw `figure` to PNG bytes of 256 colours, with its dpi and nothing else in its metadata.

    A chart holds a handful of colours and their anti-aliased edges: a palette of 256 keeps
    what the eye sees and makes the PNG (and so the .docx, the PDF and the e-mail) a third of
    the size of the 32-bit image at 220 dpi.
    """
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # _new_figure gave it one
    # The canvas draws the figure once, laid out; Figure.savefig would draw it twice.
    canvas.draw()
    return _png_of(canvas)


def _png_of(canvas: FigureCanvasAgg) -> bytes:
    """Return what `canvas` holds as PNG bytes of 256 colours (see figure_png)."""
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    buffer = io.BytesIO()
    palette_image(image.convert("RGB")).save(buffer, format="PNG", dpi=(DPI, DPI))
    return buffer.getvalue()


def palette_image(image: Image.Image) -> Image.Image:
    """Return `image` in 256 colours, each the mean of the pixels it stands for.

    The fast octree picks the groups (a tenth of median cut's time on a chart); its colours
    are the groups' centres, which would print the white page as 254 grey: each becomes the
    mean of its own pixels instead, so a flat colour (the page, a bar) stays exact.
    """
    quantized = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    # Every fifth pixel is plenty to average a colour over, at a fifth of the time; a colour
    # none of them stands for keeps the octree's.
    index = numpy.asarray(quantized).ravel()[::MEAN_SAMPLE_STEP]
    pixels = numpy.asarray(image).reshape(-1, 3)[::MEAN_SAMPLE_STEP]
    counts = numpy.bincount(index, minlength=256)
    sums = numpy.stack(
        [numpy.bincount(index, weights=pixels[:, k], minlength=256) for k in range(3)], axis=1
    )
    colours = numpy.frombuffer(bytes(quantized.getpalette() or []), dtype=numpy.uint8)
    means = numpy.zeros((256, 3))
    means[: len(colours) // 3] = colours[: len(colours) // 3 * 3].reshape(-1, 3)
    used = counts > 0
    means[used] = sums[used] / counts[used, None]
    quantized.putpalette(numpy.rint(means).astype(numpy.uint8).tobytes())
    return quantized


def _empty_chart(figure: Figure, message: str) -> Figure:
    figure.text(0.5, 0.5, message, ha="center", va="center", fontproperties=font(TEXT_PT))
    return figure


def resolution_chart_png(figures: Figures) -> bytes:
    """Draw the resolution split (early / on time / late) as labelled bars, PNG bytes."""
    return figure_png(resolution_figure(figures))


def resolution_figure(figures: Figures) -> Figure:
    """Build the resolution split chart; "Không phát sinh..." when nothing was resolved."""
    missing = [key for key, _, _ in RESOLUTION_PARTS if key not in figures]
    if missing:
        raise ValueError(f"resolution chart: figures lack {', '.join(missing)}")
    counts = [int(figures[key]) for key, _, _ in RESOLUTION_PARTS]
    if any(count < 0 for count in counts):
        raise ValueError(f"resolution chart: negative count in {counts}")
    figure = _new_figure(RESOLUTION_HEIGHT_CM)
    total = sum(counts)
    if total == 0:
        return _empty_chart(figure, RESOLUTION_EMPTY)

    axes = figure.add_subplot()
    labels = [label for _, label, _ in RESOLUTION_PARTS]
    colours = [colour for _, _, colour in RESOLUTION_PARTS]
    # Reversed so that "Trước hạn" reads first, at the top.
    positions = list(range(len(counts)))[::-1]
    axes.barh(positions, counts, color=colours, height=0.6)
    axes.set_yticks(positions, labels)
    for position, count in zip(positions, counts, strict=True):
        axes.text(
            count,
            position,
            f"  {format_count(count)} hồ sơ ({format_percent(count / total)})",
            va="center",
            ha="left",
            fontproperties=font(TEXT_PT),
        )
    # Room to the right of the longest bar for its label.
    limit = max(counts) * 1.45
    axes.set_xlim(0, limit)
    # The total the caption does not give: the x axis names it.
    axes.set_xlabel(
        f"Số hồ sơ (tổng số {format_count(total)} hồ sơ đã giải quyết)",
        fontproperties=font(TEXT_PT),
    )
    # Ticks set here, not by a locator at drawing time, so that their labels exist to take the font.
    steps = [v for v in MaxNLocator(nbins=5, integer=True).tick_values(0, limit) if v <= limit]
    axes.set_xticks(steps, [f"{v:g}" for v in steps])
    axes.spines[["top", "right"]].set_visible(False)
    _tick_font(axes, SMALL_PT)
    for label in axes.get_yticklabels():
        label.set_fontproperties(font(TEXT_PT))
    return figure


def month_label(period: Period) -> str:
    """Label a month on the trend axis as "5/2024" (other periods by their key)."""
    if period.kind == "month":
        return f"{period.index}/{period.year}"
    return period.key


def trend_chart_png(points: Sequence[tuple[Period, Rates]]) -> bytes:
    """Draw the trend of early, online level 3-4 and postal rates (0..1 or None), PNG bytes."""
    series = _trend_series(points)
    if series is None:
        return figure_png(_empty_chart(_new_figure(TREND_HEIGHT_CM), TREND_EMPTY))
    frame = _TREND_FRAMES.frame(tuple(month_label(period) for period, _ in points))
    return frame.draw(series)


def trend_figure(points: Sequence[tuple[Period, Rates]]) -> Figure:
    """Build the trend chart: one line a rate in percent, a gap where a rate is None."""
    series = _trend_series(points)
    if series is None:
        return _empty_chart(_new_figure(TREND_HEIGHT_CM), TREND_EMPTY)
    figure, lines = _trend_frame_figure(tuple(month_label(period) for period, _ in points))
    for line, values in zip(lines, series, strict=True):
        line.set_ydata(values)
    return figure


def _trend_series(points: Sequence[tuple[Period, Rates]]) -> list[list[float]] | None:
    """Return each TREND_SERIES rate in percent month by month (NaN: no value); None if none."""
    series = [
        [_as_percent(rates.get(key), period, key) for period, rates in points]
        for key, _, _, _ in TREND_SERIES
    ]
    if all(math.isnan(value) for values in series for value in values):
        return None
    return series


def _trend_frame_figure(labels: tuple[str, ...]) -> tuple[Figure, list[Line2D]]:
    """Build the trend chart for months `labels` with its lines empty (all NaN)."""
    figure = _new_figure(TREND_HEIGHT_CM)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    lines: list[Line2D] = []
    for _, label, colour, marker in TREND_SERIES:
        # NaN leaves a gap in the line where a month had no denominator.
        (line,) = axes.plot(
            positions,
            [math.nan] * len(labels),
            label=label,
            color=colour,
            marker=marker,
            markersize=4,
        )
        lines.append(line)
    axes.set_ylim(0, 105)
    steps = [0, 20, 40, 60, 80, 100]
    axes.set_yticks(steps, [f"{v}%" for v in steps])
    axes.set_xlim(-0.5, len(labels) - 0.5)
    axes.set_xticks(positions, list(labels))
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    _tick_font(axes, SMALL_PT)
    # Twelve labels such as "10/2023" at 9.5 pt do not fit side by side in 15.5 cm.
    for tick_label in axes.get_xticklabels():
        tick_label.set_rotation(35)
        tick_label.set_horizontalalignment("right")
        tick_label.set_rotation_mode("anchor")
    # One entry a line: the labels are the text's own words, too long for two columns.
    figure.legend(loc="outside lower center", ncols=1, frameon=False, prop=font(SMALL_PT))
    return figure, lines


class _TrendFrame:
    """A trend chart drawn once without its lines, to draw any lines of the same months on.

    Everything but the three lines (axes, month labels, grid, legend) is the same for every
    department of a run, and it is four fifths of the chart's drawing: it is drawn once, laid
    out, and kept as pixels; a chart restores them and draws its lines, then the spines again,
    which lie over the lines in a full drawing. Drawn this way whether the frame is new or not,
    a chart's bytes do not depend on what was drawn before it.
    """

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.figure, self.lines = _trend_frame_figure(labels)
        canvas = self.figure.canvas
        assert isinstance(canvas, FigureCanvasAgg)  # _new_figure gave it one
        self.canvas = canvas
        (self.axes,) = self.figure.axes
        self.spines = [spine for spine in self.axes.spines.values() if spine.get_visible()]
        # The spines are left out of the pixels kept: drawn twice, their edges would darken.
        for spine in self.spines:
            spine.set_visible(False)
        canvas.draw()
        for spine in self.spines:
            spine.set_visible(True)
        # Laid out once: the layout depends on the labels alone, not on the lines' values.
        self.figure.set_layout_engine("none")
        self.background = canvas.copy_from_bbox(self.figure.bbox)

    def draw(self, series: list[list[float]]) -> bytes:
        """Draw the lines `series` (percent, NaN for a gap) on the frame, PNG bytes."""
        self.canvas.restore_region(self.background)
        for line, values in zip(self.lines, series, strict=True):
            line.set_ydata(values)
            self.axes.draw_artist(line)
        for spine in self.spines:
            self.axes.draw_artist(spine)
        return _png_of(self.canvas)


class _TrendFrames:
    """The trend frames of each thread (a figure is not shared between threads), by months."""

    def __init__(self) -> None:
        self._local = threading.local()

    def frame(self, labels: tuple[str, ...]) -> _TrendFrame:
        frames: dict[tuple[str, ...], _TrendFrame] | None = getattr(self._local, "frames", None)
        if frames is None:
            frames = self._local.frames = {}
        frame = frames.get(labels)
        if frame is None:
            # A run asks for one set of months; a few kept at most, each about 8 MB of pixels.
            if len(frames) >= MAX_TREND_FRAMES:
                frames.clear()
            frame = frames[labels] = _TrendFrame(labels)
        return frame


_TREND_FRAMES = _TrendFrames()


def _as_percent(rate: float | None, period: Period, key: str) -> float:
    if rate is None:
        return math.nan
    if not 0 <= rate <= 1:
        raise ValueError(f"trend chart: {key} of {period.key} is {rate}, outside 0..1")
    return 100 * rate


def draw_charts(figures: Figures, points: Sequence[tuple[Period, Rates]]) -> tuple[bytes, bytes]:
    """Draw the resolution chart and the trend chart, PNG bytes, side by side where possible."""
    resolution, trend = run_all(
        [partial(resolution_chart_png, figures), partial(trend_chart_png, list(points))]
    )
    return resolution, trend
