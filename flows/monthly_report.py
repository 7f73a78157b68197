"""The monthly report flow: every department's figures, documents and e-mails for one period.

The flow reads the configuration once, at its entry (or takes the one its caller in the same
process loaded, see flows.runtime.configured), plans the run (tasks/run/plan.py) and
maps the plan onto the Prefect tasks of flows/steps.py. Failures come back as data; when there
are any, the operators get one e-mail and the run ends Failed naming each.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, PrefectWrappedFuture, as_completed, wait
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Completed, Failed, State
from prefect.utilities.annotations import opaque
from pydantic import Field

from flows.artifacts import publish
from flows.embedded import live_config
from flows.runtime import SettingsTaskRunner, run_config, step_done
from flows.steps import (
    compute_department_figures,
    deliver_centre_documents,
    deliver_department_documents,
    fetch_national_index,
    render_centre_documents,
    render_department_documents,
    retried,
)
from tasks.delivery.messages import (
    OutgoingMessage,
    Sender,
    build_failure_alert,
    build_index_notice,
    build_notice,
)
from tasks.figures.periods import PERIOD_PATTERN, Period
from tasks.national_index.standing import IndexFetch
from tasks.run import steps
from tasks.run.plan import (
    Failure,
    RunPlan,
    RunSummary,
    Step,
    TargetResult,
    decide_centre,
    first_failure,
    plan_run,
    resolve_period,
)
from tasks.run.services import database_url, open_mailer, pdf_converter
from tasks.run.steps import DepartmentFigures, DocumentSet
from tasks.settings.models import AppConfig
from tasks.store.run_lock import RunLocked, RunLockUnavailable, period_lock

logger = logging.getLogger(__name__)


def form_field(title: str, description: str, **extra: Any) -> Any:
    """Return the Field that gives a flow parameter its title, description and checks in the UI."""
    # Prefect builds each parameter's schema with the parameter's name as title and the
    # docstring's text as description, over those of Field(); json_schema_extra comes last.
    return Field(
        title=title,
        description=description,
        json_schema_extra={"title": title, "description": description, **extra},
    )


# The state of a run refused by the period's lock: of type Completed, so that nothing reads
# it as a failure (Cancelled would make the process that ran it log a traceback), and named
# so that nobody reads it as done.
REFUSED = "Refused"
# How the national index's notes are labelled among a run's other notices.
INDEX_NOTICE_KEY = "Bộ chỉ số 766"


class RunFailed(RuntimeError):
    """Some targets did not complete; the message names each and why (the run's message)."""


class RunDeadlineExceeded(RunFailed):
    """The run did not end within runner.run_deadline_seconds; the message names what it awaited."""


def run_name() -> str:
    """Name a run after its parameters: "báo cáo TTHC 2024-05 (SKHCN) · chạy thử"."""
    return name_for(current_flow_run.parameters)


def name_for(parameters: dict[str, Any]) -> str:
    """Return a run's name: the period, the departments when not all, the mode when not plain."""
    period = str(parameters.get("period") or "").strip() or "tháng trước"
    departments = [str(key) for key in parameters.get("departments") or []]
    name = f"báo cáo TTHC {period}" + (f" ({', '.join(departments)})" if departments else "")
    if parameters.get("dry_run"):
        name += " · chạy thử"
    if parameters.get("force_resend"):
        name += " · gửi lại"
    return name


@flow(
    name="monthly_report",
    flow_run_name=run_name,
    description="Báo cáo kết quả tiếp nhận, giải quyết TTHC hằng tháng của các sở.",
    log_prints=False,
    # settings.runner picks the thread pool or Dask once the flow has read the settings.
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
            # The form refuses "2024-13" or "04/2024" before a run exists.
            pattern=PERIOD_PATTERN,
        ),
    ] = "",
    departments: Annotated[
        list[str],
        form_field(
            "Các sở",
            "Chọn một hoặc nhiều sở trong danh sách (config/departments.yaml). "
            "Để trống: tất cả các sở.",
            uniqueItems=True,
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
) -> RunSummary | State[Any]:
    """Report one period for every selected department, then the Centre's summary.

    A run refused by the period's lock ends in the Completed state named "Refused", with one
    line (it did nothing, and the run holding the lock does the work); invalid parameters end
    it Failed with one line.
    """
    run_logger = get_run_logger()
    started = time.monotonic()
    config = run_config(os.environ)
    context = FlowRunContext.get()
    runner = context.task_runner if context is not None else None
    if isinstance(runner, SettingsTaskRunner):
        runner.use(config.settings.runner)
    scheduled = current_flow_run.scheduled_start_time
    timezone = ZoneInfo(config.settings.timezone)
    try:
        target = resolve_period(period, scheduled, timezone)
        plan = plan_run(config, target, departments, dry_run=dry_run, force_resend=force_resend)
    except ValueError as error:
        # Parameters typed by whoever started the run, who sees this state at once: no alert,
        # and certainly none naming a month nobody asked for.
        run_logger.error("tham số không hợp lệ: %s", error)
        return Failed(message=f"tham số không hợp lệ: {error}")
    run_logger.info(
        "period %s, departments %s, dry run %s", target.key, ", ".join(plan.keys), dry_run
    )
    with ExitStack() as stack:
        # One run per period at a time: a second one would send what the first is sending.
        # The lock is in the run database, which every worker sharing the run shares.
        # Refused by another run, this one did nothing and nobody needs to act; a lock that
        # cannot be made at all (a read-only folder, a database server down) is the
        # operators' to fix.
        try:
            stack.enter_context(period_lock(database_url(config), target.key))
        except RunLocked as error:
            run_logger.warning("%s", error)
            return Completed(name=REFUSED, message=str(error))
        except RunLockUnavailable as error:
            if not dry_run:  # whoever started a dry run is watching it
                _alert(config, target, [Failure("lượt chạy", "run", str(error))])
            run_logger.error("%s", error)
            return Failed(message=str(error))
        live = stack.enter_context(live_config(config))
        # One LibreOffice converter for the run's PDFs, stopped when the run ends however.
        stack.enter_context(pdf_converter(live))
        try:
            deadline = started + config.settings.runner.run_deadline_seconds
            summary = _run(live, plan, deadline)
        except Exception as error:  # a bug or an outside failure no task caught
            _alert(live, target, [Failure("lượt chạy", "run", f"{type(error).__name__}: {error}")])
            raise
        summary.task_runner = runner.name if runner is not None else ""
        for result in summary.results:
            run_logger.info("%s", result.delivery_line(plan.dry_run))
        run_logger.info("thư: %s", summary.delivery_text())
        publish(summary, plan)
        notices = summary.notices
        for key, notice in notices:
            run_logger.warning("%s: %s", key, notice)
        # One e-mail per run at most: the failures (with the national index's notes), else the
        # notices (with them), else the index's notes alone. The index never fails a run.
        if summary.failures:
            if not plan.dry_run:
                _alert(live, target, summary.failures, summary.index_notes)
            # A state, not an exception: the message names each target, and a traceback
            # would say nothing more about a portal or a mail server that failed.
            run_logger.error("%s", summary.failure_message())
            return Failed(message=summary.failure_message())
        if not plan.dry_run:
            if notices:
                index_items = [(INDEX_NOTICE_KEY, note) for note in summary.index_notes]
                _notify(live, target, [*notices, *index_items])
            elif summary.index_notes:
                _notify_index(live, target, summary.index_notes)
    return summary


def _alert(
    config: AppConfig, period: Period, failures: list[Failure], index_notes: Sequence[str] = ()
) -> None:
    """Send the operators one e-mail naming the period and each target that failed."""
    reasons = {failure.target_key: failure.reason for failure in failures}
    _mail_operators(
        config,
        period,
        lambda operators, sender: build_failure_alert(
            period, reasons, operators, sender, index_notes=index_notes
        ),
    )


def _notify(config: AppConfig, period: Period, notices: list[tuple[str, str]]) -> None:
    """Send the operators one e-mail on what completed but needs a look (no dossier, no PDF)."""
    _mail_operators(
        config,
        period,
        lambda operators, sender: build_notice(period, notices, operators, sender),
    )


def _mail_operators(
    config: AppConfig,
    period: Period,
    build: Callable[[list[str], Sender], OutgoingMessage],
) -> None:
    """Send the operators the message `build` makes, never raising: the log says when it failed."""
    operators = config.settings.operators
    if not operators:
        return
    try:
        with live_config(config) as live:
            alert = build(list(operators), Sender.from_settings(live.settings.smtp))
            sent = open_mailer(live, dry_run=False, period=period).send(alert)
    except Exception as error:  # the alert must never hide the run's own failure
        logger.error("the operators' alert was not sent: %s", error)
        return
    if sent.error or not sent.delivered:
        # The mail server is often why the run failed: the log is then the only witness.
        logger.error("the operators' alert was not sent: %s", sent.error or "no recipient took it")


def _notify_index(config: AppConfig, period: Period, notes: list[str]) -> None:
    """Send the operators one e-mail on the national index: unavailable, or not matching ours."""
    _mail_operators(
        config,
        period,
        lambda operators, sender: build_index_notice(period, notes, operators, sender),
    )


def _as_is(value: Any) -> Any:
    return value


def _wait_within(named: dict[str, PrefectFuture[Any]], deadline: float, seconds: float) -> None:
    """Wait for every future until `deadline` (monotonic); past it raise naming the others."""
    for future in named.values():
        future.wait(timeout=max(0.0, deadline - time.monotonic()))
    waiting = [name for name, future in named.items() if not _ended(future)]
    if waiting:
        raise RunDeadlineExceeded(
            f"the run did not end within runner.run_deadline_seconds ({seconds:g} s); "
            f"still waiting for: {', '.join(waiting)}"
        )


def _ended(future: PrefectFuture[Any]) -> bool:
    """Tell whether a task has ended, its upstream's failure included (a Pending "NotReady")."""
    if isinstance(future, PrefectWrappedFuture):
        return bool(future.wrapped_future.done())
    return future.state.is_final()


def _run(config: AppConfig, plan: RunPlan, deadline: float) -> RunSummary:
    runner = config.settings.runner
    seconds = runner.run_deadline_seconds
    compute = retried(compute_department_figures, runner)
    deliver = retried(deliver_department_documents, runner)
    deliver_centre = retried(deliver_centre_documents, runner)
    # Futures go in as arguments: Prefect waits for them and passes their results, which
    # its typed overloads of submit() do not express. opaque() stops Prefect from walking
    # into the configuration and the results looking for more futures: that walk costs as
    # much as the work itself in a province of 120 agencies (make bench). prefect-dask hands
    # annotated arguments to the task still wrapped, so the Dask runner goes without.
    shield: Callable[[Any], Any] = opaque if runner.kind == "default" else _as_is
    settings = shield(config)
    period = plan.period
    keys = plan.keys
    index: PrefectFuture[IndexFetch] = fetch_national_index.submit(settings, period)
    figures: dict[str, PrefectFuture[DepartmentFigures]] = {
        k: compute.submit(settings, k, period) for k in keys
    }
    documents: dict[str, PrefectFuture[DocumentSet]] = {
        k: render_department_documents.submit(settings, k, shield(figures[k]), shield(index))
        for k in keys
    }
    deliveries: dict[str, PrefectFuture[Any]] = {
        k: deliver.submit(
            settings,
            k,
            shield(documents[k]),
            shield(figures[k]),
            plan.dry_run,
            plan.force_resend,
        )
        for k in keys
    }
    # The Centre's summary needs every department's figures and the index, nothing more: it
    # is written as soon as they are in, in this thread, while the departments' reports are
    # still written and sent; its PDF then shares a LibreOffice call with theirs instead of
    # starting one of its own at the end of the run. Its message still goes last.
    _follow(
        [
            (index, "bộ chỉ số 766", "national index"),
            *((figures[k], f"số liệu {k}", f"figures {k}") for k in keys),
        ],
        deadline,
        seconds,
    )
    fetched = (
        index.result()
        if index.state.is_completed()
        else IndexFetch(period.key, problem=_error_text(index))
    )
    reports = {
        k: figures[k].result().report if figures[k].state.is_completed() else None for k in keys
    }
    decision = decide_centre(plan, reports)
    centre_documents: State[DocumentSet] | None = None
    if decision.target is not None:
        # Threads share this process's converter with the delivery; a Dask worker would not.
        centre_documents = render_centre_documents(
            settings,
            period,
            shield(decision.rows),
            shield(fetched),
            pdf_later=runner.kind == "default",
            return_state=True,
        )
        step_done("báo cáo tổng hợp")
    _follow(
        [
            step
            for k in keys
            for step in (
                (documents[k], f"báo cáo {k}", f"documents {k}"),
                (deliveries[k], f"gửi {k}", f"delivery {k}"),
            )
        ],
        deadline,
        seconds,
    )

    summary = RunSummary(period, plan.dry_run)
    for department in plan.departments:
        key = department.key
        result = TargetResult(department)
        result.failure = _first_failure(
            key,
            [
                ("figures", figures[key]),
                ("documents", documents[key]),
                ("delivery", deliveries[key]),
            ],
        )
        result.report = reports[key]
        if documents[key].state.is_completed():
            result.documents = documents[key].result()
        if deliveries[key].state.is_completed():
            result.delivery = deliveries[key].result()
        summary.departments.append(result)
    summary.index = fetched
    summary.index_notes, summary.index_checks = steps.index_checks(
        config, summary.index, {r.key: r.report for r in summary.departments}
    )

    if decision.target is None or centre_documents is None:
        summary.centre_held = decision.held
        return summary
    centre = TargetResult(decision.target)
    centre_delivery: PrefectFuture[Any] | None = None
    if centre_documents.is_completed():
        centre.documents = centre_documents.result()
        centre_delivery = deliver_centre.submit(
            settings,
            period,
            shield(centre.documents),
            shield([report for _, report in decision.rows]),
            plan.dry_run,
            plan.force_resend,
        )
        _follow([(centre_delivery, "gửi tổng hợp", f"delivery {centre.key}")], deadline, seconds)
    # A summary that could not be written is never sent: its delivery did not run.
    centre.failure = first_failure(
        centre.key,
        [
            ("documents", _state_error_text(centre_documents)),
            ("delivery", None if centre_delivery is None else _error_text(centre_delivery)),
        ],
    )
    if centre_delivery is not None and centre_delivery.state.is_completed():
        centre.delivery = centre_delivery.result()
    summary.centre = centre
    return summary


def _follow(
    steps: list[tuple[PrefectFuture[Any], str, str]], deadline: float, seconds: float
) -> None:
    """Wait for every step until `deadline`, telling the progress display of each as it ends.

    A step is (future, its name on the progress display, its name in the deadline's message).
    """
    names = {id(future): shown for future, shown, _ in steps}
    futures = [future for future, _, _ in steps]
    try:
        for future in as_completed(futures, timeout=max(0.0, deadline - time.monotonic())):
            step_done(names[id(future)])
    except TimeoutError:
        pass  # _wait_within names what is still running
    _wait_within({named: future for future, _, named in steps}, deadline, seconds)
    # as_completed says a future is done before its state is final: wait() settles it.
    wait(futures)


def _first_failure(key: str, futures: list[tuple[Step, PrefectFuture[Any]]]) -> Failure | None:
    """Return the target's failure by the plan's rule, from the states of its steps' futures."""
    return first_failure(key, [(step, _error_text(future)) for step, future in futures])


def _error_text(future: PrefectFuture[Any]) -> str | None:
    """Return why the future's task did not complete (one line), None when it did."""
    return _state_error_text(future.state)


def _state_error_text(state: State[Any]) -> str | None:
    """Return why the task that ended in `state` did not complete, None when it did."""
    if state.is_completed():
        return None
    try:
        state.result(raise_on_failure=True)
    except BaseException as error:  # the task's own exception, to name in the summary
        return f"{type(error).__name__}: {error}"
    return state.message or state.name or "failed"
