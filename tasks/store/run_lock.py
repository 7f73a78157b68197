"""One run per period at a time: an exclusive lock on a file under the output folder.

Two runs of the same period at once (the schedule and an operator, or two operators) would
each render the documents and each send before the other's ledger rows exist, so every
recipient could get the report twice. The monthly flow therefore holds
`<output>/locks/<period>.lock` for the whole run; a second run of that period waits up to
`wait_seconds` for it and is then refused with a message naming the holder.

The lock is flock(2) on the open file: the kernel drops it when the holding process ends,
however it ends (SIGKILL and power loss included), so a crashed run never leaves a stale lock
for an operator to remove. The file stays behind; its text names the last holder. Runs are
serialised among processes that share the output folder: one machine, or a network folder
whose file system honours flock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from tasks.settings.keys import safe_key

LOCKS_FOLDER = "locks"


class RunLocked(RuntimeError):
    """Another run of the same period holds the lock; the message names it."""


class RunLockUnavailable(RuntimeError):
    """The lock file cannot be created or opened (an output folder that is read-only, full...)."""


def lock_path(output_dir: Path, period_key: str) -> Path:
    """Return the lock file of one period: <output>/locks/<period>.lock."""
    return output_dir / LOCKS_FOLDER / f"{safe_key(period_key)}.lock"


def _holder_text(now: Callable[[], datetime]) -> str:
    return (
        f"pid {os.getpid()} on {socket.gethostname()}, since {now().isoformat(timespec='seconds')}"
    )


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise RunLockUnavailable(
            f"cannot create the run lock {path}: {error.strerror or error} "
            "(the output folder must be writable)"
        ) from None


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"
    return text or "unknown"


@contextmanager
def run_lock(
    output_dir: Path,
    period_key: str,
    *,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
) -> Iterator[Path]:
    """Hold the period's run lock for the block; yield the lock file's path.

    Wait up to `wait_seconds` for a run that holds it, then raise RunLocked naming that run.
    Raise RunLockUnavailable when the lock file cannot be created.
    """
    path = lock_path(output_dir, period_key)
    descriptor = _open(path)
    try:
        deadline = clock() + wait_seconds
        while not _try_lock(descriptor):
            if clock() >= deadline:
                raise RunLocked(
                    f"another run of {period_key} is in progress ({_read_holder(path)}); "
                    f"this one did nothing. Lock file: {path}"
                )
            sleep(poll_seconds)
        try:
            # Best effort: the lock is held even when the note cannot be written (a full disk).
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, (_holder_text(now) + "\n").encode("utf-8"), 0)
        except OSError:
            pass
        yield path
    finally:
        # Closing the descriptor releases the flock.
        os.close(descriptor)
