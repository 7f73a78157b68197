"""The report as a Word document: a context built from the figures, rendered into the template.

`build_report_context` is pure; `render_report` is the one function that writes, and it only
fills templates/report.docx (the layout lives in the .docx, not here). Every value is escaped:
the template is rendered with autoescape, and RichText escapes its own text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from docx.shared import Cm
from docxtpl import InlineImage, RichText
from jinja2 import TemplateError

from tasks.documents.files import write_atomically
from tasks.documents.index_text import index_lines
from tasks.documents.layout import fit_layout, stamp_properties
from tasks.documents.naming import period_folder, report_name
from tasks.documents.report_text import (
    Paragraph,
    build_report_body,
    period_unit,
    recipient_lines,
    subject_line,
)
from tasks.documents.unused_styles import drop_unused_styles
from tasks.documents.word_template import TEMPLATE_ENVIRONMENT, WordTemplate
from tasks.figures.engine import Figures, FiguresReport, Rates
from tasks.figures.periods import Period
from tasks.national_index.standing import Standing
from tasks.settings.models import Department, DepartmentTexts, Settings

CHART_KEYS: tuple[str, ...] = ("resolution", "trend")
CHART_WIDTH_CM = 15.5
TrendPoints = Sequence[tuple[Period, Rates]]


class ReportTemplateError(ValueError):
    """The report template cannot be rendered (a broken or unknown tag after an edit in Word)."""


def report_path(output_dir: Path, department_key: str, period: Period) -> Path:
    """Return where a department's report for `period` is written."""
    return period_folder(output_dir, period) / f"{report_name(department_key, period)}.docx"


def rich_text(paragraph: Paragraph) -> RichText:
    """Return a paragraph's runs as docxtpl RichText, italics kept (RichText escapes the text)."""
    rich = RichText()
    for run in paragraph.runs:
        rich.add(run.text, italic=run.italic)
    return rich


def number_line(document_symbol: str) -> str:
    """Return "Số: ..../BC-SKHCN", the number left for the clerk; "SKHCN" gains its "BC-"."""
    symbol = document_symbol.strip()
    if not symbol.upper().startswith("BC-"):
        symbol = f"BC-{symbol}"
    return f"Số: ..../{symbol}"


def trend_caption(trend_points: TrendPoints) -> str:
    """Return the caption of the trend chart, naming the months it covers."""
    if not trend_points:
        return "Biểu đồ 2. Diễn biến các tỷ lệ chính trong 12 tháng gần nhất"
    first, last = trend_points[0][0], trend_points[-1][0]
    return f"Biểu đồ 2. Diễn biến các tỷ lệ chính từ {first.label} đến {last.label}"


def build_report_context(
    department: Department,
    texts: DepartmentTexts,
    noi_nhan: list[str],
    report: FiguresReport,
    previous_rates: Rates | None,
    period: Period,
    trend_points: TrendPoints,
    settings: Settings,
    issue_date: date | None = None,
    standing: Standing | None = None,
) -> dict[str, Any]:
    """Return every value the report template shows, for one department and period.

    `standing` is the department's place in the national index (None: no such section).
    """
    if period != report.period:
        raise ValueError(
            f"figures of {department.key} are for {report.period.key}, not {period.key}"
        )
    body = build_report_body(
        department_name=department.name,
        texts=texts,
        report=report,
        previous_rates=previous_rates,
        targets=settings.targets,
        place=settings.place,
        centre_name=settings.centre_name,
        issue_date=issue_date,
        steady_change=settings.evaluation.steady_change,
    )
    signer = department.signer
    return {
        "department_name": department.name,
        "period_label": period.label,
        "parent_authority": department.parent_authority.upper(),
        "department_name_upper": department.name.upper(),
        "number_line": number_line(department.document_symbol),
        "date_line": body.date_line,
        "subject": subject_line(settings.centre_name, period),
        "legal_basis": rich_text(body.legal_basis),
        "results_intro": body.results_intro.text,
        "result_lines": [line.text for line in body.result_lines],
        "postal_line": body.postal_line.text,
        "data_quality_lines": [line.text for line in body.data_quality],
        "national_index_lines": index_lines(department.name, period, standing),
        "strengths": [rich_text(p) for p in body.strengths],
        "weaknesses": [rich_text(p) for p in body.weaknesses],
        "next_period_word": period_unit(period),
        "next_tasks": [rich_text(p) for p in body.next_tasks],
        "proposals": rich_text(body.proposals),
        "resolution_caption": f"Biểu đồ 1. Kết quả giải quyết hồ sơ {period.label}",
        "trend_caption": trend_caption(trend_points),
        "closing": body.closing.text,
        "noi_nhan": recipient_lines(noi_nhan),
        "signer_authority": signer.authority.strip().upper(),
        "signer_title": signer.title.strip().upper(),
        "signer_name": signer.name.strip(),
        # render_report puts the images here; absent charts leave their paragraphs out.
        "chart_resolution": None,
        "chart_trend": None,
    }


def build_charts(figures: Figures, trend_points: TrendPoints) -> dict[str, bytes]:
    """Return the report's two charts as PNG bytes, by CHART_KEYS (see tasks.charts.draw_charts)."""
    # matplotlib takes most of a second to import: `check-config` reads this module's
    # context builder and draws no chart, so it is loaded only here.
    from tasks.documents.charts import draw_charts

    resolution, trend = draw_charts(figures, trend_points)
    return {"resolution": resolution, "trend": trend}


def draw_and_render_report(
    template_path: Path,
    context: Mapping[str, Any],
    figures: Figures,
    trend_points: TrendPoints,
    out_path: Path,
) -> Path:
    """Draw the report's two charts and render it with them (see render_report).

    A report's whole CPU work in one call, for a worker process (tasks/documents/workers.py),
    where the charts are drawn one after the other: a worker starts no workers of its own.
    """
    charts = build_charts(figures, trend_points)
    return render_report(template_path, context, charts, out_path)


def render_report(
    template_path: Path,
    context: Mapping[str, Any],
    charts: Mapping[str, bytes],
    out_path: Path,
    *,
    now: datetime | None = None,
) -> Path:
    """Fill the template with `context` and `charts`, and write the .docx to `out_path` atomically.

    The masthead, the subject and the rules are then sized from the filled text
    (tasks.documents.layout), and the file describes itself: title the subject, author the
    department, created and modified `now` (default: the time of rendering).
    """
    unknown = set(charts) - set(CHART_KEYS)
    if unknown:
        raise ValueError(f"unknown chart(s) {sorted(unknown)}; expected {list(CHART_KEYS)}")
    if not template_path.is_file():
        raise FileNotFoundError(f"report template {template_path} not found")
    template = WordTemplate(str(template_path))
    values = dict(context)
    for key, png in charts.items():
        values[f"chart_{key}"] = InlineImage(template, io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    try:
        template.render(values, jinja_env=TEMPLATE_ENVIRONMENT, autoescape=True)
    except TemplateError as error:
        raise ReportTemplateError(f"{template_path}: {error}") from error
    fit_layout(template.docx)
    stamp_properties(
        template.docx,
        title=context["subject"],
        author=context["department_name"],
        when=now or datetime.now(UTC),
    )
    drop_unused_styles(template.docx)
    return write_atomically(out_path, template.save)
