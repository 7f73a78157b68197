"""The monthly run killed, locked out of its database or its folder, or started twice.

The killed runs are real processes (`tthc-report send`) sent SIGKILL at a known point: the
mail server holds every transaction at MAIL FROM, so the test knows what was and was not sent
when it kills. A read-only file or folder is made so for root too (chattr +i); a full disk is a
tiny tmpfs, which needs root: without it those two scenarios are skipped, saying so.
"""

from __future__ import annotations

import contextvars
import errno
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from standins.smtp_server import ReceivedMessage
from tasks.store.database import DATABASE_FILE, SCHEMA_VERSION, RunStore
from tasks.store.run_lock import lock_path
from tests.faults.conftest import ScenarioLog
from tests.faults.province import (
    DEPARTMENTS,
    PERIOD,
    Baseline,
    Province,
    assert_consistent,
    assert_delivered_once,
    assert_rerun_completes,
    differences,
)

WAIT_SECONDS = 120


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def wait_for(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `condition` until true; fail naming `what` (with the process's output) otherwise."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process is not None and process.poll() is not None:
            output = log.read_text(errors="replace")[-3000:] if log else ""
            pytest.fail(f"the run ended ({process.returncode}) before {what}:\n{output}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_send(province: Province, prefect_api: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `tthc-report send --period PERIOD` in its own process group, on the session's API."""
    environ = {**os.environ, **province.environ, "PREFECT_API_URL": prefect_api}
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-c", "from flows.cli import app; app()", "send", "--period", PERIOD],
            env=environ,
            cwd=province.root,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its group, as a supervisor stopping the service does; reap it.

    The group matters: the run's document workers (tasks/documents/workers.py) outlive a parent killed alone.
    """
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def ledger_rows(database: Path) -> set[tuple[str, str]]:
    """Read the ledger's "sent" rows without writing to the file (the run is still writing)."""
    if not database.exists():
        return set()
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT department_key, recipient FROM deliveries WHERE outcome = 'sent'"
        ).fetchall()
    except sqlite3.OperationalError:
        return set()  # the tables do not exist yet
    finally:
        connection.close()
    return {(str(key), str(address)) for key, address in rows}


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file or folder unwritable for this process, root included, for the block."""
    if _is_root():
        try:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        except FileNotFoundError:
            pytest.skip("running as root without chattr: cannot make a file read-only")
        if done.returncode != 0:
            pytest.skip(f"chattr +i fails here ({done.stderr.decode().strip()})")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@contextmanager
def small_disk(path: Path, size_kib: int) -> Iterator[None]:
    """Mount a tmpfs of `size_kib` at `path` for the block (root only; skip otherwise)."""
    if not _is_root():
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave_kib: int = 0) -> Path:
    """Write a filler file until the disk is full, then free `leave_kib`; return the filler."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as stream:  # unbuffered: nothing left to flush
        try:
            while True:
                stream.write(chunk)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    if leave_kib:
        size = filler.stat().st_size
        os.truncate(filler, max(0, size - leave_kib * 1024))
    return filler


# -- killed ---------------------------------------------------------------------------------


def test_killed_while_rendering_then_rerun(
    province: Province, prefect_api: str, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    reports = province.output_dir / "reports" / PERIOD
    province.smtp.hold()
    log = province.root / "send.log"
    process = start_send(province, prefect_api, log)
    try:
        wait_for(lambda: any(reports.glob("*.docx")), "the first report written", process, log)
    finally:
        kill(process)
    province.smtp.release()

    assert province.smtp.received == []
    assert province.ledger_sent() == {}
    # The killed run's lock died with it: the file names it, and the re-run takes the lock.
    assert f"pid {process.pid} " in lock_path(province.output_dir, PERIOD).read_text()

    state = province.run()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "process killed (SIGKILL) while rendering, then re-run",
        "nothing sent before the kill; re-run completed",
        province,
        figures_equal=True,
    )


def test_killed_while_delivering_then_rerun(
    province: Province, prefect_api: str, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    database = province.output_dir / DATABASE_FILE
    province.smtp.hold()
    log = province.root / "send.log"
    process = start_send(province, prefect_api, log)
    try:
        wait_for(lambda: province.smtp.waiting >= 1, "a delivery at the mail server", process, log)
        province.smtp.admit(1)  # one message goes through; the others stay held

        def first_message_recorded() -> bool:
            received = set(province.received())
            return len(province.smtp.received) == 1 and ledger_rows(database) == received

        wait_for(first_message_recorded, "the first message sent and recorded", process, log)
    finally:
        kill(process)
    province.smtp.release()

    assert_consistent(province)
    delivered_before = set(province.received())
    assert 0 < len(delivered_before) < len(province.expected())

    state = province.run()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "process killed (SIGKILL) while delivering, then re-run",
        f"{len(delivered_before)} copies sent before the kill; re-run sent only the rest",
        province,
        figures_equal=True,
    )


def test_killed_after_the_server_has_a_message_before_its_250_then_rerun(
    province: Province, prefect_api: str, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    log = province.root / "send.log"
    # One transaction at a time reaches DATA: another department's message, its DATA already
    # with the server when the kill lands, would be a second message in the same state.
    province.smtp.hold()
    province.smtp.admit(1)
    process = start_send(province, prefect_api, log)
    killed = threading.Event()

    def kill_at_the_worst_point(_: ReceivedMessage) -> None:
        # The server has the message; the sender has neither its "250" nor a ledger row.
        if not killed.is_set():
            killed.set()
            kill(process)

    province.smtp.on_stored = kill_at_the_worst_point
    try:
        wait_for(killed.is_set, "the first message stored", process, log)
    finally:
        if process.poll() is None:
            kill(process)
        province.smtp.on_stored = None
        province.smtp.release()
    [first] = province.smtp.received

    started = time.monotonic()
    state = province.run()
    took = time.monotonic() - started

    assert state.is_completed(), state.message
    again = [m for m in province.smtp.received[1:] if m.envelope_to == first.envelope_to]
    assert [str(m.message["Message-ID"]) for m in again] == [str(first.message["Message-ID"])]
    received = province.received()
    assert set(received) == set(province.expected())  # nobody lost
    assert {pair for pair, n in received.items() if n > 1} == {
        (str(first.message["X-Tthc-Department"]), address) for address in first.envelope_to
    }
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "process killed after the server stored a message, before its 250, then re-run",
        "that one message sent again, with the same Message-ID (documented); the rest once",
        province,
        figures_equal=True,
        seconds=took,
    )


# -- the run database -----------------------------------------------------------------------


def test_new_database_opened_while_another_connection_writes(tmp_path: Path) -> None:
    # A file not yet in WAL mode, held by a writer: the first run's parallel tasks open the new
    # database this way, and SQLite does not wait by itself for a change of journal mode.
    database = tmp_path / "run.sqlite"
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        with RunStore(f"sqlite:///{database}") as store:
            assert store.schema_version() == SCHEMA_VERSION
    finally:
        release.join()
        holder.close()


def test_database_locked_by_another_program_for_a_moment(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    RunStore(province.database_url).close()  # the file exists, as after earlier months
    holder = sqlite3.connect(
        province.output_dir / DATABASE_FILE, isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, holder.execute, args=("COMMIT",))
    release.start()
    try:
        state = province.run()
    finally:
        release.join()
        holder.close()

    assert state.is_completed(), state.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "database locked by another program for 1 s",
        "waited, then completed",
        province,
        figures_equal=True,
    )


def test_database_file_read_only(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    database = province.output_dir / DATABASE_FILE
    RunStore(province.database_url).close()

    with read_only(database):
        state = province.run()

    assert state.is_failed()
    assert state.message is not None
    for key in DEPARTMENTS:
        assert f"- {key}: StorageError: cannot open the run database sqlite:///{database}" in (
            state.message
        )
    assert "readonly database" in state.message
    assert province.received() == {}
    assert len(province.alerts()) == 1

    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "database file read-only, then re-run",
        "failed naming the database; nothing sent; re-run completed",
        province,
        figures_equal=True,
    )


# -- the output folder ----------------------------------------------------------------------


def test_output_folder_read_only(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:

    with read_only(province.output_dir):
        state = province.run()

    assert state.is_failed()
    assert state.message is not None
    assert state.message.startswith(
        f"cannot create the run lock {province.output_dir}/locks/{PERIOD}.lock"
    )
    assert "(the output folder must be writable)" in state.message
    assert province.received() == {}
    (alert,) = province.alerts()
    assert "the output folder must be writable" in alert.text()

    assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "output folder read-only, then re-run",
        "refused at the start naming the folder; re-run completed",
        province,
        figures_equal=True,
    )


def test_output_disk_full_from_the_start(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    with small_disk(province.output_dir, 8 * 1024):  # room for a whole run once freed
        filler = fill(province.output_dir)

        state = province.run()

        assert state.is_failed()
        assert state.message is not None
        for key in DEPARTMENTS:
            assert f"- {key}: StorageError: cannot open the run database" in state.message
        assert "database or disk is full" in state.message
        assert province.received() == {}

        filler.unlink()
        assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "disk of the output folder full (database on it), then re-run",
        "failed naming the database; nothing sent; re-run completed",
        province,
        figures_equal=True,
    )


def test_output_disk_fills_up_while_rendering(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    province.environ["TTHC_DATABASE_URL"] = f"sqlite:///{province.root / 'db' / 'run.sqlite'}"
    reports = province.output_dir / "reports" / PERIOD
    # Room for the three departments' and the Centre's documents with their PDFs (a report's
    # PDF carries its two charts at 220 dpi, about 200 KiB), once the filler is gone.
    with small_disk(province.output_dir, 1280):
        filler = fill(province.output_dir, leave_kib=160)  # one report fits, not three

        state = province.run()

        assert state.is_failed()
        assert state.message is not None
        assert "No space left on device" in state.message
        failed = {key for key in DEPARTMENTS if f"- {key}: " in state.message}
        assert failed
        assert_consistent(province)
        assert not {key for key, _ in province.received()} & failed
        assert not [path.name for path in reports.glob(".*.tmp")]  # no half-written file

        filler.unlink()
        assert_rerun_completes(province, baseline)
    scenario_log.fault(
        "output folder fills up while rendering (database elsewhere), then re-run",
        f"failed naming {', '.join(sorted(failed))} (no space); the rest sent; re-run completed",
        province,
        figures_equal=True,
    )


# -- two runs at once -----------------------------------------------------------------------


def test_second_run_of_the_same_period_is_refused_while_the_first_runs(
    province: Province, baseline: Baseline, scenario_log: ScenarioLog
) -> None:
    # A refused run alerts nobody: the operators stay configured, and the held server would
    # show an alert as a transaction waiting.
    province.smtp.hold()
    first: dict[str, Any] = {}
    context = contextvars.copy_context()  # the Prefect API settings of this thread
    thread = threading.Thread(target=lambda: first.update(state=context.run(province.run)))
    thread.start()
    try:
        wait_for(lambda: province.smtp.waiting >= 1, "the first run delivering")
        second = province.run()
    finally:
        province.smtp.release()
        thread.join(timeout=WAIT_SECONDS)

    # Refused: not a failure (a Completed state named so), one line naming the first run.
    assert second.is_completed() and second.name == "Refused"
    assert second.message is not None
    assert second.message.startswith(
        f"another run of {PERIOD} is in progress (pid {os.getpid()} on "
    )
    assert first["state"].is_completed(), first["state"].message
    assert province.alerts() == []
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
    scenario_log.fault(
        "two runs of the same period at once",
        "the second refused naming the first; the first completed",
        province,
        figures_equal=True,
    )
