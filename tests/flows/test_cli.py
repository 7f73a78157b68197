"""Tests of flows/cli.py: `tthc-report check-config` as an operator runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.settings.loading import DEFAULT_CONFIG_DIR


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """Return a copy of the demo configuration, to break at will."""
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target


def test_check_config_accepts_the_demo_folder(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--config", str(DEFAULT_CONFIG_DIR), "check-config"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "configuration OK: 5 departments, 10 recipients\n"


def test_check_config_defaults_to_the_project_config_folder(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-config"])

    assert result.exit_code == 0, result.output
    assert "configuration OK: 5 departments" in result.stdout


def test_check_config_lists_each_problem_and_fails(runner: CliRunner, config_dir: Path) -> None:
    recipients = config_dir / "recipients.yaml"
    text = recipients.read_text(encoding="utf-8")
    recipients.write_text(
        text.replace("vanthu.stp@demo.gov.vn", "abc@").replace(
            "vanthu.syt@demo.gov.vn", "vanthu.syt@gmail.com"
        ),
        encoding="utf-8",
    )

    result = runner.invoke(app, ["--config", str(config_dir), "check-config"])

    assert result.exit_code == 2
    assert "configuration OK" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        f"{recipients}: departments.STP.to[0]: 'abc@' is not an e-mail address"
    )
    assert lines[1] == (
        f"{recipients}: departments.SYT.to[0]: 'vanthu.syt@gmail.com' is outside the allowed "
        "domains (demo.gov.vn)"
    )
    assert lines[2] == f"2 configuration problems in {config_dir}"


def test_check_config_reports_environment_overrides(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["--config", str(DEFAULT_CONFIG_DIR), "check-config"],
        env={"TTHC_SMTP__PORTT": "25"},
    )

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "TTHC_SMTP__PORTT: environment override of unknown setting 'smtp.portt'"
    )


def test_config_folder_can_come_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check-config"], env={"TTHC_CONFIG_DIR": str(tmp_path)})

    assert result.exit_code == 2
    assert f"{tmp_path / 'settings.yaml'}: file not found" in result.stderr.splitlines()
