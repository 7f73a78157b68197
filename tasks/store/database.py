"""The run database: figures history, documents produced and the e-mail delivery ledger.

SQLAlchemy 2 with typed ORM models. The program creates its own schema (a fresh database gets
every table at once) and keeps a schema version with an explicit list of migration steps, so a
later release upgrades an older file in place. SQLite files run in WAL mode with a busy timeout
and take the write lock when a transaction begins, so concurrent writers from Prefect's thread
pool wait for each other instead of failing. Secrets are never stored here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from tasks.figures.engine import (
    FiguresReport,
    Rates,
    rates_from_mapping,
)
from tasks.figures.periods import Period
from tasks.store.hashing import file_sha256

DATABASE_FILE = "tthc-report.sqlite"
SCHEMA_VERSION = 2

DocumentKind = Literal["docx", "xlsx", "pdf", "summary"]
DeliveryOutcomeKind = Literal["sent", "failed", "refused"]
DOCUMENT_KINDS: tuple[str, ...] = ("docx", "xlsx", "pdf", "summary")
DELIVERY_OUTCOMES: tuple[str, ...] = ("sent", "failed", "refused")

# A migration step upgrades the schema from version N-1 to N (the key). Version 1 is the
# baseline that create_all builds; add steps here, and raise SCHEMA_VERSION with them.
MigrationStep = Callable[[Connection], None]


def _add_message_ids(connection: Connection) -> None:
    """Version 2 adds the message_ids table (create_all after the steps makes it)."""


MIGRATIONS: dict[int, MigrationStep] = {2: _add_message_ids}


class StorageError(RuntimeError):
    """The run database cannot be opened or is newer than this program."""


class Base(DeclarativeBase):
    """Declarative base of the run database's tables."""


