"""The steps of a run, as plain functions over opened services: figures, documents, delivery.

The Prefect tasks of flows/steps.py wrap these with retries and names; the `figures` and
`render` commands call them directly. Each takes what it needs and returns a value. What a
run does with them (which departments, when the Centre's summary is made, what failed) is
decided in tasks/run/plan.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tasks.delivery.ledger import DeliveryOutcome, ReportMail, deliver_report
from tasks.delivery.messages import Mailer, Sender
from tasks.documents.centre_summary import render_centre_summary, total_figures
from tasks.documents.data_form import write_department_data_form, write_summary_data_form
from tasks.documents.naming import (
    data_form_name,
    period_folder,
    report_name,
    summary_data_form_name,
    summary_name,
)
from tasks.documents.pdf import PdfConversionError, convert_to_pdf, submit_pdf, submitted_pdf
from tasks.documents.report_document import build_report_context, draw_and_render_report
from tasks.documents.workers import run_all
from tasks.figures.engine import Figures, FiguresReport, Rates, compute_figures, compute_rates
from tasks.figures.periods import Period
from tasks.national_index.client import NationalIndexError
from tasks.national_index.model import NationalIndex
from tasks.national_index.standing import (
    IndexFetch,
    ProgressCheck,
    Standing,
    index_notes,
    standing_of,
)
from tasks.portal.client import FetchStats, Portal
from tasks.run.services import open_national_index
from tasks.run.targets import CentreTarget, DepartmentTarget, Target
from tasks.settings.loading import fill_placeholders
from tasks.settings.models import OFF, AppConfig, DepartmentRecipients
from tasks.settings.paths import REPORT_TEMPLATE, SUMMARY_TEMPLATE
from tasks.store.database import RunStore

logger = logging.getLogger(__name__)

TREND_MONTHS = 12

TrendPoints = list[tuple[Period, Rates]]


@dataclass
class DocumentSet:
    """The files made for one target (a department or the Centre) and one period."""

    period: Period
    target_key: str
    report: Path
    data_form: Path
    pdf: Path | None = None
    extra: list[Path] = field(default_factory=list)
    # What went wrong without stopping delivery (a PDF LibreOffice could not make), for the
    # operators.
    notes: list[str] = field(default_factory=list)
    # The PDF is being made by the run's converter: `finish_pdf` waits for it.
    pdf_pending: bool = False

    @property
    def attachments(self) -> list[Path]:
        """Return the files a message carries: the .docx, the .xlsx and the PDF if any."""
        files = [self.report, self.data_form]
        if self.pdf is not None:
            files.append(self.pdf)
        return files


@dataclass
class DepartmentFigures:
    """A department's figures for the period, with the rates before it (for comparisons)."""

    department_key: str
    report: FiguresReport
    previous_rates: Rates | None
    trend: TrendPoints


def figures_from_portal(
    portal: Portal, agency: str, period: Period, vpubnd_agency: str
) -> FiguresReport:
    """Stream an agency's dossiers for `period` from the portal and compute every figure."""
    stats = FetchStats()
    records = portal.iter_dossiers(agency, period.start_stamp, period.end_stamp, stats)
    report = compute_figures(records, period, agency, vpubnd_agency)
    report = report.with_duplicates_merged(stats.duplicates_merged, stats.text_cleaned)
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


def period_figures(
    config: AppConfig, portal: Portal, store: RunStore, department_key: str, period: Period
) -> FiguresReport:
    """Compute a department's figures for one period from the portal and keep them in history."""
    department = config.department(department_key)
    report = figures_from_portal(
        portal, department.agency_code, period, config.settings.vpubnd_agency
    )
    store.record_figures(department_key, report)
    return report


def department_figures(
    config: AppConfig, portal: Portal, store: RunStore, department_key: str, period: Period
) -> DepartmentFigures:
    """Compute a department's figures, its twelve-month trend and the period before's rates.

    Months already in the history are read from it; the others are computed from the portal
    once and stored, so only the first run of a department pays for its past.
    """
    report = period_figures(config, portal, store, department_key, period)
    points = _trend(config, portal, store, department_key, report)
    previous = _previous_rates(config, portal, store, department_key, period, points)
    return DepartmentFigures(department_key, report, previous, points)


def _trend(
    config: AppConfig, portal: Portal, store: RunStore, department_key: str, report: FiguresReport
) -> TrendPoints:
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
            rates = period_figures(config, portal, store, department_key, month).rates
        points.append((month, rates))
    return points


def _previous_rates(
    config: AppConfig,
    portal: Portal,
    store: RunStore,
    department_key: str,
    period: Period,
    points: TrendPoints,
) -> Rates:
    previous = period.previous()
    for month, rates in points:
        if month == previous:
            return rates
    stored = store.rates_history(department_key, [previous]).get(previous.key)
    if stored is not None:
        return stored
    return period_figures(config, portal, store, department_key, previous).rates


