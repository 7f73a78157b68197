"""Exactly-once delivery against a real loopback SMTP server and a real ledger.

The ledger tests run on SQLite and on PostgreSQL (`database_url`, tests/conftest.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from standins.smtp_server import LoopbackSmtpServer
from tasks.delivery.ledger import (
    DeliveryOutcome,
    ReportMail,
    build_failure_alert,
    build_failure_summary,
    deliver_report,
    document_hash,
)
from tasks.delivery.mailers import EmlDirectoryMailer, YagmailMailer
from tasks.delivery.messages import Sender
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentRecipients, SmtpSettings
from tasks.store.database import RunStore, default_database_url

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ROOT = Path(__file__).resolve().parents[3]
MAY = Period.month(2024, 5)
SENDER = Sender("Báo cáo TTHC", "bao-cao-tthc@demo.gov.vn")
TO = "vanthu@skhcn.demo.gov.vn"
CC = "ttpvhcc@demo.gov.vn"
BCC = "luu-tru@demo.gov.vn"
RECIPIENTS = DepartmentRecipients(to=[TO], cc=[CC], bcc=[BCC])
EVERYONE = [TO, CC, BCC]
SUBJECT = "Báo cáo kết quả tiếp nhận, giải quyết TTHC tháng 5/2024 - Sở Khoa học và Công nghệ"
NAMES = {"SKHCN": "Sở Khoa học và Công nghệ", "SNV": "Sở Nội vụ"}


def write_documents(folder: Path, key: str, content: bytes = b"v1") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    docx = folder / f"Báo cáo TTHC 2024-05 {key}.docx"
    xlsx = folder / f"Biểu mẫu số liệu 2024-05 {key}.xlsx"
    docx.write_bytes(b"docx " + key.encode() + b" " + content + bytes(range(256)))
    xlsx.write_bytes(b"xlsx " + key.encode() + b" " + content)
    return [docx, xlsx]


def report_mail(attachments: list[Path], key: str = "SKHCN", **update: object) -> ReportMail:
    mail = ReportMail(
        department_name=NAMES[key],
        figures={"received_total": 63, "resolved": 54, "in_progress": 5},
        rates={"early_rate": 49 / 54},
        attachments=attachments,
        sender=SENDER,
    )
    return replace(mail, **update)  # type: ignore[arg-type]


@pytest.fixture
def store(database_url: str) -> Iterator[RunStore]:
    with RunStore(database_url) as opened:
        yield opened


@pytest.fixture
def mailer(smtp_server: LoopbackSmtpServer) -> YagmailMailer:
    return YagmailMailer(smtp_server.settings_for(SmtpSettings(timeout_seconds=5)), None)


@pytest.fixture
def documents(tmp_path: Path) -> list[Path]:
    return write_documents(tmp_path / "reports", "SKHCN")


def deliver(
    store: RunStore,
    mailer: YagmailMailer | EmlDirectoryMailer,
    attachments: list[Path],
    key: str = "SKHCN",
    **options: object,
) -> DeliveryOutcome:
    return deliver_report(
        MAY,
        key,
        report_mail(attachments, key),
        RECIPIENTS,
        store,
        mailer,
        **options,  # type: ignore[arg-type]
    )


def per_recipient(server: LoopbackSmtpServer) -> dict[tuple[str, str], int]:
    """Count received messages by (department header, envelope recipient)."""
    counts: dict[tuple[str, str], int] = {}
    for received in server.received:
        department = str(received.message["X-Tthc-Department"])
        for address in received.envelope_to:
            counts[(department, address)] = counts.get((department, address), 0) + 1
    return counts


def test_first_delivery_reaches_to_cc_and_bcc(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    outcome = deliver(store, mailer, documents)

    assert outcome.sent == EVERYONE
    assert (outcome.skipped, outcome.refused, outcome.failed) == ([], {}, {})
    assert outcome.revision == 1
    [received] = smtp_server.received
    assert received.envelope_to == EVERYONE
    assert received.message["To"] == TO
    assert received.message["Cc"] == CC
    assert received.message["Bcc"] is None
    assert BCC not in received.path.read_text(encoding="ascii")
    assert received.subject == SUBJECT
    assert received.message["Message-ID"] == outcome.message_id
    assert received.attachments() == {path.name: path.read_bytes() for path in documents}
    rows = store.deliveries(MAY, "SKHCN")
    assert [(r.recipient, r.outcome, r.revision) for r in rows] == [
        (address, "sent", 1) for address in EVERYONE
    ]
    assert {r.message_id for r in rows} == {outcome.message_id}
    assert {r.document_hash for r in rows} == {document_hash(documents)}


def test_a_second_delivery_sends_nothing(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    deliver(store, mailer, documents)
    again = deliver(store, mailer, documents)

    assert again.sent == []
    assert again.skipped == EVERYONE
    assert again.message_id is None
    assert len(smtp_server.received) == 1


def test_force_resend_sends_again(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    deliver(store, mailer, documents)
    again = deliver(store, mailer, documents, force_resend=True)

    assert again.sent == EVERYONE
    assert again.revision == 1
    assert len(smtp_server.received) == 2
    assert smtp_server.received[1].subject == SUBJECT


def test_a_changed_document_is_a_new_revision(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    deliver(store, mailer, documents)
    documents[1].write_bytes(b"corrected figures")
    updated = deliver(store, mailer, documents)

    assert updated.revision == 2
    assert updated.sent == EVERYONE
    latest = smtp_server.received[-1]
    assert latest.subject == SUBJECT + " (bản cập nhật)"
    assert latest.message["X-Tthc-Revision"] == "2"
    assert latest.attachments()[documents[1].name] == b"corrected figures"
    assert "bản cập nhật (lần 2)" in latest.text()
    assert deliver(store, mailer, documents).sent == []  # revision 2 is not sent twice


def test_interrupted_between_departments_then_rerun(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, tmp_path: Path
) -> None:
    files = {key: write_documents(tmp_path / key, key) for key in ("SKHCN", "SNV")}
    deliver(store, mailer, files["SKHCN"], "SKHCN")
    # The run stops here (an exception, a deploy); the re-run does every department again.
    rerun = [deliver(store, mailer, files[key], key) for key in ("SKHCN", "SNV")]

    assert rerun[0].skipped == EVERYONE and rerun[0].sent == []
    assert rerun[1].sent == EVERYONE
    assert per_recipient(smtp_server) == {
        (key, address): 1 for key in ("SKHCN", "SNV") for address in EVERYONE
    }


def test_departments_delivered_from_parallel_threads(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, tmp_path: Path
) -> None:
    keys = ["SKHCN", "SNV"]
    files = {key: write_documents(tmp_path / key, key) for key in keys}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(2):  # the second round finds everything delivered
            list(pool.map(lambda key: deliver(store, mailer, files[key], key), keys))
    assert per_recipient(smtp_server) == {(key, a): 1 for key in keys for a in EVERYONE}


KILLED_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    sys.path.insert(0, ARGS["root"])
    from tasks.settings.models import DepartmentRecipients, SmtpSettings
    from tasks.delivery.ledger import ReportMail, deliver_report
    from tasks.delivery.messages import Sender
    from tasks.delivery.mailers import YagmailMailer
    from tasks.figures.periods import Period
    from tasks.store.database import RunStore, default_database_url

    store = RunStore(ARGS["url"])
    smtp = SmtpSettings(host="127.0.0.1", port=ARGS["port"], timeout_seconds=5)
    recipients = DepartmentRecipients(**ARGS["recipients"])
    for key, files in ARGS["departments"]:
        mail = ReportMail(
            department_name=key, figures={}, rates={},
            attachments=[Path(f) for f in files],
            sender=Sender("Báo cáo TTHC", "bao-cao-tthc@demo.gov.vn"),
        )
        deliver_report(Period.parse("2024-05"), key, mail, recipients, store,
                       YagmailMailer(smtp, None))
        os.kill(os.getpid(), signal.SIGKILL)  # killed after the first department
    """
)


