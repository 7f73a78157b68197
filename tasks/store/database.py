"""The run database: figures history, documents produced and the e-mail delivery ledger.

SQLAlchemy 2 with typed ORM models (tasks/store/tables.py), on SQLite (the embedded default,
one file under the output folder) or PostgreSQL (`postgresql+psycopg://...`, one database
that runs on several machines share). The program creates its own schema and keeps a schema
version with an explicit list of migration steps, so a later release upgrades an older
database in place (tasks/store/engine.py). Each delivery is claimed before it is sent
(`claim_delivery`), so two runs that share this database never send one recipient the same
report at once. Secrets are never stored here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from tasks.figures.engine import (
    FiguresReport,
    Rates,
    rates_from_mapping,
)
from tasks.figures.periods import Period
from tasks.store.engine import create_store_engine, migrate, read_version, safe_url
from tasks.store.hashing import content_sha256, file_sha256
from tasks.store.tables import (
    MIGRATIONS,
    SCHEMA_VERSION,
    DeliveryClaimRow,
    DeliveryRow,
    DocumentRow,
    FiguresRow,
    MessageIdRow,
    MigrationStep,
    NationalIndexRow,
    StorageError,
)

# Re-exported: callers know the run database by this module.
__all__ = [
    "DATABASE_FILE",
    "SCHEMA_VERSION",
    "Claim",
    "DeliveryRecord",
    "RunStore",
    "StorageError",
    "StoredDocument",
    "StoredFigures",
    "content_sha256",
    "default_database_url",
    "file_sha256",
]

DATABASE_FILE = "tthc-report.sqlite"

DocumentKind = Literal["docx", "xlsx", "pdf", "summary"]
DeliveryOutcomeKind = Literal["sent", "failed", "refused"]
DOCUMENT_KINDS: tuple[str, ...] = ("docx", "xlsx", "pdf", "summary")
DELIVERY_OUTCOMES: tuple[str, ...] = ("sent", "failed", "refused")
ClaimAnswer = Literal["claimed", "delivered", "busy"]


@dataclass(frozen=True)
class Claim:
    """What claim_delivery found: "claimed" (send it now), "delivered" or "busy" (another run)."""

    answer: ClaimAnswer
    holder: str | None = None
    since: datetime | None = None


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

    `now` is the clock (injected by tests); `busy_timeout_seconds` is how long a writer waits
    for another one's lock before giving up (SQLite's busy timeout, PostgreSQL's lock_timeout).
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
        self._engine = create_store_engine(url, busy_timeout_seconds)
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
        return f"RunStore({safe_url(self.url)!r})"

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def schema_version(self) -> int:
        """Return the schema version the database holds."""
        return read_version(self._engine)

    def record_national_index(self, period: str, index: dict[str, Any]) -> None:
        """Append one fetch of the national index of a period, stamped with its time (UTC)."""
        with self._transaction() as session:
            session.add(NationalIndexRow(period_key=period, fetched_at=self._now(), index=index))

    def latest_national_index(self, period_key: str) -> tuple[datetime, dict[str, Any]] | None:
        """Return the last fetch of the national index of a period, with its time, or None."""
        query = select(NationalIndexRow).where(NationalIndexRow.period_key == period_key)
        with self._transaction() as session:
            row = session.scalars(query.order_by(NationalIndexRow.fetched_at.desc())).first()
            return None if row is None else (row.fetched_at, dict(row.index))

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
        claimant: str | None = None,
    ) -> None:
        """Append one ledger row and end `claimant`'s claim on the recipient, in one commit."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"delivery outcome {outcome!r} is not one of {DELIVERY_OUTCOMES}")
        address = _normal_address(recipient)
        row = DeliveryRow(
            period_key=period.key,
            department_key=department_key,
            recipient=address,
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
            if claimant is not None:
                session.execute(
                    update(DeliveryClaimRow)
                    .where(
                        DeliveryClaimRow.period_key == period.key,
                        DeliveryClaimRow.department_key == department_key,
                        DeliveryClaimRow.recipient == address,
                        DeliveryClaimRow.claimant == claimant,
                    )
                    .values(claimant=None, claimed_at=None, expires_at=None)
                )

    def claim_delivery(
        self,
        period: Period,
        department_key: str,
        recipient: str,
        *,
        document_hash: str,
        claimant: str,
        lease_seconds: float,
        force: bool = False,
    ) -> Claim:
        """Claim the sending of a report to `recipient`, unless it has it or another run sends it.

        In one transaction, with the recipient's claim row locked: "delivered" when the ledger
        says the recipient last received `document_hash` (never with `force`), "busy" when
        another claimant's claim has not expired, else "claimed" for `lease_seconds`. The claim
        ends with record_delivery(..., claimant=...), or when it expires.
        """
        address = _normal_address(recipient)
        key = {"period_key": period.key, "department_key": department_key, "recipient": address}
        with self._transaction() as session:
            dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite  # type: ignore[union-attr]
            # Two runs inserting the row at once: one inserts, the other finds it.
            session.execute(dialect.insert(DeliveryClaimRow).values(**key).on_conflict_do_nothing())
            claim = session.scalars(
                select(DeliveryClaimRow).filter_by(**key).with_for_update()
            ).one()
            now = self._now()
            if (
                claim.claimant is not None
                and claim.claimant != claimant
                and claim.expires_at is not None
                and claim.expires_at > now
            ):
                return Claim("busy", claim.claimant, claim.claimed_at)
            if not force and self._delivered_hash(session, period, department_key, address) == (
                document_hash
            ):
                return Claim("delivered")
            claim.claimant = claimant
            claim.claimed_at = now
            claim.expires_at = now + timedelta(seconds=lease_seconds)
        return Claim("claimed", claimant, now)

    def release_claims(
        self, period: Period, *, department_key: str | None = None, claimant: str | None = None
    ) -> int:
        """End the claims of a period (of one department, of one claimant); return how many."""
        query = update(DeliveryClaimRow).where(
            DeliveryClaimRow.period_key == period.key, DeliveryClaimRow.claimant.is_not(None)
        )
        if department_key is not None:
            query = query.where(DeliveryClaimRow.department_key == department_key)
        if claimant is not None:
            query = query.where(DeliveryClaimRow.claimant == claimant)
        with self._transaction() as session:
            result = session.execute(query.values(claimant=None, claimed_at=None, expires_at=None))
        return int(result.rowcount)  # type: ignore[attr-defined]

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
        with self._transaction() as session:
            return self._delivered_hash(session, period, department_key, _normal_address(recipient))

    @staticmethod
    def _delivered_hash(
        session: Session, period: Period, department_key: str, address: str
    ) -> str | None:
        query = (
            select(DeliveryRow.document_hash)
            .where(
                DeliveryRow.period_key == period.key,
                DeliveryRow.department_key == department_key,
                DeliveryRow.recipient == address,
                DeliveryRow.outcome == "sent",
            )
            .order_by(DeliveryRow.id.desc())
            .limit(1)
        )
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
