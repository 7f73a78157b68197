"""Delivery against hostile and limited mail servers on loopback: every session ends, no copy
is lost, and a copy sent twice carries the same Message-ID.

Each hanging case is bounded by its own pytest timeout, far above the deadline it checks.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from standins.smtp_server import LoopbackSmtpServer, ReceivedMessage
from tasks.delivery.mailers import YagmailMailer
from tasks.delivery.messages import OutgoingMessage
from tasks.settings.models import SmtpSettings
from tasks.store.database import RunStore
from tests.hostile import TricklingSmtp
from tests.tasks.delivery.test_delivery import (  # the fixtures too: one world per test
    EVERYONE,
    KILLED_RUN,
    MAY,
    RECIPIENTS,
    ROOT,
    SENDER,
    deliver,
    documents,
    mailer,
    store,
    write_documents,
)


def message(recipients: list[str]) -> OutgoingMessage:
    return OutgoingMessage(
        sender=SENDER,
        to=recipients[:1],
        bcc=recipients[1:],
        subject="Báo cáo",
        text="Kính gửi",
        headers={"Message-ID": "<x@demo.gov.vn>"},
    )


# Without a session deadline a conversation at a byte a second would last over a minute (and
# the endless EHLO for ever): the test's own timeout bounds it, not a measured time.
@pytest.mark.timeout(30)
@pytest.mark.parametrize("endless_ehlo", [False, True], ids=["every byte slow", "endless EHLO"])
def test_a_trickling_mail_server_costs_one_deadline_not_forever(endless_ehlo: bool) -> None:
    with TricklingSmtp(1.0, endless_ehlo=endless_ehlo) as server:
        smtp = SmtpSettings(
            host="127.0.0.1", port=server.port, timeout_seconds=5, deadline_seconds=2
        )
        result = YagmailMailer(smtp, None).send(message(["a@demo.gov.vn"]))

    assert result.transient
    assert result.error is not None
    assert "did not end within 2 s (smtp.deadline_seconds)" in result.error
    assert [r.status for r in result.recipients] == ["deferred"]


def test_recipients_go_in_batches_within_the_servers_limit(
    smtp_server: LoopbackSmtpServer,
) -> None:
    smtp_server.max_recipients = 100
    many = [f"nguoi{n:03d}@demo.gov.vn" for n in range(250)]
    settings = smtp_server.settings_for(SmtpSettings(timeout_seconds=5))

    result = YagmailMailer(settings, None).send(message(many))

    assert result.delivered == many
    assert [len(m.envelope_to) for m in smtp_server.received] == [50, 50, 50, 50, 50]
    assert {str(m.message["Message-ID"]) for m in smtp_server.received} == {"<x@demo.gov.vn>"}


def test_one_transaction_past_the_servers_limit_defers_the_rest(
    smtp_server: LoopbackSmtpServer,
) -> None:
    smtp_server.max_recipients = 100
    many = [f"nguoi{n:03d}@demo.gov.vn" for n in range(150)]
    settings = smtp_server.settings_for(
        SmtpSettings(timeout_seconds=5, max_recipients_per_message=500)
    )

    result = YagmailMailer(settings, None).send(message(many))

    assert len(result.delivered) == 100
    assert {r.status for r in result.recipients if r.address not in result.delivered} == {
        "deferred"
    }


def test_every_attempt_of_one_delivery_carries_the_same_message_id(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.refuse(EVERYONE[1], 451, "Try again later")
    first = deliver(store, mailer, documents)
    smtp_server.allow(EVERYONE[1])
    second = deliver(store, mailer, documents)

    assert (first.deferred, second.sent) == ([EVERYONE[1]], [EVERYONE[1]])
    ids = [str(m.message["Message-ID"]) for m in smtp_server.received]
    assert len(ids) == 2 and ids[0] == ids[1] == first.message_id == second.message_id


@pytest.mark.timeout(120)
def test_a_kill_after_the_server_has_the_message_resends_it_under_the_first_message_id(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, tmp_path: Path
) -> None:
    files = write_documents(tmp_path / "SKHCN", "SKHCN")
    args = {
        "root": str(ROOT),
        "url": store.url,
        "port": smtp_server.port,
        "recipients": RECIPIENTS.model_dump(),
        "departments": [["SKHCN", [str(p) for p in files]]],
    }
    script = f"ARGS = json.loads({json.dumps(json.dumps(args))})\n" + KILLED_RUN
    child = subprocess.Popen(
        [sys.executable, "-c", "import json\n" + script], stderr=subprocess.PIPE
    )

    def kill_the_sender(_: ReceivedMessage) -> None:
        # The worst point: the server has the message, the sender has no "250" and no row.
        child.kill()
        child.wait(timeout=30)

    smtp_server.on_stored = kill_the_sender
    assert child.wait(timeout=90) == -signal.SIGKILL
    smtp_server.on_stored = None
    assert store.deliveries(MAY) == []  # no row: the sender died before the "250"
    store.release_claims(MAY)  # what the next run of the period does once it holds the lock

    rerun = deliver(store, mailer, files)

    assert rerun.sent == EVERYONE
    first, again = smtp_server.received
    assert str(first.message["Message-ID"]) == str(again.message["Message-ID"])
    assert str(again.message["Message-ID"]) == rerun.message_id


__all__ = ["documents", "mailer", "store"]
