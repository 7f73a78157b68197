"""The Prefect tasks that flows/monthly_report.py wires together, one per step of tasks/run/steps.py.

Each task opens the outside systems it needs from the configuration it is given (so a task
also runs in a Dask worker process), does one step, and returns a value. Retries are declared
in one place, `retried`, from settings.runner, and only on the tasks that talk to the portal or
the mail server, for conditions another attempt can cure. Time limits sit on every call to
those systems (the portal client's and the SMTP connection's timeouts) rather than on the
tasks: Prefect cannot interrupt a task running in a worker thread.
"""

from __future__ import annotations

import logging
from typing import Any, ParamSpec, TypeVar

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.exceptions import MissingContextError
from prefect.states import State

from tasks.delivery.ledger import DeliveryOutcome
from tasks.figures.engine import Figures, FiguresReport, Rates
from tasks.figures.periods import Period
from tasks.national_index.standing import IndexFetch
from tasks.portal.client import PortalUnavailable
from tasks.run import steps
from tasks.run.services import open_mailer, open_portal, open_store
from tasks.run.steps import DepartmentFigures, DocumentSet
from tasks.run.targets import CentreTarget, DepartmentTarget, Target
from tasks.settings.models import AppConfig, RunnerSettings

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class DeliveryIncomplete(RuntimeError):
    """Some recipients did not get the report; `transient` tells whether a retry may cure it."""

    def __init__(self, outcome: DeliveryOutcome) -> None:
        super().__init__(outcome.problem() or "delivery incomplete")
        self.outcome = outcome
        self.transient = outcome.transient

    def __reduce__(self) -> tuple[type[DeliveryIncomplete], tuple[DeliveryOutcome]]:
        # A Dask worker sends the failure back pickled; rebuild it from the outcome.
        return (type(self), (self.outcome,))


def _step_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """Return the task run's logger (its lines in the UI); this module's when called as `.fn`."""
    try:
        return get_run_logger()
    except MissingContextError:  # the task's function called directly (bench/province.py)
        return logger


def _raised(state: State[Any]) -> BaseException | None:
    try:
        state.result(raise_on_failure=True)
    except BaseException as error:
        return error
    return None


def retry_when_portal_unavailable(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a portal task only when the portal was unreachable, never on bad credentials."""
    return isinstance(_raised(state), PortalUnavailable)


def retry_when_mail_transient(_task: Any, _run: TaskRun, state: State[Any]) -> bool:
    """Retry a delivery only when its failures were transient (server down, 4xx)."""
    error = _raised(state)
    return isinstance(error, DeliveryIncomplete) and error.transient


@task(
    name="tinh-so-lieu",
    task_run_name="số liệu {department_key} {period}",
    cache_policy=NO_CACHE,
)
def compute_department_figures(
    config: AppConfig, department_key: str, period: Period
) -> DepartmentFigures:
    """Fetch a department's dossiers, compute and store its figures and its twelve-month trend."""
    _step_logger().info(
        "%s %s: đọc hồ sơ từ cổng dịch vụ công, tính số liệu và xu hướng 12 tháng",
        department_key,
        period.key,
    )
    with open_portal(config) as portal, open_store(config) as store:
        return steps.department_figures(config, portal, store, department_key, period)


@task(name="bo-chi-so-766", task_run_name="bộ chỉ số 766 {period}", cache_policy=NO_CACHE)
def fetch_national_index(config: AppConfig, period: Period) -> IndexFetch:
    """Fetch and store the national index of the period; an unavailable index is a value."""
    with open_store(config) as store:
        return steps.national_index(config, store, period)


@task(
    name="ve-bao-cao",
    task_run_name="báo cáo {department_key} {figures.report.period}",
    cache_policy=NO_CACHE,
)
def render_department_documents(
    config: AppConfig,
    department_key: str,
    figures: DepartmentFigures,
    index: IndexFetch | None = None,
) -> DocumentSet:
    """Write a department's report and data form for the period."""
    # The longest silent step otherwise: charts, the .docx, the .xlsx, then LibreOffice's PDF.
    _step_logger().info(
        "%s %s: vẽ biểu đồ, viết báo cáo .docx, biểu mẫu .xlsx và PDF (nếu có LibreOffice)",
        department_key,
        figures.report.period.key,
    )
    with open_store(config) as store:
        # The PDF is queued with the run's converter; the delivery waits for it.
        return steps.render_department(config, store, figures, index, pdf_later=True)


@task(
    name="gui-bao-cao",
    task_run_name="gửi {department_key} {documents.period}",
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
    target = DepartmentTarget(department_key, config.department(department_key).name)
    report = figures.report
    return _deliver(config, target, documents, report.figures, report.rates, dry_run, force_resend)


@task(name="tong-hop", task_run_name="tổng hợp {period}", cache_policy=NO_CACHE)
def render_centre_documents(
    config: AppConfig,
    period: Period,
    rows: list[tuple[str, FiguresReport]],
    index: IndexFetch | None = None,
    pdf_later: bool = False,
) -> DocumentSet:
    """Write the Centre's summary report and data form over the departments' figures."""
    _step_logger().info(
        "tổng hợp %s: %d sở, báo cáo .docx và biểu mẫu .xlsx", period.key, len(rows)
    )
    with open_store(config) as store:
        return steps.render_summary(config, store, period, rows, index, pdf_later=pdf_later)


@task(name="gui-tong-hop", task_run_name="gửi tổng hợp {period}", cache_policy=NO_CACHE)
def deliver_centre_documents(
    config: AppConfig,
    period: Period,
    documents: DocumentSet,
    reports: list[FiguresReport],
    dry_run: bool,
    force_resend: bool,
) -> DeliveryOutcome:
    """Send the Centre's summary to the Centre."""
    del period  # in the task run's name; the documents carry it too
    target = CentreTarget(config.settings.centre_name)
    figures, rates = steps.summary_totals(reports)
    return _deliver(
        config, target, documents, figures, rates, dry_run, force_resend, summary_of=len(reports)
    )


def _deliver(
    config: AppConfig,
    target: Target,
    documents: DocumentSet,
    figures: Figures,
    rates: Rates,
    dry_run: bool,
    force_resend: bool,
    *,
    summary_of: int | None = None,
) -> DeliveryOutcome:
    mailer = open_mailer(config, dry_run=dry_run, period=documents.period)
    with open_store(config) as store:
        outcome = steps.deliver(
            config,
            store,
            mailer,
            target,
            documents,
            figures,
            rates,
            dry_run=dry_run,
            force_resend=force_resend,
            summary_of=summary_of,
        )
    if not outcome.ok:
        raise DeliveryIncomplete(outcome)
    return outcome


def retried(step: Task[P, R], runner: RunnerSettings) -> Task[P, R]:
    """Return `step` with the retry policy of the outside system it talks to (settings.runner).

    The portal's: the department's fetch runs again after each of
    portal_retry_delays_seconds when the portal stayed unavailable through every attempt of a
    request (portal.max_attempts). The mail server's: the delivery runs again after each of
    mail_retry_delays_seconds while a failure is transient; the ledger skips whoever has it.
    """
    if step is compute_department_figures:
        delays, condition = runner.portal_retry_delays_seconds, retry_when_portal_unavailable
    elif step in (deliver_department_documents, deliver_centre_documents):
        delays, condition = runner.mail_retry_delays_seconds, retry_when_mail_transient
    else:
        return step
    return step.with_options(
        retries=len(delays), retry_delay_seconds=list(delays), retry_condition_fn=condition
    )
