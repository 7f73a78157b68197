"""Rendering: median milliseconds per document for the .docx, the .xlsx and the charts.

The figures are those of one department of the demo scenario (Sở Tư pháp, 2024-05: several
fields of activity and a data-quality note), computed once from the portal simulator. Next to
our renderer, a bare docxtpl render of the same template with the same context and images is
the floor: what filling that template costs at all.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docx.shared import Cm
from docxtpl import DocxTemplate, InlineImage

from bench.common import BenchResult, median, timed
from flows.embedded import live_config
from tasks.documents.charts import resolution_chart_png, trend_chart_png
from tasks.documents.data_form import write_department_data_form
from tasks.documents.report_document import (
    CHART_WIDTH_CM,
    build_charts,
    build_report_context,
    render_report,
)
from tasks.figures.periods import Period
from tasks.run.services import open_portal, open_store
from tasks.run.steps import department_figures, render_department
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config
from tasks.settings.paths import REPORT_TEMPLATE

DEPARTMENT = "STP"
PERIOD = "2024-05"


def _bare_docxtpl(context: dict[str, Any], charts: dict[str, bytes], out_path: Path) -> None:
    """Fill the template with docxtpl's defaults: no strict checks, no atomic write."""
    template = DocxTemplate(str(REPORT_TEMPLATE))
    values = dict(context)
    for key, png in charts.items():
        values[f"chart_{key}"] = InlineImage(template, io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    template.render(values, autoescape=True)
    template.save(str(out_path))


def run(quick: bool) -> BenchResult:
    """Render one department's documents many times; report medians per document."""
    repeat = 5 if quick else 15
    result = BenchResult("rendering", f"Rendering one department's documents ({repeat} times)")
    with tempfile.TemporaryDirectory(prefix="tthc-bench-render-") as folder:
        out = Path(folder)
        config = load_config(DEFAULT_CONFIG_DIR, {"TTHC_OUTPUT_DIR": str(out / "out")})
        period = Period.parse(PERIOD)
        with live_config(config) as live:
            with open_portal(live) as portal, open_store(live) as store:
                figures = department_figures(live, portal, store, DEPARTMENT, period)
            report, points, previous = figures.report, figures.trend, figures.previous_rates
            department = live.department(DEPARTMENT)
            context = build_report_context(
                department=department,
                texts=live.texts_for(department),
                noi_nhan=live.recipients_for(DEPARTMENT).noi_nhan,
                report=report,
                previous_rates=previous,
                period=period,
                trend_points=points,
                settings=live.settings,
            )
            charts = build_charts(report.figures, points)

            cases: list[tuple[str, str, Callable[[], Any]]] = [
                ("chart: resolution", "PNG", lambda: resolution_chart_png(report.figures)),
                ("chart: trend", "PNG", lambda: trend_chart_png(points)),
                (
                    "charts: build_charts",
                    "both, in worker processes if >1 core",
                    lambda: build_charts(report.figures, points),
                ),
                (
                    "docx: our render_report",
                    "charts drawn beforehand",
                    lambda: render_report(REPORT_TEMPLATE, context, charts, out / "report.docx"),
                ),
                (
                    "docx: bare docxtpl (floor)",
                    "same template, context, images",
                    lambda: _bare_docxtpl(context, charts, out / "bare.docx"),
                ),
                (
                    "xlsx: data form",
                    "openpyxl",
                    lambda: write_department_data_form(report, department.name, out / "form.xlsx"),
                ),
            ]
            with open_store(live) as store:
                cases.append(
                    (
                        "document set: render_department",
                        "charts + docx + xlsx + history; + PDF where LibreOffice is",
                        lambda: render_department(live, store, figures),
                    )
                )
                for _, _, action in cases:
                    action()  # warm up: imports, fonts, template caches
                times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
                # Interleaved rounds: a burst of load elsewhere hits every case alike.
                for _ in range(repeat):
                    for name, _, action in cases:
                        times[name].append(timed(action) * 1000)
    medians = {name: median(values) for name, values in times.items()}
    for name, note, _ in cases:
        result.add(name, medians[name], "ms (median)", note)
    charts_ms = medians["chart: resolution"] + medians["chart: trend"]
    result.add("charts: both, one after the other", charts_ms, "ms", "sum of the medians")
    floor = medians["docx: bare docxtpl (floor)"]
    result.add("docx: ours / bare docxtpl", medians["docx: our render_report"] / floor, "x")
    result.details = {
        "department": DEPARTMENT,
        "period": PERIOD,
        "repeat": repeat,
        "milliseconds": {name: [round(v, 2) for v in values] for name, values in times.items()},
    }
    return result
