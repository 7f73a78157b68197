"""The one switch to the stand-ins: settings that say "embedded" start the bundled servers.

Production code reaches standins/ and portal_sim/ only through this module (an import-linter
contract), and only when a setting asks for them: a configuration aimed at real servers never
imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tasks.settings.models import EMBEDDED, AppConfig

if TYPE_CHECKING:
    from standins.embedded import LiveServices


def uses_stand_ins(config: AppConfig) -> bool:
    """Tell whether the settings ask for a bundled simulator (portal, index) or mail server."""
    settings = config.settings
    return EMBEDDED in (
        settings.portal.base_url,
        settings.national_index.base_url,
        settings.smtp.host,
    )


@contextmanager
def live_config(config: AppConfig) -> Iterator[AppConfig]:
    """Yield the configuration aimed at running servers, starting the embedded ones for the block."""
    if not uses_stand_ins(config):
        yield config
        return
    with embedded(config) as services:
        yield services.config


@contextmanager
def embedded(config: AppConfig) -> Iterator[LiveServices]:
    """Start the stand-ins the settings call "embedded" and yield them with the live config."""
    from standins.embedded import embedded_services

    with embedded_services(config) as services:
        yield services


def simulator_account() -> tuple[str, str]:
    """Return the user name and password the bundled simulator accepts."""
    from standins.embedded import SIMULATOR_PASSWORD, SIMULATOR_USER

    return SIMULATOR_USER, SIMULATOR_PASSWORD


def serve_simulator(
    scenario: str, *, host: str, port: int, faults: str, on_ready: Callable[[str], None]
) -> None:
    """Serve the portal simulator on host:port until interrupted (`tthc-report portal-sim`)."""
    from portal_sim.server import parse_faults, serve_forever
    from portal_sim.store import open_scenario

    user, password = simulator_account()
    serve_forever(
        open_scenario(scenario),
        host=host,
        port=port,
        faults=parse_faults(faults) if faults else None,
        users={user: password},
        on_ready=on_ready,
    )
