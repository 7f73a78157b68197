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
import smtplib
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import jinja2
import yagmail
from yagmail.error import YagAddressError, YagInvalidEmailAddress
from yagmail.headers import make_addr_alias_user, resolve_addresses
from yagmail.message import prepare_message
from yagmail.validate import validate_email_with_regex

from tasks.config import EMBEDDED, DepartmentRecipients, SmtpSettings
from tasks.periods import Period

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

RecipientStatus = Literal["delivered", "refused", "deferred", "failed"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ADDRESS = re.compile(r"^[^@\s\"(),:;<>\[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
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
    if not stripped.isascii() or not _ADDRESS.match(stripped):
        raise UnsafeHeaderValue(
            f"e-mail address {address!r} is not a single plain address "
            "(no spaces, line breaks, commas, brackets or non-ASCII characters)"
        )
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


def format_count(value: int) -> str:
    """Return a count the Vietnamese way, with dots between thousands: 1.234."""
    return f"{value:,}".replace(",", ".")


def format_percent(rate: float | None) -> str:
    """Return a rate the Vietnamese way: 0.907 -> "90,7%", 1.0 -> "100%", None -> "không xác định"."""
    if rate is None:
        return "không xác định"
    text = f"{rate * 100:.1f}".removesuffix(".0")
    return text.replace(".", ",") + "%"


def format_size(size: int) -> str:
    """Return a file size for people: "850 KB", "12,5 MB"."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0").replace(".", ",") + " MB"


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
    figures: Mapping[str, int],
    rates: Mapping[str, float | None],
    sender: Sender,
    recipients: DepartmentRecipients,
    attachments: Sequence[Path],
    max_attachment_bytes: int,
    revision: int = 1,
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    templates_dir: Path | None = None,
) -> BuiltMessage:
    """Build a department's report message; only the attachment sizes are read from disk.

    The subject gains "(bản cập nhật)" from revision 2 on. Attachments past the size limit
    are left out and the body says where each of them is.
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


def build_failure_alert(
    period: Period,
    failures: Mapping[str, str],
    operators: Sequence[str],
    sender: Sender,
    *,
    message_id: str | None = None,
    templates_dir: Path | None = None,
) -> OutgoingMessage:
    """Build the operators' alert naming the period and each department that failed, and why."""
    if not operators:
        raise NoRecipients("no operator address is configured (settings: operators)")
    if not failures:
        raise ValueError("a failure alert needs at least one failure")
    clean_sender = Sender(
        name=clean_header_text(sender.name), address=check_address(sender.address)
    )
    context = {
        "period_label": period.label,
        "period_key": period.key,
        "failures": [
            (clean_header_text(name), clean_header_text(reason))
            for name, reason in sorted(failures.items())
        ],
        "sender_name": clean_sender.name,
    }
    return OutgoingMessage(
        sender=clean_sender,
        to=[check_address(a) for a in operators],
        subject=clean_header_text(_render(templates_dir, "failure_subject.txt", context)),
        text=_tidy_body(_render(templates_dir, "failure_body.txt", context)),
        headers={
            "Message-ID": message_id or make_msgid(domain=clean_sender.domain),
            "Auto-Submitted": "auto-generated",
        },
    )


# -- MIME -------------------------------------------------------------------------------------


def _yagmail_client(sender: Sender, **connection: Any) -> yagmail.SMTP:
    # smtp_skip_login: we log in ourselves (see the module docstring); without it yagmail
    # would prompt for a password or ask the keyring when none is given.
    client = yagmail.SMTP(
        user={sender.address: sender.name},
        password=None,
        smtp_skip_login=True,
        soft_email_validation=True,
        **connection,
    )
    client.set_logging(None)  # yagmail's own logger would print to stderr
    return client


def render_mime(message: OutgoingMessage, *, bcc_header: bool = False) -> str:
    """Return the message as RFC 5322 text built by yagmail (LF line endings, ASCII only).

    Bcc addresses appear nowhere unless `bcc_header` (the dry run's "X-Bcc" header).
    Raise UnsafeHeaderValue, NoRecipients or FileNotFoundError on a message that cannot go.
    """
    _check_message(message)
    for path in message.attachments:
        if not path.is_file():
            raise FileNotFoundError(f"attachment {path} does not exist")
    headers = {k: v for k, v in message.headers.items() if k.lower() != "message-id"}
    if not any(k.lower() == "date" for k in headers):
        headers["Date"] = formatdate(localtime=True)
    if bcc_header and message.bcc:
        headers["X-Bcc"] = ", ".join(message.bcc)
    if bcc_header and message.envelope_recipients is not None:
        headers["X-Envelope-To"] = ", ".join(message.envelope())
    try:
        user, alias = make_addr_alias_user({message.sender.address: message.sender.name})
        for address in [user, *message.to, *message.cc]:
            validate_email_with_regex(address)
        # bcc is left out: never in headers; the envelope carries it.
        addresses = resolve_addresses(user, alias, list(message.to), list(message.cc) or None, None)
    except (YagAddressError, YagInvalidEmailAddress) as error:
        raise UnsafeHeaderValue(f"yagmail refused an address: {error}") from error
    # Each line is its own `raw` content: raw keeps yagmail from attaching a line that happens
    # to name an existing file, and one line per content keeps the text part's line breaks
    # (yagmail turns "\n" inside a content into "<br>" in both parts).
    lines = [yagmail.raw(line) for line in message.text.rstrip("\n").split("\n")]
    mime = prepare_message(
        user=user,
        useralias=alias,
        addresses=addresses,
        subject=message.subject,
        contents=lines,
        attachments=[str(path) for path in message.attachments] or None,
        headers=headers,
        encoding="utf-8",
        prettify_html=False,  # premailer is not installed, and the HTML part is plain
        message_id=message.message_id or make_msgid(domain=message.sender.domain),
    )
    # Fold headers at 78 columns, so a long Vietnamese subject becomes several RFC 2047 words
    # of legal length (yagmail's own as_string() does not fold).
    return mime.as_string(maxheaderlen=78)


# -- mailers ----------------------------------------------------------------------------------


def _reply_text(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


def _status_for_code(code: int) -> RecipientStatus:
    return "deferred" if 400 <= code < 500 else "refused"


def _whole(
    message_id: str,
    envelope: Sequence[str],
    error: str,
    *,
    transient: bool,
    code: int | None = None,
) -> SendResult:
    status: RecipientStatus = "deferred" if transient else "failed"
    return SendResult(
        message_id=message_id,
        recipients=[RecipientResult(a, status, code, error) for a in envelope],
        error=error,
        transient=transient,
    )


class YagmailMailer:
    """Send through an SMTP server: yagmail builds the MIME and opens the connection.

    `security` "ssl" connects with TLS (port 465 by default), "starttls" upgrades a plain
    connection (587), "none" stays plain (25) and logs in only when a user is configured.
    Every socket operation has the configured timeout. The password is kept out of reprs,
    logs, exceptions and results.
    """

    def __init__(self, smtp: SmtpSettings, password: str | None) -> None:
        if smtp.host == EMBEDDED:
            raise ValueError(
                'SMTP host "embedded" is not a server: start LoopbackSmtpServer and pass '
                "the settings it returns (server.settings_for(smtp))"
            )
        if smtp.user and not password:
            raise ValueError(
                f"SMTP user {smtp.user!r} is configured but SMTP_PASSWORD is not set in the "
                "environment"
            )
        self._smtp = smtp
        self._password = password
        self.port = smtp.port or DEFAULT_PORTS[smtp.security]
        self._tls: ssl.SSLContext | None = None
        if smtp.security != "none":
            try:
                self._tls = ssl.create_default_context(cafile=smtp.ca_bundle)
            except (OSError, ssl.SSLError) as error:
                raise ValueError(
                    f"SMTP ca_bundle {smtp.ca_bundle!r} cannot be read: {error}"
                ) from error

    def __repr__(self) -> str:
        return f"YagmailMailer({self.server}, security={self._smtp.security}, user={self._smtp.user!r})"

    @property
    def server(self) -> str:
        """Return "host:port" of the SMTP server, as error messages name it."""
        return f"{self._smtp.host}:{self.port}"

    def _connection_options(self) -> dict[str, Any]:
        security = self._smtp.security
        options: dict[str, Any] = {
            "host": self._smtp.host,
            "port": self.port,
            "timeout": self._smtp.timeout_seconds,
        }
        if security == "none":
            options.update(smtp_ssl=False, smtp_starttls=False)
            return options
        if security == "ssl":
            options.update(smtp_ssl=True, smtp_starttls=False, context=self._tls)
        else:
            options.update(smtp_ssl=False, smtp_starttls={"context": self._tls})
        return options

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send `message` once over one connection and report each envelope recipient."""
        envelope = message.envelope()
        message_id = message.message_id
        if not envelope:
            return SendResult(message_id=message_id, recipients=[])
        try:
            text = render_mime(message)
        except (ValueError, OSError) as error:
            return _whole(
                message_id, envelope, f"cannot build the message: {error}", transient=False
            )
        client = _yagmail_client(message.sender, **self._connection_options())
        try:
            return self._transact(client, message, envelope, text)
        finally:
            _close_quietly(client)

    def _timed_out(self, message_id: str, envelope: list[str]) -> SendResult:
        # A timeout after DATA is ambiguous: the server may have accepted the message.
        return _whole(
            message_id,
            envelope,
            f"SMTP server {self.server} did not answer within {self._smtp.timeout_seconds:g} s",
            transient=True,
        )

    def _transact(
        self, client: yagmail.SMTP, message: OutgoingMessage, envelope: list[str], text: str
    ) -> SendResult:
        where = self.server
        message_id = message.message_id
        try:
            client.login()  # connects, and upgrades with STARTTLS when configured
            if self._smtp.user:
                client.smtp.login(self._smtp.user, self._password or "")
            refused = client.smtp.sendmail(message.sender.address, envelope, text)
        except smtplib.SMTPRecipientsRefused as error:
            return SendResult(
                message_id=message_id,
                recipients=[_refusal(a, error.recipients) for a in envelope],
                error=f"SMTP server {where} refused every recipient",
                transient=all(
                    _status_for_code(code) == "deferred" for code, _ in error.recipients.values()
                ),
            )
        except smtplib.SMTPAuthenticationError as error:
            reply = f"{error.smtp_code} {_reply_text(error.smtp_error)}"
            return _whole(
                message_id,
                envelope,
                f"SMTP server {where} refused the login of user {self._smtp.user!r}: {reply}",
                transient=False,
                code=error.smtp_code,
            )
        except smtplib.SMTPResponseException as error:
            # SMTPConnectError (greeting), SMTPSenderRefused (MAIL), SMTPDataError (DATA).
            code = error.smtp_code
            reply = f"{code} {_reply_text(error.smtp_error)}"
            transient = 400 <= code < 500
            return _whole(
                message_id,
                envelope,
                f"SMTP server {where} answered {reply}",
                transient=transient,
                code=code,
            )
        except smtplib.SMTPServerDisconnected as error:
            if isinstance(error.__context__, TimeoutError):  # smtplib wraps a read timeout
                return self._timed_out(message_id, envelope)
            return _whole(
                message_id,
                envelope,
                f"SMTP server {where} closed the connection: {error or 'no reason given'}",
                transient=True,
            )
        except smtplib.SMTPNotSupportedError as error:
            return _whole(
                message_id,
                envelope,
                f"SMTP server {where} does not support: {error}",
                transient=False,
            )
        except ssl.SSLError as error:
            return _whole(
                message_id,
                envelope,
                f"TLS with SMTP server {where} failed: {error}",
                transient=False,
            )
        except TimeoutError:
            return self._timed_out(message_id, envelope)
        except OSError as error:
            return _whole(
                message_id,
                envelope,
                f"cannot connect to SMTP server {where}: {error.strerror or error}",
                transient=True,
            )
        except smtplib.SMTPException as error:
            return _whole(message_id, envelope, f"SMTP server {where}: {error}", transient=False)
        except UnicodeError:
            # smtplib sends AUTH as ASCII; the error text would quote part of the password.
            return _whole(
                message_id,
                envelope,
                f"cannot log in to SMTP server {where}: the user name or password holds "
                "characters other than ASCII, which SMTP AUTH through smtplib cannot send",
                transient=False,
            )
        return SendResult(
            message_id=message_id,
            recipients=[_refusal(a, refused) for a in envelope],
        )


def _refusal(address: str, refused: Mapping[str, tuple[int, bytes]]) -> RecipientResult:
    reply = refused.get(address)
    if reply is None:
        return RecipientResult(address, "delivered", 250, "accepted")
    code, text = reply
    return RecipientResult(address, _status_for_code(code), code, _reply_text(text))


def _close_quietly(client: yagmail.SMTP) -> None:
    # The connection may already be broken (timeout, 421); closing must not mask the result.
    connection = client.smtp
    client.is_closed = True
    if connection is None:
        return
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_message_file_name(index: int, message_id: str) -> str:
    """Return "0001-<sanitized message id>.eml" for the index-th message written to a folder."""
    stem = _UNSAFE_FILE_CHARS.sub("_", message_id.strip("<>"))[:80].strip("_.") or "message"
    return f"{index:04d}-{stem}.eml"


class EmlDirectoryMailer:
    """The dry run: write each message into `folder` as an .eml file and send nothing.

    The file is exactly what YagmailMailer would send, plus an "X-Bcc" header naming the blind
    copies (so a reviewer sees them) and "X-Envelope-To" when only some recipients would get it.
    Safe to share between threads.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        """Write `message` to the next .eml file and report every recipient as delivered."""
        envelope = message.envelope()
        try:
            text = render_mime(message, bcc_header=True)
        except (ValueError, OSError) as error:
            return _whole(
                message.message_id, envelope, f"cannot build the message: {error}", transient=False
            )
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            index = len(list(self.folder.glob("*.eml"))) + 1
            path = self.folder / safe_message_file_name(index, message.message_id)
            path.write_text(text, encoding="ascii", newline="\n")
            self.written.append(path)
        return SendResult(
            message_id=message.message_id,
            recipients=[
                RecipientResult(a, "delivered", None, f"written to {path}") for a in envelope
            ],
            stored_as=path,
        )
