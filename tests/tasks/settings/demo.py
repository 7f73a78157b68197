"""Helpers of the configuration tests: the demo configuration, and a copy of it to break."""

from __future__ import annotations

from pathlib import Path

from tasks.settings.loading import DEFAULT_CONFIG_DIR, PROJECT_ROOT, load_config
from tasks.settings.models import AppConfig


def load_demo(environ: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> AppConfig:
    """Load the shipped config/ with `environ` (none by default)."""
    return load_config(DEFAULT_CONFIG_DIR, environ or {}, cwd=cwd)


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` of the file by `new`, failing when `old` is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}: the test no longer matches the demo file"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
