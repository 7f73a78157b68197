"""Fixtures of the fault scenarios: the demo province, a fault-free baseline, a scenario log.

Every scenario gets its own portal simulator (so its faults and counters are its own), its own
loopback mail server and output folder, and the session's one Prefect API (tests/conftest.py).
Set SHOW_FAULT_TABLE=1 to print the table of scenarios at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal_sim.server import PortalSimulator
from portal_sim.store import DossierStore, open_scenario
from standins.smtp_server import LoopbackSmtpServer
from tasks.settings.loading import PROJECT_ROOT
from tests.faults.province import Baseline, Province, assert_delivered_once

DEMO_SCENARIO = PROJECT_ROOT / "portal_sim" / "scenarios" / "demo.yaml"


@pytest.fixture(scope="session")
def demo_store() -> DossierStore:
    """The demo province's dossiers (generated once; read-only)."""
    return open_scenario(DEMO_SCENARIO)


@pytest.fixture
def simulator(demo_store: DossierStore) -> Iterator[PortalSimulator]:
    """A portal simulator of this test only, without faults to begin with."""
    with PortalSimulator(demo_store, users={"demo": "demo"}) as simulator:
        yield simulator


@pytest.fixture
def new_province(
    prefect_api: str, tmp_path: Path, simulator: PortalSimulator, smtp_server: LoopbackSmtpServer
) -> Province:
    """Three departments on their first run (a year of months to fetch for the trend)."""
    del prefect_api  # the flow needs the API running; its URL is in the settings already
    return Province.create(tmp_path, simulator, smtp_server)


@pytest.fixture
def province(
    prefect_api: str,
    tmp_path: Path,
    simulator: PortalSimulator,
    smtp_server: LoopbackSmtpServer,
    baseline: Baseline,
) -> Province:
    """Three departments that ran in earlier months: their figures history is in the database."""
    del prefect_api
    return Province.create(tmp_path, simulator, smtp_server, history=baseline.history)


@pytest.fixture(scope="session")
def baseline(
    prefect_api: str, demo_store: DossierStore, tmp_path_factory: pytest.TempPathFactory
) -> Baseline:
    """What a fault-free run writes: the figures and documents every scenario must match."""
    del prefect_api
    root = tmp_path_factory.mktemp("baseline")
    with (
        PortalSimulator(demo_store, users={"demo": "demo"}) as simulator,
        LoopbackSmtpServer(root / "smtp-received") as smtp,
    ):
        province = Province.create(root, simulator, smtp)
        state = province.run()
        assert state.is_completed(), state.message
        assert_delivered_once(province)
        return Baseline.of(province)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the warning of a report's zip that a full disk left unclosed (harmless, late)."""
    ignore = pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function ZipFile.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    )
    for item in items:
        if item.nodeid.startswith("tests/faults/"):
            item.add_marker(ignore)


@dataclass(frozen=True)
class ScenarioRow:
    """One line of the closing table."""

    kind: str  # "fault" or "bad input"
    name: str
    outcome: str
    expected: int
    received: int
    lost: int
    duplicated: int
    figures_equal: bool | None
    seconds: float | None = None  # from the start of the faulty run to its end


_ROWS: list[ScenarioRow] = []


class ScenarioLog:
    """Collects what each scenario did, for the table printed at the end of the session."""

    def fault(
        self,
        name: str,
        outcome: str,
        province: Province,
        *,
        figures_equal: bool | None,
        seconds: float | None = None,
    ) -> None:
        """Record a fault scenario from the province's mail server and configuration."""
        received = province.received()
        expected = province.expected()
        _ROWS.append(
            ScenarioRow(
                kind="fault",
                name=name,
                outcome=outcome,
                expected=sum(expected.values()),
                received=sum(received.values()),
                lost=len(set(expected) - set(received)),
                duplicated=sum(n - 1 for n in received.values() if n > 1),
                figures_equal=figures_equal,
                seconds=seconds,
            )
        )

    def bad_input(
        self, name: str, outcome: str, received: int, *, seconds: float | None = None
    ) -> None:
        """Record a bad input: nothing may be sent."""
        _ROWS.append(ScenarioRow("bad input", name, outcome, 0, received, 0, 0, None, seconds))


@pytest.fixture
def scenario_log() -> ScenarioLog:
    """The session's scenario log."""
    return ScenarioLog()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the scenario table when SHOW_FAULT_TABLE is set."""
    if not os.environ.get("SHOW_FAULT_TABLE") or not _ROWS:
        return
    write = terminalreporter.write_line
    write("")
    write(
        "| kind | scenario | outcome | time to end | messages expected | received "
        "| lost / duplicated | figures equal |"
    )
    write("|---|---|---|---|---|---|---|---|")
    for row in _ROWS:
        equal = "-" if row.figures_equal is None else ("yes" if row.figures_equal else "NO")
        took = "-" if row.seconds is None else f"{row.seconds:.1f} s"
        write(
            f"| {row.kind} | {row.name} | {row.outcome} | {took} | {row.expected} "
            f"| {row.received} | {row.lost} / {row.duplicated} | {equal} |"
        )
    faults = [r for r in _ROWS if r.kind == "fault"]
    bad = [r for r in _ROWS if r.kind == "bad input"]
    write("")
    write(
        f"faults tried {len(faults)}, survived {sum(r.lost == 0 for r in faults)}; "
        f"bad inputs tried {len(bad)}, clear errors {sum(r.received == 0 for r in bad)}; "
        f"messages lost {sum(r.lost for r in faults)}, "
        f"duplicated {sum(r.duplicated for r in faults)}"
    )
