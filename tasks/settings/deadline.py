"""The one total deadline for a wait on an outside system (a portal request, an SMTP session).

A socket timeout bounds each read, not an exchange: a server that sends one byte every few
seconds never trips it. `Watchdog` runs beside the exchange and, once its time is up, calls
`abort` (which shuts the exchange's socket down, so the blocked read fails at once), and again
every `repeat` seconds in case the socket was still being opened the first time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from types import TracebackType

__all__ = ["Watchdog"]


class Watchdog:
    """Call `abort` once `seconds` have passed inside the `with` block, until it ends."""

    def __init__(self, seconds: float, abort: Callable[[], None], *, repeat: float = 0.2) -> None:
        self.seconds = seconds
        self._abort = abort
        self._repeat = repeat
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.expired = False
        self.started = 0.0

    def __enter__(self) -> Watchdog:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._watch, name="deadline", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def remaining(self) -> float:
        """Return the seconds left before the deadline (0 once it passed)."""
        return max(0.0, self.seconds - (time.monotonic() - self.started))

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while True:
            with contextlib.suppress(OSError):  # the socket may be closing on its own
                self._abort()
            if self._done.wait(self._repeat):
                return
