"""The monthly run while the mail server misbehaves: nobody misses a report, nobody gets two."""

from __future__ import annotations

import logging

import pytest

from tests.faults.conftest import ScenarioLog
from tests.faults.province import (
    DEPARTMENTS,
    Baseline,
    Province,
    assert_consistent,
    assert_delivered_once,
    assert_rerun_completes,
    differences,
)

REFUSED = "vanphong.skhcn@demo.gov.vn"


def test_slow_server_within_the_timeout(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.smtp.slow_seconds = 0.3

    state = province.run()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault("smtp: slow (0.3 s per message)", "survived", province, figures_equal=True)


def test_421_for_the_next_messages(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.smtp.fail_next(2, 421, "Service not available, closing transmission channel")

    state = province.run()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault("smtp: 421 for two messages", "survived", province, figures_equal=True)


def test_451_for_several_messages_then_prefect_retries_the_deliveries(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    # One SMTP session per delivery attempt: each 451 fails one attempt of some delivery, and
    # Prefect runs that delivery again (runner.mail_retry_delays_seconds, five attempts here,
    # more than the four 451s can use up), the ledger skipping whoever has the message.
    province.environ["TTHC_RUNNER__MAIL_RETRY_DELAYS_SECONDS"] = "[0, 0, 0, 0]"
    province.smtp.fail_next(4, 451, "Requested action aborted: try later")

    state = province.run()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "smtp: 451 for four messages", "survived (Prefect task retry)", province, figures_equal=True
    )


def test_one_address_refused_with_550(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.smtp.refuse(REFUSED, 550, "No such user here")

    state = province.run()

    assert state.is_failed()
    assert state.message is not None
    assert f"- SKHCN: DeliveryIncomplete: {REFUSED} bị từ chối (550 No such user here)" in (
        state.message
    )
    assert "STP" not in state.message and "SYT" not in state.message
    assert_consistent(province)
    missing = set(province.expected()) - set(province.received())
    assert missing == {("SKHCN", REFUSED)}
    (alert,) = province.alerts()
    assert REFUSED in alert.text()

    province.smtp.allow(REFUSED)
    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "smtp: one address refused (550), then re-run",
        "failed naming SKHCN and the address; re-run sent to it only",
        province,
        figures_equal=True,
    )


def test_server_down_for_the_whole_run(
    province: Province,
    baseline: Baseline,
    scenario_log: ScenarioLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    province.smtp.down = True

    with caplog.at_level(logging.ERROR, logger="flows.monthly_report"):
        state = province.run()

    assert state.is_failed()
    assert state.message is not None
    for key in [*DEPARTMENTS, "CENTRE"]:
        assert f"- {key}: DeliveryIncomplete: " in state.message
    assert f"cannot connect to SMTP server {province.smtp.address}" in state.message
    province.smtp.down = False
    assert province.smtp.received == []  # not even the alert: the server was down
    assert "the operators' alert was not sent: cannot connect to SMTP server" in caplog.text
    assert province.ledger_sent() == {}
    assert (province.output_dir / "reports" / "2024-05").is_dir()

    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "smtp: down for the whole run, then re-run",
        "failed naming every department; re-run completed",
        province,
        figures_equal=True,
    )
