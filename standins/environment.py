"""Aim a run started in this process at particular servers through its environment (tests, bench)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environment_overrides(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put back what was there.

    A flow run reads its configuration from the environment at its entry, as a worker's run
    does; a test or a benchmark that means to exercise that path sets the variables here.
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
