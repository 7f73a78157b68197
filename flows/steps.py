"""The Prefect tasks that flows/monthly_report.py wires together.

Each task opens the outside systems it needs from the configuration it is given (so a task
also runs in a Dask worker process), does one step of tasks/pipeline.py, and returns a value.
Retries sit only on the tasks that talk to the portal or the mail server, and only for
conditions that another attempt can cure. Time limits sit on every call to those systems (the
portal client's and the SMTP connection's timeouts) rather than on the tasks: Prefect cannot
interrupt a task running in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from tasks.delivery.ledger import DeliveryOutcome
from tasks.documents.centre_summary import total_figures
from tasks.figures.engine import FiguresReport, compute_rates
from tasks.figures.periods import Period
from tasks.portal.client import PortalUnavailable
from tasks.run import plan as pipeline
from tasks.run.plan import DocumentSet, Rates, TrendPoints
from tasks.run.services import open_mailer, open_portal, open_store
from tasks.settings.models import AppConfig

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class DepartmentFigures:
    """A department's figures for the period, with the rates before it (for comparisons)."""

    department_key: str
    report: FiguresReport
    previous_rates: Rates | None
    trend: TrendPoints


class DeliveryIncomplete(RuntimeError):
    """Some recipients did not get the report; `transient` tells whether a retry may cure it."""

    def __init__(self, outcome: DeliveryOutcome) -> None:
        super().__init__(outcome.problem() or "delivery incomplete")
        self.outcome = outcome
        self.transient = bool(outcome.failed) and not outcome.refused

    def __reduce__(self) -> tuple[type[DeliveryIncomplete], tuple[DeliveryOutcome]]:
        # A Dask worker sends the failure back pickled; rebuild it from the outcome.
        return (type(self), (self.outcome,))


def _raised(state: State[Any]) -> BaseException | None:
    try:
        state.result(raise_on_failure=True)
    except BaseException as error:
        return error
    return None


def with_retries(step: Task[P, R], delays_seconds: list[float]) -> Task[P, R]:
    """Return `step` retried once after each of `delays_seconds` (settings.runner)."""
    return step.with_options(retries=len(delays_seconds), retry_delay_seconds=delays_seconds)


def retry_when_portal_unavailable(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a portal task only when the portal was unreachable, never on bad credentials."""
    return isinstance(_raised(state), PortalUnavailable)


def retry_when_mail_transient(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a delivery only when its failures were transient (server down, 4xx)."""
    error = _raised(state)
    return isinstance(error, DeliveryIncomplete) and error.transient


@task(
    name="tinh-so-lieu",
    task_run_name="số liệu {department_key} {period_key}",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=retry_when_portal_unavailable,
    cache_policy=NO_CACHE,
)
def compute_department_figures(
    config: AppConfig, department_key: str, period_key: str
) -> DepartmentFigures:
    """Fetch a department's dossiers, compute and store its figures and its twelve-month trend."""
    period = Period.parse(period_key)
    with open_portal(config) as portal, open_store(config) as store:
        report = pipeline.department_figures(config, portal, store, department_key, period)
        points = pipeline.trend(config, portal, store, department_key, report)
        previous = pipeline.previous_rates(config, portal, store, department_key, period, points)
    return DepartmentFigures(department_key, report, previous, points)


@task(
    name="ve-bao-cao",
    task_run_name="báo cáo {department_key} {figures.report.period}",
    cache_policy=NO_CACHE,
)
def render_department_documents(
    config: AppConfig, department_key: str, figures: DepartmentFigures
) -> DocumentSet:
    """Write a department's report and data form for the period."""
    with open_store(config) as store:
        return pipeline.render_department(
            config, store, department_key, figures.report, figures.previous_rates, figures.trend
        )


@task(
    name="gui-bao-cao",
    task_run_name="gửi {department_key} {documents.period_key}",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=retry_when_mail_transient,
    cache_policy=NO_CACHE,
)
def deliver_department_documents(
    config: AppConfig,
    department_key: str,
    documents: DocumentSet,
    figures: DepartmentFigures,
    dry_run: bool,
    force_resend: bool,
) -> DeliveryOutcome:
    """Send a department's report to each of its recipients that does not have it yet."""
    department = config.department(department_key)
    outcome = _deliver(
        config,
        documents,
        department.name,
        figures.report.figures,
        figures.report.rates,
        dry_run=dry_run,
        force_resend=force_resend,
    )
    return outcome


@task(
    name="tong-hop",
    task_run_name="tổng hợp {period_key}",
    cache_policy=NO_CACHE,
)
def render_centre_documents(
    config: AppConfig, period_key: str, rows: list[tuple[str, FiguresReport]]
) -> DocumentSet:
    """Write the Centre's summary report and data form over the departments' figures."""
    with open_store(config) as store:
        return pipeline.render_summary(config, store, Period.parse(period_key), rows)


@task(
    name="gui-tong-hop",
    task_run_name="gửi tổng hợp {period_key}",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=retry_when_mail_transient,
    cache_policy=NO_CACHE,
)
def deliver_centre_documents(
    config: AppConfig,
    period_key: str,
    documents: DocumentSet,
    reports: list[FiguresReport],
    dry_run: bool,
    force_resend: bool,
) -> DeliveryOutcome:
    """Send the Centre's summary to the Centre."""
    totals = total_figures(reports)
    return _deliver(
        config,
        documents,
        config.settings.centre_name,
        totals,
        compute_rates(totals),
        dry_run=dry_run,
        force_resend=force_resend,
    )


def _deliver(
    config: AppConfig,
    documents: DocumentSet,
    title: str,
    figures: dict[str, int],
    rates: Rates,
    *,
    dry_run: bool,
    force_resend: bool,
) -> DeliveryOutcome:
    mailer = open_mailer(config, dry_run=dry_run, period_key=documents.period_key)
    with open_store(config) as store:
        outcome = pipeline.deliver(
            config,
            store,
            mailer,
            documents,
            title,
            figures,
            rates,
            dry_run=dry_run,
            force_resend=force_resend,
        )
    if not outcome.ok:
        raise DeliveryIncomplete(outcome)
    return outcome
