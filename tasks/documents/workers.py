"""The worker processes that draw charts and render documents, beside the run's threads.

Drawing a chart and filling a Word template are pure CPU that holds the GIL: in the run's own
process, the threads of every department would take turns on one core. `run_all` runs such
calls in worker processes where the machine has cores to spare (started on first use, shared
by every thread of the process), and here otherwise: on a single core, in a daemonic process (a
Dask worker, for one, may not start processes of its own), in a worker itself, or when the
pool broke. Either way the same result, or the same exception.

The workers are started with "spawn", which imports the main module again: as with any use of
multiprocessing, a script that renders documents must guard its entry point with
`if __name__ == "__main__":` (the `tthc-report` command, Prefect and pytest all do). The
functions and their arguments travel by pickle: module-level functions, plain values.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["MAX_WORKER_PROCESSES", "run_all"]

# Worker processes at most, and never more than the cores.
MAX_WORKER_PROCESSES = 4
# How often a worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0


def _start_worker(parent: int) -> None:
    """Make a worker end when the process that started it is gone, and run its calls itself.

    A worker waits on a queue whose pipe it also holds open itself, so a parent killed with
    SIGKILL would otherwise leave it waiting for ever. A call that a worker runs does its own
    work: a worker never starts workers of its own.
    """
    _PROCESSES.make_unavailable()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class _WorkerProcesses:
    """The process's pool of workers, started on first use; None where there is none."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._unavailable = False

    def make_unavailable(self) -> None:
        with self._lock:
            self._unavailable = True

    def executor(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._executor is None and not self._unavailable:
                workers = min(os.cpu_count() or 1, MAX_WORKER_PROCESSES)
                if workers < 2 or multiprocessing.current_process().daemon:
                    self._unavailable = True
                else:
                    # "spawn": forking a process that runs threads can copy a held lock.
                    self._executor = ProcessPoolExecutor(
                        workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_start_worker,
                        initargs=(os.getpid(),),
                    )
            return self._executor

    def discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)


_PROCESSES = _WorkerProcesses()


def run_all(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Return the result of each call (a picklable callable, no arguments), side by side.

    The first exception a call raises is raised here, once every call has ended.
    """
    executor = _PROCESSES.executor()
    if executor is not None:
        futures: list[Future[Any]] = []
        try:
            for call in calls:
                futures.append(executor.submit(call))
        except RuntimeError:  # the pool is broken or shut down (the interpreter exits)
            _PROCESSES.discard(executor)
        else:
            try:
                # Every call waited for before any error is raised: none left running unseen.
                errors = [future.exception() for future in futures]
            except CancelledError:  # another thread found the pool broken and discarded it
                pass
            else:
                if any(isinstance(error, BrokenProcessPool) for error in errors):
                    # A worker died (killed, out of memory): the pool cannot be used again.
                    _PROCESSES.discard(executor)
                else:
                    for error in errors:
                        if error is not None:
                            raise error
                    return [future.result() for future in futures]
    # Run here: the same results as in a worker process.
    return [call() for call in calls]
