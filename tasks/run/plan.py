"""One department's monthly work, step by step, as plain functions over opened services.

The Prefect tasks in tasks/steps.py wrap these with retries and names; the `figures` and
`render` commands call them directly. Each function takes what it needs and returns a value,
so the flow only wires them together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tasks.delivery.ledger import DeliveryOutcome, ReportMail, deliver_report
from tasks.delivery.messages import Mailer, Sender
from tasks.documents.centre_summary import render_centre_summary
from tasks.documents.data_form import write_department_data_form, write_summary_data_form
from tasks.documents.naming import (
    data_form_name,
    period_folder,
    report_name,
    summary_data_form_name,
    summary_name,
)
from tasks.documents.pdf import convert_to_pdf
from tasks.documents.report_document import build_charts, build_report_context, render_report
from tasks.figures.engine import FiguresReport, compute_figures
from tasks.figures.periods import Period
from tasks.portal.client import FetchStats, Portal
from tasks.settings.loading import PROJECT_ROOT, fill_placeholders
from tasks.settings.models import AppConfig
from tasks.store.database import RunStore

logger = logging.getLogger(__name__)

TEMPLATES_DIR = PROJECT_ROOT / "templates"
REPORT_TEMPLATE = TEMPLATES_DIR / "report.docx"
SUMMARY_TEMPLATE = TEMPLATES_DIR / "centre_summary.docx"
TREND_MONTHS = 12
CENTRE_KEY = "CENTRE"

Rates = dict[str, float | None]
TrendPoints = list[tuple[Period, Rates]]


@dataclass
class DocumentSet:
    """The files made for one department (or the Centre) and one period."""

    period_key: str
    department_key: str
    report: Path
    data_form: Path
    pdf: Path | None = None
    extra: list[Path] = field(default_factory=list)

    @property
    def attachments(self) -> list[Path]:
        """Return the files a message carries: the .docx, the .xlsx and the PDF if any."""
        files = [self.report, self.data_form]
        if self.pdf is not None:
            files.append(self.pdf)
        return files


def figures_from_portal(
    portal: Portal, agency: str, period: Period, vpubnd_agency: str
) -> FiguresReport:
    """Stream an agency's dossiers for `period` from the portal and compute every figure."""
    stats = FetchStats()
    records = portal.iter_dossiers(agency, period.start_stamp, period.end_stamp, stats)
    report = compute_figures(records, period, agency, vpubnd_agency)
    report = report.with_duplicates_merged(stats.duplicates_merged)
    quality = report.data_quality
    for rejected in quality.rejected:
        logger.warning(
            "%s %s: record %r rejected: %r",  # %r: portal text may hold line breaks
            agency,
            period.key,
            rejected.code or "<no MaHoSo>",
            rejected.reason,
        )
    if quality.excluded or quality.duplicates_merged or quality.rejected_count:
        logger.info(
            "%s %s: %d excluded (status 1/3), %d rejected, %d duplicates merged",
            agency,
            period.key,
            quality.excluded,
            quality.rejected_count,
            quality.duplicates_merged,
        )
    return report


def department_figures(
    config: AppConfig, portal: Portal, store: RunStore, department_key: str, period: Period
) -> FiguresReport:
    """Compute a department's figures for `period` from the portal and keep them in history."""
    department = config.department(department_key)
    report = figures_from_portal(
        portal, department.agency_code, period, config.settings.vpubnd_agency
    )
    store.record_figures(department_key, report)
    return report


def trend(
    config: AppConfig,
    portal: Portal,
    store: RunStore,
    department_key: str,
    report: FiguresReport,
) -> TrendPoints:
    """Return the rates of the twelve months ending with the report's period, oldest first.

    Months already in the history are read from it; the others are computed from the portal
    once and stored, so only the first run of a department pays for its past.
    """
    period = report.period
    months = period.trailing_months(TREND_MONTHS)
    history = store.rates_history(department_key, months)
    points: TrendPoints = []
    for month in months:
        if month == period:
            points.append((month, report.rates))
            continue
        rates = history.get(month.key)
        if rates is None:
            rates = department_figures(config, portal, store, department_key, month).rates
        points.append((month, rates))
    return points


