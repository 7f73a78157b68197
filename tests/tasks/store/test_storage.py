"""The run database: created on first use, figures history, documents, the ledger and its claims.

Every test that takes `database_url` runs on SQLite and on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
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
def store(database_url: str) -> Iterator[RunStore]:
    with RunStore(database_url, now=ticking_clock()) as opened:
        yield opened


def execute(url: str, statement: str) -> None:
    """Run one SQL statement on the database behind the program's back."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


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
    assert "delivery_claims" in tables
    assert journal == "wal"


def test_a_new_database_gets_every_table(database_url: str) -> None:
    with RunStore(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        tables = set(inspect(store.engine).get_table_names())
    assert tables == {
        "figures_history",
        "documents",
        "deliveries",
        "delivery_claims",
        "message_ids",
        "national_index",
        "schema_version",
    }


def test_reopening_keeps_the_data(database_url: str) -> None:
    url = database_url
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


def test_concurrent_writers_wait_instead_of_failing(database_url: str) -> None:
    url = database_url
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


def test_a_newer_database_is_refused(database_url: str) -> None:
    RunStore(database_url).close()
    execute(database_url, "update schema_version set version = 7")
    with pytest.raises(
        StorageError, match=f"schema version 7, newer than this program's {SCHEMA_VERSION}"
    ):
        RunStore(database_url)


def test_migration_steps_upgrade_an_older_database(database_url: str) -> None:
    url = database_url
    with RunStore(url) as store:
        store.record_figures("SKHCN", report(MAY))
    later = SCHEMA_VERSION + 1

    def add_note_column(connection: Connection) -> None:
        connection.execute(text("alter table documents add column note text"))

    with RunStore(url, migrations={later: add_note_column}, schema_version=later) as store:
        assert store.schema_version() == later
        assert store.latest_figures("SKHCN", MAY) is not None
    with RunStore(url, migrations={later: add_note_column}, schema_version=later):
        pass  # already at that version: the step does not run twice
    engine = create_engine(url)
    columns = [column["name"] for column in inspect(engine).get_columns("documents")]
    engine.dispose()
    assert "note" in columns
    with pytest.raises(StorageError, match=f"no migration step to schema version {later + 1}"):
        RunStore(url, migrations={}, schema_version=later + 1)


def test_a_version_1_database_gets_the_claims_table(database_url: str) -> None:
    # The first release's schema: no delivery_claims, version 1, a ledger row.
    with RunStore(database_url) as store:
        store.record_delivery(
            MAY, "SKHCN", "a@demo.gov.vn", message_id="<1@x>", document_hash="h1", revision=1,
            outcome="sent",
        )  # fmt: skip
    execute(database_url, "drop table delivery_claims")
    execute(database_url, "drop table message_ids")
    execute(database_url, "drop table national_index")
    execute(database_url, "update schema_version set version = 1")

    with RunStore(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        claim = store.claim_delivery(
            MAY, "SKHCN", "a@demo.gov.vn", document_hash="h1", claimant="me", lease_seconds=60
        )
    assert claim.answer == "delivered"  # the old ledger rows still count


def test_databases_opened_at_once_create_the_schema_once(database_url: str) -> None:
    # Several workers starting against a new database: each one migrates, none fails.
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            RunStore(database_url).close()
        except BaseException as error:  # collected: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with RunStore(database_url) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_sqlite_newer_file_named_in_the_error(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    RunStore(url).close()
    with sqlite3.connect(tmp_path / "tthc-report.sqlite") as connection:
        connection.execute("update schema_version set version = 7")
    with pytest.raises(StorageError, match=r"run database sqlite:///.*tthc-report\.sqlite has"):
        RunStore(url)


def test_a_server_that_does_not_answer_is_named(unused_port: int) -> None:
    url = f"postgresql+psycopg://tthc:secret-pw@127.0.0.1:{unused_port}/tthc"
    with pytest.raises(StorageError) as error:
        RunStore(url)
    message = str(error.value)
    assert (
        f"cannot open the run database postgresql+psycopg://tthc:***@127.0.0.1:{unused_port}/tthc"
        in message
    )
    assert "secret-pw" not in message


# -- delivery claims ------------------------------------------------------------------------


def claim(store: RunStore, claimant: str, digest: str = "h1", **options: object) -> str:
    """Claim a@demo.gov.vn's copy of SKHCN's May report; return the answer."""
    answer = store.claim_delivery(
        MAY,
        "SKHCN",
        "A@demo.gov.vn",
        document_hash=digest,
        claimant=claimant,
        lease_seconds=options.pop("lease_seconds", 600),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return answer.answer


def sent(store: RunStore, claimant: str | None, digest: str = "h1") -> None:
    store.record_delivery(
        MAY, "SKHCN", "a@demo.gov.vn", message_id="<1@x>", document_hash=digest, revision=1,
        outcome="sent", claimant=claimant,
    )  # fmt: skip


def test_a_claim_keeps_other_claimants_out_until_its_row_is_written(store: RunStore) -> None:
    assert claim(store, "run 1") == "claimed"
    assert claim(store, "run 1") == "claimed"  # the claimant itself may claim again
    busy = store.claim_delivery(
        MAY, "SKHCN", "a@demo.gov.vn", document_hash="h1", claimant="run 2", lease_seconds=600
    )
    assert (busy.answer, busy.holder) == ("busy", "run 1")
    assert busy.since is not None

    sent(store, "run 1")

    assert claim(store, "run 2") == "delivered"
    assert claim(store, "run 2", force=True) == "claimed"  # a forced resend claims again
    assert claim(store, "run 3", digest="h2") == "busy"
    sent(store, "run 2")
    assert claim(store, "run 3", digest="h2") == "claimed"  # a new version is sent


def test_a_failed_delivery_ends_the_claim(store: RunStore) -> None:
    assert claim(store, "run 1") == "claimed"
    store.record_delivery(
        MAY, "SKHCN", "a@demo.gov.vn", message_id="<1@x>", document_hash="h1", revision=1,
        outcome="failed", error="451 try later", claimant="run 1",
    )  # fmt: skip
    assert claim(store, "run 2") == "claimed"


def test_an_expired_claim_is_taken_over(store: RunStore) -> None:
    # The ticking clock moves a minute per call: a 30-second lease has expired at the next one.
    assert claim(store, "dead run", lease_seconds=30) == "claimed"
    assert claim(store, "run 2") == "claimed"
    sent(store, "dead run")  # a late row of the dead run does not end run 2's claim
    assert claim(store, "run 3", digest="h2") == "busy"


def test_released_claims_end_for_everyone(store: RunStore) -> None:
    assert claim(store, "dead run") == "claimed"
    assert store.release_claims(MAY, department_key="SNV") == 0
    assert store.release_claims(MAY, claimant="someone else") == 0
    assert store.release_claims(APRIL) == 0
    assert store.release_claims(MAY) == 1
    assert claim(store, "run 2") == "claimed"


def test_claims_from_many_threads_give_the_copy_to_one(database_url: str) -> None:
    answers: list[str] = []
    errors: list[BaseException] = []
    with RunStore(database_url) as first, RunStore(database_url) as second:

        def race(store: RunStore, name: str) -> None:
            try:
                answers.append(claim(store, name))
            except BaseException as error:  # collected: a thread's exception is otherwise lost
                errors.append(error)

        threads = [
            threading.Thread(target=race, args=(first if n % 2 else second, f"run {n}"))
            for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert sorted(answers) == ["busy"] * 7 + ["claimed"]


def test_a_version_1_database_gains_the_message_ids_table(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    with RunStore(url, migrations={}, schema_version=1) as store:
        store.record_figures("SKHCN", report(MAY))
    with sqlite3.connect(tmp_path / "tthc-report.sqlite") as connection:
        connection.execute("drop table message_ids")  # as version 1 made it

    with RunStore(url) as store:
        made = store.message_id_for(MAY, "SKHCN", "hash", 1, lambda: "<first@demo.gov.vn>")
        again = store.message_id_for(MAY, "SKHCN", "hash", 1, lambda: "<second@demo.gov.vn>")
        other = store.message_id_for(MAY, "SKHCN", "hash", 2, lambda: "<third@demo.gov.vn>")
        assert store.schema_version() == SCHEMA_VERSION

    assert (made, again, other) == ("<first@demo.gov.vn>",) * 2 + ("<third@demo.gov.vn>",)


@pytest.mark.parametrize("name", ["odd#dir?mode=ro", "per%20cent", "sp ace&x=1"])
def test_any_output_folder_holds_the_database_it_names(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    with RunStore(default_database_url(folder)) as store:
        store.record_figures("SKHCN", report(MAY))

    assert (folder / "tthc-report.sqlite").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


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
        assert store.schema_version() == SCHEMA_VERSION
        store.record_national_index("2024-05", {"units": []})
        assert store.latest_national_index("2024-05") is not None
        assert store.latest_figures("SKHCN", MAY) is not None
