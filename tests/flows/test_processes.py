"""A process a command starts for itself ends with it, even after `kill -9` of the command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMMAND = """
import subprocess, sys, time
from flows.processes import end_with_this_process
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with end_with_this_process(child.pid):
    print(child.pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent (init, after the kill) reaps it in its own time.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[1].startswith("Z"))


@pytest.mark.timeout(60)
def test_the_helper_process_ends_when_its_command_is_killed() -> None:
    command = subprocess.Popen(
        [sys.executable, "-c", COMMAND], stdout=subprocess.PIPE, start_new_session=True
    )
    assert command.stdout is not None
    child = int(command.stdout.readline())
    assert _alive(child)

    command.send_signal(signal.SIGKILL)  # the command alone, not its group
    command.wait(timeout=10)

    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive


@pytest.mark.timeout(60)
def test_the_reaper_ends_quietly_when_the_block_ends() -> None:
    from flows.processes import end_with_this_process

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with end_with_this_process(child.pid) as reaper:
            assert reaper.poll() is None
        assert reaper.poll() is not None
        assert child.poll() is None  # ending the block leaves the process to its owner
    finally:
        child.kill()
        child.wait()


@pytest.mark.timeout(240)
def test_the_demos_api_keeps_its_database_for_the_next_start_and_stops_its_server(
    tmp_path: Path,
) -> None:
    from prefect import flow, get_client
    from prefect.server.api.server import SubprocessASGIServer

    from flows.processes import temporary_prefect_api

    @flow
    def hello() -> int:
        return 1

    database = tmp_path / "prefect" / "demo.db"
    with temporary_prefect_api(database=database):
        process = SubprocessASGIServer._instances[None].server_process
        assert process is not None
        environment = _environment(process.pid)
        state = hello(return_state=True)
    assert state.is_completed()
    assert database.is_file()
    assert not _alive(process.pid)

    with temporary_prefect_api(database=database), get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    assert state.state_details.flow_run_id in [run.id for run in runs]
    # The server records task run states in batches (flows/processes.py RECORDER_SETTINGS).
    assert environment["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "100"
    assert environment["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"] == "1.0"
    # Nobody browses a temporary server's event feed and it holds no automation.
    assert environment["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"] == "False"
    assert environment["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"] == "False"


def _environment(pid: int) -> dict[str, str]:
    """Return the environment process `pid` was started with (Linux /proc)."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in entries if b"=" in entry)
