"""One run per period at a time: a lock held where the run database is.

Two runs of the same period at once (the schedule and an operator, two operators, two
workers of a work pool) would each render the documents and each send, so every recipient
could get the report twice. The monthly flow therefore holds the period's lock for the whole
run (`period_lock`); a second run of that period waits up to `wait_seconds` for it and is
then refused with a message naming the holder. The lock lives with the run database, because
the database is what runs share:

- PostgreSQL: a session advisory lock on a connection of its own. The server drops it the
  moment that connection ends, however the holder ends: SIGKILL closes its socket at once; a
  machine that vanishes is noticed by TCP keepalives (set per session below) within about a
  minute. That minute is the lock's lease; no row to clean up, no clock to trust.
- SQLite: flock(2) on `<folder of the database file>/locks/<period>.lock` (with the default
  database, `<output>/locks/`). The kernel drops it when the holding process ends, SIGKILL and
  power loss included. An SQLite database is shared only on one machine (its own locking does
  not work across machines), and the file lock serialises exactly the processes that share
  that file; a lease in the database would make a run killed on one machine block the next
  one for the lease's length instead of not at all. The file stays behind; its text names the
  last holder.

A run that takes the lock ends the delivery claims (tasks/store/database.py) left by runs of
that period that died while sending: the lock says no other run of the period is alive.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tasks.figures.periods import Period
from tasks.settings.keys import safe_key
from tasks.store.database import RunStore
from tasks.store.engine import is_sqlite, postgres_connect_args, safe_url
from tasks.store.tables import StorageError

logger = logging.getLogger(__name__)

LOCKS_FOLDER = "locks"


class RunLocked(RuntimeError):
    """Another run of the same period holds the lock; the message names it."""


class RunLockUnavailable(RuntimeError):
    """The lock file cannot be created or opened (an output folder that is read-only, full...)."""


def lock_path(output_dir: Path, period_key: str) -> Path:
    """Return the lock file of one period: <output>/locks/<period>.lock."""
    return output_dir / LOCKS_FOLDER / f"{safe_key(period_key)}.lock"


def _holder_text(now: Callable[[], datetime]) -> str:
    return f"{_holder_name()}, since {now().isoformat(timespec='seconds')}"


def _holder_name() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


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


# -- the lock of the run database -----------------------------------------------------------

LOCK_NAMESPACE = b"tthc-report run lock "
# How a session notices that the holder's machine vanished (PostgreSQL's per-session settings):
# idle 20 s, then 3 probes 10 s apart.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 20,
    "tcp_keepalives_interval": 10,
    "tcp_keepalives_count": 3,
}


def sqlite_lock_folder(database_url: str) -> Path:
    """Return the folder of an SQLite run database's file, where its period locks live."""
    database = make_url(database_url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise RunLockUnavailable(
            f"the run database {database_url} is not a file: it has no folder for the run lock"
        )
    return Path(database).absolute().parent


def advisory_key(period_key: str) -> int:
    """Return the 64-bit PostgreSQL advisory lock key of a period."""
    digest = hashlib.sha256(LOCK_NAMESPACE + period_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def period_lock(
    database_url: str,
    period_key: str,
    *,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """Hold the period's run lock in the run database at `database_url`; yield where it is held.

    Wait up to `wait_seconds` for a run that holds it, then raise RunLocked naming that run.
    Raise RunLockUnavailable when the lock cannot be taken at all (a folder that is not
    writable, a database server that does not answer).
    """
    if is_sqlite(database_url):
        folder = sqlite_lock_folder(database_url)
        with run_lock(
            folder,
            period_key,
            wait_seconds=wait_seconds,
            poll_seconds=poll_seconds,
            sleep=sleep,
            clock=clock,
        ) as path:
            _end_stale_claims(database_url, period_key)
            yield str(path)
        return
    with _advisory_lock(database_url, period_key, wait_seconds, poll_seconds, sleep, clock):
        _end_stale_claims(database_url, period_key)
        yield f"advisory lock {advisory_key(period_key)} in {safe_url(database_url)}"


def _end_stale_claims(database_url: str, period_key: str) -> None:
    """End the claims that dead runs of this period left; a database that fails is left to the tasks."""
    try:
        with RunStore(database_url) as store:
            ended = store.release_claims(Period.parse(period_key))
    except StorageError as error:
        # Each department opens the database too and fails naming it: one message, not two.
        logger.warning("could not end the stale delivery claims of %s: %s", period_key, error)
        return
    if ended:
        logger.warning(
            "%d delivery claim(s) of %s were left by a run that ended while sending; "
            "those recipients get the report now unless the ledger shows it arrived",
            ended,
            period_key,
        )


@contextmanager
def _advisory_lock(
    database_url: str,
    period_key: str,
    wait_seconds: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Iterator[None]:
    """Hold a session advisory lock on a connection of its own for the block."""
    connect_args = {
        **postgres_connect_args(30.0),
        "application_name": f"tthc-report {_holder_name()}"[:63],
    }
    # Autocommit: the connection sits idle for the whole run, never "idle in transaction".
    engine = create_engine(
        database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=connect_args
    )
    key = advisory_key(period_key)
    try:
        try:
            connection = engine.connect()
            for name, value in SERVER_KEEPALIVES.items():
                connection.execute(text(f"SET {name} = {int(value)}"))
            connection.execute(text("SET idle_session_timeout = 0"))
        except Exception as error:  # any driver error: the server is unreachable or refuses us
            raise RunLockUnavailable(
                f"cannot take the run lock of {period_key} in the run database "
                f"{safe_url(database_url)}: {_first_line(error)}"
            ) from None
        with connection:
            deadline = clock() + wait_seconds
            while not connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            ).scalar():
                if clock() >= deadline:
                    raise RunLocked(
                        f"another run of {period_key} is in progress "
                        f"({_advisory_holder(connection, key)}); this one did nothing. "
                        f"Lock: advisory lock {key} in {safe_url(database_url)}"
                    )
                sleep(poll_seconds)
            # Closing the connection releases the lock, whatever happens in the block.
            yield
    finally:
        engine.dispose()


def _advisory_holder(connection: Connection, key: int) -> str:
    """Name the session that holds advisory lock `key`: its program, pid and host, and since when."""
    row = connection.execute(
        text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :high AND l.objid::bigint = :low"
        ),
        {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
    ).first()
    if row is None:
        return "unknown"
    name = str(row[0] or "").removeprefix("tthc-report ") or "unknown"
    since = row[1].astimezone().isoformat(timespec="seconds") if row[1] is not None else "?"
    return f"{name}, since {since}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
