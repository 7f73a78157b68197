"""The run database: created on first use, figures history, documents and the delivery ledger."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tasks.figures.engine import DataQuality, FiguresReport
from tasks.figures.periods import Period
from tasks.store.database import (
    SCHEMA_VERSION,
    RunStore,
    StorageError,
    default_database_url,
    file_sha256,
)

MAY = Period.month(2024, 5)
APRIL = Period.month(2024, 4)


def ticking_clock(start: datetime = datetime(2024, 6, 1, 8, 0)) -> Callable[[], datetime]:
    """Return a clock that moves one minute forward at each call."""
    state = {"now": start}

    def now() -> datetime:
        state["now"] += timedelta(minutes=1)
        return state["now"]

    return now


def report(period: Period, **rates: float | None) -> FiguresReport:
    figures = {"received_total": 63, "resolved": 54, "in_progress": 5}
    return FiguresReport(
        agency="000.00.15.H99",
        period=period,
        figures=figures,
        rates={"early_rate": 49 / 54, "postal_rate": 0.667, **rates},
        by_field=[],
        data_quality=DataQuality(),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(default_database_url(tmp_path / "out"), now=ticking_clock()) as opened:
        yield opened


def test_database_file_and_folder_are_created(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    url = default_database_url(folder)
    with RunStore(url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    database = folder / "tthc-report.sqlite"
    assert database.is_file()
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
        journal = connection.execute("pragma journal_mode").fetchone()[0]
    assert {"figures_history", "documents", "deliveries", "schema_version"} <= tables
    assert journal == "wal"


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    with RunStore(url) as store:
        store.record_figures("SKHCN", report(MAY))
    with RunStore(url) as store:
        stored = store.latest_figures("SKHCN", MAY)
    assert stored is not None
    assert stored.figures["received_total"] == 63


def test_latest_figures_is_the_last_computation(store: RunStore) -> None:
    store.record_figures("SKHCN", report(MAY, postal_rate=0.5))
    store.record_figures("SKHCN", report(MAY, postal_rate=0.667))
    stored = store.latest_figures("SKHCN", MAY)
    assert stored is not None
    assert stored.rates["postal_rate"] == 0.667
    assert stored.agency_code == "000.00.15.H99"
    assert stored.data_quality["reconciliation"] is None
    assert store.latest_figures("SKHCN", APRIL) is None
    assert store.latest_figures("SNV", MAY) is None


def test_rates_history_feeds_the_previous_period(store: RunStore) -> None:
    store.record_figures("SKHCN", report(APRIL, postal_rate=0.28, early_rate=None))
    store.record_figures("SKHCN", report(MAY))
    store.record_figures("SNV", report(APRIL, postal_rate=0.99))

    history = store.rates_history("SKHCN", MAY.trailing_months(12))

    assert list(history) == ["2024-04", "2024-05"]  # months never computed are left out
    assert history[MAY.previous().key]["postal_rate"] == 0.28
    assert history["2024-04"]["early_rate"] is None
    assert store.rates_history("SKHCN", []) == {}


def test_record_document_hashes_the_file(store: RunStore, tmp_path: Path) -> None:
    path = tmp_path / "Báo cáo TTHC 2024-05 SKHCN.docx"
    path.write_bytes(b"first")
    store.record_document(MAY, "SKHCN", "docx", path)
    path.write_bytes(b"second version")
    stored = store.record_document(MAY, "SKHCN", "docx", path)

    assert stored.sha256 == file_sha256(path)
    assert stored.size == len(b"second version")
    latest = store.latest_documents(MAY, "SKHCN")
    assert list(latest) == ["docx"]
    assert latest["docx"].sha256 == stored.sha256
    assert latest["docx"].path == path


def test_record_document_refuses_an_unknown_kind(store: RunStore, tmp_path: Path) -> None:
    path = tmp_path / "x.odt"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="'odt'"):
        store.record_document(MAY, "SKHCN", "odt", path)


def test_ledger_counts_only_successful_deliveries(store: RunStore) -> None:
    def row(recipient: str, outcome: str, digest: str, revision: int = 1) -> None:
        store.record_delivery(
            MAY,
            "SKHCN",
            recipient,
            message_id="<1@demo.gov.vn>",
            document_hash=digest,
            revision=revision,
            outcome=outcome,  # type: ignore[arg-type]
            error=None if outcome == "sent" else "550 No such user",
        )

    assert store.delivered_hash(MAY, "SKHCN", "a@demo.gov.vn") is None
    assert store.revision(MAY, "SKHCN") == 0
    assert store.last_delivered(MAY, "SKHCN") is None

    row("A@Demo.gov.vn", "sent", "h1")
    row("b@demo.gov.vn", "refused", "h1")
    row("c@demo.gov.vn", "failed", "h1")
    row("a@demo.gov.vn", "sent", "h2", revision=2)
    row("a@demo.gov.vn", "failed", "h3", revision=3)

    assert store.delivered_hash(MAY, "SKHCN", "a@demo.gov.vn") == "h2"
    assert store.delivered_hash(MAY, "SKHCN", "b@demo.gov.vn") is None
    assert store.delivered_hash(MAY, "SKHCN", "c@demo.gov.vn") is None
    assert store.delivered_hash(APRIL, "SKHCN", "a@demo.gov.vn") is None
    assert store.revision(MAY, "SKHCN") == 2
    assert store.last_delivered(MAY, "SKHCN") == ("h2", 2)
    outcomes = [(r.recipient, r.outcome) for r in store.deliveries(MAY, "SKHCN")]
    assert outcomes[:3] == [
        ("a@demo.gov.vn", "sent"),
        ("b@demo.gov.vn", "refused"),
        ("c@demo.gov.vn", "failed"),
    ]
    with pytest.raises(ValueError, match="'lost'"):
        row("a@demo.gov.vn", "lost", "h1")


def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    errors: list[BaseException] = []
    with RunStore(url, busy_timeout_seconds=20) as store:

        def write(worker: int) -> None:
            try:
                for index in range(20):
                    store.record_delivery(
                        MAY,
                        f"D{worker}",
                        f"r{index}@demo.gov.vn",
                        message_id=f"<{worker}.{index}@demo.gov.vn>",
                        document_hash="h",
                        revision=1,
                        outcome="sent",
                    )
                    store.record_figures(f"D{worker}", report(MAY))
            except BaseException as error:  # collected: a thread's exception is otherwise lost
                errors.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(store.deliveries(MAY)) == 80


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    RunStore(url).close()
    with sqlite3.connect(tmp_path / "tthc-report.sqlite") as connection:
        connection.execute("update schema_version set version = 7")
    with pytest.raises(
        StorageError, match=f"schema version 7, newer than this program's {SCHEMA_VERSION}"
    ):
        RunStore(url)


def test_migration_steps_upgrade_an_older_database(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    with RunStore(url, migrations={}, schema_version=1) as store:
        store.record_figures("SKHCN", report(MAY))

    def add_note_column(connection: Connection) -> None:
        connection.execute(text("alter table documents add column note text"))

    with RunStore(url, migrations={2: add_note_column}, schema_version=2) as store:
        assert store.schema_version() == 2
        assert store.latest_figures("SKHCN", MAY) is not None
    with RunStore(url, migrations={2: add_note_column}, schema_version=2):
        pass  # already at version 2: the step does not run twice
    with sqlite3.connect(tmp_path / "tthc-report.sqlite") as connection:
        columns = [row[1] for row in connection.execute("pragma table_info(documents)")]
    assert "note" in columns
    with pytest.raises(StorageError, match="no migration step to schema version 3"):
        RunStore(url, migrations={}, schema_version=3)


def test_every_fetch_of_the_national_index_is_kept_with_its_time(store: RunStore) -> None:
    store.record_national_index("2024-05", {"period": "2024-05", "units": [1]})
    store.record_national_index("2024-05", {"period": "2024-05", "units": [2]})
    store.record_national_index("2024-04", {"period": "2024-04", "units": []})

    latest = store.latest_national_index("2024-05")

    assert latest is not None
    fetched_at, index = latest
    assert index["units"] == [2]
    assert fetched_at == datetime(2024, 6, 1, 8, 2)
    assert store.latest_national_index("2024-03") is None


def test_a_version_1_database_gains_the_national_index_table(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    with RunStore(url, migrations={}, schema_version=1) as store:
        store.record_figures("SKHCN", report(MAY))
    with sqlite3.connect(tmp_path / "tthc-report.sqlite") as connection:
        connection.execute("drop table national_index")

    with RunStore(url) as store:
        assert store.schema_version() == SCHEMA_VERSION == 2
        store.record_national_index("2024-05", {"units": []})
        assert store.latest_national_index("2024-05") is not None
        assert store.latest_figures("SKHCN", MAY) is not None
