"""The monthly report flow: every department's figures, documents and e-mails for one period."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from prefect import Flow, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run as current_flow_run
from prefect.states import State
from prefect.utilities.annotations import opaque
from pydantic import Field

from flows.runtime import (
    SettingsTaskRunner,
    config_dir_from_env,
    resolve_period,
    select_departments,
)
from flows.steps import (
    DepartmentFigures,
    compute_department_figures,
    deliver_centre_documents,
    deliver_department_documents,
    render_centre_documents,
    render_department_documents,
    with_retries,
)
from tasks.delivery.ledger import DeliveryOutcome
from tasks.delivery.messages import Sender, build_failure_alert
from tasks.documents.report_text import format_count, format_percent
from tasks.figures.engine import FiguresReport
from tasks.figures.periods import Period
from tasks.run.plan import CENTRE_KEY, DocumentSet
from tasks.run.services import embedded_services, open_mailer
from tasks.settings.loading import ConfigError, load_config
from tasks.settings.models import AppConfig
from tasks.store.run_lock import run_lock

logger = logging.getLogger(__name__)

FAILURE_LINE_PREFIX = "- "


@dataclass
class DepartmentResult:
    """What the run did for one department."""

    key: str
    name: str
    figures: FiguresReport | None = None
    documents: DocumentSet | None = None
    delivery: DeliveryOutcome | None = None
    error: str | None = None


@dataclass
class RunSummary:
    """What a run of monthly_report did, department by department."""

    period_key: str
    dry_run: bool
    departments: list[DepartmentResult] = field(default_factory=list)
    centre: DepartmentResult | None = None
    # Why the Centre's summary was not made in this run, when it was not.
    centre_held: str | None = None
    # The task runner the run used: "threadpool" or "dask".
    task_runner: str = ""

    @property
    def failed(self) -> dict[str, str]:
        """Return {department key: why} for every department that did not complete."""
        failures = {r.key: r.error for r in self.departments if r.error}
        if self.centre is not None and self.centre.error:
            failures[CENTRE_KEY] = self.centre.error
        return {key: error or "" for key, error in failures.items()}


def form_field(title: str, description: str) -> Any:
    """Return the Field that gives a flow parameter its title and description in the Prefect UI."""
    # Prefect builds each parameter's schema with the parameter's name as title and the
    # docstring's text as description, over those of Field(); json_schema_extra comes last.
    return Field(
        title=title,
        description=description,
        json_schema_extra={"title": title, "description": description},
    )


class RunFailed(RuntimeError):
    """Some departments did not complete; the message names each and why."""


def _error_text(future: PrefectFuture[Any]) -> str:
    state = future.state
    try:
        future.result(raise_on_failure=True)
    except BaseException as error:  # the task's own exception, to name in the summary
        return f"{type(error).__name__}: {error}".splitlines()[0][:500]
    return state.message or state.name or "failed"


def alert_operators(flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
    """Send the operators one e-mail naming the period and the departments that failed."""
    del flow  # Prefect's hook signature; the run and its state say all the alert needs
    try:
        config = load_config(config_dir_from_env(os.environ), os.environ)
    except Exception as error:  # no configuration: nobody to tell but the log
        logger.error("run failed and the operators cannot be told: %s", error)
        return
    if not config.settings.operators:
        return
    message = state.message or "lượt chạy thất bại"
    failures = {
        line[len(FAILURE_LINE_PREFIX) :].split(": ", 1)[0]: line.split(": ", 1)[-1]
        for line in message.splitlines()
        if line.startswith(FAILURE_LINE_PREFIX)
    } or {"lượt chạy": message.splitlines()[0] if message else "thất bại"}
    period_text = str(flow_run.parameters.get("period") or "")
    timezone = ZoneInfo(config.settings.timezone)
    scheduled = flow_run.expected_start_time or datetime.now(timezone)
    try:
        period = resolve_period(period_text, scheduled, timezone)
    except ValueError:  # the period was the problem: name the month the run was for
        period = Period.month_before(scheduled.astimezone(timezone).date())
    with embedded_services(config) as services:
        live = services.config
        alert = build_failure_alert(
            period, failures, live.settings.operators, Sender.from_settings(live.settings.smtp)
        )
        sent = open_mailer(live, dry_run=False, period_key=period.key).send(alert)
    if sent.error or not sent.delivered:
        # The mail server is often why the run failed: the log is then the only witness.
        logger.error("the operators' alert was not sent: %s", sent.error or "no recipient took it")


def run_name() -> str:
    """Name a run after the period it reports (and its departments when not all): "báo cáo TTHC 2024-05"."""
    parameters = current_flow_run.parameters
    text = str(parameters.get("period") or "")
    try:
        config = load_config(config_dir_from_env(os.environ), os.environ)
        timezone = ZoneInfo(config.settings.timezone)
        period = resolve_period(text, current_flow_run.scheduled_start_time, timezone).key
    except (ConfigError, ValueError):  # the run itself reports the problem
        period = text
    departments = [str(key) for key in parameters.get("departments") or []]
    return f"báo cáo TTHC {period}" + (f" ({', '.join(departments)})" if departments else "")


@flow(
    name="monthly_report",
    flow_run_name=run_name,
    description="Báo cáo kết quả tiếp nhận, giải quyết TTHC hằng tháng của các sở.",
    on_failure=[alert_operators],
    log_prints=False,
    # settings.runner picks the thread pool or Dask when each run starts.
    task_runner=SettingsTaskRunner(),
)
def monthly_report(
    period: Annotated[
        str,
        form_field(
            "Kỳ báo cáo",
            (
                'Tháng "2024-05", quý "2024-Q2", 6 tháng "2024-H1" hoặc năm "2024". '
                "Để trống: tháng trước ngày chạy theo lịch (giờ Việt Nam)."
            ),
        ),
    ] = "",
    departments: Annotated[
        list[str],
        form_field(
            "Các sở",
            'Mã sở trong config/departments.yaml, ví dụ ["SKHCN"]. Để trống: tất cả.',
        ),
    ] = [],  # noqa: B006 - Prefect shows a default in the UI form; the flow never mutates it
    dry_run: Annotated[
        bool,
        form_field(
            "Chạy thử",
            "Viết báo cáo và thư (.eml) nhưng không gửi thư nào.",
        ),
    ] = False,
    force_resend: Annotated[
        bool,
        form_field(
            "Gửi lại",
            "Gửi lại cho mọi người nhận, kể cả người đã nhận bản này.",
        ),
    ] = False,
) -> RunSummary:
    """Report one period for every selected department, then the Centre's summary."""
    run_logger = get_run_logger()
    config = load_config(config_dir_from_env(os.environ), os.environ)
    scheduled = current_flow_run.scheduled_start_time
    target = resolve_period(period, scheduled, ZoneInfo(config.settings.timezone))
    keys = select_departments(config, departments)
    run_logger.info("period %s, departments %s, dry run %s", target.key, ", ".join(keys), dry_run)
    # One run per period at a time: a second one would send what the first is sending.
    with run_lock(config.output_dir, target.key), embedded_services(config) as services:
        summary = _run(services.config, target, keys, dry_run=dry_run, force_resend=force_resend)
    context = FlowRunContext.get()
    summary.task_runner = context.task_runner.name if context is not None else ""
    _publish(summary, target)
    failures = summary.failed
    if failures:
        lines = [f"{FAILURE_LINE_PREFIX}{key}: {why}" for key, why in failures.items()]
        raise RunFailed(
            f"báo cáo {target.key}: {len(failures)} chưa hoàn thành\n" + "\n".join(lines)
        )
    return summary


