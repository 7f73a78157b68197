"""Senders of an OutgoingMessage: through an SMTP server (yagmail), or into .eml files."""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yagmail
from yagmail.error import YagAddressError, YagInvalidEmailAddress
from yagmail.headers import make_addr_alias_user, resolve_addresses
from yagmail.message import prepare_message
from yagmail.validate import validate_email_with_regex

from tasks.delivery.messages import (
    DEFAULT_PORTS,
    OutgoingMessage,
    RecipientResult,
    RecipientStatus,
    Sender,
    SendResult,
    UnsafeHeaderValue,
    _check_message,
)
from tasks.settings.deadline import Watchdog
from tasks.settings.models import EMBEDDED, SmtpSettings

# -- MIME -------------------------------------------------------------------------------------


# The e-mail's Date header is in the province's time (settings.timezone sets it per run).
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class _WatchedSmtp(yagmail.SMTP):
    """yagmail's client whose connections hand their sockets to `watched` (the deadline's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.watched: list[socket.socket] = []
        super().__init__(*args, **kwargs)

    @property
    def connection(self) -> type[smtplib.SMTP]:
        """Return the smtplib class to connect with, registering each socket it opens."""
        watched = self.watched
        base: type[smtplib.SMTP] = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP

        class Watched(base):  # type: ignore[valid-type,misc]
            def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
                sock: socket.socket = super()._get_socket(host, port, timeout)
                watched.append(sock)
                return sock

        return Watched

    def abort(self) -> None:
        """Shut the session's sockets down, so that a blocked read fails at once."""
        current = getattr(self.smtp, "sock", None)
        for sock in [*self.watched, *([current] if current is not None else [])]:
            with contextlib.suppress(OSError):  # closed already, or wrapped by TLS
                sock.shutdown(socket.SHUT_RDWR)


def _yagmail_client(sender: Sender, **connection: Any) -> _WatchedSmtp:
    # smtp_skip_login: we log in ourselves (see the module docstring); without it yagmail
    # would prompt for a password or ask the keyring when none is given.
    client = _WatchedSmtp(
        user={sender.address: sender.name},
        password=None,
        smtp_skip_login=True,
        soft_email_validation=True,
        **connection,
    )
    client.set_logging(None)  # yagmail's own logger would print to stderr
    return client


