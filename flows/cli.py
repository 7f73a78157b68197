"""The `tthc-report` command line: one small function per command, configuration loaded once.

Adding a command: write a function decorated with `@app.command("name")` that takes
`ctx: typer.Context` first and calls `load_for_cli(ctx)` to get the validated AppConfig.
Import Prefect and the heavy modules inside the command that needs them: `--help`,
`check-config` and a mistyped argument answer in well under a second (`make bench`).

Exit codes:
  0  success
  1  the run or the command failed (an outside system, a file); one line says why
  2  the configuration or the command line has a problem (listed on stderr, one per line)
  3  refused: another run of the same period is in progress; this one did nothing

Foreseeable failures (missing credentials, an output folder that cannot be written, a
portal, mail server or Prefect API that does not answer) print one line naming the fix;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from tasks.figures.periods import InvalidPeriod, Period
from tasks.settings.paths import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR

if TYPE_CHECKING:
    from tasks.settings.models import AppConfig

from flows.command_line import (
    CONFIG_PROBLEM_EXIT,
    DEFAULT_DEPLOYMENT,
    FAILED_EXIT,
    REFUSED_EXIT,
    CliState,
    CommandLine,
)

app = typer.Typer(
    name="tthc-report",
    help="Monthly report on administrative-procedure dossiers (hồ sơ TTHC) of each department.",
    no_args_is_help=True,
    add_completion=False,
    cls=CommandLine,
    pretty_exceptions_show_locals=False,
)


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
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a failure, not one line.")
    ] = False,
) -> None:
    """Report on the dossiers (hồ sơ TTHC) the public-service portal holds for each department."""
    ctx.obj = CliState(config_dir=config, debug=debug)


def cli_state(ctx: typer.Context) -> CliState:
    """Return the state the global options set up (a fresh one when a test calls a command)."""
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState(config_dir=DEFAULT_CONFIG_DIR)
        ctx.obj = state
    return state


def load_for_cli(ctx: typer.Context) -> AppConfig:
    """Return the validated configuration; print its problems to stderr and exit 2 if any."""
    from tasks.settings.loading import ConfigError, load_config

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
    from tasks.documents.template_stamp import template_problems_unless_passed
    from tasks.settings.paths import REPORT_TEMPLATE, SUMMARY_TEMPLATE

    config = load_for_cli(ctx)

    def check() -> list[str]:
        # python-docx, docxtpl and Jinja: loaded only when the templates are checked
        from tasks.documents.template_check import check_templates

        return check_templates(config, REPORT_TEMPLATE, SUMMARY_TEMPLATE)

    problems = template_problems_unless_passed(
        config.output_dir, (REPORT_TEMPLATE, SUMMARY_TEMPLATE), check
    )
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        count = len(problems)
        typer.echo(f"{count} template problem{'s' if count != 1 else ''}", err=True)
        raise typer.Exit(code=CONFIG_PROBLEM_EXIT)
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
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Write .eml files, send nothing.")]


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except InvalidPeriod as error:
        raise typer.BadParameter(str(error), param_hint="--period") from None


def _reportable_period(config: AppConfig, text: str) -> Period:
    """Return the period `text` names, refusing one that has not started (local time)."""
    from tasks.run.plan import resolve_period

    try:
        return resolve_period(
            _period(text).key, datetime.now(UTC), ZoneInfo(config.settings.timezone)
        )
    except InvalidPeriod as error:
        raise typer.BadParameter(str(error), param_hint="--period") from None


def _departments(config: AppConfig, keys: list[str] | None) -> list[str]:
    from tasks.run.plan import UnknownDepartment, select_departments

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
    target = _period(period)
    config = load_for_cli(ctx)
    from flows.embedded import live_config
    from tasks.documents.numbers import format_count, format_percent
    from tasks.figures.engine import figure_counts, rate_values
    from tasks.portal.client import PortalError
    from tasks.run.services import open_portal
    from tasks.run.steps import figures_from_portal

    if (department is None) == (agency is None):
        raise typer.BadParameter("give exactly one of --department and --agency")
    agency_code = (
        agency or config.department(_departments(config, [department or ""])[0]).agency_code
    )
    if portal_url:
        portal_settings = config.settings.portal.model_copy(update={"base_url": portal_url})
        settings = config.settings.model_copy(update={"portal": portal_settings})
        config = config.model_copy(update={"settings": settings})
    with live_config(config) as live, open_portal(live) as portal:
        try:
            report = figures_from_portal(portal, agency_code, target, live.settings.vpubnd_agency)
        except PortalError as error:
            typer.echo(f"portal: {error}", err=True)
            raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for key, value in figure_counts(report.figures).items():
        typer.echo(f"{key:24} {format_count(value)}")
    for key, rate in rate_values(report.rates).items():
        typer.echo(f"{key:24} {format_percent(rate)}")


@app.command("index")
def index_command(
    ctx: typer.Context,
    period: Annotated[
        str,
        typer.Option("--period", help='A month "2026-03", a quarter "2026-Q1" or a year "2026".'),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fetch the national index (Bộ chỉ số 766) of a period and print every unit, ranked."""
    target = _period(period)
    config = load_for_cli(ctx)
    from rich.console import Console

    from flows.embedded import live_config
    from flows.index_table import index_table
    from tasks.national_index.client import NationalIndexError
    from tasks.run.steps import fetch_index

    if target.kind == "half":
        raise typer.BadParameter(
            f"{target.key}: the national index is published per month, quarter or year, not "
            "per half-year; ask for the two quarters or the year",
            param_hint="--period",
        )
    with live_config(config) as live:
        try:
            index = fetch_index(live, target)
        except (NationalIndexError, ValueError) as error:
            typer.echo(f"national index: {error}", err=True)
            raise typer.Exit(code=1) from None
    for code, why in index.missing.items():
        typer.echo(f"national index: {code} left out: {why}", err=True)
    if target.end_date >= datetime.now(ZoneInfo(config.settings.timezone)).date():
        typer.echo(f"national index: {target.key} is still running: figures to date", err=True)
    if as_json:
        typer.echo(json.dumps(index.to_json(), ensure_ascii=False, indent=2))
        return
    Console().print(index_table(index))


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
    from flows.embedded import serve_simulator

    config = load_for_cli(ctx)
    serve_simulator(
        str(scenario or config.settings.portal.scenario),
        host=host,
        port=port,
        faults=faults,
        on_ready=lambda url: typer.echo(f"portal simulator at {url} (Ctrl+C stops it)"),
    )


