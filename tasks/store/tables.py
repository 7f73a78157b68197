"""The run database's tables, its schema version and the steps that migrate an older one.

The same schema on SQLite (the embedded default) and PostgreSQL (a database that several
machines share): column types SQLAlchemy maps onto both, times as naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 4


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


class DeliveryClaimRow(Base):
    """Who is sending a department's report to one recipient right now (schema version 2).

    One row per (period, department, recipient), locked while a delivery is claimed: a claim
    names its claimant and expires at `expires_at`; `claimant` is NULL when nobody is sending.
    """

    __tablename__ = "delivery_claims"
    __table_args__ = (UniqueConstraint("period_key", "department_key", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16))
    department_key: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    claimant: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class MessageIdRow(Base):
    """The Message-ID of one delivery (period, department, document set, revision) (version 3).

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


class NationalIndexRow(Base):
    """One fetch of the national index (Bộ chỉ số 766) of a period (version 4): each is kept."""

    __tablename__ = "national_index"

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    index: Mapped[dict[str, Any]] = mapped_column(JSON)


def _add_delivery_claims(connection: Connection) -> None:
    """Version 2: the delivery claims, so that two runs never send the same copy at once."""
    DeliveryClaimRow.__table__.create(connection, checkfirst=True)  # type: ignore[attr-defined]


def _add_message_ids(connection: Connection) -> None:
    """Version 3: the Message-ID of each delivery, kept before its first attempt."""
    MessageIdRow.__table__.create(connection, checkfirst=True)  # type: ignore[attr-defined]


def _add_national_index(connection: Connection) -> None:
    """Version 4: the fetches of the national index (Bộ chỉ số 766), with their fetch time."""
    NationalIndexRow.__table__.create(connection, checkfirst=True)  # type: ignore[attr-defined]


# A migration step upgrades the schema from version N-1 to N (the key). Version 1 is the
# first release's schema; add steps here, and raise SCHEMA_VERSION with them.
MigrationStep = Callable[[Connection], None]
MIGRATIONS: dict[int, MigrationStep] = {
    2: _add_delivery_claims,
    3: _add_message_ids,
    4: _add_national_index,
}
