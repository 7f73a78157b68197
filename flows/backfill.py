"""Backfill: one monthly_report run per period of a range, oldest first.

Through the deployment when a Prefect API holding it is reachable (the runs then show in the
UI and the serving process or a worker executes them, one at a time), else here, in order.
Nothing is sent twice either way: each run's deliveries go through the delivery ledger, which
skips every recipient that already has the same report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import State

from flows.deployment import api_url
from flows.monthly_report import monthly_report
from tasks.figures.periods import InvalidPeriod, Period
from tasks.run.plan import RunSummary, delivery_text

BACKFILL_TAG = "backfill"
MAX_PERIODS = 120


@dataclass
class BackfillRun:
    """One period of a backfill: its flow run and, once it ended, how."""

    period: Period
    flow_run_id: UUID | None = None
    state: str = "Scheduled"
    message: str = ""
    dry_run: bool = False
    # Counted from the run's summary, when it ran here; a deployment's run shows its own.
    messages: int | None = None
    recipients: int | None = None
    skipped: int | None = None
    eml_folders: list[Path] = field(default_factory=list)

    def line(self) -> str:
        """Return the run in one line: period, state, then its mail or why it did not complete."""
        text = f"{self.period.key} {self.state}"
        if self.messages is not None:
            text += ": " + delivery_text(
                self.messages,
                self.recipients or 0,
                self.skipped or 0,
                self.dry_run,
                self.eml_folders,
            )
        if self.message and self.state != "Completed":
            text += f": {self.message}"
        return text

    @property
    def ok(self) -> bool:
        """Tell whether the run completed (or, not waited for, was created)."""
        return self.state in {"Completed", "Scheduled"}


def periods_between(first: Period, last: Period) -> list[Period]:
    """Return the periods from `first` to `last`, both included, oldest first.

    Raise InvalidPeriod when they are of different kinds (a month and a quarter), when
    `first` comes after `last`, or when the range is longer than MAX_PERIODS.
    """
    if first.kind != last.kind:
        raise InvalidPeriod(f"--from {first} and --to {last} are not periods of the same kind")
    if (first.year, first.index) > (last.year, last.index):
        raise InvalidPeriod(f"--from {first} comes after --to {last}")
    periods = [last]
    while periods[-1] != first:
        if len(periods) >= MAX_PERIODS:
            raise InvalidPeriod(f"{first} to {last} is more than {MAX_PERIODS} periods")
        periods.append(periods[-1].previous())
    return list(reversed(periods))


class ApiUnreachable(RuntimeError):
    """PREFECT_API_URL is set but the server does not answer: neither way can run."""


def find_deployment(name: str) -> UUID | None:
    """Return the id of deployment `name` ("flow/deployment") on the configured API, if any.

    None when PREFECT_API_URL is not set (runs here then use a temporary API) or the server
    does not hold the deployment. Raise ApiUnreachable when the server does not answer.
    """
    url = api_url()
    if not url:
        return None
    try:
        with get_client(sync_client=True) as client:
            return client.read_deployment_by_name(name).id
    except ObjectNotFound:
        return None
    except (httpx.HTTPError, OSError) as error:
        raise ApiUnreachable(f"the Prefect API at {url} does not answer: {error}") from error


def run_parameters(period: Period, departments: Sequence[str], dry_run: bool) -> dict[str, object]:
    """Return the monthly_report parameters of one backfill run (as "Custom run" would set them)."""
    return {
        "period": period.key,
        "departments": list(departments),
        "dry_run": dry_run,
        "force_resend": False,
    }


def backfill_through_deployment(
    deployment: str,
    periods: Sequence[Period],
    departments: Sequence[str],
    *,
    dry_run: bool,
    on_created: Callable[[BackfillRun], None] = lambda _run: None,
) -> list[BackfillRun]:
    """Create one run of `deployment` per period, oldest first, and return them (not waited for)."""
    runs: list[BackfillRun] = []
    for period in periods:
        flow_run = run_deployment(
            deployment,
            parameters=run_parameters(period, departments, dry_run),
            timeout=0,
            tags=[BACKFILL_TAG],
            as_subflow=False,
        )
        # run_deployment returns a coroutine only when called from async code.
        assert isinstance(flow_run, FlowRun)
        run = BackfillRun(period, flow_run.id, _state_name(flow_run))
        runs.append(run)
        on_created(run)
    return runs


def wait_for_runs(
    runs: Sequence[BackfillRun],
    *,
    on_finished: Callable[[BackfillRun], None] = lambda _run: None,
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll the API until every run has ended; update each run and call `on_finished` on it."""
    waiting = {run.flow_run_id: run for run in runs if run.flow_run_id is not None}
    with get_client(sync_client=True) as client:
        while waiting:
            for flow_run_id, run in list(waiting.items()):
                flow_run = client.read_flow_run(flow_run_id)
                if flow_run.state is None or not flow_run.state.is_final():
                    continue
                run.state = _state_name(flow_run)
                run.message = _one_line(flow_run.state.message)
                del waiting[flow_run_id]
                on_finished(run)
            if waiting:
                sleep(poll_seconds)


def backfill_locally(
    periods: Sequence[Period],
    departments: Sequence[str],
    *,
    dry_run: bool,
    on_finished: Callable[[BackfillRun], None] = lambda _run: None,
) -> list[BackfillRun]:
    """Run monthly_report here for each period, oldest first, going on after a failed one."""
    runs: list[BackfillRun] = []
    for period in periods:
        state: State[RunSummary | State[Any]] = monthly_report(
            period=period.key,
            departments=list(departments),
            dry_run=dry_run,
            force_resend=False,
            return_state=True,
        )
        run = BackfillRun(
            period, state.state_details.flow_run_id, state.name or state.type.value, dry_run=dry_run
        )
        run.message = _one_line(state.message)
        summary = state.result() if state.is_completed() else None
        if isinstance(summary, RunSummary):  # not a run refused by the period's lock
            _count(run, summary)
        runs.append(run)
        on_finished(run)
    return runs


def _count(run: BackfillRun, summary: RunSummary) -> None:
    run.messages = summary.messages
    run.recipients = summary.recipients
    run.skipped = summary.skipped
    run.eml_folders = summary.eml_folders


def _state_name(flow_run: FlowRun) -> str:
    state = flow_run.state
    return (state.name or state.type.value) if state is not None else "Scheduled"


def _one_line(text: str | None) -> str:
    return "; ".join(line.strip() for line in (text or "").splitlines() if line.strip())[:500]
