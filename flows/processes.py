"""Processes a command starts for itself end with it, however it ends (`kill -9` included).

The demo's temporary Prefect API server is a uvicorn process that prefect_test_harness starts
and stops; a demo killed before it stops the server would leave it running (about 225 MB).
`end_with_this_process` starts a small reaper beside such a process: it watches this process
and, once this one is gone, ends the other (SIGTERM, then SIGKILL). The chart workers end
with their parent on their own (tasks/documents/charts.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_BLOCKS_REGISTER_ON_START,
    PREFECT_API_URL,
    PREFECT_SERVER_DATABASE_CONNECTION_URL,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness

__all__ = [
    "RECORDER_SETTINGS",
    "TEMPORARY_SERVER_SETTINGS",
    "end_with_this_process",
    "temporary_prefect_api",
]

# Prefect's server records each task run state it receives in a database transaction of its
# own by default: a province run (120 agencies, about 370 task runs) then costs the server
# 26 s of CPU on the machine that runs the reports (make bench, province). In batches of up
# to 100 states, written at least every second, it costs 10 s; the UI shows a state at most a
# second later. README "1. Start the Prefect server" gives the same settings to
# `prefect server start`.
RECORDER_SETTINGS: dict[str, object] = {
    "server.services.task_run_recorder.batch_size": 100,
    "server.services.task_run_recorder.read_batch_size": 100,
    "server.services.task_run_recorder.flush_interval": 1,
}

# A temporary server serves the flow runs of the one command that started it and ends with
# it: nobody browses its event feed and it holds no automation. Storing every event (three a
# task run, for the UI's event feed) and matching each against automations were half of its
# CPU in a province run: 9-10 s with them, 4-5 s without (the province run of make bench).
# Task runs, flow runs, logs and artifacts are recorded as before (the task-run recorder reads
# the same events). A server of your own (README "1. Start the Prefect server") keeps both.
TEMPORARY_SERVER_SETTINGS: dict[str, object] = {
    **RECORDER_SETTINGS,
    "server.services.event_persister.enabled": False,
    "server.services.triggers.enabled": False,
}

# Runs in its own interpreter: watch the parent, end the child when the parent is gone, and
# end itself when the child is gone first (the usual, orderly stop).
_REAPER = """
import os, signal, sys, time
parent, child = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
while os.getppid() == parent:
    if not alive(child):
        sys.exit(0)
    time.sleep(0.2)
for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
    try:
        os.kill(child, sig)
    except ProcessLookupError:
        sys.exit(0)
    end = time.monotonic() + wait
    while time.monotonic() < end and alive(child):
        time.sleep(0.1)
"""


@contextmanager
def end_with_this_process(pid: int) -> Iterator[subprocess.Popen[bytes]]:
    """Make process `pid` end when this process ends, for the block (and after a crash)."""
    reaper = subprocess.Popen(
        [sys.executable, "-c", _REAPER, str(os.getpid()), str(pid)],
        stdin=subprocess.DEVNULL,
        close_fds=True,
    )
    try:
        yield reaper
    finally:
        reaper.terminate()
        reaper.wait(timeout=10)


@contextmanager
def temporary_prefect_api(
    startup_timeout: int = 120, database: Path | None = None
) -> Iterator[None]:
    """Run the block against a temporary Prefect API server that cannot outlive this process.

    `database`: the server's SQLite file, kept for the next time (the demo's, under its output
    folder): only the first start creates its tables (Prefect's migrations, seconds). Without
    it, a new database in a temporary folder each time (prefect_test_harness).
    """
    if database is not None:
        with _kept_database_api(database, startup_timeout):
            yield
        return
    with (
        temporary_settings(updates=TEMPORARY_SERVER_SETTINGS),
        prefect_test_harness(server_startup_timeout=startup_timeout),
    ):
        server = SubprocessASGIServer._instances.get(None)
        process = getattr(server, "server_process", None)
        if process is None:  # another Prefect release: the harness's server is elsewhere
            yield
            return
        with end_with_this_process(process.pid):
            yield


@contextmanager
def _kept_database_api(database: Path, startup_timeout: int) -> Iterator[None]:
    """Run a Prefect API server on `database` for the block, its process ended with this one."""
    database.parent.mkdir(parents=True, exist_ok=True)
    updates: dict[Any, object] = {
        **TEMPORARY_SERVER_SETTINGS,
        PREFECT_SERVER_DATABASE_CONNECTION_URL: f"sqlite+aiosqlite:///{database}",
        # Registering Prefect's block types takes the server a second at every start; the
        # service stores no block.
        PREFECT_API_BLOCKS_REGISTER_ON_START: False,
    }
    with temporary_settings(updates=updates):
        # Prefect's own code asks SubprocessASGIServer() for the default server: this one.
        prior = SubprocessASGIServer._instances.get(None)
        server = SubprocessASGIServer(port=_free_port())
        SubprocessASGIServer._instances[None] = server
        try:
            server.start(timeout=startup_timeout)
            process = server.server_process
            assert process is not None
            with (
                end_with_this_process(process.pid),
                temporary_settings(updates={PREFECT_API_URL: server.api_url}),
            ):
                try:
                    yield
                finally:
                    # The run's last log lines go to the server before it stops.
                    APILogWorker.drain_all()
        finally:
            server.stop()
            if prior is not None:
                SubprocessASGIServer._instances[None] = prior
            else:
                SubprocessASGIServer._instances.pop(None, None)


def _free_port() -> int:
    """Return a loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
