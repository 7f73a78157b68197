"""E-mail as data: messages are built by pure functions, and one small interface sends them.

`build_report_message` and `build_failure_alert` turn figures and file paths into an
`OutgoingMessage` (subject and body from the Jinja2 templates in templates/email/).
`render_mime` turns a message into RFC 5322 text with yagmail's MIME builder. A `Mailer` sends
it: `YagmailMailer` through an SMTP server, `EmlDirectoryMailer` into .eml files (the dry run).

yagmail builds the MIME (its `prepare_message`: From/To/Cc, RFC 2047 subject, RFC 2231
attachment names, the Message-ID we give it; we only fold the headers it writes) and opens the
connection (SSL, STARTTLS or plain). The SMTP transaction itself goes through the
connection's smtplib object, because yagmail's own `send` cannot express what delivery needs:
an envelope that differs from the headers (resending to the missing recipients only), the
per-recipient refusals smtplib reports, and no hidden retry loop with real multi-second sleeps
that ends in a bare `False`. The SMTP login is ours too, so the login name may differ from the
sender address and yagmail never prompts for a password or asks the keyring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import jinja2

from tasks.documents.numbers import format_count, format_percent, format_size
from tasks.figures.engine import Figures, Rates
from tasks.figures.periods import Period
from tasks.settings.addresses import address_problem
from tasks.settings.models import DepartmentRecipients, SmtpSettings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

RecipientStatus = Literal["delivered", "refused", "deferred", "failed"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")


class UnsafeHeaderValue(ValueError):
    """A header value (address, name, subject) that would break or inject into the headers."""


class NoRecipients(ValueError):
    """A message with nobody in To: (the configuration names no recipient)."""


# -- the message as data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who a message comes from: display name and address."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @classmethod
    def from_settings(cls, smtp: SmtpSettings) -> Sender:
        """Return the sender configured in the SMTP settings."""
        return cls(name=smtp.sender_name, address=smtp.sender_address)


@dataclass
class OutgoingMessage:
    """One e-mail message: headers, plain-text body and attachment files.

    `headers` holds the Message-ID and any extra header. `envelope_recipients`, when set, is
    who the SMTP envelope goes to (a subset of to/cc/bcc, for resending to the missing ones);
    otherwise every address of to, cc and bcc. Bcc addresses are never written into headers.
    """

    sender: Sender
    to: list[str]
    subject: str
    text: str
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    envelope_recipients: list[str] | None = None

    @property
    def message_id(self) -> str:
        return self.headers.get("Message-ID", "")

    def recipients(self) -> list[str]:
        """Return every address of to, cc and bcc once, in that order."""
        return unique_addresses([*self.to, *self.cc, *self.bcc])

    def envelope(self) -> list[str]:
        """Return the addresses the SMTP envelope goes to."""
        if self.envelope_recipients is None:
            return self.recipients()
        return unique_addresses(self.envelope_recipients)

    def for_recipients(self, addresses: Sequence[str]) -> OutgoingMessage:
        """Return the same message (same headers, same Message-ID) sent only to `addresses`."""
        return replace(self, envelope_recipients=list(addresses))


@dataclass(frozen=True)
class OmittedAttachment:
    """A file left out of a message because the attachments would exceed the size limit."""

    path: Path
    size: int


@dataclass(frozen=True)
class BuiltMessage:
    """A built report message and the files the size guard left out of it."""

    message: OutgoingMessage
    omitted: list[OmittedAttachment]


@dataclass(frozen=True)
class RecipientResult:
    """What the server said about one envelope recipient."""

    address: str
    status: RecipientStatus
    code: int | None = None
    text: str = ""


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send: per recipient, plus the whole-message error if any.

    Statuses: "delivered" (the server accepted the message for this address), "refused" (a 5xx
    for this address: final), "deferred" (a 4xx, a dropped connection or a timeout: retry
    later), "failed" (a final error for the whole message: bad login, 5xx at DATA).
    """

    message_id: str
    recipients: list[RecipientResult]
    error: str | None = None
    transient: bool = False
    stored_as: Path | None = None  # the .eml file a dry run wrote

    def addresses(self, status: RecipientStatus) -> list[str]:
        """Return the addresses with `status`."""
        return [r.address for r in self.recipients if r.status == status]

    @property
    def delivered(self) -> list[str]:
        return self.addresses("delivered")

    @property
    def refused(self) -> list[str]:
        return self.addresses("refused")

    @property
    def deferred(self) -> list[str]:
        return self.addresses("deferred")

    @property
    def failed(self) -> list[str]:
        return self.addresses("failed")