def _as_is(value: Any) -> Any:
    return value


def _run(
    config: AppConfig, period: Period, keys: list[str], *, dry_run: bool, force_resend: bool
) -> RunSummary:
    runner = config.settings.runner
    compute = with_retries(compute_department_figures, runner.portal_retry_delays_seconds)
    deliver = with_retries(deliver_department_documents, runner.mail_retry_delays_seconds)
    deliver_centre = with_retries(deliver_centre_documents, runner.mail_retry_delays_seconds)
    # Futures go in as arguments: Prefect waits for them and passes their results, which
    # its typed overloads of submit() do not express. opaque() stops Prefect from walking
    # into the configuration and the results looking for more futures: that walk costs as
    # much as the work itself in a province of 120 agencies (make bench). prefect-dask hands
    # annotated arguments to the task still wrapped, so the Dask runner goes without.
    shield: Callable[[Any], Any] = opaque if runner.kind == "default" else _as_is
    settings = shield(config)
    figures: dict[str, PrefectFuture[DepartmentFigures]] = {
        k: compute.submit(settings, k, period.key) for k in keys
    }
    documents: dict[str, PrefectFuture[DocumentSet]] = {
        k: render_department_documents.submit(settings, k, shield(figures[k])) for k in keys
    }
    deliveries: dict[str, PrefectFuture[DeliveryOutcome]] = {
        k: deliver.submit(
            settings, k, shield(documents[k]), shield(figures[k]), dry_run, force_resend
        )
        for k in keys
    }
    pending: list[PrefectFuture[Any]] = [*figures.values(), *documents.values()]
    wait([*pending, *deliveries.values()])

    summary = RunSummary(period.key, dry_run)
    for key in keys:
        result = DepartmentResult(key, config.department(key).name)
        for future in (figures[key], documents[key], deliveries[key]):
            if not future.state.is_completed():
                result.error = _error_text(future)
                break
        if figures[key].state.is_completed():
            department_figures: DepartmentFigures = figures[key].result()
            result.figures = department_figures.report
        if documents[key].state.is_completed():
            result.documents = documents[key].result()
        if deliveries[key].state.is_completed():
            result.delivery = deliveries[key].result()
        summary.departments.append(result)

    # The Centre's summary covers every department: a run of some departments, or one where
    # a department has no figures, leaves it for the run that completes them, so the Centre
    # gets one complete summary rather than a partial one and then a correction.
    rows = [(r.name, r.figures) for r in summary.departments if r.figures is not None]
    left_out = [d.key for d in config.departments.departments if d.key not in keys]
    no_figures = [r.key for r in summary.departments if r.figures is None]
    if left_out:
        summary.centre_held = f"lượt chạy không gồm {', '.join(left_out)}"
    elif no_figures:
        summary.centre_held = f"chưa có số liệu của {', '.join(no_figures)}"
    else:
        centre = DepartmentResult(CENTRE_KEY, config.settings.centre_name)
        centre_documents: PrefectFuture[DocumentSet] = render_centre_documents.submit(
            settings, period.key, shield(rows)
        )
        centre_delivery: PrefectFuture[DeliveryOutcome] = deliver_centre.submit(
            settings,
            period.key,
            shield(centre_documents),
            shield([report for _, report in rows]),
            dry_run,
            force_resend,
        )
        centre_pending: list[PrefectFuture[Any]] = [centre_documents, centre_delivery]
        wait(centre_pending)
        for future in (centre_documents, centre_delivery):
            if not future.state.is_completed():
                centre.error = _error_text(future)
                break
        if centre_documents.state.is_completed():
            centre.documents = centre_documents.result()
        if centre_delivery.state.is_completed():
            centre.delivery = centre_delivery.result()
        summary.centre = centre
    return summary


