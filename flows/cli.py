"""The `tthc-report` command line: one small function per command, configuration loaded once.

Adding a command: write a function decorated with `@app.command("name")` that takes
`ctx: typer.Context` first and calls `load_for_cli(ctx)` to get the validated AppConfig.
Exit codes: 0 success, 2 configuration problems (listed on stderr, one per line).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from tasks.config import (
    CONFIG_DIR_VARIABLE,
    DEFAULT_CONFIG_DIR,
    AppConfig,
    ConfigError,
    load_config,
)

CONFIG_PROBLEM_EXIT = 2

app = typer.Typer(
    name="tthc-report",
    help="Monthly report on administrative-procedure dossiers (hồ sơ TTHC) of each department.",
    no_args_is_help=True,
    add_completion=False,
)


@dataclass
class CliState:
    """What the global options chose; the loaded configuration is kept for later commands."""

    config_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    config: AppConfig | None = None


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            metavar="DIR",
            envvar=CONFIG_DIR_VARIABLE,
            file_okay=False,
            help="Folder holding settings.yaml, departments.yaml and recipients.yaml.",
        ),
    ] = DEFAULT_CONFIG_DIR,
) -> None:
    """Report on the dossiers (hồ sơ TTHC) the public-service portal holds for each department."""
    ctx.obj = CliState(config_dir=config)


def cli_state(ctx: typer.Context) -> CliState:
    """Return the state the global options set up (a fresh one when a test calls a command)."""
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState(config_dir=DEFAULT_CONFIG_DIR)
        ctx.obj = state
    return state


def load_for_cli(ctx: typer.Context) -> AppConfig:
    """Return the validated configuration; print its problems to stderr and exit 2 if any."""
    state = cli_state(ctx)
    if state.config is None:
        try:
            state.config = load_config(state.config_dir, state.environ)
        except ConfigError as error:
            for problem in error.problems:
                typer.echo(problem, err=True)
            count = len(error.problems)
            typer.echo(
                f"{count} configuration problem{'s' if count != 1 else ''} in {state.config_dir}",
                err=True,
            )
            raise typer.Exit(code=CONFIG_PROBLEM_EXIT) from None
    return state.config


@app.command("check-config")
def check_config_command(ctx: typer.Context) -> None:
    """Check the configuration files and the TTHC_* overrides; list every problem."""
    config = load_for_cli(ctx)
    departments = len(config.departments.departments)
    recipients = len(config.recipients.addresses())
    typer.echo(f"configuration OK: {departments} departments, {recipients} recipients")


if __name__ == "__main__":
    app()