def previous_rates(
    config: AppConfig,
    portal: Portal,
    store: RunStore,
    department_key: str,
    period: Period,
    points: TrendPoints,
) -> Rates:
    """Return the rates of the period before `period`, from the trend, history or the portal."""
    previous = period.previous()
    for month, rates in points:
        if month == previous:
            return rates
    stored = store.rates_history(department_key, [previous]).get(previous.key)
    if stored is not None:
        return stored
    return department_figures(config, portal, store, department_key, previous).rates


def render_department(
    config: AppConfig,
    store: RunStore,
    department_key: str,
    report: FiguresReport,
    previous: Rates | None,
    points: TrendPoints,
) -> DocumentSet:
    """Write a department's report (.docx, and PDF where LibreOffice is) and data form (.xlsx)."""
    department = config.department(department_key)
    period = report.period
    texts = config.texts_for(department)
    texts = texts.model_copy(
        update={
            "legal_basis": _filled(texts.legal_basis, period),
            "proposals": _filled(texts.proposals, period),
            "strengths": [fill_placeholders(t, period=period.label) for t in texts.strengths],
            "weaknesses": [fill_placeholders(t, period=period.label) for t in texts.weaknesses],
            "next_tasks": [fill_placeholders(t, period=period.label) for t in texts.next_tasks],
        }
    )
    folder = period_folder(config.output_dir, period)
    context = build_report_context(
        department=department,
        texts=texts,
        noi_nhan=config.recipients_for(department_key).noi_nhan,
        report=report,
        previous_rates=previous,
        period=period,
        trend_points=points,
        settings=config.settings,
    )
    docx = render_report(
        REPORT_TEMPLATE,
        context,
        build_charts(report, points),
        folder / f"{report_name(department_key, period)}.docx",
    )
    xlsx = write_department_data_form(
        report, department.name, folder / f"{data_form_name(department_key, period)}.xlsx"
    )
    pdf = convert_to_pdf(docx)
    documents = DocumentSet(period.key, department_key, docx, xlsx, pdf)
    store.record_document(period, department_key, "docx", docx)
    store.record_document(period, department_key, "xlsx", xlsx)
    if pdf is not None:
        store.record_document(period, department_key, "pdf", pdf)
    return documents


def _filled(text: str | None, period: Period) -> str | None:
    return None if text is None else fill_placeholders(text, period=period.label)


def render_summary(
    config: AppConfig, store: RunStore, period: Period, rows: list[tuple[str, FiguresReport]]
) -> DocumentSet:
    """Write the Centre's summary report and data form over every department's figures."""
    folder = period_folder(config.output_dir, period)
    docx = render_centre_summary(
        SUMMARY_TEMPLATE,
        rows,
        period,
        config.settings,
        folder / f"{summary_name(period)}.docx",
        noi_nhan=config.recipients.centre.noi_nhan or None,
    )
    xlsx = write_summary_data_form(
        rows,
        period,
        folder / f"{summary_data_form_name(period)}.xlsx",
        agency=config.settings.centre_name,
    )
    pdf = convert_to_pdf(docx)
    store.record_document(period, CENTRE_KEY, "summary", docx)
    return DocumentSet(period.key, CENTRE_KEY, docx, xlsx, pdf)


def deliver(
    config: AppConfig,
    store: RunStore,
    mailer: Mailer,
    documents: DocumentSet,
    title: str,
    figures: dict[str, int],
    rates: Rates,
    *,
    dry_run: bool,
    force_resend: bool,
) -> DeliveryOutcome:
    """Send a document set to its recipients, each once (see tasks.delivery)."""
    key = documents.department_key
    recipients = config.recipients.centre if key == CENTRE_KEY else config.recipients_for(key)
    smtp = config.settings.smtp
    mail = ReportMail(
        department_name=title,
        figures=figures,
        rates=rates,
        attachments=documents.attachments,
        sender=Sender.from_settings(smtp),
        max_attachment_bytes=smtp.max_attachment_bytes,
    )
    return deliver_report(
        Period.parse(documents.period_key),
        key,
        mail,
        recipients,
        store,
        mailer,
        force_resend=force_resend,
        dry_run=dry_run,
        max_attempts=smtp.max_attempts,
        backoff_seconds=smtp.backoff_seconds,
    )
