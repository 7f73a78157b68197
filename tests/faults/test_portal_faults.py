"""The monthly run while the portal misbehaves: the same figures, every report sent once."""

from __future__ import annotations

import pytest

from portal_sim.server import AUTH, Faults
from tests.faults.conftest import ScenarioLog
from tests.faults.province import (
    DEPARTMENTS,
    OPERATOR,
    Baseline,
    Province,
    assert_consistent,
    assert_delivered_once,
    assert_rerun_completes,
    differences,
)

STP_AGENCY = "000.00.09.H99"

# Each fault alone hits a province that ran in earlier months (history in its database), read
# 20 dossiers a page so that this month alone takes some fifty requests.
PAGE_SIZE = "20"

# name: (faults, what the simulator must count, whether the data note may differ)
# A count of None means "at least once".
ALONE: dict[str, tuple[Faults, dict[str, int | None], bool]] = {
    "latency 20 ms on every request": (Faults(latency_seconds=0.02), {"requests": None}, False),
    "a fifth of requests answer 503": (
        Faults(unavailable_share=0.2, seed=7),
        {"fault:503": None},
        False,
    ),
    # 15 logins in a row fail: each department's client gives up after its 5 attempts, so
    # every department's step fails once and Prefect runs it again, logging in once more.
    "503 longer than the client's attempts": (
        Faults(unavailable_burst=15, only={AUTH}),
        {"fault:503": 15, AUTH: 15 + len(DEPARTMENTS)},
        False,
    ),
    "429 burst with Retry-After": (
        Faults(throttle_burst=6, retry_after_seconds=0),
        {"fault:429": 6},
        False,
    ),
    "session expires every 3 calls": (Faults(session_calls=3), {"fault:session": None}, False),
    "bodies cut short": (Faults(cut_bodies=4), {"fault:cut": 4}, False),
    "connections reset": (Faults(connection_resets=4), {"fault:reset": 4}, False),
    "JSON truncated": (Faults(truncated_bodies=1), {"fault:truncated": 1}, False),
    "records repeated across pages": (
        Faults(repeat_across_pages=True),
        {"fault:repeat": None},
        True,
    ),
    "malformed records on every page": (
        Faults(malformed_records=4),
        {"fault:malformed": None},
        True,
    ),
}


def _check_counts(province: Province, counts: dict[str, int | None]) -> None:
    stats = province.simulator.stats
    for counter, count in counts.items():
        if count is None:
            assert stats[counter] > 0, f"{counter} never counted: {stats}"
        else:
            assert stats[counter] == count, f"{counter}: {stats}"


@pytest.mark.parametrize("name", list(ALONE))
def test_run_survives_a_portal_fault(
    name: str, province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    faults, counts, note_may_differ = ALONE[name]
    province.environ["TTHC_PORTAL__PAGE_SIZE"] = PAGE_SIZE
    province.simulator.faults = faults

    state = province.run()

    assert state.is_completed(), state.message
    _check_counts(province, counts)
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=note_may_differ) == []
    assert province.alerts() == []
    scenario_log.fault(f"portal: {name}", "survived", province, figures_equal=True)


def test_first_run_survives_every_portal_fault_at_once(
    new_province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province = new_province  # the first run: a year of months read for the trend, all faulty
    province.environ["TTHC_PORTAL__PAGE_SIZE"] = "50"
    province.simulator.faults = Faults(
        latency_seconds=0.005,
        unavailable_share=0.1,
        seed=3,
        throttle_burst=3,
        retry_after_seconds=0,
        session_calls=7,
        cut_bodies=2,
        connection_resets=2,
        truncated_bodies=1,
        html_bodies=1,
        repeat_across_pages=True,
        malformed_records=2,
    )

    state = province.run()

    assert state.is_completed(), state.message
    _check_counts(
        province,
        {
            "fault:503": None,
            "fault:429": 3,
            "fault:session": None,
            "fault:cut": 2,
            "fault:reset": 2,
            "fault:truncated": 1,
            "fault:html": 1,
            "fault:repeat": None,
            "fault:malformed": None,
        },
    )
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=True) == []
    scenario_log.fault(
        "portal: all of these at once, on the first run (a year of months)",
        "survived",
        province,
        figures_equal=True,
    )


def test_failing_agency_fails_its_department_only_until_the_rerun(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.simulator.faults = Faults(failing_agencies={STP_AGENCY})

    state = province.run()

    assert state.is_failed()
    assert state.message is not None
    assert "- STP: PortalServiceError" in state.message
    assert f"Lỗi khi truy vấn hồ sơ của đơn vị {STP_AGENCY}" in state.message
    assert "SKHCN" not in state.message and "SYT" not in state.message
    assert_consistent(province)
    sent_to = {department for department, _ in province.received()}
    assert sent_to == {"SKHCN", "SYT"}  # the Centre waits for a complete set
    (alert,) = province.alerts()
    assert alert.envelope_to == [OPERATOR]
    assert "STP" in alert.text()

    province.simulator.faults = Faults()
    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "portal: one agency's query fails (error 03), then re-run",
        "failed naming STP; re-run completed",
        province,
        figures_equal=True,
    )


def test_portal_down_for_the_whole_run_sends_nothing_until_the_rerun(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.simulator.faults = Faults(unavailable_burst=Faults.ALWAYS)

    state = province.run()

    assert state.is_failed()
    assert state.message is not None
    for key in DEPARTMENTS:
        assert f"- {key}: PortalUnavailable: portal {province.simulator.url}" in state.message
    assert "HTTP 503" in state.message
    assert province.received() == {}
    assert province.ledger_sent() == {}
    (alert,) = province.alerts()
    assert all(key in alert.text() for key in DEPARTMENTS)

    province.simulator.faults = Faults()
    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "portal: down (503) for the whole run, then re-run",
        "failed naming every department; re-run completed",
        province,
        figures_equal=True,
    )


def test_refused_portal_login_is_not_retried(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.environ["PORTAL_PASSWORD"] = "not-the-password"

    state = province.run()

    assert state.is_failed()
    assert state.message is not None
    assert "PortalAuthError" in state.message and "refused the login of 'demo'" in state.message
    # One login per department: a refused password is final, neither client nor Prefect retry.
    assert province.simulator.stats[AUTH] == len(DEPARTMENTS)
    assert province.received() == {}

    province.environ["PORTAL_PASSWORD"] = "demo"
    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "portal: login refused (wrong password), then re-run",
        "failed at once naming the login; re-run completed",
        province,
        figures_equal=True,
    )
