"""Tests of tasks/store/run_lock.py: one run per period, released however the holder ends.

The tests of `period_lock` run on SQLite and on PostgreSQL (`database_url`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from tasks.figures.periods import Period
from tasks.store.database import RunStore
from tasks.store.run_lock import (
    RunLocked,
    RunLockUnavailable,
    advisory_key,
    lock_path,
    period_lock,
    run_lock,
)

NOON = datetime.fromisoformat("2024-06-03T12:00:00+07:00")


def test_lock_file_lives_under_the_output_folder(tmp_path: Path) -> None:
    assert lock_path(tmp_path, "2024-05") == tmp_path / "locks" / "2024-05.lock"


def test_holder_is_named_in_the_lock_file(tmp_path: Path) -> None:
    with run_lock(tmp_path, "2024-05", now=lambda: NOON) as path:
        text = path.read_text(encoding="utf-8")

    assert text.startswith(f"pid {os.getpid()} on ")
    assert text.endswith(", since 2024-06-03T12:00:00+07:00\n")


def test_second_holder_of_the_same_period_is_refused_naming_the_first(tmp_path: Path) -> None:
    with (
        run_lock(tmp_path, "2024-05", now=lambda: NOON),
        pytest.raises(RunLocked) as refused,
        run_lock(tmp_path, "2024-05"),
    ):
        pass

    message = str(refused.value)
    assert message.startswith(f"another run of 2024-05 is in progress (pid {os.getpid()} on ")
    assert "since 2024-06-03T12:00:00+07:00); this one did nothing." in message
    assert message.endswith(f"Lock file: {tmp_path / 'locks' / '2024-05.lock'}")


def test_other_periods_are_not_held(tmp_path: Path) -> None:
    with run_lock(tmp_path, "2024-05"), run_lock(tmp_path, "2024-06") as other:
        assert other.name == "2024-06.lock"


def test_lock_is_free_again_after_the_block_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError), run_lock(tmp_path, "2024-05"):
        raise ValueError("the run failed")

    with run_lock(tmp_path, "2024-05"):
        pass


def test_waits_while_the_holder_finishes(tmp_path: Path) -> None:
    clock = [0.0]
    sleeps: list[float] = []
    outer = run_lock(tmp_path, "2024-05")
    outer.__enter__()

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds
        if len(sleeps) == 3:  # the first run ends while the second waits
            outer.__exit__(None, None, None)

    with run_lock(
        tmp_path, "2024-05", wait_seconds=10, poll_seconds=0.5, sleep=sleep, clock=lambda: clock[0]
    ):
        pass

    assert sleeps == [0.5, 0.5, 0.5]


def test_gives_up_after_waiting(tmp_path: Path) -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with (
        run_lock(tmp_path, "2024-05"),
        pytest.raises(RunLocked),
        run_lock(
            tmp_path,
            "2024-05",
            wait_seconds=2,
            poll_seconds=0.5,
            sleep=sleep,
            clock=lambda: clock[0],
        ),
    ):
        pass

    assert clock[0] == 2.0


def test_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from tasks.store.run_lock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), '2024-05'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"held\n"
    with pytest.raises(RunLocked), run_lock(tmp_path, "2024-05"):
        pass

    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)

    with run_lock(tmp_path, "2024-05"):
        pass


def test_unwritable_output_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")

    with pytest.raises(RunLockUnavailable) as error, run_lock(blocker, "2024-05"):
        pass

    assert str(error.value).startswith(f"cannot create the run lock {blocker}/locks/2024-05.lock: ")
    assert str(error.value).endswith("(the output folder must be writable)")


# -- the lock in the run database (SQLite: a file beside it; PostgreSQL: an advisory lock) ----

HOLDER = (
    "import sys, time\n"
    "from tasks.store.run_lock import period_lock\n"
    "with period_lock(sys.argv[1], '2024-05'):\n"
    "    print('held', flush=True); time.sleep(120)\n"
)


def hold_in_another_process(database_url: str) -> subprocess.Popen[bytes]:
    """Start a process that holds the lock of 2024-05 in the run database; return it, holding."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"held\n"
    return holder


def test_period_lock_keeps_a_second_run_out_and_names_the_first(database_url: str) -> None:
    with period_lock(database_url, "2024-05"):
        with pytest.raises(RunLocked) as refused, period_lock(database_url, "2024-05"):
            pass
        with period_lock(database_url, "2024-06"):  # another period is another lock
            pass
    message = str(refused.value)
    assert message.startswith(f"another run of 2024-05 is in progress (pid {os.getpid()} on ")
    assert ", since " in message and "; this one did nothing." in message

    with period_lock(database_url, "2024-05"):  # released at the end of the block
        pass


def test_period_lock_of_a_process_killed_with_sigkill_is_free_at_once(database_url: str) -> None:
    holder = hold_in_another_process(database_url)
    try:
        with (
            pytest.raises(RunLocked, match=f"pid {holder.pid} on "),
            period_lock(database_url, "2024-05"),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

    # No lease to wait out: the kernel (file) or the server (connection) dropped it; a few
    # polls allow for the server to notice the closed socket.
    with period_lock(database_url, "2024-05", wait_seconds=10, poll_seconds=0.05):
        pass


def test_period_lock_waits_for_the_holder_when_asked(database_url: str) -> None:
    holder = hold_in_another_process(database_url)
    killer = threading.Timer(0.5, holder.send_signal, args=(signal.SIGKILL,))
    killer.start()
    try:
        with period_lock(database_url, "2024-05", wait_seconds=30, poll_seconds=0.05):
            assert holder.poll() is not None or holder.wait(timeout=10) == -signal.SIGKILL
    finally:
        killer.join()
        holder.kill()
        holder.wait(timeout=10)


def test_taking_the_lock_ends_the_claims_of_dead_runs(database_url: str) -> None:
    may = Period.parse("2024-05")
    with RunStore(database_url) as store:
        claim = store.claim_delivery(
            may, "SKHCN", "a@demo.gov.vn", document_hash="h", claimant="dead", lease_seconds=900
        )
        assert claim.answer == "claimed"
        with period_lock(database_url, "2024-05"):
            again = store.claim_delivery(
                may, "SKHCN", "a@demo.gov.vn", document_hash="h", claimant="me", lease_seconds=900
            )
    assert again.answer == "claimed"


def test_sqlite_lock_file_is_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'run.sqlite'}"
    with period_lock(url, "2024-05") as where:
        assert where == str(tmp_path / "db" / "locks" / "2024-05.lock")
    with (
        pytest.raises(RunLockUnavailable, match="is not a file"),
        period_lock("sqlite:///:memory:", "2024-05"),
    ):
        pass


def test_a_database_server_that_does_not_answer_is_named(unused_port: int) -> None:
    url = f"postgresql+psycopg://tthc:secret-pw@127.0.0.1:{unused_port}/tthc"
    with pytest.raises(RunLockUnavailable) as error, period_lock(url, "2024-05"):
        pass
    message = str(error.value)
    assert message.startswith(
        "cannot take the run lock of 2024-05 in the run database "
        f"postgresql+psycopg://tthc:***@127.0.0.1:{unused_port}/tthc: "
    )
    assert "secret-pw" not in message


def test_advisory_keys_differ_by_period() -> None:
    keys = {advisory_key(f"2024-{month:02d}") for month in range(1, 13)}
    assert len(keys) == 12
    assert all(-(2**63) <= key < 2**63 for key in keys)
