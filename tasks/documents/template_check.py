"""Check the Word templates against the values the renderer gives them, before any run.

A tag typed in Word for a value the renderer does not provide (`{{ nguoi_ky }}` for
`{{ signer_name }}`) would fail every department's rendering on the day of the run;
`tthc-report check-config` finds it first. docxtpl's `get_undeclared_template_variables` lists
the names a template reads without defining them itself (loop variables are defined by their
loop); each one missing from the renderer's context is a problem, named with the paragraph
that holds it. The context's names come from the renderer's own functions, called over no
dossiers, so this check cannot drift from what rendering provides.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import date
from pathlib import Path

import docx
from docx.document import Document as DocumentObject
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate
from jinja2 import Environment, TemplateSyntaxError

from tasks.documents.centre_summary import summary_context
from tasks.documents.report_document import build_report_context
from tasks.figures.engine import compute_figures
from tasks.figures.periods import Period
from tasks.settings.models import AppConfig, Department, Signer
from tasks.settings.paths import REPORT_TEMPLATE, SUMMARY_TEMPLATE

_SAMPLE_PERIOD = Period.month(2024, 5)
_SAMPLE_DATE = date(2024, 6, 3)
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SNIPPET = 80


def _sample_department() -> Department:
    return Department(
        key="MAU",
        agency_code="000.00.00.H99",
        name="Sở Mẫu",
        parent_authority="UBND tỉnh",
        document_symbol="BC-MAU",
        signer=Signer(title="Giám đốc", name="Người ký"),
    )


def report_context_keys(config: AppConfig) -> set[str]:
    """Return the names the report template receives, from a context built over no dossiers."""
    departments = config.departments.departments
    department = departments[0] if departments else _sample_department()
    report = compute_figures(
        [], _SAMPLE_PERIOD, department.agency_code, config.settings.vpubnd_agency
    )
    context = build_report_context(
        department=department,
        texts=config.texts_for(department),
        noi_nhan=config.recipients_for(department.key).noi_nhan,
        report=report,
        previous_rates=None,
        period=_SAMPLE_PERIOD,
        trend_points=[],
        settings=config.settings,
        issue_date=_SAMPLE_DATE,
    )
    return set(context)


def summary_context_keys(config: AppConfig) -> set[str]:
    """Return the names the Centre's summary template receives, built over no dossiers."""
    report = compute_figures([], _SAMPLE_PERIOD, "000.00.00.H99", config.settings.vpubnd_agency)
    context = summary_context(
        [("Sở Mẫu", report)], _SAMPLE_PERIOD, config.settings, issue_date=_SAMPLE_DATE
    )
    return set(context)


def _paragraphs(document: DocumentObject) -> Iterator[Paragraph]:
    def in_tables(tables: list[Table]) -> Iterator[Paragraph]:
        for table in tables:
            for row in table.rows:
                for cell in row.cells:
                    yield from cell.paragraphs
                    yield from in_tables(cell.tables)

    yield from document.paragraphs
    yield from in_tables(document.tables)
    for section in document.sections:
        for part in (section.header, section.footer):
            yield from part.paragraphs
            yield from in_tables(part.tables)


def _where(document: DocumentObject, name: str) -> str:
    """Name the first paragraph whose tags read `name`: its number and its text."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    for number, paragraph in enumerate(_paragraphs(document), 1):
        text = paragraph.text
        if any(word.search(tag) for tag in _TAG.findall(text)):
            snippet = text.strip()
            if len(snippet) > _SNIPPET:
                snippet = snippet[: _SNIPPET - 1] + "…"
            return f"paragraph {number} {snippet!r}"
    return "a tag split across runs (retype it in Word)"


def template_problems(template: Path, provided: Collection[str]) -> list[str]:
    """Return one line for each tag of `template` that names a value not in `provided`."""
    if not template.is_file():
        return [f"{template}: template not found"]
    try:
        undeclared = DocxTemplate(str(template)).get_undeclared_template_variables(
            Environment(autoescape=True)
        )
    except TemplateSyntaxError as error:
        return [f"{template}: broken tag: {error.message or error}"]
    except Exception as error:  # a file that is not a Word document at all
        return [f"{template}: cannot be read as a Word template: {error}"]
    unknown = sorted(set(undeclared) - set(provided))
    if not unknown:
        return []
    document = docx.Document(str(template))
    known = ", ".join(sorted(provided))
    return [
        f"{template}: {_where(document, name)}: tag {name!r} names a value the renderer does "
        f"not provide (known: {known})"
        for name in unknown
    ]


def check_templates(
    config: AppConfig,
    report_template: Path = REPORT_TEMPLATE,
    summary_template: Path = SUMMARY_TEMPLATE,
) -> list[str]:
    """Return the problems of the report and summary templates; empty when both are sound."""
    return [
        *template_problems(report_template, report_context_keys(config)),
        *template_problems(summary_template, summary_context_keys(config)),
    ]