class Mailer(Protocol):
    """Something that sends an OutgoingMessage and reports per recipient, never raising for SMTP."""

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send `message` to its envelope recipients."""
        ...


# -- header safety ----------------------------------------------------------------------------


def clean_header_text(value: str) -> str:
    """Return `value` with CR, LF and other control characters folded into single spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


def check_address(address: str) -> str:
    """Return `address` stripped; raise UnsafeHeaderValue if it is not one plain ASCII address."""
    stripped = address.strip()
    # The rule check-config applies: what it accepts, delivery can send.
    problem = address_problem(address)
    if problem is not None:
        raise UnsafeHeaderValue(f"e-mail address {problem}")
    return stripped


def unique_addresses(addresses: Sequence[str]) -> list[str]:
    """Return the addresses once each (case-insensitively), in their first order."""
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.strip().lower(), address.strip())
    return list(seen.values())


def _check_message(message: OutgoingMessage) -> None:
    for address in [message.sender.address, *message.to, *message.cc, *message.bcc]:
        check_address(address)
    for address in message.envelope():
        check_address(address)
    texts = {"subject": message.subject, "sender name": message.sender.name}
    texts.update({f"header {name}": value for name, value in message.headers.items()})
    for what, value in texts.items():
        if _CONTROL.search(value):
            raise UnsafeHeaderValue(f"{what} {value!r} holds a line break or control character")
    for name in message.headers:
        if not _HEADER_NAME.match(name):
            raise UnsafeHeaderValue(f"header name {name!r} is not a valid header field name")
    if not message.to:
        raise NoRecipients(f"message {message.subject!r} has nobody in To:")


# -- templates and formatting -----------------------------------------------------------------


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text, not HTML
        keep_trailing_newline=False,
    )


def _render(templates_dir: Path | None, name: str, context: Mapping[str, Any]) -> str:
    environment = _environment(templates_dir or TEMPLATES_DIR)
    return environment.get_template(name).render(**context)


