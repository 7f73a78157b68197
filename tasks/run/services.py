"""Open the outside systems a run talks to (portal, mail server, run database) from the settings.

Each opener takes a configuration aimed at real servers: "embedded" settings are turned into
running stand-ins by flows/embedded.py before anything here is called.
"""

from __future__ import annotations

from pathlib import Path

from tasks.delivery.mailers import EmlDirectoryMailer, YagmailMailer
from tasks.delivery.messages import Mailer
from tasks.figures.periods import Period
from tasks.portal.client import HttpPortal
from tasks.settings.models import EMBEDDED, AppConfig
from tasks.store.database import RunStore, default_database_url


class MissingCredentials(ValueError):
    """The portal account is not set in the environment."""


def mail_folder(config: AppConfig) -> Path:
    """Return where the embedded mail server stores what it receives: <output>/mail/."""
    return config.output_dir / "mail"


def dry_run_folder(config: AppConfig, period: Period) -> Path:
    """Return where a dry run writes the messages it would send: <output>/dry-run/<period>/."""
    return config.output_dir / "dry-run" / period.key


def open_portal(config: AppConfig) -> HttpPortal:
    """Return a portal client for the configured portal (never "embedded": start it first)."""
    portal = config.settings.portal
    if portal.base_url == EMBEDDED:
        raise ValueError('portal base_url "embedded": start it with flows.embedded first')
    secrets = config.secrets
    if not secrets.portal_username or secrets.portal_password is None:
        raise MissingCredentials(
            "the portal account is not set: set PORTAL_USERNAME and PORTAL_PASSWORD"
        )
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


def open_mailer(config: AppConfig, *, dry_run: bool, period: Period) -> Mailer:
    """Return the mailer: .eml files for a dry run, else the configured SMTP server."""
    if dry_run:
        return EmlDirectoryMailer(dry_run_folder(config, period), timezone=config.settings.timezone)
    password = config.secrets.smtp_password
    return YagmailMailer(
        config.settings.smtp,
        password.get_secret_value() if password is not None else None,
        timezone=config.settings.timezone,
    )


def open_store(config: AppConfig) -> RunStore:
    """Return the run database (SQLite under the output folder unless database_url says otherwise)."""
    url = config.settings.database_url or default_database_url(config.output_dir)
    return RunStore(url)
