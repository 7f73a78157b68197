"""The command line's own plumbing: exit codes, options before or after the command, and the
foreseeable failures that print one line naming the fix instead of a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

if TYPE_CHECKING:
    from tasks.settings.models import AppConfig

FAILED_EXIT = 1
CONFIG_PROBLEM_EXIT = 2
REFUSED_EXIT = 3
# flows.deployment.deployment_full_name(), written out so that --help needs no Prefect.
DEFAULT_DEPLOYMENT = "monthly_report/monthly-report"
# The options of the command line itself, accepted before or after the command's name.
_GLOBAL_FLAGS = ("--debug",)
_GLOBAL_VALUED = ("--config",)


def move_global_options(args: Sequence[str]) -> list[str]:
    """Return `args` with --config DIR and --debug moved before the command's name."""
    front: list[str] = []
    rest: list[str] = []
    items = list(args)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "--":
            rest.extend(items[index:])
            break
        if item in _GLOBAL_FLAGS or any(item.startswith(f"{o}=") for o in _GLOBAL_VALUED):
            front.append(item)
        elif item in _GLOBAL_VALUED and index + 1 < len(items):
            front.extend(items[index : index + 2])
            index += 1
        else:
            rest.append(item)
        index += 1
    return front + rest


class CommandLine(TyperGroup):
    """The command group: global options anywhere, one line for each foreseeable failure."""

    # `ctx` is typer's vendored click Context, which typer does not export under a public name.

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the arguments with the global options moved to the front."""
        return super().parse_args(ctx, move_global_options(args))

    def invoke(self, ctx: Any) -> Any:
        """Run the command; turn a foreseeable failure into one line and an exit code."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as error:
            state = ctx.find_object(CliState)
            known = foreseeable(error)
            if known is None or (state is not None and state.debug):
                raise
            code, line = known
            typer.echo(line, err=True)
            raise typer.Exit(code=code) from None


def foreseeable(error: BaseException) -> tuple[int, str] | None:
    """Return (exit code, one line naming the fix) for a failure an operator can cure, else None."""
    # The modules that raise these are loaded by then; looking them up costs nothing.
    import smtplib

    import httpx

    from tasks.portal.client import PortalAuthError, PortalError
    from tasks.run.services import MissingCredentials
    from tasks.store.run_lock import RunLocked, RunLockUnavailable

    if isinstance(error, RunLocked):
        return REFUSED_EXIT, str(error)
    # Not imported for the check: that would load Prefect after any failure, flow or not.
    flow_module = sys.modules.get("flows.monthly_report")
    if flow_module is not None and isinstance(error, flow_module.RunFailed):
        return FAILED_EXIT, str(error)
    if isinstance(error, MissingCredentials):
        return CONFIG_PROBLEM_EXIT, str(error)
    if isinstance(error, PortalAuthError):
        return CONFIG_PROBLEM_EXIT, (f"portal: {error} (check PORTAL_USERNAME and PORTAL_PASSWORD)")
    if isinstance(error, PortalError):
        return FAILED_EXIT, f"portal: {error} (check portal.base_url and the network)"
    if isinstance(error, RunLockUnavailable):
        return FAILED_EXIT, str(error)
    if isinstance(error, smtplib.SMTPException):
        return FAILED_EXIT, f"mail server: {error} (check the smtp settings and SMTP_PASSWORD)"
    if isinstance(error, httpx.HTTPError):
        return FAILED_EXIT, (
            f"the Prefect API does not answer: {error} "
            "(start `prefect server start` or check PREFECT_API_URL)"
        )
    if isinstance(error, ConnectionError | TimeoutError):
        return FAILED_EXIT, f"cannot connect: {error} (is the server named in settings.yaml up?)"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return FAILED_EXIT, (
            f"cannot write{where}: {error.strerror or error} (the output folder must be "
            "writable: settings output_dir or TTHC_OUTPUT_DIR)"
        )
    return None


@dataclass
class CliState:
    """What the global options chose; the loaded configuration is kept for later commands."""

    config_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    config: AppConfig | None = None
    debug: bool = False