def _tidy_body(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def select_attachments(
    files: Sequence[tuple[Path, int]], max_bytes: int
) -> tuple[list[Path], list[OmittedAttachment]]:
    """Split (path, size) pairs into those attached and those omitted, keeping their order.

    Files are taken in order while their total stays within `max_bytes` (raw file bytes; the
    message is about a third larger once base64-encoded); a file that would pass it is omitted.
    """
    attached: list[Path] = []
    omitted: list[OmittedAttachment] = []
    total = 0
    for path, size in files:
        if total + size <= max_bytes:
            attached.append(path)
            total += size
        else:
            omitted.append(OmittedAttachment(path=path, size=size))
    return attached, omitted


def _file_sizes(paths: Sequence[Path]) -> list[tuple[Path, int]]:
    sizes: list[tuple[Path, int]] = []
    for path in paths:
        try:
            sizes.append((path, path.stat().st_size))
        except OSError as error:
            raise FileNotFoundError(f"attachment {path} cannot be read: {error}") from error
    return sizes


# -- builders ---------------------------------------------------------------------------------


def build_report_message(
    *,
    period: Period,
    department_name: str,
    figures: Figures,
    rates: Rates,
    sender: Sender,
    recipients: DepartmentRecipients,
    attachments: Sequence[Path],
    max_attachment_bytes: int,
    revision: int = 1,
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    templates_dir: Path | None = None,
    summary_of: int | None = None,
) -> BuiltMessage:
    """Build a department's report message; only the attachment sizes are read from disk.

    The subject gains "(bản cập nhật)" from revision 2 on. Attachments past the size limit
    are left out and the body says where each of them is. With `summary_of` (a number of
    departments) the message is the Centre's summary of those departments' reports.
    """
    to = [check_address(a) for a in recipients.to]
    cc = [check_address(a) for a in recipients.cc]
    bcc = [check_address(a) for a in recipients.bcc]
    if not to:
        raise NoRecipients(f"no 'to' recipient is configured for {department_name}")
    address = check_address(sender.address)
    clean_sender = Sender(name=clean_header_text(sender.name), address=address)

    attached, omitted = select_attachments(_file_sizes(attachments), max_attachment_bytes)
    context = {
        "period_label": period.label,
        "period_key": period.key,
        "department_name": clean_header_text(department_name),
        "revision": revision,
        "received_total": format_count(figures.get("received_total", 0)),
        "resolved": format_count(figures.get("resolved", 0)),
        "in_progress": format_count(figures.get("in_progress", 0)),
        "early_rate": format_percent(rates.get("early_rate")),
        "attached": [path.name for path in attached],
        "omitted": [
            {"name": o.path.name, "size": format_size(o.size), "path": str(o.path.absolute())}
            for o in omitted
        ],
        "limit": format_size(max_attachment_bytes),
        "sender_name": clean_sender.name,
        "summary_of": summary_of,
    }
    subject = clean_header_text(_render(templates_dir, "report_subject.txt", context))
    body = _tidy_body(_render(templates_dir, "report_body.txt", context))
    all_headers = {
        "Message-ID": message_id or make_msgid(domain=clean_sender.domain),
        # RFC 3834: keeps vacation responders from answering an automatic report.
        "Auto-Submitted": "auto-generated",
    }
    all_headers.update({name: clean_header_text(value) for name, value in (headers or {}).items()})
    message = OutgoingMessage(
        sender=clean_sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        text=body,
        attachments=attached,
        headers=all_headers,
    )
    return BuiltMessage(message=message, omitted=omitted)


def _to_operators(
    kind: str,
    context: dict[str, Any],
    operators: Sequence[str],
    sender: Sender,
    *,
    message_id: str | None,
    templates_dir: Path | None,
) -> OutgoingMessage:
    """Build a message to the operators from templates/email/<kind>_subject.txt and _body.txt."""
    clean_sender = Sender(
        name=clean_header_text(sender.name), address=check_address(sender.address)
    )
    context = {**context, "sender_name": clean_sender.name}
    return OutgoingMessage(
        sender=clean_sender,
        to=[check_address(a) for a in operators],
        subject=clean_header_text(_render(templates_dir, f"{kind}_subject.txt", context)),
        text=_tidy_body(_render(templates_dir, f"{kind}_body.txt", context)),
        headers={
            "Message-ID": message_id or make_msgid(domain=clean_sender.domain),
            "Auto-Submitted": "auto-generated",
        },
    )


def build_failure_alert(
    period: Period,
    failures: Mapping[str, str],
    operators: Sequence[str],
    sender: Sender,
    *,
    index_notes: Sequence[str] = (),
    message_id: str | None = None,
    templates_dir: Path | None = None,
) -> OutgoingMessage:
    """Build the operators' alert naming the period and each department that failed, and why.

    `index_notes` are the national index's notes of the same run, told in the same e-mail.
    """
    if not operators:
        raise NoRecipients("no operator address is configured (settings: operators)")
    if not failures:
        raise ValueError("a failure alert needs at least one failure")
    context = {
        "period_label": period.label,
        "period_key": period.key,
        "failures": [
            (clean_header_text(name), clean_header_text(reason))
            for name, reason in sorted(failures.items())
        ],
        "index_notes": [clean_header_text(note) for note in index_notes],
    }
    return _to_operators(
        "failure", context, operators, sender, message_id=message_id, templates_dir=templates_dir
    )


def build_index_notice(
    period: Period,
    notes: Sequence[str],
    operators: Sequence[str],
    sender: Sender,
    *,
    message_id: str | None = None,
    templates_dir: Path | None = None,
) -> OutgoingMessage:
    """Build the operators' notice on the national index: unavailable, or not matching our figures."""
    if not operators:
        raise NoRecipients("no operator address is configured (settings: operators)")
    if not notes:
        raise ValueError("a national index notice needs at least one note")
    context = {
        "period_label": period.label,
        "period_key": period.key,
        "notes": [clean_header_text(note) for note in notes],
    }
    return _to_operators(
        "index", context, operators, sender, message_id=message_id, templates_dir=templates_dir
    )


def build_notice(
    period: Period,
    notices: Sequence[tuple[str, str]],
    operators: Sequence[str],
    sender: Sender,
    *,
    message_id: str | None = None,
    templates_dir: Path | None = None,
) -> OutgoingMessage:
    """Build the operators' notice: the run completed, but these targets need a look."""
    if not operators:
        raise NoRecipients("no operator address is configured (settings: operators)")
    if not notices:
        raise ValueError("a notice needs at least one item")
    context = {
        "period_label": period.label,
        "period_key": period.key,
        "notices": [(clean_header_text(key), clean_header_text(text)) for key, text in notices],
    }
    return _to_operators(
        "notice", context, operators, sender, message_id=message_id, templates_dir=templates_dir
    )
