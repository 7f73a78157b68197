"""What a flow needs at its entry: where the configuration is, and the task runner settings choose."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self

from prefect.client.schemas.objects import RunInput
from prefect.futures import PrefectFuture, PrefectFutureList
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import Task

from tasks.settings.loading import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR, load_config
from tasks.settings.models import AppConfig, RunnerSettings

# The configuration a caller in this process already loaded (the CLI, the demo): a run it
# starts uses it as it is. A run started by a worker or `serve` has none and reads its own.
_GIVEN_CONFIG: ContextVar[AppConfig | None] = ContextVar("tthc_given_config", default=None)
# Told of each step a run in this process finishes (the CLI's progress bar); None: nobody.
_ON_STEP: ContextVar[Callable[[str], None] | None] = ContextVar("tthc_on_step", default=None)


def config_dir_from_env(environ: Mapping[str, str]) -> Path:
    """Return the configuration folder: $TTHC_CONFIG_DIR, else the project's config/."""
    value = environ.get(CONFIG_DIR_VARIABLE)
    return Path(value) if value else DEFAULT_CONFIG_DIR


@contextmanager
def configured(config: AppConfig) -> Iterator[None]:
    """Run the flows called in this block on `config`, already loaded, instead of reading it."""
    token = _GIVEN_CONFIG.set(config)
    try:
        yield
    finally:
        _GIVEN_CONFIG.reset(token)


@contextmanager
def reporting_steps(on_step: Callable[[str], None]) -> Iterator[None]:
    """Call `on_step` with the name of each step a run started in this block finishes."""
    token = _ON_STEP.set(on_step)
    try:
        yield
    finally:
        _ON_STEP.reset(token)


def step_done(name: str) -> None:
    """Tell whoever follows this process's run (see reporting_steps) that a step finished."""
    on_step = _ON_STEP.get()
    if on_step is not None:
        on_step(name)


def run_config(environ: Mapping[str, str]) -> AppConfig:
    """Return a run's configuration: the caller's (see `configured`), else the folder's."""
    given = _GIVEN_CONFIG.get()
    return given if given is not None else load_config(config_dir_from_env(environ), environ)


def task_runner_for(runner: RunnerSettings) -> TaskRunner[Any]:
    """Return the task runner settings.runner asks for (not started).

    "default" is Prefect's thread pool with `max_concurrency` threads. "dask" connects to the
    scheduler at `dask_address`, or starts a small local cluster of worker processes, one per
    core up to `max_concurrency`, which ends with the run.
    """
    if runner.kind == "default":
        return ThreadPoolTaskRunner(max_workers=runner.max_concurrency)
    # Imported here: distributed is heavy and only this choice needs it.
    from prefect_dask import DaskTaskRunner

    if runner.dask_address:
        return DaskTaskRunner(address=runner.dask_address)
    workers = max(1, min(runner.max_concurrency, os.cpu_count() or 1))
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": -(-runner.max_concurrency // workers),
            "processes": True,
            "dashboard_address": ":0",
        }
    )


class SettingsTaskRunner(TaskRunner[PrefectFuture[Any]]):
    """Run a flow's tasks on the runner settings.runner names, chosen when each run starts.

    Prefect enters a flow's task runner before the flow reads its configuration, so this one
    starts nothing until the flow, having read the settings once, calls `use`. A change to
    settings.yaml thus takes effect at the next run, whether it was started from the command
    line, by `tthc-report serve` or by a Prefect worker.
    """

    def __init__(self) -> None:
        # Set before the base class, which asks for the name.
        self._delegate: TaskRunner[Any] | None = None
        super().__init__()

    @property
    def name(self) -> str:
        """Name the runner in use, "settings" before the flow chose one."""
        return self._delegate.name if self._delegate is not None else "settings"

    def duplicate(self) -> Self:
        """Return a new, unstarted runner."""
        return type(self)()

    def use(self, settings: RunnerSettings) -> None:
        """Start the runner `settings` asks for; the tasks submitted from now on run on it."""
        if self._delegate is not None:
            raise RuntimeError(f"the task runner is already {self._delegate.name}")
        delegate = task_runner_for(settings)
        delegate.__enter__()
        self._delegate = delegate

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        delegate, self._delegate = self._delegate, None
        try:
            if delegate is not None:
                delegate.__exit__(exc_type, exc_value, traceback)
        finally:
            super().__exit__(exc_type, exc_value, traceback)

    def submit(
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[RunInput]] | None = None,
    ) -> PrefectFuture[Any]:
        """Submit `task` to the runner in use."""
        return self._started_delegate().submit(task, parameters, wait_for, dependencies)

    def map(
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
    ) -> PrefectFutureList[PrefectFuture[Any]]:
        """Map `task` over `parameters` on the runner in use."""
        return self._started_delegate().map(task, parameters, wait_for)

    def _started_delegate(self) -> TaskRunner[Any]:
        if self._delegate is None:
            raise RuntimeError("the task runner is not chosen: the flow calls use(settings) first")
        return self._delegate