class IndexOff(ValueError):
    """The settings turn the national index off (national_index.base_url: off)."""


def fetch_index(config: AppConfig, period: Period) -> NationalIndex:
    """Fetch the national index of `period` under the configured root (settings aimed at it)."""
    client = open_national_index(config)
    if client is None:
        raise IndexOff(f"national_index.base_url is {OFF!r}: the index is not fetched")
    with client:
        return client.fetch(period, config.settings.national_index.root_department_id or "")


def national_index(config: AppConfig, store: RunStore, period: Period) -> IndexFetch:
    """Fetch and store the national index of `period`; an unavailable index is a value, not an error.

    Every run fetches again (the portal recalculates past periods) and appends the result with
    its fetch time to the run database.
    """
    if config.settings.national_index.base_url == OFF:
        return IndexFetch(period.key, enabled=False)
    try:
        index = fetch_index(config, period)
    except (NationalIndexError, ValueError) as error:
        logger.warning("national index %s unavailable: %s", period.key, error)
        return IndexFetch(period.key, problem=str(error))
    store.record_national_index(period.key, index.to_record())
    stored = store.latest_national_index(period.key)
    return IndexFetch(period.key, index, stored[0] if stored is not None else None)


def render_department(
    config: AppConfig,
    store: RunStore,
    figures: DepartmentFigures,
    index: IndexFetch | None = None,
    *,
    pdf_later: bool = False,
) -> DocumentSet:
    """Write a department's report (.docx, and PDF where LibreOffice is) and data form (.xlsx).

    `pdf_later`: inside the run's converter, queue the PDF and return at once; `finish_pdf`
    (the delivery) waits for it. The converter then sees many reports at a time, and batches
    them, instead of one per thread that renders.
    """
    department_key = figures.department_key
    department = config.department(department_key)
    report = figures.report
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
        previous_rates=figures.previous_rates,
        period=period,
        trend_points=figures.trend,
        settings=config.settings,
        standing=standing_of(index, department.national_index_code),
    )
    # Charts, report and data form are pure CPU: rendered in worker processes where there are.
    docx, xlsx = run_all(
        [
            partial(
                draw_and_render_report,
                REPORT_TEMPLATE,
                context,
                report.figures,
                list(figures.trend),
                folder / f"{report_name(department_key, period)}.docx",
            ),
            partial(
                write_department_data_form,
                report,
                department.name,
                folder / f"{data_form_name(department_key, period)}.xlsx",
                parent_authority=department.parent_authority,
                place=config.settings.place,
            ),
        ]
    )
    store.record_document(period, department_key, "docx", docx)
    store.record_document(period, department_key, "xlsx", xlsx)
    documents = DocumentSet(period, department_key, docx, xlsx)
    _add_pdf(config, documents, pdf_later)
    if documents.pdf is not None:
        store.record_document(period, department_key, "pdf", documents.pdf)
    return documents


def finish_pdf(store: RunStore, documents: DocumentSet) -> DocumentSet:
    """Wait for the PDF `render_department(pdf_later=True)` queued and add it, or its note.

    The document set is the run's one record of these files: it is updated in place, so that
    the run's summary, which holds the same object, sees the PDF or the note too.
    """
    if not documents.pdf_pending:
        return documents
    try:
        documents.pdf = submitted_pdf(documents.report)
    except PdfConversionError as error:
        logger.warning("%s; the .docx and .xlsx are delivered without it", error)
        documents.notes.append(_no_pdf_note(error))
    else:
        store.record_document(documents.period, documents.target_key, "pdf", documents.pdf)
    documents.pdf_pending = False
    return documents


def _filled(text: str | None, period: Period) -> str | None:
    return None if text is None else fill_placeholders(text, period=period.label)


def render_summary(
    config: AppConfig,
    store: RunStore,
    period: Period,
    rows: list[tuple[str, FiguresReport]],
    index: IndexFetch | None = None,
    *,
    pdf_later: bool = False,
) -> DocumentSet:
    """Write the Centre's summary report and data form over every department's figures.

    `pdf_later` as for `render_department`: the PDF joins the batches of the run's converter
    and the delivery (`finish_pdf`) waits for it.
    """
    centre = CentreTarget(config.settings.centre_name)
    folder = period_folder(config.output_dir, period)
    docx = render_centre_summary(
        SUMMARY_TEMPLATE,
        rows,
        period,
        config.settings,
        folder / f"{summary_name(period)}.docx",
        noi_nhan=config.recipients.centre.noi_nhan or None,
        standings=_standings(config, index),
    )
    xlsx = write_summary_data_form(
        rows,
        period,
        folder / f"{summary_data_form_name(period)}.xlsx",
        agency=config.settings.centre_name,
        parent_authority=f"UBND {config.settings.province}",
        place=config.settings.place,
    )
    store.record_document(period, centre.ledger_key, "summary", docx)
    documents = DocumentSet(period, centre.ledger_key, docx, xlsx)
    _add_pdf(config, documents, pdf_later)
    return documents


