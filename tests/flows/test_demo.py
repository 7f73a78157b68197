"""Tests of flows/demo.py: the demo's temporary Prefect API keeps to itself."""

from __future__ import annotations

from pathlib import Path

from prefect.settings import get_current_settings, temporary_settings

from flows.demo import temporary_api_settings
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config


def test_the_temporary_api_has_its_own_home_and_sends_no_analytics(
    tmp_path: Path,
) -> None:
    config = load_config(DEFAULT_CONFIG_DIR, {"TTHC_OUTPUT_DIR": str(tmp_path / "out")})

    with temporary_settings(updates=temporary_api_settings(config)):
        settings = get_current_settings()
        # What the server's subprocess is started with (SubprocessASGIServer).
        environment = settings.to_environment_variables(exclude_unset=True)

    assert settings.home == tmp_path / "out" / "prefect"
    assert settings.server.analytics_enabled is False
    assert environment["PREFECT_HOME"] == str(tmp_path / "out" / "prefect")
    assert environment["PREFECT_SERVER_ANALYTICS_ENABLED"] == "False"
