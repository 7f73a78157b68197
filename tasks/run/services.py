"""Open the outside systems a run talks to (portal, mail server, run database) from the settings.

Each opener takes a configuration aimed at real servers: "embedded" settings are turned into
running stand-ins by flows/embedded.py before anything here is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.delivery.mailers import EmlDirectoryMailer, YagmailMailer
from tasks.delivery.messages import Mailer
from tasks.documents.pdf import PdfConverter, converting
from tasks.figures.periods import Period
from tasks.national_index.client import EvaluationClient
from tasks.portal.client import HttpPortal
from tasks.settings.models import EMBEDDED, OFF, AppConfig
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
        deadline=portal.deadline_seconds,
        max_page_bytes=portal.max_page_bytes,
        max_pages=portal.max_pages,
        page_size=portal.page_size,
        max_attempts=portal.max_attempts,
        backoff_base=portal.backoff_seconds,
        max_concurrent_requests=portal.max_concurrent_requests,
        verify=portal.ca_bundle or True,
    )


def open_national_index(config: AppConfig) -> EvaluationClient | None:
    """Return the national index's client, None when the settings turn the index off."""
    index = config.settings.national_index
    if index.base_url == OFF:
        return None
    if index.base_url == EMBEDDED:
        raise ValueError('national_index base_url "embedded": start it with flows.embedded first')
    return EvaluationClient(
        index.base_url,
        timeout=index.timeout_seconds,
        max_attempts=index.max_attempts,
        backoff_base=index.backoff_seconds,
        pause_min=index.pause_min_seconds,
        pause_max=index.pause_max_seconds,
        deadline=index.deadline_seconds,
        page_size=index.page_size,
        verify=index.ca_bundle or True,
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


def database_url(config: AppConfig) -> str:
    """Return the run database's URL: database_url, else SQLite under the output folder."""
    return config.settings.database_url or default_database_url(config.output_dir)


def open_store(config: AppConfig) -> RunStore:
    """Return the run database (SQLite under the output folder unless database_url says otherwise)."""
    return RunStore(database_url(config))


@contextmanager
def pdf_converter(config: AppConfig) -> Iterator[PdfConverter | None]:
    """Run the PDF converter of a run for the block; None when PDFs are off or LibreOffice absent.

    Every report rendered in this process during the block is converted through it; at its
    end no LibreOffice it started is left running.
    """
    documents = config.settings.documents
    if documents.pdf == OFF:
        yield None
        return
    with converting(
        workers=documents.pdf_workers, timeout=documents.pdf_timeout_seconds
    ) as converter:
        yield converter