@app.command("render")
def render_command(
    ctx: typer.Context, period: PeriodOption, department: DepartmentsOption = None
) -> None:
    """Write the documents of a period to the output folder, sending nothing."""
    _period(period)
    config = load_for_cli(ctx)
    from flows.embedded import live_config
    from tasks.figures.engine import FiguresReport
    from tasks.run.plan import Failure, Step, UnknownDepartment, decide_centre, plan_run
    from tasks.run.services import open_portal, open_store, pdf_converter
    from tasks.run.steps import (
        department_figures,
        index_checks,
        national_index,
        render_department,
        render_summary,
    )

    try:
        plan = plan_run(config, _reportable_period(config, period), department or [])
    except UnknownDepartment as error:
        raise typer.BadParameter(str(error), param_hint="--department") from None
    failures: list[Failure] = []
    with (
        live_config(config) as live,
        open_portal(live) as portal,
        open_store(live) as store,
        # One after the other, but one LibreOffice profile kept warm for all of them.
        pdf_converter(live),
    ):
        index = national_index(live, store, plan.period)
        reports: dict[str, FiguresReport | None] = {}
        for target in plan.departments:
            step: Step = "figures"
            # One department's failure does not stop the others, as in a run of the flow.
            try:
                figures = department_figures(live, portal, store, target.key, plan.period)
                reports[target.key] = figures.report
                step = "documents"
                documents = render_department(live, store, figures, index)
            except Exception as error:
                failures.append(Failure(target.key, step, f"{type(error).__name__}: {error}"))
                continue
            for path in documents.attachments:
                typer.echo(str(path))
        notes, _ = index_checks(live, index, reports)
        for note in notes:
            typer.echo(f"Bộ chỉ số 766: {note}", err=True)
        decision = decide_centre(plan, reports)
        if decision.target is None:
            typer.echo(f"báo cáo tổng hợp chưa lập: {decision.held}")
        else:
            summary = render_summary(live, store, plan.period, decision.rows, index)
            for path in summary.attachments:
                typer.echo(str(path))
    for failure in failures:
        typer.echo(failure.line(), err=True)
    if failures:
        raise typer.Exit(code=FAILED_EXIT)


@app.command("send")
def send_command(
    ctx: typer.Context,
    period: PeriodOption,
    department: DepartmentsOption = None,
    dry_run: DryRunOption = False,
    force_resend: Annotated[
        bool, typer.Option("--force-resend", help="Send again to every recipient.")
    ] = False,
) -> None:
    """Render what is missing and deliver the period's reports (runs the monthly_report flow)."""
    _period(period)
    config = load_for_cli(ctx)
    target = _reportable_period(config, period)
    keys = _departments(config, department)
    from prefect.states import State

    from flows.demo import print_summary
    from flows.monthly_report import REFUSED, monthly_report
    from flows.runtime import configured

    # Three steps per department, two for the Centre's summary when the run covers everyone.
    steps = 3 * len(keys) + (0 if department else 2)
    with configured(config), _progress(f"báo cáo TTHC {target.key}", steps):
        state = monthly_report(
            period=target.key,
            # All departments go as none named: the run's name then lists none.
            departments=keys if department else [],
            dry_run=dry_run,
            force_resend=force_resend,
            return_state=True,
        )
    if state.name == REFUSED:
        # Refused by the period's lock: not a failure, and the other run does the work.
        _fail(REFUSED_EXIT, _first_line(state.message) or "refused")
    if not state.is_completed():
        _fail(FAILED_EXIT, state.message or "the run failed")
    summary = state.result()
    assert not isinstance(summary, State)  # a completed run returns its summary
    print_summary(summary)


