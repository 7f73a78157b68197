"""Several workers, one PostgreSQL run database: every message once, a killed holder not in the way.

Each "worker" is a `tthc-report send` process with its own configuration folder and its own
output folder (documents, locks, everything but the database), as on two machines; they share
the portal simulator, the loopback mail server, the Prefect API and one PostgreSQL database
(tests/postgres.py; skipped without REPORT_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal_sim.server import PortalSimulator
from standins.smtp_server import LoopbackSmtpServer
from tests.faults.conftest import ScenarioLog
from tests.faults.province import PERIOD, Province, assert_consistent, assert_delivered_once
from tests.faults.test_process_faults import kill, start_send, wait_for
from tests.postgres import fresh_database

WAIT_SECONDS = 240


@pytest.fixture
def shared_database() -> Iterator[str]:
    """One empty PostgreSQL run database for the test's workers."""
    with fresh_database("shared") as url:
        yield url


def worker(
    root: Path, simulator: PortalSimulator, smtp: LoopbackSmtpServer, database_url: str
) -> Province:
    """A worker of its own (configuration, output folder) on the shared run database."""
    province = Province.create(root, simulator, smtp)
    province.environ["TTHC_DATABASE_URL"] = database_url
    # A refused run's alert would wait on the mail server's hold, and is not what is counted.
    province.environ["TTHC_OPERATORS"] = "[]"
    return province


def finish(process: subprocess.Popen[bytes], log: Path) -> int:
    """Wait for a `send` process to end (bounded) and return its exit code."""
    try:
        return process.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        kill(process)
        pytest.fail(f"`send` did not end in {WAIT_SECONDS} s:\n{log.read_text()[-3000:]}")


def test_two_workers_started_together_deliver_every_message_once(
    prefect_api: str,
    tmp_path: Path,
    simulator: PortalSimulator,
    smtp_server: LoopbackSmtpServer,
    shared_database: str,
    scenario_log: ScenarioLog,
) -> None:
    first = worker(tmp_path / "worker-1", simulator, smtp_server, shared_database)
    second = worker(tmp_path / "worker-2", simulator, smtp_server, shared_database)
    # Hold every message at the server: the run that gets the lock cannot finish before the
    # other has tried, so the two really overlap.
    smtp_server.hold()
    logs = [first.root / "send.log", second.root / "send.log"]
    processes = [
        start_send(first, prefect_api, logs[0]),
        start_send(second, prefect_api, logs[1]),
    ]
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while all(process.poll() is None for process in processes):
            assert time.monotonic() < deadline, "neither run was refused"
            time.sleep(0.05)
        smtp_server.release()
        codes = [finish(process, log) for process, log in zip(processes, logs, strict=True)]
    finally:
        smtp_server.release()
        for process in processes:
            if process.poll() is None:
                kill(process)

    # 3: refused (the CLI's exit code for a run another run holds the period from).
    assert sorted(codes) == [0, 3], [log.read_text()[-2000:] for log in logs]
    refused = logs[codes.index(3)].read_text()
    assert f"another run of {PERIOD} is in progress (pid " in refused
    winner = [first, second][codes.index(0)]
    assert_delivered_once(winner)  # the ledger is the shared database: either worker reads it
    loser = [first, second][codes.index(3)]
    assert not (loser.output_dir / "reports").exists()  # refused before doing anything
    scenario_log.fault(
        "two workers, separate output folders, one PostgreSQL, started together",
        "one ran, the other was refused by the database lock; every message once",
        winner,
        figures_equal=None,
    )


def test_worker_killed_while_holding_the_lock_then_another_completes(
    prefect_api: str,
    tmp_path: Path,
    simulator: PortalSimulator,
    smtp_server: LoopbackSmtpServer,
    shared_database: str,
    scenario_log: ScenarioLog,
) -> None:
    killed = worker(tmp_path / "worker-1", simulator, smtp_server, shared_database)
    other = worker(tmp_path / "worker-2", simulator, smtp_server, shared_database)
    smtp_server.hold()
    log = killed.root / "send.log"
    process = start_send(killed, prefect_api, log)
    try:
        # Killed at the mail server, with its claims made and its messages held unsent.
        wait_for(lambda: smtp_server.waiting >= 1, "a delivery at the mail server", process, log)
        smtp_server.admit(1)
        wait_for(lambda: len(smtp_server.received) == 1, "the first message sent", process, log)
        time.sleep(0.5)  # its ledger row is written right after the server's answer
    finally:
        kill(process)
    smtp_server.release()
    assert_consistent(other)
    delivered_before = len(other.received())

    started = time.monotonic()
    state = other.run()  # on the other worker, at once: no lease to wait out
    elapsed = time.monotonic() - started

    assert state.is_completed(), state.message
    assert_delivered_once(other)
    scenario_log.fault(
        "worker killed (SIGKILL) holding the PostgreSQL lock while delivering; another worker re-runs",
        f"{delivered_before} copies sent before the kill; the other worker's run took the lock "
        f"at once and sent only the rest ({elapsed:.0f} s)",
        other,
        figures_equal=None,
    )


def test_send_twice_on_postgresql_sends_everything_once_then_nothing(
    prefect_api: str,
    tmp_path: Path,
    simulator: PortalSimulator,
    smtp_server: LoopbackSmtpServer,
    shared_database: str,
) -> None:
    # `TTHC_DATABASE_URL=postgresql+psycopg://... tthc-report send --period 2024-05`, twice.
    province = worker(tmp_path / "worker", simulator, smtp_server, shared_database)
    outputs = []
    for attempt in ("first", "second"):
        log = province.root / f"send-{attempt}.log"
        assert finish(start_send(province, prefect_api, log), log) == 0, log.read_text()[-3000:]
        outputs.append(log.read_text())
        if attempt == "first":
            assert_delivered_once(province)
            sent_first = sum(province.received().values())

    assert sum(province.received().values()) == sent_first == sum(province.expected().values())
    assert_delivered_once(province)  # the second run sent nothing more
    assert "Finished in state Completed()" in outputs[1]
