"""A flow run reads the configuration once: the caller's when it gave one, else its folder's."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.runtime import configured, run_config
from tasks.settings.loading import DEFAULT_CONFIG_DIR, ConfigError, load_config


def test_a_run_started_with_a_configuration_uses_it_and_reads_nothing(tmp_path: Path) -> None:
    given = load_config(DEFAULT_CONFIG_DIR, {})
    broken = {"TTHC_CONFIG_DIR": str(tmp_path / "missing")}

    with configured(given):
        assert run_config(broken) is given

    with pytest.raises(ConfigError, match="file not found"):
        run_config(broken)  # outside the block, the folder is read (and here it is missing)


def test_a_run_without_one_reads_the_folder_the_environment_names() -> None:
    config = run_config({"TTHC_CONFIG_DIR": str(DEFAULT_CONFIG_DIR)})

    assert config.config_dir == DEFAULT_CONFIG_DIR
