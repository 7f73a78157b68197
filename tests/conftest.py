"""Fixtures shared across the test tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.smtp_server import LoopbackSmtpServer


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[LoopbackSmtpServer]:
    """A real SMTP server on a free loopback port, storing what it receives under tmp_path."""
    with LoopbackSmtpServer(tmp_path / "smtp-received") as server:
        yield server
