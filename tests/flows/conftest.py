"""Fixtures of the flow tests: a real Prefect API, the portal simulators, a tmp configuration.

The Prefect API (prefect_test_harness) takes 15-20 s to start, so one serves the whole
session. The simulator holds the demo province; each test gets it without faults, a fresh
loopback SMTP server, and a copy of config/ aimed at both through TTHC_* variables, with its
own output folder (and so its own delivery ledger).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal_sim.evaluation import EvaluationSimulator
from portal_sim.server import Faults, PortalSimulator
from portal_sim.store import open_scenario
from standins.embedded import SIMULATOR_PASSWORD, SIMULATOR_USER
from standins.smtp_server import LoopbackSmtpServer, ReceivedMessage
from tasks.settings.loading import (
    CONFIG_DIR_VARIABLE,
    DEFAULT_CONFIG_DIR,
    PROJECT_ROOT,
    load_config,
)
from tasks.settings.models import AppConfig

DEMO_SCENARIO = PROJECT_ROOT / "portal_sim" / "scenarios" / "demo.yaml"


# prefect_api (the session's one Prefect API) comes from tests/conftest.py.


@pytest.fixture(scope="session")
def session_simulator() -> Iterator[PortalSimulator]:
    with PortalSimulator(
        open_scenario(DEMO_SCENARIO), users={SIMULATOR_USER: SIMULATOR_PASSWORD}
    ) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def session_evaluation(session_simulator: PortalSimulator) -> Iterator[EvaluationSimulator]:
    with EvaluationSimulator(session_simulator.store) as evaluation:
        yield evaluation


@pytest.fixture
def evaluation(session_evaluation: EvaluationSimulator) -> Iterator[EvaluationSimulator]:
    """The national index over the same dossiers, every endpoint answering at the start."""
    session_evaluation.failing = set()
    session_evaluation.progress_offsets = {}
    yield session_evaluation
    session_evaluation.failing = set()
    session_evaluation.progress_offsets = {}


@pytest.fixture
def simulator(session_simulator: PortalSimulator) -> Iterator[PortalSimulator]:
    """The demo province's portal, without faults at the start of each test."""
    session_simulator.faults = Faults()
    yield session_simulator
    session_simulator.faults = Faults()


@dataclass
class FlowSetup:
    """A configuration copy aimed at the simulator and the SMTP server of one test."""

    config_dir: Path
    output_dir: Path
    simulator: PortalSimulator
    smtp: LoopbackSmtpServer
    monkeypatch: pytest.MonkeyPatch
    evaluation: EvaluationSimulator

    def config(self) -> AppConfig:
        """Return the configuration as a run would load it."""
        return load_config(self.config_dir, os.environ)

    def use_output(self, folder: Path) -> None:
        """Write the following runs' documents and ledger under `folder`."""
        self.output_dir = folder
        self.monkeypatch.setenv("TTHC_OUTPUT_DIR", str(folder))

    def messages_for(self, department_key: str) -> list[ReceivedMessage]:
        """Return the messages that carried `department_key`'s report."""
        return [m for m in self.smtp.received if _carries(m, department_key)]


def _carries(message: ReceivedMessage, department_key: str) -> bool:
    return any(name.endswith(f" {department_key}.docx") for name in message.attachments())


@pytest.fixture
def flow_setup(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    simulator: PortalSimulator,
    smtp_server: LoopbackSmtpServer,
    evaluation: EvaluationSimulator,
) -> FlowSetup:
    """A tmp copy of config/ whose portal and mail server are this test's, via TTHC_* variables."""
    config_dir = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    monkeypatch.setenv(CONFIG_DIR_VARIABLE, str(config_dir))
    monkeypatch.setenv("TTHC_PORTAL__BASE_URL", simulator.url)
    monkeypatch.setenv("PORTAL_USERNAME", SIMULATOR_USER)
    monkeypatch.setenv("PORTAL_PASSWORD", SIMULATOR_PASSWORD)
    monkeypatch.setenv("TTHC_SMTP__HOST", smtp_server.host)
    monkeypatch.setenv("TTHC_SMTP__PORT", str(smtp_server.port))
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__BASE_URL", evaluation.url)
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__ROOT_DEPARTMENT_ID", evaluation.root_id)
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__PAUSE_MIN_SECONDS", "0")
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__PAUSE_MAX_SECONDS", "0")
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__BACKOFF_SECONDS", "0")
    monkeypatch.delenv("TTHC_RUNNER__KIND", raising=False)
    setup = FlowSetup(config_dir, tmp_path / "out", simulator, smtp_server, monkeypatch, evaluation)
    setup.use_output(tmp_path / "out")
    return setup
