"""Deliver each department's report exactly once to each recipient, with a ledger.

The ledger (RunStore's deliveries table) holds one row per recipient and attempt. A recipient
whose last successful delivery carries the same document hash is skipped, so a re-run after a
crash or a partial failure sends only what is missing. A changed document set (new hash) goes
out as a new revision, "(bản cập nhật)" in its subject. Rows are committed right after the
server accepts the message, so a process killed between two departments never sends the first
one again. The one window left is from the moment the server has the message (it may hold it
before it answers "250") to that commit: a kill or a lost answer there sends the message again
on the re-run (at least once, not at most once), under the same Message-ID, which the ledger
keeps before the first attempt.

Before sending, each recipient is claimed in the run database (RunStore.claim_delivery): the
claim and the ledger's answer are read under one row lock, so two runs that share only the
database (two workers, two machines, even without the period lock) never both send one
recipient the same report: the second finds the first's claim ("busy", a transient failure
its retry resolves) or the first's ledger row ("delivered", skipped). A claim ends with its
ledger row, or after CLAIM_LEASE_SECONDS if its run died; the next run of the period, taking
the period lock, ends it at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import make_msgid
from pathlib import Path

from tasks.delivery.mailers import EmlDirectoryMailer
from tasks.delivery.messages import (
    BuiltMessage,
    Mailer,
    RecipientResult,
    Sender,
    SendResult,
    build_failure_alert,
    build_report_message,
    unique_addresses,
)
from tasks.figures.engine import Figures, Rates
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentRecipients
from tasks.store.database import DeliveryOutcomeKind, RunStore
from tasks.store.hashing import content_sha256

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# How long a claim keeps other runs from sending to a recipient when its run dies without
# ending it: well above one SMTP session's worst case (a few smtp.timeout_seconds).
CLAIM_LEASE_SECONDS = 900.0


@dataclass(frozen=True)
class ReportMail:
    """What a department's report message is made of (the parts besides its recipients)."""

    department_name: str
    figures: Figures
    rates: Rates
    attachments: list[Path]
    sender: Sender
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    # The Centre's summary: how many departments it sums up (None for a department's report).
    summary_of: int | None = None


@dataclass
class DeliveryOutcome:
    """What one deliver_report call did, recipient by recipient."""

    period_key: str
    department_key: str
    document_hash: str
    revision: int
    dry_run: bool = False
    message_id: str | None = None
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    # The failed addresses whose failure another attempt may cure (4xx, no connection).
    deferred: list[str] = field(default_factory=list)
    omitted_attachments: list[Path] = field(default_factory=list)
    eml_files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every recipient has the report (now or from an earlier run)."""
        return not self.refused and not self.failed

    @property
    def transient(self) -> bool:
        """Tell whether another attempt may deliver what is missing (nothing was refused)."""
        return bool(self.deferred) and not self.refused

    def problem(self) -> str | None:
        """Return one line naming who did not get the report and why, or None."""
        parts = [f"{address} bị từ chối ({reason})" for address, reason in self.refused.items()]
        parts += [f"{address} chưa gửi được ({reason})" for address, reason in self.failed.items()]
        return "; ".join(parts) or None


def document_hash(paths: list[Path]) -> str:
    """Return a SHA-256 over the attachment set: each file's name and content, order-free.

    A PDF is left out: it is made from the .docx in the set, and LibreOffice stamps it with the
    time of conversion, so it would make every render look new.
    """
    entries = sorted(
        f"{path.name}\0{content_sha256(path)}" for path in paths if path.suffix.lower() != ".pdf"
    )
    return hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()


def revision_for(store: RunStore, period: Period, department_key: str, digest: str) -> int:
    """Return the revision a document set with hash `digest` is delivered as.

    The revision last delivered keeps its number; any other document set is the next one.
    """
    last = store.last_delivered(period, department_key)
    if last is None:
        return 1
    last_hash, last_revision = last
    if last_hash == digest:
        return last_revision
    return store.revision(period, department_key) + 1


def claimant_name() -> str:
    """Return a name for one delivery's claims: this process, its machine, and a unique tag."""
    return f"pid {os.getpid()} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"


def deliver_report(
    period: Period,
    department_key: str,
    mail: ReportMail,
    recipients: DepartmentRecipients,
    store: RunStore,
    mailer: Mailer,
    *,
    force_resend: bool = False,
    dry_run: bool = False,
    claim_lease_seconds: float = CLAIM_LEASE_SECONDS,
) -> DeliveryOutcome:
    """Send a department's report once to each recipient that does not have this version yet.

    force_resend sends to everyone again. One SMTP session per call: a 5xx for one address is
    recorded as refused without stopping the others; a transient failure (4xx, dropped
    connection, timeout) is recorded as failed, and the caller's retry (the Prefect task's,
    runner.mail_retry_delays_seconds) calls again, when the ledger skips whoever has the
    message. A dry run needs an EmlDirectoryMailer: it writes the .eml and no ledger row (and
    claims nothing). A recipient that another run is sending to is failed as transient.
    """
    if dry_run and not isinstance(mailer, EmlDirectoryMailer):
        raise ValueError("a dry run must not send: pass an EmlDirectoryMailer as the mailer")

    digest = document_hash(mail.attachments)
    revision = revision_for(store, period, department_key, digest)
    outcome = DeliveryOutcome(
        period_key=period.key,
        department_key=department_key,
        document_hash=digest,
        revision=revision,
        dry_run=dry_run,
    )
    everyone = unique_addresses([*recipients.to, *recipients.cc, *recipients.bcc])
    claimant = claimant_name()
    pending: list[str] = []
    for address in everyone:
        if dry_run:
            if not force_resend and store.delivered_hash(period, department_key, address) == digest:
                outcome.skipped.append(address)
            else:
                pending.append(address)
            continue
        claim = store.claim_delivery(
            period,
            department_key,
            address,
            document_hash=digest,
            claimant=claimant,
            lease_seconds=claim_lease_seconds,
            force=force_resend,
        )
        if claim.answer == "delivered":
            outcome.skipped.append(address)
        elif claim.answer == "busy":
            since = claim.since.isoformat(timespec="seconds") if claim.since else "?"
            outcome.failed[address] = (
                f"another run is sending it ({claim.holder}, claimed {since} UTC)"
            )
            outcome.deferred.append(address)
        else:
            pending.append(address)
    if not pending:
        return outcome
    try:
        return _send(
            period,
            department_key,
            mail,
            recipients,
            store,
            mailer,
            outcome,
            pending,
            claimant,
            force_resend,
        )
    finally:
        if not dry_run:
            # Claims still open here were neither sent nor recorded (an error on the way).
            store.release_claims(period, department_key=department_key, claimant=claimant)


