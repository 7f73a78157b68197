"""The outside systems a run talks to, built from the configuration.

One place turns settings into the portal client, the mailer and the run database, and starts
the bundled stand-ins (the portal simulator, the loopback mail server) where the settings say
"embedded", so the demo and the tests go through the same HTTP and SMTP paths as production.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from portal_sim.server import PortalSimulator
from portal_sim.store import open_scenario
from standins.smtp_server import LoopbackSmtpServer
from tasks.delivery.mailers import EmlDirectoryMailer, YagmailMailer
from tasks.delivery.messages import Mailer
from tasks.portal.client import HttpPortal
from tasks.settings.models import EMBEDDED, AppConfig
from tasks.store.database import RunStore, default_database_url

logger = logging.getLogger(__name__)

# The account the bundled simulator accepts; used only when the portal is embedded.
SIMULATOR_USER = "demo"
SIMULATOR_PASSWORD = "demo"


def mail_folder(config: AppConfig) -> Path:
    """Return where the embedded mail server stores what it receives: <output>/mail/."""
    return config.output_dir / "mail"


def dry_run_folder(config: AppConfig, period_key: str) -> Path:
    """Return where a dry run writes the messages it would send: <output>/dry-run/<period>/."""
    return config.output_dir / "dry-run" / period_key


@dataclass
class LiveServices:
    """The configuration aimed at running services, and the stand-ins started for it, if any."""

    config: AppConfig
    simulator: PortalSimulator | None = None
    mail_server: LoopbackSmtpServer | None = None


@contextmanager
def embedded_services(config: AppConfig) -> Iterator[LiveServices]:
    """Start the simulator and mail server the settings call "embedded"; yield them and the config aimed at them."""
    settings = config.settings
    secrets = config.secrets
    simulator: PortalSimulator | None = None
    server: LoopbackSmtpServer | None = None
    with ExitStack() as stack:
        if settings.portal.base_url == EMBEDDED:
            simulator = stack.enter_context(
                PortalSimulator(
                    open_scenario(settings.portal.scenario),
                    users={SIMULATOR_USER: SIMULATOR_PASSWORD},
                )
            )
            logger.info("embedded portal simulator at %s", simulator.url)
            settings = settings.model_copy(
                update={"portal": settings.portal.model_copy(update={"base_url": simulator.url})}
            )
            if not secrets.portal_username:
                secrets = secrets.model_copy(
                    update={
                        "portal_username": SIMULATOR_USER,
                        "portal_password": SecretStr(SIMULATOR_PASSWORD),
                    }
                )
        if settings.smtp.host == EMBEDDED:
            server = stack.enter_context(LoopbackSmtpServer(mail_folder(config)))
            logger.info(
                "embedded mail server at %s, storing in %s", server.address, server.mail_dir
            )
            settings = settings.model_copy(update={"smtp": server.settings_for(settings.smtp)})
        live = config.model_copy(update={"settings": settings, "secrets": secrets})
        yield LiveServices(live, simulator, server)


def open_portal(config: AppConfig) -> HttpPortal:
    """Return a portal client for the configured portal (never "embedded": start it first)."""
    portal = config.settings.portal
    if portal.base_url == EMBEDDED:
        raise ValueError('portal base_url "embedded": open it inside embedded_services(config)')
    secrets = config.secrets
    if not secrets.portal_username or secrets.portal_password is None:
        raise ValueError("the portal account is not set: set PORTAL_USERNAME and PORTAL_PASSWORD")
    return HttpPortal(
        portal.base_url,
        secrets.portal_username,
        secrets.portal_password.get_secret_value(),
        timeout=portal.timeout_seconds,
        page_size=portal.page_size,
        max_attempts=portal.max_attempts,
        backoff_base=portal.backoff_seconds,
        verify=portal.ca_bundle or True,
    )


def open_mailer(config: AppConfig, *, dry_run: bool, period_key: str) -> Mailer:
    """Return the mailer: .eml files for a dry run, else the configured SMTP server."""
    if dry_run:
        return EmlDirectoryMailer(dry_run_folder(config, period_key))
    password = config.secrets.smtp_password
    return YagmailMailer(
        config.settings.smtp, password.get_secret_value() if password is not None else None
    )


def open_store(config: AppConfig) -> RunStore:
    """Return the run database (SQLite under the output folder unless database_url says otherwise)."""
    url = config.settings.database_url or default_database_url(config.output_dir)
    return RunStore(url)
