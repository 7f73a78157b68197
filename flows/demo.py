"""The demo: the monthly run for the demo province, end to end on this machine."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import typer
from prefect.testing.utilities import prefect_test_harness
from rich.console import Console
from rich.table import Table

from flows.monthly_report import RunSummary, monthly_report
from flows.runtime import environment_overrides
from tasks.documents.report_text import format_percent
from tasks.figures.periods import Period
from tasks.run.services import SIMULATOR_PASSWORD, SIMULATOR_USER, embedded_services, mail_folder
from tasks.settings.loading import CONFIG_DIR_VARIABLE
from tasks.settings.models import AppConfig


@dataclass
class MailReceived:
    """What the loopback mail server received during the demo."""

    messages: int
    by_recipient: dict[str, int]
    folder: Path


def run_demo(config: AppConfig, period: Period) -> tuple[RunSummary, MailReceived]:
    """Start the simulator and mail server, run monthly_report on a temporary Prefect API."""
    with embedded_services(config) as services:
        live = services.config
        smtp = live.settings.smtp
        overrides = {
            CONFIG_DIR_VARIABLE: str(config.config_dir),
            "TTHC_PORTAL__BASE_URL": live.settings.portal.base_url,
            "TTHC_SMTP__HOST": smtp.host,
            "TTHC_SMTP__PORT": str(smtp.port),
            "TTHC_OUTPUT_DIR": str(config.output_dir),
        }
        if not os.environ.get("PORTAL_USERNAME"):
            overrides |= {"PORTAL_USERNAME": SIMULATOR_USER, "PORTAL_PASSWORD": SIMULATOR_PASSWORD}
        server = services.mail_server.received if services.mail_server else []
        before = len(server)
        with environment_overrides(overrides), prefect_test_harness(server_startup_timeout=120):
            started = time.monotonic()
            summary = monthly_report(period=period.key)
            elapsed = time.monotonic() - started
        typer.echo(f"monthly_report {period.key}: {elapsed:.1f} s (Prefect API start excluded)")
        by_recipient: dict[str, int] = {}
        for message in server[before:]:
            for address in message.envelope_to:
                by_recipient[address] = by_recipient.get(address, 0) + 1
        received = MailReceived(len(server) - before, by_recipient, mail_folder(config))
    return summary, received


def print_summary(summary: RunSummary, received: MailReceived | None = None) -> None:
    """Print each department's headline figures, its documents and what was sent."""
    table = Table(title=f"Báo cáo TTHC {summary.period_key}")
    for header in (
        "Sở",
        "Tiếp nhận",
        "Đã giải quyết",
        "Trước hạn",
        "Đang giải quyết",
        "Thư gửi",
        "Bỏ qua",
        "Văn bản",
    ):
        table.add_column(header)
    results = [*summary.departments, *([summary.centre] if summary.centre else [])]
    for result in results:
        figures = result.figures.figures if result.figures else {}
        rates = result.figures.rates if result.figures else {}
        delivery = result.delivery
        table.add_row(
            result.key,
            str(figures.get("received_total", "")),
            str(figures.get("resolved", "")),
            format_percent(rates.get("early_rate")) if rates else "",
            str(figures.get("in_progress", "")),
            str(len(delivery.sent)) if delivery else "-",
            str(len(delivery.skipped)) if delivery else "-",
            result.documents.report.name if result.documents else (result.error or ""),
        )
    console = Console(width=160)
    console.print(table)
    first = next((r.documents for r in results if r.documents), None)
    if first is not None:
        console.print(f"Văn bản: {first.report.parent}")
    if received is not None:
        console.print(
            f"Máy chủ thư (loopback) đã nhận {received.messages} thư, lưu ở {received.folder}"
        )
        for address, count in sorted(received.by_recipient.items()):
            console.print(f"  {address}: {count}")
