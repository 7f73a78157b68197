"""Fixtures of the configuration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.settings.loading import DEFAULT_CONFIG_DIR


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """Return a copy of the demo configuration in tmp_path/config, to break at will."""
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target