def _publish(summary: RunSummary, period: Period) -> None:
    """Show the run's figures and deliveries in the Prefect UI as two artifacts."""
    table: list[dict[str, Any]] = []
    for result in [*summary.departments, *([summary.centre] if summary.centre else [])]:
        figures = result.figures.figures if result.figures else {}
        rates = result.figures.rates if result.figures else {}
        delivery = result.delivery
        table.append(
            {
                "Sở": result.key,
                "Tên": result.name,
                "Tổng tiếp nhận": figures.get("received_total", ""),
                "Đã giải quyết": figures.get("resolved", ""),
                "Trước hạn": format_percent(rates.get("early_rate")) if rates else "",
                "Đang giải quyết": figures.get("in_progress", ""),
                "Đã gửi": len(delivery.sent) if delivery else 0,
                "Bỏ qua (đã nhận)": len(delivery.skipped) if delivery else 0,
                "Kết quả": "lỗi: " + result.error if result.error else "hoàn thành",
            }
        )
    artifact_key = f"bao-cao-tthc-{period.key.lower()}"
    create_table_artifact(
        table, key=artifact_key, description=f"Báo cáo TTHC {period.label}: số liệu và gửi thư"
    )
    create_markdown_artifact(
        _markdown(summary, period),
        key=f"{artifact_key}-tom-tat",
        description=f"Tóm tắt lượt chạy {period.label}",
    )


def _markdown(summary: RunSummary, period: Period) -> str:
    results = [*summary.departments, *([summary.centre] if summary.centre else [])]
    documents = [d for r in results if r.documents for d in r.documents.attachments]
    sent = sum(len(r.delivery.sent) for r in results if r.delivery)
    skipped = sum(len(r.delivery.skipped) for r in results if r.delivery)
    lines = [
        f"# Báo cáo TTHC {period.label}",
        "",
        f"- Chạy thử: {'có' if summary.dry_run else 'không'}",
        f"- Bộ chạy tác vụ: {summary.task_runner or 'mặc định'}",
        f"- Văn bản đã viết: {len(documents)}",
        f"- Thư đã gửi: {sent}; bỏ qua (người nhận đã có bản này): {skipped}",
        f"- Sở chưa hoàn thành: {', '.join(summary.failed) or 'không'}",
        f"- Báo cáo tổng hợp: {'chưa lập, ' + summary.centre_held if summary.centre_held else 'đã lập'}",
        "",
        "## Ghi chú về số liệu",
    ]
    for result in summary.departments:
        if result.figures is None:
            continue
        quality = result.figures.data_quality
        if quality.is_clean:
            continue
        lines.append(
            f"- {result.key}: loại {format_count(quality.excluded)}, "
            f"từ chối {format_count(quality.rejected_count)}, "
            f"trùng gộp {format_count(quality.duplicates_merged)}, "
            f"rút hồ sơ {format_count(quality.withdrawn)}"
        )
    return "\n".join(lines) + "\n"