def _add_pdf(config: AppConfig, documents: DocumentSet, pdf_later: bool) -> None:
    """Queue the report's PDF with the run's converter when `pdf_later`, else convert it now."""
    if pdf_later and config.settings.documents.pdf != OFF and submit_pdf(documents.report):
        documents.pdf_pending = True
    else:
        documents.pdf, documents.notes = _pdf_of(config, documents.report)


def _pdf_of(config: AppConfig, docx: Path) -> tuple[Path | None, list[str]]:
    """Return the PDF of `docx`, or None and a note: a failed conversion never stops delivery.

    The document hash leaves PDFs out, so a later run that makes the PDF does not send the
    .docx and .xlsx again to recipients who have them. Settings with documents.pdf "off"
    make none and say nothing. Inside the run's converter (tasks.run.services.pdf_converter)
    the conversion joins its batches.
    """
    if config.settings.documents.pdf == OFF:
        return None, []
    try:
        return convert_to_pdf(docx, timeout=config.settings.documents.pdf_timeout_seconds), []
    except PdfConversionError as error:
        logger.warning("%s; the .docx and .xlsx are delivered without it", error)
        return None, [_no_pdf_note(error)]


def _no_pdf_note(error: PdfConversionError) -> str:
    """Return the operators' note on a PDF not made."""
    return f"chưa tạo được PDF ({error}); .docx và .xlsx vẫn được gửi"


def index_checks(
    config: AppConfig, index: IndexFetch | None, reports: Mapping[str, FiguresReport | None]
) -> tuple[list[str], list[ProgressCheck]]:
    """Return the operators' notes on the index and each department's progress comparison."""
    departments = {}
    for department in config.departments.departments:
        if department.key in reports:
            report = reports[department.key]
            figures = None if report is None else report.figures
            departments[department.key] = (department.national_index_code, figures)
    return index_notes(index, departments, config.settings.national_index.cross_check_tolerance)


def _standings(config: AppConfig, index: IndexFetch | None) -> dict[str, Standing] | None:
    """Return each department's standing by name, None when the index is off or not asked for."""
    if index is None or not index.enabled:
        return None
    standings = {}
    for department in config.departments.departments:
        standing = standing_of(index, department.national_index_code)
        if standing is not None:
            standings[department.name] = standing
    return standings


def recipients_of(config: AppConfig, target: Target) -> DepartmentRecipients:
    """Return who receives the target's report: the Centre's list or the department's."""
    if isinstance(target, CentreTarget):
        return config.recipients.centre
    return config.recipients_for(target.key)


def summary_totals(reports: list[FiguresReport]) -> tuple[Figures, Rates]:
    """Return the figures summed over the departments and the rates of those sums."""
    totals = total_figures(reports)
    return totals, compute_rates(totals)


def deliver(
    config: AppConfig,
    store: RunStore,
    mailer: Mailer,
    target: Target,
    documents: DocumentSet,
    figures: Figures,
    rates: Rates,
    *,
    dry_run: bool,
    force_resend: bool,
    summary_of: int | None = None,
) -> DeliveryOutcome:
    """Send a document set to the target's recipients, each once (see tasks.delivery.ledger).

    `summary_of`, for the Centre's summary, is the number of departments it sums up.
    """
    finish_pdf(store, documents)
    smtp = config.settings.smtp
    mail = ReportMail(
        department_name=target.name,
        figures=figures,
        rates=rates,
        attachments=documents.attachments,
        sender=Sender.from_settings(smtp),
        max_attachment_bytes=smtp.max_attachment_bytes,
        summary_of=summary_of,
    )
    return deliver_report(
        documents.period,
        target.ledger_key,
        mail,
        recipients_of(config, target),
        store,
        mailer,
        force_resend=force_resend,
        dry_run=dry_run,
    )


__all__ = [
    "DepartmentFigures",
    "DepartmentTarget",
    "DocumentSet",
    "IndexOff",
    "TrendPoints",
    "deliver",
    "department_figures",
    "fetch_index",
    "figures_from_portal",
    "finish_pdf",
    "index_checks",
    "national_index",
    "period_figures",
    "recipients_of",
    "render_department",
    "render_summary",
    "summary_totals",
]
