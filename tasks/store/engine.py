"""Connect to the run database, SQLite or PostgreSQL, and bring its schema up to date.

SQLite files run in WAL mode with a busy timeout and take the write lock when a transaction
begins, so concurrent writers from Prefect's thread pool wait for each other instead of
failing. PostgreSQL connections have a connect timeout and a lock timeout, so no wait on the
server is unbounded; schema changes there are serialised by an advisory lock, so several
workers starting at once against a new database do not race to create it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert, inspect, select, text
from sqlalchemy.engine import Connection, make_url

from tasks.store.tables import Base, MigrationStep, SchemaVersionRow, StorageError

CONNECT_TIMEOUT_SECONDS = 10
# The advisory lock key that serialises schema changes (any constant unique to this program).
MIGRATION_LOCK_KEY = 0x7474_6863_0001


def is_sqlite(url: str) -> bool:
    """Tell whether `url` names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def safe_url(url: str) -> str:
    """Return `url` with its password hidden, to name the database in a message."""
    return make_url(url).render_as_string(hide_password=True)


def postgres_connect_args(busy_timeout_seconds: float) -> dict[str, Any]:
    """Return psycopg's connection options: bounded connect and lock waits, keepalives."""
    lock_ms = int(busy_timeout_seconds * 1000)
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "options": f"-c lock_timeout={lock_ms}",
        # A server that vanishes (its machine off, a cable pulled) is noticed within a minute.
        "keepalives": 1,
        "keepalives_idle": 20,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def create_store_engine(url: str, busy_timeout_seconds: float) -> Engine:
    """Return the engine of the run database at `url` (its folder created for SQLite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return create_engine(
            url, pool_pre_ping=True, connect_args=postgres_connect_args(busy_timeout_seconds)
        )
    if backend != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"cannot create the folder of the run database {database}: {error}"
            ) from error
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})
    busy_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        if database and database != ":memory:":
            _use_wal(cursor, busy_timeout_seconds)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # can fail with "database is locked" at once instead of waiting for the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _use_wal(cursor: sqlite3.Cursor, timeout_seconds: float) -> None:
    """Put the file in WAL mode, waiting out another connection that holds it meanwhile.

    SQLite does not call the busy handler for a change of journal mode: several connections
    opening a new file at once (the first run's parallel tasks) would fail at once with
    "database is locked" without this loop.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _read_version(connection: Connection) -> int | None:
    if not inspect(connection).has_table(SchemaVersionRow.__tablename__):
        return None
    return connection.execute(select(SchemaVersionRow.version)).scalar()


def read_version(engine: Engine) -> int:
    """Return the schema version the database holds (0: none)."""
    with engine.connect() as connection:
        return _read_version(connection) or 0


def migrate(engine: Engine, steps: Mapping[int, MigrationStep], *, target: int) -> int:
    """Bring the database to schema version `target` and return the version it had (0: new).

    A new database gets every table at once; an older one runs the steps above its version.
    """
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held to the end of this transaction; SQLite's BEGIN IMMEDIATE does the same.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            current = _read_version(connection)
            if current is None:
                has_tables = bool(inspect(connection).get_table_names())
                # A file that already holds our tables but no version row is version 1.
                current = 1 if has_tables else 0
            if current > target:
                raise StorageError(
                    f"the run database {safe_url(str(engine.url))} has "
                    f"schema version {current}, newer than this program's {target}; "
                    "upgrade the program"
                )
            if current == 0:
                Base.metadata.create_all(connection)
            # At the program's own version every table is there already: the database is opened
            # for each step of each department, and looking for every table costs more than that.
            elif current < target:
                for version in range(current + 1, target + 1):
                    step = steps.get(version)
                    if step is None:
                        raise StorageError(f"no migration step to schema version {version}")
                    step(connection)
                # Tables added by later releases are created here; the steps alter old ones.
                Base.metadata.create_all(connection)
            # Written on every open: a database that cannot be written fails here, at once,
            # naming itself, rather than in the middle of a department.
            connection.execute(delete(SchemaVersionRow))
            connection.execute(insert(SchemaVersionRow).values(id=1, version=target))
    except StorageError:
        raise
    except Exception as error:
        raise StorageError(
            f"cannot open the run database {safe_url(str(engine.url))}: {error}"
        ) from error
    return current
