"""The `tthc-report` command line: one small function per command, configuration loaded once.

Adding a command: write a function decorated with `@app.command("name")` that takes
`ctx: typer.Context` first and calls `load_for_cli(ctx)` to get the validated AppConfig.
Exit codes: 0 success, 2 configuration problems (listed on stderr, one per line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from flows.demo import print_summary, run_demo
from flows.monthly_report import monthly_report
from flows.runtime import UnknownDepartment, select_departments
from portal_sim.server import parse_faults, serve_forever
from portal_sim.store import open_scenario
from tasks.config import (
    CONFIG_DIR_VARIABLE,
    DEFAULT_CONFIG_DIR,
    AppConfig,
    ConfigError,
    load_config,
)
from tasks.periods import InvalidPeriod, Period
from tasks.pipeline import (
    department_figures,
    figures_from_portal,
    previous_rates,
    render_department,
    render_summary,
    trend,
)
from tasks.portal import PortalError
from tasks.report_text import format_percent
from tasks.services import (
    SIMULATOR_PASSWORD,
    SIMULATOR_USER,
    embedded_services,
    open_portal,
    open_store,
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


PeriodOption = Annotated[
    str, typer.Option("--period", help='"2024-05", "2024-Q2", "2024-H1" or "2024".')
]
DepartmentsOption = Annotated[
    list[str] | None,
    typer.Option("--department", help="A department key (repeat for several); all by default."),
]


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except InvalidPeriod as error:
        raise typer.BadParameter(str(error), param_hint="--period") from None


def _departments(config: AppConfig, keys: list[str] | None) -> list[str]:
    try:
        return select_departments(config, keys or [])
    except UnknownDepartment as error:
        raise typer.BadParameter(str(error), param_hint="--department") from None


@app.command("figures")
def figures_command(
    ctx: typer.Context,
    period: PeriodOption,
    department: Annotated[
        str | None, typer.Option("--department", help="A department key, e.g. SKHCN.")
    ] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="A MaDonVi on the portal instead.")
    ] = None,
    portal_url: Annotated[
        str | None, typer.Option("--portal-url", help="Read from this portal API instead.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compute one agency's figures for a period and print them."""
    config = load_for_cli(ctx)
    target = _period(period)
    if (department is None) == (agency is None):
        raise typer.BadParameter("give exactly one of --department and --agency")
    agency_code = (
        agency or config.department(_departments(config, [department or ""])[0]).agency_code
    )
    if portal_url:
        portal_settings = config.settings.portal.model_copy(update={"base_url": portal_url})
        settings = config.settings.model_copy(update={"portal": portal_settings})
        config = config.model_copy(update={"settings": settings})
    with embedded_services(config) as services, open_portal(services.config) as portal:
        live = services.config
        try:
            report = figures_from_portal(portal, agency_code, target, live.settings.vpubnd_agency)
        except PortalError as error:
            typer.echo(f"portal: {error}", err=True)
            raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for key, value in report.figures.items():
        typer.echo(f"{key:24} {value}")
    for key, rate in report.rates.items():
        typer.echo(f"{key:24} {format_percent(rate)}")


@app.command("portal-sim")
def portal_sim_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1.")] = 8765,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="A scenario file (default: settings).")
    ] = None,
    faults: Annotated[
        str, typer.Option("--faults", help='Injected faults, e.g. "unavailable_share=0.2".')
    ] = "",
) -> None:
    """Serve the portal simulator (user "demo", password "demo") until Ctrl+C."""
    config = load_for_cli(ctx)
    store = open_scenario(scenario or config.settings.portal.scenario)
    serve_forever(
        store,
        host=host,
        port=port,
        faults=parse_faults(faults) if faults else None,
        users={SIMULATOR_USER: SIMULATOR_PASSWORD},
        on_ready=lambda url: typer.echo(f"portal simulator at {url} (Ctrl+C stops it)"),
    )


@app.command("render")
def render_command(
    ctx: typer.Context, period: PeriodOption, department: DepartmentsOption = None
) -> None:
    """Write the documents of a period to the output folder, sending nothing."""
    config = load_for_cli(ctx)
    target = _period(period)
    keys = _departments(config, department)
    with (
        embedded_services(config) as services,
        open_portal(services.config) as portal,
        open_store(services.config) as store,
    ):
        live = services.config
        rows = []
        for key in keys:
            report = department_figures(live, portal, store, key, target)
            points = trend(live, portal, store, key, report)
            previous = previous_rates(live, portal, store, key, target, points)
            documents = render_department(live, store, key, report, previous, points)
            rows.append((live.department(key).name, report))
            for path in documents.attachments:
                typer.echo(str(path))
        summary = render_summary(live, store, target, rows)
        for path in summary.attachments:
            typer.echo(str(path))


@app.command("send")
def send_command(
    ctx: typer.Context,
    period: PeriodOption,
    department: DepartmentsOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write .eml files, send nothing.")
    ] = False,
    force_resend: Annotated[
        bool, typer.Option("--force-resend", help="Send again to every recipient.")
    ] = False,
) -> None:
    """Render what is missing and deliver the period's reports (runs the monthly_report flow)."""
    config = load_for_cli(ctx)
    target = _period(period)
    keys = _departments(config, department)
    os.environ[CONFIG_DIR_VARIABLE] = str(config.config_dir)
    state = monthly_report(
        period=target.key,
        departments=keys,
        dry_run=dry_run,
        force_resend=force_resend,
        return_state=True,
    )
    if not state.is_completed():
        typer.echo(state.message or "the run failed", err=True)
        raise typer.Exit(code=1)
    print_summary(state.result())


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period")] = "2024-05",
) -> None:
    """Run the monthly report for the demo province on the bundled simulator and mail server."""
    config = load_for_cli(ctx)
    target = _period(period)
    summary, received = run_demo(config, target)
    print_summary(summary, received)
