"""A loopback SMTP server (aiosmtpd) for the demo and the tests, with fault injection.

It stores every message it accepts as an .eml file and keeps what it received in memory.
Faults are switched on per test: the server can be down (connections refused), slow, answer
421 or 451 for the next messages, refuse chosen addresses at RCPT, or hold new transactions
at MAIL FROM until the test admits them (to stop a sender at a known point).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tasks.delivery.mailers import unique_message_path
from tasks.settings.models import SmtpSettings


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: the envelope, the parsed message and where it was stored."""

    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage
    path: Path

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def attachments(self) -> dict[str, bytes]:
        """Return the attachments by their decoded file name."""
        found: dict[str, bytes] = {}
        for part in self.message.walk():
            name = part.get_filename()
            if name:
                payload = part.get_payload(decode=True)
                found[name] = payload if isinstance(payload, bytes) else b""
        return found

    def text(self) -> str:
        """Return the plain-text body."""
        body = self.message.get_body(preferencelist=("plain",))
        return "" if body is None else str(body.get_content())


class _PortZeroController(Controller):
    """A Controller that may bind port 0 and learns the port the system chose."""

    def _trigger_server(self) -> None:
        server = self.server
        if self.port == 0 and isinstance(server, asyncio.Server):
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Handler:
    """The aiosmtpd handler: applies the faults, then stores the message."""

    def __init__(self, owner: LoopbackSmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        await self.owner._pass_gate()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.owner.refused_addresses.get(address.lower())
        if refusal is not None:
            return f"{refusal[0]} {refusal[1]}"
        limit = self.owner.max_recipients
        if limit is not None and len(envelope.rcpt_tos) >= limit:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        if owner.slow_seconds > 0:
            await asyncio.sleep(owner.slow_seconds)
        fault = owner._take_fault()
        if fault is not None:
            return fault
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        stored = owner._store(str(envelope.mail_from), list(envelope.rcpt_tos), data)
        if owner.on_stored is not None:
            owner.on_stored(stored)
        return "250 Message accepted for delivery"


class LoopbackSmtpServer:
    """An SMTP server on a loopback port (a thread) that stores messages under `mail_dir`.

    Use as a context manager. `port=0` picks a free port; `.port` tells which. With
    `credentials` the server requires AUTH (PLAIN/LOGIN, allowed without TLS on loopback).
    `security` "starttls" or "ssl" needs `tls_cert` = (certificate file, key file).
    """

    def __init__(
        self,
        mail_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: tuple[str, str] | None = None,
        security: Literal["none", "starttls", "ssl"] = "none",
        tls_cert: tuple[Path, Path] | None = None,
    ) -> None:
        self.mail_dir = mail_dir
        self.host = host
        self.port = port
        self.received: list[ReceivedMessage] = []
        self.slow_seconds = 0.0
        self.refused_addresses: dict[str, tuple[int, str]] = {}
        # Recipients one transaction takes before "452 too many recipients" (None: no limit),
        # as many servers limit them (RFC 5321 asks at least 100).
        self.max_recipients: int | None = None
        # Called with each message once stored, before the "250" goes back: the moment a
        # test may kill the sender at, the worst one for exactly-once delivery.
        self.on_stored: Callable[[ReceivedMessage], None] | None = None
        self._faults: list[str] = []
        self._gate: int | None = None  # transactions still admitted while holding; None: open
        self.waiting = 0  # transactions held at MAIL FROM now
        self._credentials = credentials
        self._security = security
        self._tls_context: ssl.SSLContext | None = None
        if security != "none":
            if tls_cert is None:
                raise ValueError(f"security {security!r} needs tls_cert=(certificate, key)")
            self._tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls_context.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
        self._lock = threading.Lock()
        self._counter = 0
        self._controller: _PortZeroController | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start listening (again, on the same port after a restart)."""
        if self._controller is not None:
            return
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {}
        if self._credentials is not None:
            options.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        if self._security == "starttls":
            options.update(tls_context=self._tls_context, require_starttls=True)
        controller = _PortZeroController(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=self._tls_context if self._security == "ssl" else None,
            ready_timeout=10.0,
            **options,
        )
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        """Stop listening; connections are refused until start()."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> LoopbackSmtpServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def down(self) -> bool:
        """Tell whether the server refuses connections; set it to take the server down or up."""
        return self._controller is None

    @down.setter
    def down(self, value: bool) -> None:
        if value:
            self.stop()
        else:
            self.start()

    @property
    def address(self) -> str:
        """Return "host:port"."""
        return f"{self.host}:{self.port}"

    def settings_for(self, smtp: SmtpSettings) -> SmtpSettings:
        """Return `smtp` pointed at this server (host, port; plain, no login unless configured)."""
        update: dict[str, Any] = {"host": self.host, "port": self.port, "security": self._security}
        if self._credentials is None:
            update["user"] = None
        return smtp.model_copy(update=update)

    # -- faults ---------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, code: int = 451, text: str = "Try again later") -> None:
        """Answer the next `count` messages with `code` (421 or 451: transient) at end of DATA."""
        with self._lock:
            self._faults.extend([f"{code} {text}"] * count)

    def refuse(self, address: str, code: int = 550, text: str = "No such user here") -> None:
        """Refuse `address` at RCPT with `code` until allow() is called."""
        self.refused_addresses[address.lower()] = (code, text)

    def allow(self, address: str) -> None:
        """Stop refusing `address`."""
        self.refused_addresses.pop(address.lower(), None)

    def hold(self) -> None:
        """Hold every new transaction at MAIL FROM, unanswered, until admit() or release()."""
        with self._lock:
            self._gate = 0

    def admit(self, count: int = 1) -> None:
        """Let `count` more held or future transactions through while holding."""
        with self._lock:
            if self._gate is not None:
                self._gate += count

    def release(self) -> None:
        """Stop holding: every waiting and future transaction goes on."""
        with self._lock:
            self._gate = None

    async def _pass_gate(self) -> None:
        counted = False
        try:
            while True:
                with self._lock:
                    if self._gate is None:
                        return
                    if self._gate > 0:
                        self._gate -= 1
                        return
                    if not counted:
                        self.waiting += 1
                        counted = True
                await asyncio.sleep(0.01)
        finally:
            if counted:
                with self._lock:
                    self.waiting -= 1

    def clear_faults(self) -> None:
        """Forget every fault: no slowness, no pending replies, no refused address, no hold."""
        with self._lock:
            self._faults.clear()
            self._gate = None
        self.slow_seconds = 0.0
        self.refused_addresses.clear()
        self.max_recipients = None
        self.on_stored = None

    def _take_fault(self) -> str | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # -- storage --------------------------------------------------------------------------------

    def _store(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> ReceivedMessage:
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        message_id = str(parsed.get("Message-ID", "") or "").strip()
        with self._lock:
            self._counter += 1
            # Named by the time received: a server started again on the same folder (every
            # demo run) never writes a second "0001-…" beside the first one's.
            path = unique_message_path(self.mail_dir, message_id, datetime.now())
            path.write_bytes(data)
            stored = ReceivedMessage(
                envelope_from=mail_from, envelope_to=rcpt_tos, message=parsed, path=path
            )
            self.received.append(stored)
        return stored

    def messages_to(self, address: str) -> list[ReceivedMessage]:
        """Return the messages whose envelope included `address`."""
        wanted = address.lower()
        return [m for m in self.received if wanted in (a.lower() for a in m.envelope_to)]

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self._credentials is not None
        if isinstance(auth_data, LoginPassword):
            user, password = self._credentials
            if auth_data.login == user.encode() and auth_data.password == password.encode():
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)
