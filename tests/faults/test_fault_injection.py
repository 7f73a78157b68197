"""The faults the scenarios inject: malformed records from the simulator, a held mail server."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage

from portal_sim.server import Faults, PortalSimulator, parse_faults
from portal_sim.store import DossierStore
from standins.smtp_server import LoopbackSmtpServer
from tasks.figures.periods import Period
from tasks.portal.client import FetchStats, HttpPortal
from tasks.portal.dossiers import RejectedRecord

SKHCN_AGENCY = "000.00.15.H99"
MAY = Period.month(2024, 5)


def test_malformed_records_can_be_asked_for_on_the_command_line() -> None:
    assert parse_faults("malformed_records=3,latency_seconds=0.1") == Faults(
        malformed_records=3, latency_seconds=0.1
    )


def test_every_page_carries_the_malformed_records_and_validation_rejects_them(
    demo_store: DossierStore,
) -> None:
    faults = Faults(malformed_records=4)
    with PortalSimulator(demo_store, users={"demo": "demo"}, faults=faults) as simulator:
        portal = HttpPortal(simulator.url, "demo", "demo", page_size=25, sleep=lambda _: None)
        stats = FetchStats()
        records = list(portal.iter_dossiers(SKHCN_AGENCY, MAY.start_stamp, MAY.end_stamp, stats))

    rejected = [record for record in records if isinstance(record, RejectedRecord)]
    pages = stats.pages - 1  # the last page is empty and carries nothing
    assert pages >= 2
    assert len(rejected) == 4 * pages
    assert simulator.stats["fault:malformed"] == pages
    reasons = {record.reason.split(" ")[0] for record in rejected}
    assert reasons == {"NgayTiepNhan", "TrangThaiHoSo", "record"}
    assert stats.records == len(records) - len(rejected)  # the real dossiers all came through


def _send_in_thread(server: LoopbackSmtpServer, subject: str) -> threading.Thread:
    def send() -> None:
        message = EmailMessage()
        message["From"] = "bao-cao-tthc@demo.gov.vn"
        message["To"] = "vanthu@demo.gov.vn"
        message["Subject"] = subject
        message.set_content("x")
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.send_message(message)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_held_server_lets_through_what_it_admits(smtp_server: LoopbackSmtpServer) -> None:
    smtp_server.hold()
    threads = [_send_in_thread(smtp_server, f"thư {n}") for n in range(3)]
    _until(lambda: smtp_server.waiting == 3)

    smtp_server.admit(1)
    _until(lambda: len(smtp_server.received) == 1)
    assert smtp_server.waiting == 2

    smtp_server.release()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(m.subject for m in smtp_server.received) == ["thư 0", "thư 1", "thư 2"]
    assert smtp_server.waiting == 0
