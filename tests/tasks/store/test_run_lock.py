"""Tests of tasks/store/run_lock.py: one run per period, released however the holder ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tasks.store.run_lock import RunLocked, RunLockUnavailable, lock_path, run_lock

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
