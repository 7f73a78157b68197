"""The monthly-report deployment: defined once here for `tthc-report serve`, prefect.yaml and the tests.

The schedule runs monthly_report at 07:00 on the 1st of every month, Vietnam time; a run with
an empty `period` then reports the month before. One run at a time: a second one (a manual
"Custom run" while the monthly run is going) waits for a slot instead of racing it for the
same delivery ledger. prefect.yaml repeats these values for `prefect deploy` (work pools);
tests/flows/test_deployment.py checks that the two agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.schedules import Cron, Schedule
from prefect.settings import get_current_settings

from flows.monthly_report import monthly_report

DEPLOYMENT_NAME = "monthly-report"
ENTRYPOINT = "flows/monthly_report.py:monthly_report"
SCHEDULE_CRON = "0 7 1 * *"
SCHEDULE_TIMEZONE = "Asia/Ho_Chi_Minh"
CONCURRENCY_LIMIT = 1
TAGS = ("tthc",)
DESCRIPTION = (
    "Báo cáo TTHC hằng tháng của các sở: 07:00 ngày 1 hằng tháng (giờ Việt Nam), báo cáo "
    'tháng trước. "Custom run" để chạy lại một sở hoặc một kỳ khác.'
)


class NoPrefectApi(RuntimeError):
    """PREFECT_API_URL is not set: there is no server to register the deployment with."""


def deployment_full_name(name: str = DEPLOYMENT_NAME) -> str:
    """Return the name run_deployment and `prefect deployment run` know it by: flow/deployment."""
    return f"{monthly_report.name}/{name}"


def monthly_schedule() -> Schedule:
    """Return the schedule: 07:00 on the 1st of every month, Asia/Ho_Chi_Minh."""
    return Cron(SCHEDULE_CRON, timezone=SCHEDULE_TIMEZONE)


def build_deployment(
    name: str = DEPLOYMENT_NAME, department_keys: Sequence[str] = ()
) -> RunnerDeployment:
    """Return the deployment of monthly_report: schedule, one run at a time, editable parameters.

    `department_keys` (the configured departments, read when `serve` starts) become the
    choices of the form's "Các sở" field, so a typo is refused before a run exists.
    """
    deployment = monthly_report.to_deployment(
        name=name,
        schedule=monthly_schedule(),
        concurrency_limit=CONCURRENCY_LIMIT,
        description=DESCRIPTION,
        tags=list(TAGS),
        # Unpaused on every start: a schedule left paused would skip a month without a word.
        paused=False,
        enforce_parameter_schema=True,
    )
    # to_deployment returns a coroutine only when called from async code.
    assert isinstance(deployment, RunnerDeployment)
    if department_keys:
        departments = deployment._parameter_openapi_schema.properties["departments"]
        departments["items"] = {"type": "string", "enum": list(department_keys)}
    return deployment


def api_url() -> str | None:
    """Return the Prefect API this process talks to (PREFECT_API_URL or a profile), if any."""
    return get_current_settings().api.url


def make_runner(deployment: RunnerDeployment, *, query_seconds: float | None = None) -> Runner:
    """Register `deployment` with the API and return a runner that executes its runs here."""
    if not api_url():
        raise NoPrefectApi(
            "PREFECT_API_URL is not set: start the server (`prefect server start`) and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, or `prefect config set PREFECT_API_URL=...`"
        )
    runner = Runner(
        name=f"tthc-report-{deployment.name}",
        query_seconds=query_seconds,
        limit=CONCURRENCY_LIMIT,
        # Keep the schedule on while this process is down: the month's run then waits,
        # Late, and runs as soon as serving resumes, instead of being skipped.
        pause_on_shutdown=False,
    )
    runner.add_deployment(deployment)
    return runner


def serve(runner: Runner, *, run_once: bool = False) -> None:
    """Execute the runner's scheduled and manual runs until stopped (or the due ones, once)."""
    asyncio.run(runner.start(run_once=run_once))
