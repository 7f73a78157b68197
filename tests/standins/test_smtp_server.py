"""The loopback SMTP server: it stores what it receives and injects the faults tests ask for."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from standins.smtp_server import LoopbackSmtpServer
from tasks.settings.models import SmtpSettings

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def message(subject: str = "Chào", message_id: str = "<1.2@demo.gov.vn>") -> EmailMessage:
    built = EmailMessage()
    built["From"] = "a@demo.gov.vn"
    built["To"] = "b@demo.gov.vn"
    built["Subject"] = subject
    built["Message-ID"] = message_id
    built.set_content("xin chào")
    return built


def send(server: LoopbackSmtpServer, to: list[str], built: EmailMessage | None = None) -> dict:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        return client.send_message(built or message(), "a@demo.gov.vn", to)


def test_stores_each_message_as_an_eml_file(smtp_server: LoopbackSmtpServer) -> None:
    send(smtp_server, ["b@demo.gov.vn", "c@demo.gov.vn"])
    send(smtp_server, ["b@demo.gov.vn"], message("Lần hai", "<a+b=c@demo.gov.vn>"))

    first, second = smtp_server.received
    assert first.envelope_from == "a@demo.gov.vn"
    assert first.envelope_to == ["b@demo.gov.vn", "c@demo.gov.vn"]
    assert first.subject == "Chào"
    assert first.text().strip() == "xin chào"
    assert first.path.name.endswith("-1.2_demo.gov.vn.eml")
    assert second.path.name.endswith("-a_b_c_demo.gov.vn.eml")
    assert sorted(p.name for p in smtp_server.mail_dir.iterdir()) == [
        first.path.name,
        second.path.name,
    ]
    assert len(smtp_server.messages_to("C@demo.gov.vn")) == 1


def test_a_server_started_again_on_the_same_folder_keeps_every_file(tmp_path: Path) -> None:
    # Every demo run starts a new server on out/mail: its files must not restart at 0001.
    folder = tmp_path / "mail"
    for _ in range(2):
        with LoopbackSmtpServer(folder) as server:
            send(server, ["b@demo.gov.vn"])

    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2
    assert not any(name.startswith("0001-") for name in names)


def test_down_refuses_connections_and_comes_back_on_the_same_port(
    smtp_server: LoopbackSmtpServer,
) -> None:
    port = smtp_server.port
    smtp_server.down = True
    with pytest.raises(ConnectionRefusedError):
        send(smtp_server, ["b@demo.gov.vn"])
    smtp_server.down = False
    assert smtp_server.port == port
    send(smtp_server, ["b@demo.gov.vn"])
    assert len(smtp_server.received) == 1


def test_fail_next_answers_the_next_messages_then_accepts(smtp_server: LoopbackSmtpServer) -> None:
    smtp_server.fail_next(2, 451)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(smtp_server, ["b@demo.gov.vn"])
        assert caught.value.smtp_code == 451
    send(smtp_server, ["b@demo.gov.vn"])
    assert len(smtp_server.received) == 1


def test_refuse_one_address_at_rcpt(smtp_server: LoopbackSmtpServer) -> None:
    smtp_server.refuse("C@demo.gov.vn")
    refused = send(smtp_server, ["b@demo.gov.vn", "c@demo.gov.vn"])
    assert refused == {"c@demo.gov.vn": (550, b"No such user here")}
    assert smtp_server.received[0].envelope_to == ["b@demo.gov.vn"]
    smtp_server.clear_faults()
    assert send(smtp_server, ["c@demo.gov.vn"]) == {}


def test_credentials_are_required(tmp_path: Path) -> None:
    with LoopbackSmtpServer(tmp_path, credentials=("user", "pw")) as server:
        with pytest.raises(smtplib.SMTPSenderRefused):
            send(server, ["b@demo.gov.vn"])
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.login("user", "pw")
            client.send_message(message(), "a@demo.gov.vn", ["b@demo.gov.vn"])
        assert len(server.received) == 1


def test_settings_for_points_at_the_server(smtp_server: LoopbackSmtpServer) -> None:
    smtp = smtp_server.settings_for(SmtpSettings(user="someone", security="starttls"))
    assert (smtp.host, smtp.port, smtp.security, smtp.user) == (
        "127.0.0.1",
        smtp_server.port,
        "none",
        None,
    )