def _send(
    period: Period,
    department_key: str,
    mail: ReportMail,
    recipients: DepartmentRecipients,
    store: RunStore,
    mailer: Mailer,
    outcome: DeliveryOutcome,
    pending: list[str],
    claimant: str,
    force_resend: bool,
) -> DeliveryOutcome:
    """Send one message to the claimed `pending` recipients and record each answer."""
    digest, revision, dry_run = outcome.document_hash, outcome.revision, outcome.dry_run
    # One Message-ID per delivery, kept before anything is sent: a retry, or a re-run after a
    # crash between the server's "250" and the ledger's row, sends the same one again, so mail
    # programs show one copy. A forced resend is a new message.
    message_id = make_msgid(domain=mail.sender.domain)
    if not dry_run and not force_resend:
        message_id = store.message_id_for(
            period, department_key, digest, revision, lambda: message_id
        )
    built = _build(period, department_key, mail, recipients, digest, revision, message_id)
    message = built.message
    outcome.message_id = message.message_id
    outcome.omitted_attachments = [o.path for o in built.omitted]

    def record(address: str, kind: DeliveryOutcomeKind, error: str | None, attempts: int) -> None:
        if dry_run:
            return
        store.record_delivery(
            period,
            department_key,
            address,
            message_id=message.message_id,
            document_hash=digest,
            revision=revision,
            outcome=kind,
            error=error,
            attempts=attempts,
            claimant=claimant,
        )

    result = mailer.send(message.for_recipients(pending))
    if result.stored_as is not None:
        outcome.eml_files.append(result.stored_as)
    for address, answer in _answers(pending, result).items():
        reason = _reason(answer, result)
        # Commit each row now: a crash after this line never sends to `address` again.
        if answer.status == "delivered":
            record(address, "sent", None, 1)
            outcome.sent.append(address)
        elif answer.status == "refused":
            record(address, "refused", reason, 1)
            outcome.refused[address] = reason
        else:
            # "failed" and "deferred": the caller decides whether another attempt may cure it.
            record(address, "failed", reason, 1)
            outcome.failed[address] = reason
            if answer.status == "deferred":
                outcome.deferred.append(address)
    return outcome


def _build(
    period: Period,
    department_key: str,
    mail: ReportMail,
    recipients: DepartmentRecipients,
    digest: str,
    revision: int,
    message_id: str,
) -> BuiltMessage:
    return build_report_message(
        message_id=message_id,
        period=period,
        department_name=mail.department_name,
        figures=mail.figures,
        rates=mail.rates,
        sender=mail.sender,
        recipients=recipients,
        attachments=mail.attachments,
        max_attachment_bytes=mail.max_attachment_bytes,
        revision=revision,
        summary_of=mail.summary_of,
        headers={
            "X-Tthc-Period": period.key,
            "X-Tthc-Department": department_key,
            "X-Tthc-Revision": str(revision),
            "X-Tthc-Document-Hash": digest,
        },
    )


def _answers(addresses: list[str], result: SendResult) -> dict[str, RecipientResult]:
    by_address = {r.address.lower(): r for r in result.recipients}
    answers: dict[str, RecipientResult] = {}
    for address in addresses:
        answer = by_address.get(address.lower())
        if answer is None:
            # A mailer that says nothing about an address has not delivered to it.
            answer = RecipientResult(address, "deferred", None, result.error or "no answer")
        answers[address] = answer
    return answers


def _reason(answer: RecipientResult, result: SendResult) -> str:
    if answer.status == "delivered":
        return ""
    if answer.text and answer.text == result.error:
        return answer.text  # a whole-message error already names the server and the reply
    if answer.code is not None:
        return f"{answer.code} {answer.text}".strip()
    return answer.text or result.error or f"{answer.status} without a reason"


def build_failure_summary(
    outcomes: list[DeliveryOutcome], names: Mapping[str, str]
) -> dict[str, str]:
    """Return {department name: problem} for the outcomes that left someone without the report."""
    failures: dict[str, str] = {}
    for outcome in outcomes:
        problem = outcome.problem()
        if problem is not None:
            failures[names.get(outcome.department_key, outcome.department_key)] = problem
    return failures


# build_failure_alert lives with the other message builders and their templates in tasks.delivery.messages.
__all__ = [
    "DeliveryOutcome",
    "ReportMail",
    "build_failure_alert",
    "build_failure_summary",
    "deliver_report",
    "document_hash",
    "revision_for",
]