class SchemaVersionRow(Base):
    """The single row that records which schema version the file holds."""

    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class FiguresRow(Base):
    """One computation of one department's figures for one period (every run appends)."""

    __tablename__ = "figures_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(64), index=True)
    department_key: Mapped[str] = mapped_column(String(64), index=True)
    period_key: Mapped[str] = mapped_column(String(16), index=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    rates: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_quality: Mapped[dict[str, Any]] = mapped_column(JSON)


class DocumentRow(Base):
    """One document written for a department (or the Centre's summary) and period."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), index=True)
    department_key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DeliveryRow(Base):
    """The ledger: one delivery attempt of a department's report to one recipient."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), index=True)
    department_key: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    message_id: Mapped[str] = mapped_column(String(320))
    document_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class MessageIdRow(Base):
    """The Message-ID of one delivery (period, department, document set, revision).

    Written before the first attempt sends anything, so every attempt of that delivery, a
    re-run after a crash included, sends under the same Message-ID.
    """

    __tablename__ = "message_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), index=True)
    department_key: Mapped[str] = mapped_column(String(64), index=True)
    document_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class StoredFigures:
    """The latest figures and rates recorded for a department and period."""

    department_key: str
    agency_code: str
    period_key: str
    computed_at: datetime
    figures: dict[str, int]
    rates: dict[str, float | None]
    data_quality: dict[str, Any]


@dataclass(frozen=True)
class StoredDocument:
    """A document the run produced, with its content hash."""

    period_key: str
    department_key: str
    kind: str
    path: Path
    sha256: str
    size: int
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    """One ledger row, as read back."""

    period_key: str
    department_key: str
    recipient: str
    message_id: str
    document_hash: str
    revision: int
    sent_at: datetime
    outcome: str
    error: str | None
    attempts: int


def default_database_url(output_dir: Path) -> str:
    """Return the URL of the default run database: <output_dir>/tthc-report.sqlite."""
    # URL.create escapes the path as data: a folder named "odd#dir?mode=ro" stays a folder.
    path = str((output_dir / DATABASE_FILE).absolute())
    return URL.create("sqlite", database=path).render_as_string(hide_password=False)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RunStore:
    """The run database at `url`; times are stored as naive UTC.

    `now` is the clock (injected by tests); `busy_timeout_seconds` is how long an SQLite writer
    waits for another one before giving up.
    """

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], datetime] = _utc_now,
        busy_timeout_seconds: float = 30.0,
        migrations: Mapping[int, MigrationStep] | None = None,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        self.url = url
        self._now = now
        self._engine = _create_engine(url, busy_timeout_seconds)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        migrate(
            self._engine,
            MIGRATIONS if migrations is None else migrations,
            target=schema_version,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # The URL may carry a database password for server databases; never show it.
        return f"RunStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def schema_version(self) -> int:
        """Return the schema version the database holds."""
        with self._engine.connect() as connection:
            version = _read_version(connection)
        return version or 0

    # -- figures -------------------------------------------------------------------------------

    def record_figures(self, department_key: str, report: FiguresReport) -> None:
        """Append one computation of a department's figures (the history keeps every run)."""
        row = FiguresRow(
            agency_code=report.agency,
            department_key=department_key,
            period_key=report.period.key,
            computed_at=self._now(),
            figures=dict(report.figures),
            rates=dict(report.rates),
            data_quality=report.data_quality.to_json(),
        )
        with self._transaction() as session:
            session.add(row)

    def latest_figures(self, department_key: str, period: Period) -> StoredFigures | None:
        """Return the last computation recorded for a department and period, or None."""
        query = (
            select(FiguresRow)
            .where(
                FiguresRow.department_key == department_key,
                FiguresRow.period_key == period.key,
            )
            .order_by(FiguresRow.computed_at.desc(), FiguresRow.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else _stored_figures(row)

    def rates_history(self, department_key: str, periods: list[Period]) -> dict[str, Rates]:
        """Return the latest rates of each period by period key; periods never computed are left out."""
        keys = [period.key for period in periods]
        if not keys:
            return {}
        query = (
            select(FiguresRow)
            .where(FiguresRow.department_key == department_key, FiguresRow.period_key.in_(keys))
            .order_by(FiguresRow.computed_at, FiguresRow.id)
        )
        latest: dict[str, Rates] = {}
        with self._transaction() as session:
            for row in session.scalars(query):
                latest[row.period_key] = rates_from_mapping(row.rates)
        return {key: latest[key] for key in keys if key in latest}

    # -- documents -----------------------------------------------------------------------------

    def record_document(
        self, period: Period, department_key: str, kind: str, path: Path
    ) -> StoredDocument:
        """Record a written document with its size and SHA-256; raise ValueError on an unknown kind."""
        if kind not in DOCUMENT_KINDS:
            raise ValueError(f"document kind {kind!r} is not one of {', '.join(DOCUMENT_KINDS)}")
        row = DocumentRow(
            period_key=period.key,
            department_key=department_key,
            kind=kind,
            path=str(path),
            sha256=file_sha256(path),
            size=path.stat().st_size,
            created_at=self._now(),
        )
        with self._transaction() as session:
            session.add(row)
        return _stored_document(row)

    def latest_documents(self, period: Period, department_key: str) -> dict[str, StoredDocument]:
        """Return the last document recorded of each kind for a department and period."""
        query = (
            select(DocumentRow)
            .where(
                DocumentRow.period_key == period.key, DocumentRow.department_key == department_key
            )
            .order_by(DocumentRow.created_at, DocumentRow.id)
        )
        latest: dict[str, StoredDocument] = {}
        with self._transaction() as session:
            for row in session.scalars(query):
                latest[row.kind] = _stored_document(row)
        return latest

    # -- the delivery ledger -------------------------------------------------------------------

    def record_delivery(
        self,
        period: Period,
        department_key: str,
        recipient: str,
        *,
        message_id: str,
        document_hash: str,
        revision: int,
        outcome: DeliveryOutcomeKind,
        error: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Append one ledger row and commit it at once."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"delivery outcome {outcome!r} is not one of {DELIVERY_OUTCOMES}")
        row = DeliveryRow(
            period_key=period.key,
            department_key=department_key,
            recipient=_normal_address(recipient),
            message_id=message_id,
            document_hash=document_hash,
            revision=revision,
            sent_at=self._now(),
            outcome=outcome,
            error=error,
            attempts=attempts,
        )
        with self._transaction() as session:
            session.add(row)

    def message_id_for(
        self,
        period: Period,
        department_key: str,
        digest: str,
        revision: int,
        new: Callable[[], str],
    ) -> str:
        """Return the Message-ID of this delivery, making it with `new` and keeping it if new."""
        row = MessageIdRow(period_key=period.key, department_key=department_key)
        row.document_hash, row.revision = digest, revision
        query = select(MessageIdRow.message_id).filter_by(
            period_key=row.period_key, department_key=department_key, document_hash=digest
        )
        with self._transaction() as session:
            known = session.scalars(query.filter_by(revision=revision).limit(1)).first()
            if known is not None:
                return known
            row.message_id, row.created_at = new(), self._now()
            session.add(row)
        return row.message_id

    def delivered_hash(self, period: Period, department_key: str, recipient: str) -> str | None:
        """Return the document hash last delivered to `recipient`, or None if nothing was."""
        query = (
            select(DeliveryRow.document_hash)
            .where(
                DeliveryRow.period_key == period.key,
                DeliveryRow.department_key == department_key,
                DeliveryRow.recipient == _normal_address(recipient),
                DeliveryRow.outcome == "sent",
            )
            .order_by(DeliveryRow.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            return session.scalars(query).first()

    def revision(self, period: Period, department_key: str) -> int:
        """Return the highest revision delivered to anyone for a department and period (0: none)."""
        query = select(func.max(DeliveryRow.revision)).where(
            DeliveryRow.period_key == period.key,
            DeliveryRow.department_key == department_key,
            DeliveryRow.outcome == "sent",
        )
        with self._transaction() as session:
            return session.scalar(query) or 0

    def last_delivered(self, period: Period, department_key: str) -> tuple[str, int] | None:
        """Return (document hash, revision) of the last successful delivery, or None."""
        query = (
            select(DeliveryRow.document_hash, DeliveryRow.revision)
            .where(
                DeliveryRow.period_key == period.key,
                DeliveryRow.department_key == department_key,
                DeliveryRow.outcome == "sent",
            )
            .order_by(DeliveryRow.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            row = session.execute(query).first()
        return None if row is None else (row[0], row[1])

    def deliveries(self, period: Period, department_key: str | None = None) -> list[DeliveryRecord]:
        """Return the ledger rows of a period (and department), oldest first."""
        query = select(DeliveryRow).where(DeliveryRow.period_key == period.key)
        if department_key is not None:
            query = query.where(DeliveryRow.department_key == department_key)
        with self._transaction() as session:
            return [
                _delivery_record(row) for row in session.scalars(query.order_by(DeliveryRow.id))
            ]


def _normal_address(address: str) -> str:
    # Domains are case-insensitive; local parts are in practice too, and one ledger key per
    # mailbox is what keeps "A@x.vn" and "a@x.vn" from each getting a copy.
    return address.strip().lower()


def _stored_figures(row: FiguresRow) -> StoredFigures:
    return StoredFigures(
        department_key=row.department_key,
        agency_code=row.agency_code,
        period_key=row.period_key,
        computed_at=row.computed_at,
        figures=dict(row.figures),
        rates=dict(row.rates),
        data_quality=dict(row.data_quality),
    )


def _stored_document(row: DocumentRow) -> StoredDocument:
    return StoredDocument(
        period_key=row.period_key,
        department_key=row.department_key,
        kind=row.kind,
        path=Path(row.path),
        sha256=row.sha256,
        size=row.size,
        created_at=row.created_at,
    )


def _delivery_record(row: DeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(
        period_key=row.period_key,
        department_key=row.department_key,
        recipient=row.recipient,
        message_id=row.message_id,
        document_hash=row.document_hash,
        revision=row.revision,
        sent_at=row.sent_at,
        outcome=row.outcome,
        error=row.error,
        attempts=row.attempts,
    )


def _create_engine(url: str, busy_timeout_seconds: float) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
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


def migrate(engine: Engine, steps: Mapping[int, MigrationStep], *, target: int) -> int:
    """Bring the database to schema version `target` and return the version it had (0: new).

    A new database gets every table at once; an older one runs the steps above its version.
    """
    try:
        with engine.begin() as connection:
            current = _read_version(connection)
            if current is None:
                has_tables = bool(inspect(connection).get_table_names())
                # A file that already holds our tables but no version row is version 1.
                current = 1 if has_tables else 0
            if current > target:
                raise StorageError(
                    f"the run database {engine.url.render_as_string(hide_password=True)} has "
                    f"schema version {current}, newer than this program's {target}; "
                    "upgrade the program"
                )
            if current == 0:
                Base.metadata.create_all(connection)
            else:
                for version in range(current + 1, target + 1):
                    step = steps.get(version)
                    if step is None:
                        raise StorageError(f"no migration step to schema version {version}")
                    step(connection)
                # Tables added by later releases are created here; the steps alter old ones.
                Base.metadata.create_all(connection)
            connection.execute(delete(SchemaVersionRow))
            connection.execute(insert(SchemaVersionRow).values(id=1, version=target))
    except StorageError:
        raise
    except Exception as error:
        raise StorageError(
            f"cannot open the run database "
            f"{engine.url.render_as_string(hide_password=True)}: {error}"
        ) from error
    return current
