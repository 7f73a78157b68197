"""A fresh PostgreSQL database per test on the server that REPORT_TEST_POSTGRES_URL names.

`.ci/run` starts a throwaway server (`.ci/postgres.sh start`) and sets the variable; without
it the PostgreSQL cases skip, saying so, and everything else still runs. (Not a TTHC_*
variable: those are settings overrides, and an unknown one is refused.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_VARIABLE = "REPORT_TEST_POSTGRES_URL"


def server_url() -> str:
    """Return the test server's URL (postgresql+psycopg://...), or skip the test without one."""
    url = os.environ.get(POSTGRES_VARIABLE)
    if not url and os.environ.get("CI") == "true":
        # .ci/run starts a server: a CI run without one would pass without these tests.
        pytest.fail(f"{POSTGRES_VARIABLE} is not set in CI: .ci/run starts the server")
    if not url:
        pytest.skip(f"no PostgreSQL server for tests: set {POSTGRES_VARIABLE} (.ci/postgres.sh)")
    return url


def libpq_url(url: str) -> str:
    """Return a SQLAlchemy URL as the postgresql:// URL that psycopg itself takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(prefix: str = "test") -> Iterator[str]:
    """Create an empty database on the test server for the block; yield its SQLAlchemy URL."""
    url = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
