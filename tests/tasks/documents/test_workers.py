"""Tests of tasks/documents/workers.py: calls run side by side in worker processes, or here."""

from __future__ import annotations

import os
from functools import partial

import pytest

from tasks.documents.workers import run_all

CORES = os.cpu_count() or 1


def process_id() -> int:
    return os.getpid()


def square(number: int) -> int:
    return number * number


def refuse(reason: str) -> int:
    raise ValueError(reason)


def nested() -> tuple[int, list[int]]:
    """Return this process's id and the ids of the processes that ran two calls it made."""
    return os.getpid(), run_all([process_id, process_id])


def test_results_come_in_the_order_of_the_calls() -> None:
    assert run_all([partial(square, n) for n in range(6)]) == [0, 1, 4, 9, 16, 25]


def test_the_first_error_of_a_call_is_raised_as_it_was() -> None:
    with pytest.raises(ValueError, match="second"):
        run_all([partial(square, 2), partial(refuse, "second"), partial(refuse, "third")])


def test_calls_run_in_other_processes_where_there_are_cores() -> None:
    ran_by = run_all([process_id, process_id])

    if CORES >= 2:
        assert os.getpid() not in ran_by
    else:  # no workers on one core: every call runs in the caller's process
        assert ran_by == [os.getpid(), os.getpid()]


def test_a_worker_runs_the_calls_it_makes_itself() -> None:
    # A worker that started workers of its own would multiply processes with every level.
    worker, ran_by = run_all([nested])[0]

    assert (worker != os.getpid()) == (CORES >= 2)
    assert ran_by == [worker, worker]
