"""Start the bundled portal simulator and loopback mail server where the settings say "embedded".

Reached from production code only through flows/embedded.py (the one switch), so the demo and
the tests go through the same HTTP and SMTP paths as a run against real servers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from portal_sim.server import PortalSimulator
from portal_sim.store import open_scenario
from standins.smtp_server import LoopbackSmtpServer
from tasks.run.services import mail_folder
from tasks.settings.models import EMBEDDED, AppConfig

logger = logging.getLogger(__name__)

# The account the bundled simulator accepts; used only when the portal is embedded.
SIMULATOR_USER = "demo"
SIMULATOR_PASSWORD = "demo"


@dataclass
class LiveServices:
    """The configuration aimed at running services, and the stand-ins started for it, if any."""

    config: AppConfig
    simulator: PortalSimulator | None = None
    mail_server: LoopbackSmtpServer | None = None


@contextmanager
def embedded_services(config: AppConfig) -> Iterator[LiveServices]:
    """Start the stand-ins the settings call "embedded"; yield them and the config aimed at them."""
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