@contextmanager
def _progress(title: str, total: int) -> Iterator[None]:
    """Show a progress bar on stderr that advances as the run in this block ends each step."""
    from rich.console import Console
    from rich.progress import Progress

    from flows.runtime import reporting_steps

    console = Console(stderr=True)
    if not console.is_terminal:  # cron, a pipe, a log file: the log lines say it all
        yield
        return
    # transient: the bar goes away at the end, leaving the summary and the log lines.
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task(title, total=total)

        def advance(step: str) -> None:
            progress.update(bar, advance=1, description=f"{title}: {step} xong")

        with reporting_steps(advance):
            yield


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _fail(code: int, text: str) -> NoReturn:
    typer.echo(text, err=True)
    raise typer.Exit(code=code)


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period")] = "2024-05",
) -> None:
    """Run the monthly report for the demo province on the bundled simulator and mail server."""
    target = _period(period)
    config = load_for_cli(ctx)
    from flows.demo import print_summary, run_demo

    steps = 3 * len(config.departments.departments) + 2
    with _progress(f"báo cáo TTHC {target.key} (demo)", steps):
        summary, received = run_demo(config, target)
    print_summary(summary, received)


@app.command("serve")
def serve_command(ctx: typer.Context) -> None:
    """Register the monthly-report deployment (07:00 on the 1st) and run its runs until Ctrl+C."""
    config = load_for_cli(ctx)
    from flows.deployment import (
        NoPrefectApi,
        build_deployment,
        deployment_full_name,
        make_runner,
        serve,
    )

    # The runs read the configuration when they start: edits apply without a restart.
    os.environ[CONFIG_DIR_VARIABLE] = str(config.config_dir)
    # The form offers the departments configured now; a restart refreshes the list.
    keys = [department.key for department in config.departments.departments]
    deployment = build_deployment(department_keys=keys)
    try:
        runner = make_runner(deployment)
    except NoPrefectApi as error:
        _fail(CONFIG_PROBLEM_EXIT, str(error))
    typer.echo(
        f"serving {deployment_full_name(deployment.name)} (configuration {config.config_dir}); "
        "Ctrl+C stops"
    )
    serve(runner)


@app.command("backfill")
def backfill_command(
    ctx: typer.Context,
    first: Annotated[str, typer.Option("--from", help='The first period, e.g. "2024-01".')],
    last: Annotated[str, typer.Option("--to", help='The last period, e.g. "2024-06".')],
    department: DepartmentsOption = None,
    dry_run: DryRunOption = False,
    deployment: Annotated[
        str, typer.Option("--deployment", help="The deployment to create the runs of.")
    ] = DEFAULT_DEPLOYMENT,
    local: Annotated[
        bool, typer.Option("--local", help="Run here, in order, even if the deployment exists.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the deployment's runs to end.")
    ] = True,
) -> None:
    """Report each period from --from to --to, skipping what was already delivered."""
    from flows import backfill as backfills

    try:
        periods = backfills.periods_between(Period.parse(first), Period.parse(last))
    except InvalidPeriod as error:
        raise typer.BadParameter(str(error), param_hint="--from/--to") from None
    config = load_for_cli(ctx)
    keys = _departments(config, department) if department else []
    from rich.progress import Progress

    from flows.runtime import configured

    try:
        found = None if local else backfills.find_deployment(deployment)
    except backfills.ApiUnreachable as error:
        _fail(FAILED_EXIT, str(error))
    if found is not None:
        typer.echo(f"through deployment {deployment}: {len(periods)} runs, one at a time")
    else:
        why = "--local" if local else f"no deployment {deployment} on a reachable Prefect API"
        typer.echo(f"running here, in order ({why}): {len(periods)} periods")
    with Progress() as progress:
        if found is not None:
            created = progress.add_task("tạo lượt chạy", total=len(periods))
            runs = backfills.backfill_through_deployment(
                deployment,
                periods,
                keys,
                dry_run=dry_run,
                on_created=lambda _run: progress.advance(created),
            )
            if wait:
                finished = progress.add_task("đã chạy xong", total=len(runs))
                backfills.wait_for_runs(runs, on_finished=lambda _run: progress.advance(finished))
        else:
            done = progress.add_task("đã chạy xong", total=len(periods))
            with configured(config):
                runs = backfills.backfill_locally(
                    periods, keys, dry_run=dry_run, on_finished=lambda _run: progress.advance(done)
                )
    for run in runs:
        typer.echo(run.line())
    if not all(run.ok for run in runs):
        raise typer.Exit(code=FAILED_EXIT)