def render_mime(
    message: OutgoingMessage, *, bcc_header: bool = False, timezone: str = DEFAULT_TIMEZONE
) -> str:
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
        # The province's time (settings.timezone), whatever the server's clock is set to.
        headers["Date"] = format_datetime(datetime.now(ZoneInfo(timezone)))
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

    def __init__(
        self, smtp: SmtpSettings, password: str | None, *, timezone: str = DEFAULT_TIMEZONE
    ) -> None:
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
        self._timezone = timezone
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
            text = render_mime(message, timezone=self._timezone)
        except (ValueError, OSError) as error:
            return _whole(
                message_id, envelope, f"cannot build the message: {error}", transient=False
            )
        client = _yagmail_client(message.sender, **self._connection_options())
        deadline = self._smtp.deadline_seconds
        with Watchdog(deadline, client.abort) as watchdog:
            try:
                result = self._transact(client, message, envelope, text)
            finally:
                _close_quietly(client)
        if watchdog.expired and result.error:
            # The watchdog cut the session: say so, not the broken connection it left.
            pending = [r.address for r in result.recipients if r.status != "delivered"]
            late = _whole(
                message_id,
                pending,
                f"SMTP session with {self.server} did not end within {deadline:g} s "
                "(smtp.deadline_seconds)",
                transient=True,
            )
            done = [r for r in result.recipients if r.status == "delivered"]
            return SendResult(
                message_id=message_id,
                recipients=[*done, *late.recipients],
                error=late.error,
                transient=True,
            )
        return result

    def _timed_out(self, message_id: str, envelope: list[str]) -> SendResult:
        # A timeout after DATA is ambiguous: the server may have accepted the message.
        return _whole(
            message_id,
            envelope,
            f"SMTP server {self.server} did not answer within {self._smtp.timeout_seconds:g} s",
            transient=True,
        )

    def _transact(
        self, client: _WatchedSmtp, message: OutgoingMessage, envelope: list[str], text: str
    ) -> SendResult:
        size = self._smtp.max_recipients_per_message
        batches = [envelope[i : i + size] for i in range(0, len(envelope), size)]
        answers: list[RecipientResult] = []
        errors: list[str] = []
        try:
            client.login()  # connects, and upgrades with STARTTLS when configured
            if self._smtp.user:
                client.smtp.login(self._smtp.user, self._password or "")
        except Exception as error:
            return self._failure(error, message.message_id, envelope)
        for number, batch in enumerate(batches):
            # One transaction per batch in the same session: a server's recipient limit
            # (452 past 100) then defers nobody.
            try:
                refused = client.smtp.sendmail(message.sender.address, batch, text)
            except smtplib.SMTPRecipientsRefused as error:
                answers += [_refusal(a, error.recipients) for a in batch]
                errors.append(f"SMTP server {self.server} refused every recipient")
                continue
            except Exception as error:
                rest = [a for later in batches[number:] for a in later]
                failure = self._failure(error, message.message_id, rest)
                return SendResult(
                    message_id=message.message_id,
                    recipients=[*answers, *failure.recipients],
                    error=failure.error,
                    transient=failure.transient,
                )
            answers += [_refusal(a, refused) for a in batch]
        return SendResult(
            message_id=message.message_id,
            recipients=answers,
            error="; ".join(dict.fromkeys(errors)) or None,
            transient=bool(errors)
            and all(r.status == "deferred" for r in answers if r.status != "delivered"),
        )

    def _failure(self, failure: Exception, message_id: str, envelope: list[str]) -> SendResult:
        """Map an exception of the session to the result of every recipient in `envelope`."""
        where = self.server
        try:
            raise failure
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


def unique_message_path(folder: Path, message_id: str, written_at: datetime) -> Path:
    """Return a new file for a message in `folder`: "<time>-<message id>.eml", never reused.

    The time (to the microsecond) leads, so the files sort in the order they were written
    across runs and processes, and a second run never writes another "0001-…" beside the
    first's; a suffix settles the rare tie.
    """
    stamp = written_at.strftime("%Y%m%d-%H%M%S-%f")
    stem = safe_message_file_name(0, message_id)[len("0000-") : -len(".eml")]
    path = folder / f"{stamp}-{stem}.eml"
    suffix = 1
    while path.exists():
        suffix += 1
        path = folder / f"{stamp}-{stem}-{suffix}.eml"
    return path


class EmlDirectoryMailer:
    """The dry run: write each message into `folder` as an .eml file and send nothing.

    The file is exactly what YagmailMailer would send, plus an "X-Bcc" header naming the blind
    copies (so a reviewer sees them) and "X-Envelope-To" when only some recipients would get it.
    Safe to share between threads.
    """

    def __init__(self, folder: Path, *, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.folder = folder
        self._timezone = timezone
        self.written: list[Path] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        """Write `message` to the next .eml file and report every recipient as delivered."""
        envelope = message.envelope()
        try:
            text = render_mime(message, bcc_header=True, timezone=self._timezone)
        except (ValueError, OSError) as error:
            return _whole(
                message.message_id, envelope, f"cannot build the message: {error}", transient=False
            )
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = unique_message_path(self.folder, message.message_id, datetime.now())
            path.write_text(text, encoding="ascii", newline="\n")
            self.written.append(path)
        return SendResult(
            message_id=message.message_id,
            recipients=[
                RecipientResult(a, "delivered", None, f"written to {path}") for a in envelope
            ],
            stored_as=path,
        )
