"""One Vietnamese number formatter: tables, and the report, e-mail and artifacts agreeing on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.artifacts import summary_markdown
from tasks.delivery.messages import Sender, build_report_message
from tasks.documents.numbers import format_count, format_decimal, format_percent, format_size
from tasks.documents.report_text import timeliness_sentence
from tasks.figures.engine import compute_rates, zero_figures
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentRecipients

MAY = Period.parse("2024-05")


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0"), (1, "01"), (5, "05"), (9, "09"), (10, "10"), (63, "63"), (1234, "1.234")],
)
def test_format_count_pads_one_to_nine_and_groups_thousands(count: int, text: str) -> None:
    assert format_count(count) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (40 / 60, "66,7%"),
        (1.0, "100%"),
        (0.28, "28%"),
        (49 / 54, "90,7%"),
        (0.0, "0%"),
        (0.5, "50%"),
        (0.8125, "81,3%"),  # half-up as written, not the float's binary value
        (0.12345, "12,3%"),
        (0.1235, "12,4%"),
        (0.0005, "0,1%"),
        (0.00049, "0%"),
        (0.99996, "100%"),
        (0.99949, "99,9%"),
        (None, "không phát sinh"),
    ],
)
def test_format_percent(rate: float | None, text: str) -> None:
    assert format_percent(rate) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(100, "1 KB"), (850 * 1024, "850 KB"), (10 * 1024 * 1024, "10 MB"), (13107200 + 1, "12,5 MB")],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("value", "text"), [(12.5, "12,5"), (10.0, "10"), (0.25, "0,3"), (33.36, "33,4"), (0.0, "0")]
)
def test_format_decimal(value: float, text: str) -> None:
    assert format_decimal(value) == text


_PERCENT = re.compile(r"\d+(?:,\d)?%|không phát sinh")


@settings(max_examples=60, deadline=None)
@given(resolved=st.integers(min_value=1, max_value=5000), data=st.data())
def test_report_mail_and_artifacts_print_a_rate_alike(
    resolved: int, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    early = data.draw(st.integers(min_value=0, max_value=resolved))
    figures = zero_figures()
    figures.update(resolved=resolved, resolved_early=early, resolved_on_time=resolved - early)
    rates = compute_rates(figures)
    expected = format_percent(rates["early_rate"])

    report = timeliness_sentence(figures, rates)
    folder = tmp_path_factory.mktemp("mail")
    attachment = folder / "a.docx"
    attachment.write_bytes(b"x")
    body = build_report_message(
        period=MAY,
        department_name="Sở Khoa học và Công nghệ",
        figures=figures,
        rates=rates,
        sender=Sender("Báo cáo TTHC", "bao-cao-tthc@demo.gov.vn"),
        recipients=DepartmentRecipients(to=["a@demo.gov.vn"]),
        attachments=[Path(attachment)],
        max_attachment_bytes=1024,
    ).message.text

    assert expected in report
    assert f"tỷ lệ giải quyết trước hạn: {expected}" in body
    assert _PERCENT.findall(report)[0] == expected


def test_the_artifact_summary_formats_counts_as_the_report_does() -> None:
    from tasks.run.plan import RunSummary

    text = summary_markdown(RunSummary(MAY, dry_run=False), MAY)
    assert "# Báo cáo TTHC tháng 5/2024" in text
