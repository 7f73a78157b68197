"""The demo: the monthly run for the demo province, end to end on this machine."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
from prefect.settings.legacy import Setting
from rich.console import Console
from rich.table import Table

from flows.embedded import embedded
from flows.monthly_report import RunFailed, monthly_report
from flows.processes import temporary_prefect_api
from flows.runtime import configured
from tasks.documents.numbers import format_count, format_percent
from tasks.figures.periods import Period
from tasks.run.plan import RunSummary, message_count
from tasks.run.services import mail_folder
from tasks.settings.models import AppConfig
from tasks.store.run_lock import RunLocked


@dataclass
class MailReceived:
    """What the loopback mail server received during the demo."""

    messages: int
    by_recipient: dict[str, int]
    folder: Path


def temporary_api_settings(config: AppConfig) -> dict[Setting, Any]:
    """Return the Prefect settings of the demo's temporary API: its own home, no analytics.

    Its files go under the output folder, not ~/.prefect where another checkout's would
    collide with them ("database is locked"), and it sends no usage statistics (which, without
    network access, fail with an ERROR line on every run).
    """
    return {
        PREFECT_HOME: config.output_dir.absolute() / "prefect",
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
    }


def demo_api(config: AppConfig) -> AbstractContextManager[None]:
    """Return the demo's temporary Prefect API: its database kept under the output folder.

    A second demo in the same folder starts it without creating the database again.
    """
    return temporary_prefect_api(database=config.output_dir.absolute() / "prefect" / "demo.db")


def run_demo(config: AppConfig, period: Period) -> tuple[RunSummary, MailReceived]:
    """Start the simulator and mail server, run monthly_report on a temporary Prefect API."""
    with embedded(config) as services:
        server = services.mail_server.received if services.mail_server else []
        before = len(server)
        with (
            configured(services.config),
            temporary_settings(updates=temporary_api_settings(config)),
            demo_api(config),
        ):
            started = time.monotonic()
            state = monthly_report(period=period.key, return_state=True)
            if state.is_failed():
                raise RunFailed(state.message or "the run failed")
            summary = state.result()
            if not isinstance(summary, RunSummary):  # refused: another run holds the period
                raise RunLocked(state.message or f"another run of {period.key} is in progress")
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
    dry = summary.dry_run
    title = f"Báo cáo TTHC {summary.period.key}" + (" (chạy thử)" if dry else "")
    table = Table(title=title)
    for header in (
        "Sở",
        "Tiếp nhận",
        "Đã giải quyết",
        "Trước hạn",
        "Đang giải quyết",
        # Messages and recipients apart: one message to three recipients is one message.
        "Thư thử" if dry else "Thư",
        "Sẽ gửi tới" if dry else "Người nhận",
        "Bỏ qua",
        "Văn bản",
    ):
        table.add_column(header)
    results = summary.results
    for result in results:
        report = result.report
        delivery = result.delivery
        table.add_row(
            result.key,
            format_count(report.figures["received_total"]) if report else "",
            format_count(report.figures["resolved"]) if report else "",
            format_percent(report.rates["early_rate"]) if report else "",
            format_count(report.figures["in_progress"]) if report else "",
            str(message_count(delivery)) if delivery else "-",
            str(len(delivery.sent)) if delivery else "-",
            str(len(delivery.skipped)) if delivery else "-",
            result.documents.report.name if result.documents else (result.error or ""),
        )
    console = Console(width=160)
    console.print(table)
    first = next((r.documents for r in results if r.documents), None)
    if first is not None:
        console.print(f"Văn bản: {first.report.parent}")
    if summary.index is not None and summary.index.enabled:
        matched = sum(1 for check in summary.index_checks if not check.differs)
        state = "đã lấy" if summary.index.index is not None else "chưa lấy được"
        console.print(
            f"Bộ chỉ số 766: {state}; đối chiếu tiến độ khớp {matched}/"
            f"{len(summary.index_checks)} sở; cần kiểm tra: {len(summary.index_notes)}"
        )
    console.print(f"Thư: {summary.delivery_text()}")
    if received is not None:
        console.print(
            f"Máy chủ thư (loopback) đã nhận {received.messages} thư, lưu ở {received.folder}"
        )
        for address, count in sorted(received.by_recipient.items()):
            console.print(f"  {address}: {count}")
