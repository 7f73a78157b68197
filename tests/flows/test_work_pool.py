"""A backfill through a process work pool: one Prefect server, two workers, one run database.

Real processes all the way, as in README "Running on several machines": `prefect server start`
on a free loopback port with its own PREFECT_HOME and its database on PostgreSQL, a process
work pool, the deployment from prefect.yaml (`prefect deploy`), two `prefect worker start`
processes, each with its own output folder, sharing a PostgreSQL run database, then
`tthc-report backfill --from 2024-01 --to 2024-06`. Every month must reach every recipient
once and none twice. Skipped without a PostgreSQL server (REPORT_TEST_POSTGRES_URL); about
three minutes on two cores, most of it the flow runs' own processes starting.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from portal_sim.server import PortalSimulator
from portal_sim.store import open_scenario
from standins.smtp_server import LoopbackSmtpServer
from tasks.settings.keys import CENTRE_KEY
from tasks.settings.loading import CONFIG_DIR_VARIABLE, PROJECT_ROOT, load_config
from tests.faults.province import FAST_RETRIES, write_config
from tests.postgres import fresh_database

DEMO_SCENARIO = PROJECT_ROOT / "portal_sim" / "scenarios" / "demo.yaml"
MONTHS = [f"2024-{month:02d}" for month in range(1, 7)]
POOL = "tthc-report"
WORKERS = ("worker-a", "worker-b")
SERVER_START_SECONDS = 180
COMMAND_SECONDS = 300
BACKFILL_SECONDS = 900
PREFECT = Path(sys.executable).with_name("prefect")


def free_port() -> int:
    """Return a loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Long-running processes of the test, each in its own group, all ended at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], environ: Mapping[str, str]) -> None:
        """Start `command` with its output in <folder>/<name>.log."""
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env=dict(environ),
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, process))

    def log(self, name: str) -> str:
        """Return the end of a process's output."""
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        """SIGTERM every group, then SIGKILL what is left after 20 s."""
        for _name, process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def run(command: list[str], environ: Mapping[str, str], timeout: float) -> str:
    """Run a command to its end (bounded); fail with its output unless it succeeds."""
    done = subprocess.run(
        command,
        env=dict(environ),
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output[-3000:]}"
    return output


def wait_healthy(url: str, processes: Processes) -> None:
    """Wait (bounded) until the Prefect server answers its health check."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the Prefect server did not start:\n{processes.log('server')}")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.mark.timeout(BACKFILL_SECONDS + SERVER_START_SECONDS + 2 * COMMAND_SECONDS)
def test_backfill_through_a_work_pool_of_two_workers(
    tmp_path: Path, processes: Processes, smtp_server: LoopbackSmtpServer
) -> None:
    with (
        fresh_database("prefect") as prefect_database,
        fresh_database("runs") as run_database,
        PortalSimulator(open_scenario(DEMO_SCENARIO), users={"demo": "demo"}) as simulator,
    ):
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PREFECT_", "TTHC_"))
        }
        prefect = {
            **base,
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        server = {
            **prefect,
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database.replace(
                "+psycopg", "+asyncpg", 1
            ),
            "PREFECT_UI_ENABLED": "false",
        }
        processes.start(
            "server",
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            server,
        )
        wait_healthy(api, processes)

        run([str(PREFECT), "work-pool", "create", POOL, "--type", "process"], prefect, 120)
        run(
            [str(PREFECT), "--no-prompt", "deploy", "--name", "monthly-report"],
            {**prefect, "REPORT_PROJECT_DIR": str(PROJECT_ROOT)},
            COMMAND_SECONDS,
        )

        config_dir = write_config(tmp_path / "config")
        province = {
            **prefect,
            CONFIG_DIR_VARIABLE: str(config_dir),
            "TTHC_DATABASE_URL": run_database,
            "TTHC_PORTAL__BASE_URL": simulator.url,
            "TTHC_SMTP__HOST": smtp_server.host,
            "TTHC_SMTP__PORT": str(smtp_server.port),
            "PORTAL_USERNAME": "demo",
            "PORTAL_PASSWORD": "demo",
            **FAST_RETRIES,
        }
        for name in WORKERS:
            worker = {
                **province,
                "TTHC_OUTPUT_DIR": str(tmp_path / name / "out"),
                "PREFECT_WORKER_QUERY_SECONDS": "2",
            }
            processes.start(
                name,
                [str(PREFECT), "worker", "start", "--pool", POOL, "--name", name],
                worker,
            )

        started = time.monotonic()
        output = run(
            [
                sys.executable,
                "-c",
                "from flows.cli import app; app()",
                "backfill",
                "--from",
                MONTHS[0],
                "--to",
                MONTHS[-1],
            ],
            {**province, "TTHC_OUTPUT_DIR": str(tmp_path / "backfill" / "out")},
            BACKFILL_SECONDS,
        )
        elapsed = time.monotonic() - started

    assert "through deployment monthly_report/monthly-report: 6 runs" in output
    for month in MONTHS:
        assert f"{month} Completed" in output, output

    config = load_config(config_dir, province)
    expected: set[tuple[str, str]] = set()
    for department in config.departments.departments:
        entry = config.recipients_for(department.key)
        expected |= {(department.key, a.lower()) for a in [*entry.to, *entry.cc, *entry.bcc]}
    centre = config.recipients.centre
    expected |= {(CENTRE_KEY, a.lower()) for a in [*centre.to, *centre.cc, *centre.bcc]}

    copies: Counter[tuple[str, str, str]] = Counter()
    for message in smtp_server.received:
        department = message.message["X-Tthc-Department"]
        if department is None:
            continue  # an operators' alert
        for address in message.envelope_to:
            copies[(str(message.message["X-Tthc-Period"]), str(department), address.lower())] += 1

    rows = []
    for month in MONTHS:
        ran = [name for name in WORKERS if (tmp_path / name / "out" / "reports" / month).is_dir()]
        received = {
            (key, address): n for (period, key, address), n in copies.items() if period == month
        }
        duplicates = sum(n - 1 for n in received.values())
        rows.append((month, ", ".join(ran), sum(received.values()), duplicates))
        assert len(ran) == 1, f"{month} ran on {ran}"
        assert set(received) == expected, f"{month}: missing {sorted(expected - set(received))}"
        assert duplicates == 0, f"{month}: {received}"
    print(f"\nbackfill of {len(MONTHS)} months through {len(WORKERS)} workers: {elapsed:.0f} s")
    print("| month | worker | messages sent | duplicates |")
    print("|---|---|---|---|")
    for month, ran_on, sent, duplicates in rows:
        print(f"| {month} | {ran_on} | {sent} | {duplicates} |")
