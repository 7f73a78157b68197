"""Fixtures shared across the test tree."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from flows.cli import app
from standins.smtp_server import LoopbackSmtpServer
from tasks.settings.loading import DEFAULT_CONFIG_DIR
from tasks.store.database import default_database_url
from tests.postgres import fresh_database


@pytest.fixture(autouse=True)
def no_pdf_unless_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make runs write no PDF (TTHC_DOCUMENTS__PDF=off) unless the test is marked `pdf`.

    With LibreOffice installed, every flow run would otherwise convert each of its reports
    for tests that never look at a PDF. Tests of the PDF itself are marked and keep "auto";
    convert_to_pdf and the converter read no setting and are unaffected.
    """
    if request.node.get_closest_marker("pdf") is None:
        monkeypatch.setenv("TTHC_DOCUMENTS__PDF", "off")


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty run database: an SQLite file, then a PostgreSQL database (when a server is set)."""
    if request.param == "sqlite":
        yield default_database_url(tmp_path / "out")
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def may_2024_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render the demo's 2024-05 set once (`tthc-report render`); return its folder.

    Every report, data form and the Centre's summary, and their PDFs where LibreOffice is
    installed (tasks.documents.pdf.convert_to_pdf, as in production).
    """
    out = tmp_path_factory.mktemp("set-2024-05")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TTHC_OUTPUT_DIR", str(out))
        command = ["--config", str(DEFAULT_CONFIG_DIR), "render", "--period", "2024-05"]
        result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    return out / "reports" / "2024-05"
