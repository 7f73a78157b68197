"""Tests of flows/backfill.py and `tthc-report backfill`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from prefect.states import Cancelled
from typer.testing import CliRunner

from flows.backfill import (
    BACKFILL_TAG,
    BackfillRun,
    backfill_through_deployment,
    periods_between,
    wait_for_runs,
)
from flows.cli import app
from flows.deployment import build_deployment, deployment_full_name
from tasks.figures.periods import InvalidPeriod, Period
from tests.flows.conftest import FlowSetup

TEST_DEPLOYMENT = "backfill-test"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2024-01", "2024-01", ["2024-01"]),
        ("2024-01", "2024-06", ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]),
        ("2023-11", "2024-02", ["2023-11", "2023-12", "2024-01", "2024-02"]),
        ("2023-Q4", "2024-Q2", ["2023-Q4", "2024-Q1", "2024-Q2"]),
        ("2022", "2024", ["2022", "2023", "2024"]),
    ],
)
def test_periods_between_lists_each_period_oldest_first(
    first: str, last: str, expected: list[str]
) -> None:
    periods = periods_between(Period.parse(first), Period.parse(last))

    assert [p.key for p in periods] == expected


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2024-06", "2024-01", "--from 2024-06 comes after --to 2024-01"),
        ("2024-01", "2024-Q2", "are not periods of the same kind"),
        ("2000-01", "2024-01", "is more than 120 periods"),
    ],
)
def test_periods_between_refuses_a_range_it_cannot_walk(
    first: str, last: str, message: str
) -> None:
    with pytest.raises(InvalidPeriod, match=message):
        periods_between(Period.parse(first), Period.parse(last))


def test_the_command_refuses_a_reversed_range(flow_setup: FlowSetup) -> None:
    result = CliRunner().invoke(app, ["backfill", "--from", "2024-06", "--to", "2024-01"])

    assert result.exit_code == 2
    assert "--from 2024-06 comes after --to 2024-01" in result.output


def test_an_unreachable_prefect_api_stops_the_backfill(flow_setup: FlowSetup) -> None:
    unreachable = {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    with temporary_settings(updates=unreachable):
        result = CliRunner().invoke(app, ["backfill", "--from", "2024-01", "--to", "2024-02"])

    assert result.exit_code == 1
    assert result.stderr.startswith("the Prefect API at http://127.0.0.1:9/api does not answer")
    assert flow_setup.smtp.received == []


def test_without_the_deployment_the_periods_run_here_and_nothing_is_sent_twice(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    arguments = [
        "backfill",
        "--from",
        "2024-01",
        "--to",
        "2024-02",
        "--department",
        "SKHCN",
        "--deployment",
        "monthly_report/not-deployed",
    ]
    recipients = flow_setup.config().recipients_for("SKHCN")
    count = len([*recipients.to, *recipients.cc, *recipients.bcc])

    first = CliRunner().invoke(app, arguments)

    assert first.exit_code == 0, first.output
    assert (
        "running here, in order (no deployment monthly_report/not-deployed on a reachable "
        "Prefect API): 2 periods\n" in first.output
    )
    # One message per period, to `count` recipients.
    sent = f"1 thư đã gửi tới {count} người nhận; bỏ qua 0 người nhận đã có bản này\n"
    assert f"2024-01 Completed: {sent}" in first.output
    assert f"2024-02 Completed: {sent}" in first.output
    reports = Counter(
        name
        for m in flow_setup.messages_for("SKHCN")
        for name in m.attachments()
        if ".docx" in name
    )
    assert reports == {"Báo cáo TTHC 2024-01 SKHCN.docx": 1, "Báo cáo TTHC 2024-02 SKHCN.docx": 1}
    received = len(flow_setup.smtp.received)

    again = CliRunner().invoke(app, arguments)

    assert again.exit_code == 0, again.output
    skipped = f"0 thư đã gửi tới 0 người nhận; bỏ qua {count} người nhận đã có bản này\n"
    assert f"2024-01 Completed: {skipped}" in again.output
    assert f"2024-02 Completed: {skipped}" in again.output
    assert len(flow_setup.smtp.received) == received


def test_a_backfill_dry_run_says_nothing_was_sent_and_where_the_eml_went(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    arguments = ["backfill", "--from", "2024-01", "--to", "2024-02", "--department", "SKHCN"]
    arguments += ["--dry-run", "--local"]
    recipients = flow_setup.config().recipients_for("SKHCN")
    count = len([*recipients.to, *recipients.cc, *recipients.bcc])

    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 0, result.output
    for period in ("2024-01", "2024-02"):
        folder = flow_setup.output_dir / "dry-run" / period
        assert (
            f"{period} Completed: chạy thử, không gửi thư nào: 1 thư thử (.eml) sẽ gửi tới "
            f"{count} người nhận, lưu ở {folder}; bỏ qua 0"
        ) in result.output
        assert len(list(folder.glob("*.eml"))) == 1
    assert " sent" not in result.output
    assert flow_setup.smtp.received == []


@pytest.fixture
def test_deployment(prefect_api: str) -> Iterator[UUID]:
    """A deployment of monthly_report that nothing serves; its runs are deleted afterwards."""
    deployment_id = build_deployment(TEST_DEPLOYMENT).apply()
    yield deployment_id
    with get_client(sync_client=True) as client:
        for run in _runs_of(deployment_id):
            client.delete_flow_run(run.id)


def _runs_of(deployment_id: UUID) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[BACKFILL_TAG])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )


def test_with_the_deployment_one_run_per_period_is_created_oldest_first(
    flow_setup: FlowSetup, test_deployment: UUID
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backfill",
            "--from",
            "2023-12",
            "--to",
            "2024-02",
            "--department",
            "SKHCN",
            "--dry-run",
            "--deployment",
            deployment_full_name(TEST_DEPLOYMENT),
            "--no-wait",
        ],
    )

    assert result.exit_code == 0, result.output
    assert f"through deployment {deployment_full_name(TEST_DEPLOYMENT)}: 3 runs" in result.output
    assert "2023-12 Scheduled\n2024-01 Scheduled\n2024-02 Scheduled\n" in result.output
    runs = _runs_of(test_deployment)
    assert [run.parameters for run in runs] == [
        {"period": key, "departments": ["SKHCN"], "dry_run": True, "force_resend": False}
        for key in ("2023-12", "2024-01", "2024-02")
    ]
    assert flow_setup.smtp.received == []


def test_waiting_follows_each_run_until_it_ends(test_deployment: UUID) -> None:
    periods = [Period.parse("2024-01"), Period.parse("2024-02")]
    runs = backfill_through_deployment(
        deployment_full_name(TEST_DEPLOYMENT), periods, [], dry_run=True
    )

    def cancel(run: BackfillRun) -> None:
        assert run.flow_run_id is not None
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run.flow_run_id, Cancelled(), force=True)

    cancel(runs[0])
    finished: list[BackfillRun] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        cancel(runs[1])

    wait_for_runs(runs, on_finished=finished.append, poll_seconds=7, sleep=sleep)

    assert [run.period.key for run in finished] == ["2024-01", "2024-02"]
    assert sleeps == [7]
    assert [run.state for run in runs] == ["Cancelled", "Cancelled"]
    assert not any(run.ok for run in runs)