def test_a_killed_process_rerun_sends_each_message_once(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, tmp_path: Path
) -> None:
    files = {key: write_documents(tmp_path / key, key) for key in ("SKHCN", "SNV")}
    args = {
        "root": str(ROOT),
        "url": store.url,
        "port": smtp_server.port,
        "recipients": RECIPIENTS.model_dump(),
        "departments": [[key, [str(p) for p in files[key]]] for key in ("SKHCN", "SNV")],
    }
    script = f"ARGS = json.loads({json.dumps(json.dumps(args))})\n" + KILLED_RUN
    finished = subprocess.run(
        [sys.executable, "-c", "import json\n" + script], capture_output=True, timeout=120
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr.decode()
    assert len(smtp_server.received) == 1

    rerun = [deliver(store, mailer, files[key], key) for key in ("SKHCN", "SNV")]

    assert rerun[0].skipped == EVERYONE
    assert rerun[1].sent == EVERYONE
    assert per_recipient(smtp_server) == {
        (key, address): 1 for key in ("SKHCN", "SNV") for address in EVERYONE
    }


def test_two_runs_sharing_only_the_database_send_each_copy_once(
    smtp_server: LoopbackSmtpServer, database_url: str, tmp_path: Path
) -> None:
    # Two runs, each with its own documents folder, its own store and its own SMTP session,
    # and no period lock: the first one's claims hold the second off while it sends.
    first_files = write_documents(tmp_path / "worker-1", "SKHCN")
    second_files = write_documents(tmp_path / "worker-2", "SKHCN")
    settings = smtp_server.settings_for(SmtpSettings(timeout_seconds=30))
    smtp_server.hold()
    with RunStore(database_url) as first_store, RunStore(database_url) as second_store:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(deliver, first_store, YagmailMailer(settings, None), first_files)
            deadline = time.monotonic() + 60
            while smtp_server.waiting < 1:  # the first run is at the server, its claims made
                assert time.monotonic() < deadline, "the first run never reached the server"
                assert not first.done(), first.result()
                time.sleep(0.02)
            second = deliver(second_store, YagmailMailer(settings, None), second_files)
            smtp_server.release()
            first_outcome = first.result(timeout=60)
        third = deliver(second_store, YagmailMailer(settings, None), second_files)

    assert first_outcome.sent == EVERYONE
    assert second.sent == [] and second.skipped == []
    assert sorted(second.failed) == sorted(EVERYONE) == sorted(second.deferred)
    assert "another run is sending it (pid " in second.failed[TO]
    assert second.transient  # the task's retry comes back for it
    assert third.skipped == EVERYONE and third.sent == []
    assert per_recipient(smtp_server) == {("SKHCN", address): 1 for address in EVERYONE}


def test_an_error_while_sending_ends_the_claims(
    smtp_server: LoopbackSmtpServer, store: RunStore, documents: list[Path]
) -> None:
    class Broken(YagmailMailer):
        def send(self, message: object) -> object:  # type: ignore[override]
            raise OSError("the mailer broke")

    broken = Broken(smtp_server.settings_for(SmtpSettings(timeout_seconds=5)), None)
    with pytest.raises(OSError, match="the mailer broke"):
        deliver(store, broken, documents)

    mailer = YagmailMailer(smtp_server.settings_for(SmtpSettings(timeout_seconds=5)), None)
    assert deliver(store, mailer, documents).sent == EVERYONE  # not "busy" for 15 minutes


def test_a_refused_recipient_is_recorded_and_delivered_later(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.refuse(CC)
    first = deliver(store, mailer, documents)

    assert first.sent == [TO, BCC]
    assert first.refused == {CC: "550 No such user here"}
    assert not first.ok
    assert first.problem() == f"{CC} bị từ chối (550 No such user here)"
    refused_rows = [r for r in store.deliveries(MAY) if r.outcome == "refused"]
    assert [(r.recipient, r.error) for r in refused_rows] == [(CC, "550 No such user here")]

    smtp_server.allow(CC)  # the mailbox was fixed
    second = deliver(store, mailer, documents)

    assert second.sent == [CC]
    assert second.skipped == [TO, BCC]
    assert smtp_server.received[-1].envelope_to == [CC]
    assert smtp_server.received[-1].message["To"] == TO  # same headers, smaller envelope
    assert per_recipient(smtp_server) == {("SKHCN", a): 1 for a in EVERYONE}


def test_a_451_is_one_transient_failure_and_the_next_call_sends_it(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    # One SMTP session per call: the retry is the caller's (the Prefect task's), and the
    # ledger makes the next call send only what is missing.
    smtp_server.fail_next(1, 451)
    first = deliver(store, mailer, documents)

    assert first.sent == []
    assert set(first.failed) == set(EVERYONE)
    assert first.deferred == EVERYONE
    assert first.transient
    assert smtp_server.received == []

    second = deliver(store, mailer, documents)

    assert second.sent == EVERYONE
    assert len(smtp_server.received) == 1


def test_a_4xx_for_one_address_leaves_only_that_address_for_the_next_call(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.refuse(CC, 450, "Mailbox busy")
    outcome = deliver(store, mailer, documents)

    assert outcome.sent == [TO, BCC]
    assert outcome.failed == {CC: "450 Mailbox busy"}
    assert outcome.transient
    assert [m.envelope_to for m in smtp_server.received] == [[TO, BCC]]

    smtp_server.allow(CC)
    again = deliver(store, mailer, documents)
    assert (again.sent, again.skipped) == ([CC], [TO, BCC])


def test_a_refusal_is_not_transient(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.refuse(CC, 550, "No such user here")
    outcome = deliver(store, mailer, documents)

    assert outcome.refused == {CC: "550 No such user here"}
    assert not outcome.transient


def test_transient_failures_are_recorded_and_sent_once_the_server_recovers(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.fail_next(10, 421, "Service shutting down")
    outcome = deliver(store, mailer, documents)

    assert outcome.sent == []
    assert set(outcome.failed) == set(EVERYONE)
    assert "421 Service shutting down" in outcome.failed[TO]
    assert {r.outcome for r in store.deliveries(MAY)} == {"failed"}

    smtp_server.clear_faults()
    assert deliver(store, mailer, documents).sent == EVERYONE


def test_a_server_that_is_down_fails_clearly_and_sends_once_when_back(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.down = True
    outcome = deliver(store, mailer, documents)

    assert outcome.sent == []
    assert f"cannot connect to SMTP server {smtp_server.address}" in outcome.failed[TO]
    assert store.delivered_hash(MAY, "SKHCN", TO) is None

    smtp_server.down = False
    assert deliver(store, mailer, documents).sent == EVERYONE
    assert deliver(store, mailer, documents).sent == []
    assert per_recipient(smtp_server) == {("SKHCN", a): 1 for a in EVERYONE}


def test_dry_run_writes_eml_files_and_no_ledger_rows(
    smtp_server: LoopbackSmtpServer, store: RunStore, documents: list[Path], tmp_path: Path
) -> None:
    outbox = EmlDirectoryMailer(tmp_path / "dry-run")
    outcome = deliver(store, outbox, documents, dry_run=True)

    assert outcome.dry_run
    assert outcome.sent == EVERYONE
    assert outcome.eml_files == outbox.written
    [eml] = outcome.eml_files
    text = eml.read_text(encoding="ascii")
    assert "X-Bcc: luu-tru@demo.gov.vn" in text
    assert store.deliveries(MAY) == []
    assert smtp_server.received == []
    assert deliver(store, outbox, documents, dry_run=True).sent == EVERYONE  # still nothing sent


def test_dry_run_refuses_a_real_mailer(
    store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    with pytest.raises(ValueError, match="EmlDirectoryMailer"):
        deliver(store, mailer, documents, dry_run=True)


def test_oversize_attachments_are_left_out(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    docx, xlsx = documents
    outcome = deliver_report(
        MAY,
        "SKHCN",
        report_mail(documents, max_attachment_bytes=xlsx.stat().st_size),
        RECIPIENTS,
        store,
        mailer,
    )

    assert outcome.omitted_attachments == [docx]
    [received] = smtp_server.received
    assert list(received.attachments()) == [xlsx.name]
    assert str(docx.absolute()) in received.text()


def test_the_failure_alert_reaches_the_operators(
    smtp_server: LoopbackSmtpServer, store: RunStore, mailer: YagmailMailer, documents: list[Path]
) -> None:
    smtp_server.refuse(CC)
    outcomes = [deliver(store, mailer, documents)]
    failures = build_failure_summary(outcomes, NAMES)
    assert failures == {"Sở Khoa học và Công nghệ": f"{CC} bị từ chối (550 No such user here)"}

    alert = build_failure_alert(MAY, failures, ["van-hanh@demo.gov.vn"], SENDER)
    assert mailer.send(alert).delivered == ["van-hanh@demo.gov.vn"]
    received = smtp_server.received[-1]
    assert received.envelope_to == ["van-hanh@demo.gov.vn"]
    assert "tháng 5/2024" in received.subject
    assert f"Sở Khoa học và Công nghệ: {CC} bị từ chối (550 No such user here)" in received.text()


def test_the_password_is_stored_nowhere(tmp_path: Path, documents: list[Path]) -> None:
    # On SQLite, where every byte the store writes is in files under the output folder.
    password = "pw-9f8e7d6c5b4a"
    with (
        RunStore(default_database_url(tmp_path / "out")) as store,
        LoopbackSmtpServer(tmp_path / "mail", credentials=("bao-cao", password)) as server,
    ):
        smtp = server.settings_for(SmtpSettings(user="bao-cao", timeout_seconds=5))
        outcome = deliver(store, YagmailMailer(smtp, password), documents)
        assert outcome.sent == EVERYONE
        stored = [server.received[0].path, *sorted((tmp_path / "out").iterdir())]
        for path in stored:
            assert password.encode() not in path.read_bytes(), path
