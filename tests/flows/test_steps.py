"""The Prefect tasks' retry policy: declared once, from settings, on the IO tasks only."""

from __future__ import annotations

import pytest

from flows.steps import (
    compute_department_figures,
    deliver_centre_documents,
    deliver_department_documents,
    render_centre_documents,
    render_department_documents,
    retried,
    retry_when_mail_transient,
    retry_when_portal_unavailable,
)
from tasks.settings.models import RunnerSettings

RUNNER = RunnerSettings(portal_retry_delays_seconds=[1, 2], mail_retry_delays_seconds=[3, 4, 5])


@pytest.mark.parametrize(
    ("step", "retries", "delays", "condition"),
    [
        (compute_department_figures, 2, [1, 2], retry_when_portal_unavailable),
        (deliver_department_documents, 3, [3, 4, 5], retry_when_mail_transient),
        (deliver_centre_documents, 3, [3, 4, 5], retry_when_mail_transient),
    ],
)
def test_io_tasks_retry_as_the_settings_say(
    step: object, retries: int, delays: list[float], condition: object
) -> None:
    task = retried(step, RUNNER)  # type: ignore[arg-type]

    assert task.retries == retries
    assert task.retry_delay_seconds == delays
    assert task.retry_condition_fn is condition


@pytest.mark.parametrize("step", [render_department_documents, render_centre_documents])
def test_pure_work_is_never_retried(step: object) -> None:
    assert retried(step, RUNNER).retries == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "step",
    [
        compute_department_figures,
        deliver_department_documents,
        deliver_centre_documents,
        render_department_documents,
        render_centre_documents,
    ],
)
def test_no_task_declares_retries_of_its_own(step: object) -> None:
    # One place declares retries (retried, from settings.runner): none in the decorators.
    assert step.retries == 0  # type: ignore[attr-defined]
