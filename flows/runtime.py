"""What a flow decides at its entry: the configuration folder, the period and the departments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from tasks.config import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR, AppConfig
from tasks.periods import InvalidPeriod, Period


class UnknownDepartment(ValueError):
    """A department key that config/departments.yaml does not list."""


def config_dir_from_env(environ: Mapping[str, str]) -> Path:
    """Return the configuration folder: $TTHC_CONFIG_DIR, else the project's config/."""
    value = environ.get(CONFIG_DIR_VARIABLE)
    return Path(value) if value else DEFAULT_CONFIG_DIR


def resolve_period(text: str, scheduled: datetime, timezone: tzinfo) -> Period:
    """Return the period to report: `text` parsed, or the month before `scheduled`, local time.

    A period that has not started yet (local time) is refused: there is nothing to report.
    """
    local = scheduled.astimezone(timezone)
    if not text.strip():
        return Period.month_before(local.date())
    period = Period.parse(text)
    if period.start_date > local.date():
        raise InvalidPeriod(f"period {text!r} has not started yet (today is {local.date()})")
    return period


def select_departments(config: AppConfig, requested: Sequence[str]) -> list[str]:
    """Return the department keys to run: all configured when `requested` is empty."""
    known = [d.key for d in config.departments.departments]
    if not requested:
        return known
    unknown = [key for key in requested if key not in known]
    if unknown:
        raise UnknownDepartment(
            f"unknown department(s) {', '.join(map(repr, unknown))}: "
            f"config/departments.yaml lists {', '.join(known)}"
        )
    return list(dict.fromkeys(requested))
