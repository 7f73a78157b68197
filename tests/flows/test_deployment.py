"""Tests of flows/deployment.py and prefect.yaml: the deployment as the Prefect API and UI see it."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from flows.cli import app
from flows.deployment import (
    ENTRYPOINT,
    build_deployment,
    deployment_full_name,
    make_runner,
    serve,
)
from flows.monthly_report import monthly_report
from tasks.figures.periods import PERIOD_PATTERN, Period
from tasks.run.plan import resolve_period
from tasks.settings.loading import PROJECT_ROOT
from tests.flows.conftest import FlowSetup

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_prefect_yaml_agrees_with_the_deployment_served() -> None:
    data = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    [entry] = data["deployments"]
    deployment = build_deployment()
    [schedule] = deployment.schedules

    assert entry["name"] == deployment.name == "monthly-report"
    assert entry["entrypoint"] == ENTRYPOINT
    assert entry["schedules"] == [
        {"cron": schedule.schedule.cron, "timezone": schedule.schedule.timezone, "active": True}
    ]
    assert entry["concurrency_limit"] == deployment.concurrency_limit == 1
    assert entry["parameters"] == deployment.parameters == {}
    assert entry["enforce_parameter_schema"] is deployment.enforce_parameter_schema is True
    assert entry["tags"] == deployment.tags
    assert entry["description"] == deployment.description


def test_entrypoint_names_the_flow() -> None:
    path, function = ENTRYPOINT.split(":")
    source = inspect.getsourcefile(monthly_report.fn)

    assert source is not None
    assert (PROJECT_ROOT / path).resolve() == Path(source).resolve()
    assert function == monthly_report.fn.__name__


def _next_first_mornings(now: datetime, count: int) -> list[datetime]:
    """Return the next `count` 07:00 on a 1st after `now`, Vietnam time (worked out by hand)."""
    local = now.astimezone(VIETNAM)
    year, month = local.year, local.month
    found: list[datetime] = []
    while len(found) < count:
        candidate = datetime(year, month, 1, 7, 0, tzinfo=VIETNAM)
        if candidate > local:
            found.append(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _scheduled_runs(deployment_id: UUID, after: datetime) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(after_=after)
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )


def test_the_api_holds_the_schedule_limit_and_parameter_form(prefect_api: str) -> None:
    deployment_id = build_deployment().apply()

    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)

    assert f"{monthly_report.name}/{stored.name}" == deployment_full_name()
    [schedule] = stored.schedules
    assert schedule.active
    assert schedule.schedule.cron == "0 7 1 * *"
    assert schedule.schedule.timezone == "Asia/Ho_Chi_Minh"
    assert stored.global_concurrency_limit is not None
    assert stored.global_concurrency_limit.limit == 1
    assert not stored.paused
    properties = stored.parameter_openapi_schema["properties"]
    assert {name: (field["type"], field["title"]) for name, field in properties.items()} == {
        "period": ("string", "Kỳ báo cáo"),
        "departments": ("array", "Các sở"),
        "dry_run": ("boolean", "Chạy thử"),
        "force_resend": ("boolean", "Gửi lại"),
    }
    assert properties["departments"]["items"] == {"type": "string"}
    assert all(field["description"] for field in properties.values())
    assert stored.parameter_openapi_schema.get("required", []) == []


def test_the_next_three_runs_are_on_the_1st_at_7_reporting_the_month_before(
    prefect_api: str,
) -> None:
    deployment_id = build_deployment().apply()
    now = datetime.now(UTC)

    # What the server's scheduler does: turn the stored schedule into flow runs.
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/deployments/{id}/schedule",
            path_params={"id": deployment_id},
            json={
                "start_time": now.isoformat(),
                "end_time": (now + timedelta(days=120)).isoformat(),
                "min_runs": 3,
                "max_runs": 3,
            },
        )
        response.raise_for_status()
    runs = _scheduled_runs(deployment_id, now)[:3]
    try:
        starts = [run.expected_start_time for run in runs]
        assert all(start is not None for start in starts)
        local = [start.astimezone(VIETNAM) for start in starts if start is not None]

        assert local == _next_first_mornings(now, 3)
        assert [(t.day, t.hour, t.minute) for t in local] == [(1, 7, 0)] * 3
        reported = [resolve_period("", t, VIETNAM) for t in local]
        assert reported == [Period.month_before(t.date()) for t in local]
        assert [p.key for p in reported] == [
            f"{(t - timedelta(days=1)).year}-{(t - timedelta(days=1)).month:02d}" for t in local
        ]
    finally:
        with get_client(sync_client=True) as client:
            for run in _scheduled_runs(deployment_id, now):
                client.delete_flow_run(run.id)


def test_a_custom_run_reports_one_department_for_another_month(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    runner = make_runner(build_deployment(), query_seconds=1)
    # As the UI's "Custom run" does: a run of the deployment with some parameters changed.
    created = run_deployment(
        deployment_full_name(),
        parameters={"period": "2024-04", "departments": ["SKHCN"]},
        timeout=0,
    )
    assert isinstance(created, FlowRun)

    serve(runner, run_once=True)

    with get_client(sync_client=True) as client:
        finished = client.read_flow_run(created.id)
    assert finished.state is not None
    assert finished.state.is_completed(), finished.state.message
    assert finished.name == "báo cáo TTHC 2024-04 (SKHCN)"  # a plain run: no mode in its name
    received = flow_setup.smtp.received
    assert received, "the SMTP server received nothing"
    for message in received:
        names = list(message.attachments())
        assert "Báo cáo TTHC 2024-04 SKHCN.docx" in names
        assert "Biểu mẫu số liệu 2024-04 SKHCN.xlsx" in names
        assert all("2024-04 SKHCN" in name for name in names), names
    recipients = flow_setup.config().recipients_for("SKHCN")
    expected = {a.lower() for a in [*recipients.to, *recipients.cc, *recipients.bcc]}
    delivered = [address.lower() for m in received for address in m.envelope_to]
    assert sorted(delivered) == sorted(expected)


DEPARTMENTS = ["SKHCN", "STP", "SYT", "SGDDT", "STNMT"]


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"period": "2024-13"}, "period"),
        ({"period": "04/2024"}, "period"),
        ({"departments": ["SKHCM"]}, "departments"),
        ({"departments": ['["SKHCN"]']}, "departments"),
    ],
)
def test_the_form_refuses_a_bad_period_or_department_before_a_run_exists(
    prefect_api: str, parameters: dict[str, Any], named: str
) -> None:
    deployment_id = build_deployment(department_keys=DEPARTMENTS).apply()

    # What the UI's "Custom run" form calls: the server checks the parameters on creation.
    with get_client(sync_client=True) as client:
        before = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
        with pytest.raises(PrefectHTTPStatusError) as refused:
            client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
        after = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )

    assert refused.value.response.status_code == 409
    detail = refused.value.response.json()["detail"]
    assert "Validation failed for field" in detail and named in detail, detail
    assert len(after) == len(before)  # no run exists, so no run fails and nobody is alerted


def test_the_form_offers_the_configured_departments_and_the_period_pattern(
    prefect_api: str,
) -> None:
    deployment_id = build_deployment(department_keys=DEPARTMENTS).apply()

    with get_client(sync_client=True) as client:
        properties = client.read_deployment(deployment_id).parameter_openapi_schema["properties"]
        accepted = client.create_flow_run_from_deployment(
            deployment_id, parameters={"period": "2024-Q2", "departments": ["SKHCN", "STP"]}
        )
        client.delete_flow_run(accepted.id)

    assert properties["departments"]["items"] == {"type": "string", "enum": DEPARTMENTS}
    assert properties["departments"]["uniqueItems"] is True
    assert properties["period"]["pattern"] == PERIOD_PATTERN


def test_serve_offers_the_departments_configured_when_it_starts(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # serve registers the deployment, then runs its runs: stop it once it has registered.
    def registered_only(_runner: object) -> None:
        raise SystemExit(0)

    flow_setup.monkeypatch.setattr("flows.deployment.serve", registered_only)

    result = CliRunner().invoke(app, ["serve"])
    with get_client(sync_client=True) as client:
        stored = client.read_deployment_by_name(deployment_full_name())

    assert result.stdout.startswith("serving monthly_report/monthly-report"), result.output
    keys = [d.key for d in flow_setup.config().departments.departments]
    assert stored.parameter_openapi_schema["properties"]["departments"]["items"]["enum"] == keys


def test_serve_refuses_to_start_without_a_prefect_api(flow_setup: FlowSetup) -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 2
    assert result.stderr.startswith("PREFECT_API_URL is not set: start the server")
