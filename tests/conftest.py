"""Fixtures shared across the test tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness

from standins.smtp_server import LoopbackSmtpServer


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A temporary Prefect API server (SQLite) for the whole session; yield its URL.

    It takes 10-20 s to start, and only one may be active at a time: every test folder that
    runs flows uses this one.
    """
    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        assert url
        yield url


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[LoopbackSmtpServer]:
    """A real SMTP server on a free loopback port, storing what it receives under tmp_path."""
    with LoopbackSmtpServer(tmp_path / "smtp-received") as server:
        yield server
