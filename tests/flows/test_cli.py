"""Tests of flows/cli.py: `tthc-report check-config` as an operator runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import CONFIG_PROBLEM_EXIT, app
from flows.command_line import move_global_options
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


def test_importing_the_command_line_loads_no_prefect() -> None:
    # `--help`, `check-config` and argument errors must answer fast (make bench): Prefect
    # and the document libraries are imported only by the commands that need them.
    code = (
        "import sys, flows.cli; "
        "print(sorted(m for m in ('prefect', 'matplotlib', 'sqlalchemy', 'docxtpl') "
        "if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("given", "moved"),
    [
        (["check-config", "--config", "c"], ["--config", "c", "check-config"]),
        (["check-config", "--config=c", "--debug"], ["--config=c", "--debug", "check-config"]),
        (["--config", "c", "send", "--period", "2024-05"], ["--config", "c", "send", "--period", "2024-05"]),
        (["send", "--", "--config"], ["send", "--", "--config"]),
    ],
)  # fmt: skip
def test_global_options_move_before_the_command(given: list[str], moved: list[str]) -> None:
    assert move_global_options(given) == moved


def test_config_is_accepted_after_the_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-config", "--config", str(DEFAULT_CONFIG_DIR)])

    assert result.exit_code == 0, result.output
    assert result.stdout == "configuration OK: 5 departments, 10 recipients\n"


def test_missing_portal_credentials_are_one_line_naming_the_fix(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PORTAL_USERNAME", raising=False)
    monkeypatch.delenv("PORTAL_PASSWORD", raising=False)
    monkeypatch.setenv("TTHC_OUTPUT_DIR", str(tmp_path / "out"))
    arguments = ["figures", "--period", "2024-05", "--department", "SKHCN"]
    arguments += ["--portal-url", "http://127.0.0.1:9"]

    result = runner.invoke(app, arguments)

    assert result.exit_code == CONFIG_PROBLEM_EXIT
    assert result.stderr == (
        "the portal account is not set: set PORTAL_USERNAME and PORTAL_PASSWORD\n"
    )
    assert result.stdout == ""

    debug = runner.invoke(app, ["--debug", *arguments])

    assert debug.exit_code == 1
    assert type(debug.exception).__name__ == "MissingCredentials"  # the traceback, on request


def test_a_bad_period_is_refused_before_the_configuration_is_read(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["--config", str(tmp_path / "missing"), "send", "--period", "2024-13"]
    )

    assert result.exit_code == 2
    assert "Invalid value for --period" in result.output
    assert "configuration problem" not in result.output
