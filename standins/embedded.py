"""Start the bundled simulators and loopback mail server where the settings say "embedded".

Reached from production code only through flows/embedded.py (the one switch), so the demo and
the tests go through the same HTTP and SMTP paths as a run against real servers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from portal_sim.evaluation import EvaluationSimulator
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
    evaluation: EvaluationSimulator | None = None


@contextmanager
def embedded_services(config: AppConfig) -> Iterator[LiveServices]:
    """Start the stand-ins the settings call "embedded"; yield them and the config aimed at them."""
    settings = config.settings
    secrets = config.secrets
    simulator: PortalSimulator | None = None
    server: LoopbackSmtpServer | None = None
    evaluation: EvaluationSimulator | None = None
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
        if settings.national_index.base_url == EMBEDDED:
            # Over the same dossiers as the portal, so the index's progress counts are ours.
            store = (
                simulator.store
                if simulator is not None
                else open_scenario(settings.portal.scenario)
            )
            evaluation = stack.enter_context(EvaluationSimulator(store, province=settings.province))
            logger.info("embedded national index simulator at %s", evaluation.url)
            index = settings.national_index
            settings = settings.model_copy(
                update={
                    "national_index": index.model_copy(
                        update={
                            "base_url": evaluation.url,
                            "root_department_id": index.root_department_id or evaluation.root_id,
                            # A loopback simulator has no rate limit to be polite to.
                            "pause_min_seconds": 0.0,
                            "pause_max_seconds": 0.0,
                            "backoff_seconds": min(index.backoff_seconds, 0.1),
                        }
                    )
                }
            )
        if settings.smtp.host == EMBEDDED:
            server = stack.enter_context(LoopbackSmtpServer(mail_folder(config)))
            logger.info(
                "embedded mail server at %s, storing in %s", server.address, server.mail_dir
            )
            settings = settings.model_copy(update={"smtp": server.settings_for(settings.smtp)})
        live = config.model_copy(update={"settings": settings, "secrets": secrets})
        yield LiveServices(live, simulator, server, evaluation)
