"""Messages built as data, rendered by yagmail, sent to a real loopback SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from standins.smtp_server import LoopbackSmtpServer
from tasks.delivery.mailers import EmlDirectoryMailer, YagmailMailer, render_mime
from tasks.delivery.messages import (
    NoRecipients,
    OutgoingMessage,
    Sender,
    UnsafeHeaderValue,
    build_failure_alert,
    build_index_notice,
    build_report_message,
    check_address,
    clean_header_text,
    select_attachments,
)
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentRecipients, SmtpSettings

# The loopback server requires AUTH without TLS on purpose; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

MAY = Period.month(2024, 5)
SENDER = Sender("Báo cáo TTHC", "bao-cao-tthc@demo.gov.vn")
SKHCN = "Sở Khoa học và Công nghệ"
FIGURES = {"received_total": 63, "resolved": 54, "in_progress": 5}
RATES: dict[str, float | None] = {"early_rate": 49 / 54}
RECIPIENTS = DepartmentRecipients(
    to=["vanthu@skhcn.demo.gov.vn"],
    cc=["ttpvhcc@demo.gov.vn"],
    bcc=["luu-tru@demo.gov.vn"],
)
DOCX = "Báo cáo TTHC 2024-05 SKHCN.docx"
XLSX = "Biểu mẫu số liệu 2024-05 SKHCN.xlsx"
PASSWORD = "s3cret-P4ss!word"


@pytest.fixture
def documents(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "reports" / "2024-05"
    folder.mkdir(parents=True)
    docx = folder / DOCX
    xlsx = folder / XLSX
    docx.write_bytes(bytes(range(256)) * 40)
    xlsx.write_bytes(b"PK\x03\x04 xlsx \r\n\x00 bytes")
    return [docx, xlsx]


def build(attachments: list[Path], **overrides: object) -> OutgoingMessage:
    options: dict[str, object] = {
        "period": MAY,
        "department_name": SKHCN,
        "figures": FIGURES,
        "rates": RATES,
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "attachments": attachments,
        "max_attachment_bytes": 10 * 1024 * 1024,
    }
    options.update(overrides)
    return build_report_message(**options).message  # type: ignore[arg-type]


def parse(text: str) -> EmailMessage:
    parsed = email.message_from_string(text, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def attachments_of(message: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in message.walk():
        name = part.get_filename()
        if name:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[name] = payload
    return found


def settings(server: LoopbackSmtpServer, **update: object) -> SmtpSettings:
    return server.settings_for(SmtpSettings(timeout_seconds=5)).model_copy(update=update)


# -- building --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "subject"),
    [
        (
            1,
            "Báo cáo kết quả tiếp nhận, giải quyết TTHC tháng 5/2024 - Sở Khoa học và Công nghệ",
        ),
        (
            2,
            "Báo cáo kết quả tiếp nhận, giải quyết TTHC tháng 5/2024 - Sở Khoa học và Công nghệ"
            " (bản cập nhật)",
        ),
    ],
)
def test_subject_names_period_department_and_update(
    documents: list[Path], revision: int, subject: str
) -> None:
    assert build(documents, revision=revision).subject == subject


def test_body_names_the_headline_figures_and_signs_off(documents: list[Path]) -> None:
    body = build(documents).text
    assert "tháng 5/2024 của Sở Khoa học và Công nghệ" in body
    assert "Tổng số hồ sơ tiếp nhận: 63 hồ sơ" in body
    assert "Đã giải quyết: 54 hồ sơ, tỷ lệ giải quyết trước hạn: 90,7%" in body
    assert "Đang giải quyết: 05 hồ sơ" in body  # written as the report writes it
    assert f"- {DOCX}" in body
    assert body.rstrip().endswith("Trân trọng,\nBáo cáo TTHC")
    assert "bản cập nhật" not in body
    assert "bản cập nhật (lần 2)" in build(documents, revision=2).text


def test_message_id_uses_the_sender_domain(documents: list[Path]) -> None:
    message = build(documents)
    assert message.message_id.startswith("<")
    assert message.message_id.endswith("@demo.gov.vn>")
    assert build(documents).message_id != message.message_id


@pytest.mark.parametrize(
    ("sizes", "limit", "attached", "omitted"),
    [
        ([60, 30, 80], 100, ["f0", "f1"], ["f2"]),
        ([120, 30], 100, ["f1"], ["f0"]),
        ([50, 50], 100, ["f0", "f1"], []),
        ([], 100, [], []),
    ],
)
def test_select_attachments(
    sizes: list[int], limit: int, attached: list[str], omitted: list[str]
) -> None:
    files = [(Path(f"f{i}"), size) for i, size in enumerate(sizes)]
    kept, left = select_attachments(files, limit)
    assert [p.name for p in kept] == attached
    assert [o.path.name for o in left] == omitted


def test_oversize_attachments_are_left_out_and_located(documents: list[Path]) -> None:
    docx, xlsx = documents
    built = build_report_message(
        period=MAY,
        department_name=SKHCN,
        figures=FIGURES,
        rates=RATES,
        sender=SENDER,
        recipients=RECIPIENTS,
        attachments=documents,
        max_attachment_bytes=100,  # the xlsx fits, the docx does not
    )
    assert built.message.attachments == [xlsx]
    assert [o.path for o in built.omitted] == [docx]
    assert built.omitted[0].size == docx.stat().st_size
    assert str(docx.absolute()) in built.message.text
    assert "vượt quá dung lượng cho phép" in built.message.text
    rendered = parse(render_mime(built.message))
    assert list(attachments_of(rendered)) == [XLSX]


def test_missing_attachment_is_named(tmp_path: Path) -> None:
    missing = tmp_path / DOCX
    with pytest.raises(FileNotFoundError, match=r"Báo cáo TTHC 2024-05 SKHCN\.docx"):
        build([missing])


def test_no_to_recipient_is_an_error(documents: list[Path]) -> None:
    with pytest.raises(NoRecipients, match="Sở Khoa học"):
        build(documents, recipients=DepartmentRecipients(cc=["a@demo.gov.vn"]))


# -- header safety ---------------------------------------------------------------------------


def test_line_breaks_in_names_are_stripped_from_headers(documents: list[Path]) -> None:
    message = build(
        documents,
        department_name="Sở Khoa học\r\nBcc: attacker@evil.example",
        sender=Sender("Báo cáo\nTTHC", SENDER.address),
    )
    assert "\r" not in message.subject and "\n" not in message.subject
    assert message.subject.endswith("Sở Khoa học Bcc: attacker@evil.example")
    assert message.sender.name == "Báo cáo TTHC"
    rendered = parse(render_mime(message))
    assert rendered["Bcc"] is None
    assert "attacker@evil.example" not in str(rendered["To"]) + str(rendered["Cc"])


@pytest.mark.parametrize(
    "address",
    [
        "a@demo.gov.vn\r\nBcc: attacker@evil.example",
        "a@demo.gov.vn\nb@demo.gov.vn",
        "a@demo.gov.vn, b@demo.gov.vn",
        "Tên <a@demo.gov.vn>",
        "người@demo.gov.vn",
        "no-at-sign",
    ],
)
def test_unsafe_addresses_are_refused(documents: list[Path], address: str) -> None:
    with pytest.raises(UnsafeHeaderValue):
        build(documents, recipients=DepartmentRecipients(to=[address]))


def test_render_refuses_a_line_break_built_elsewhere(documents: list[Path]) -> None:
    message = build(documents)
    message.subject = "Báo cáo\r\nBcc: attacker@evil.example"
    with pytest.raises(UnsafeHeaderValue, match="line break"):
        render_mime(message)
    message = build(documents)
    message.headers["X-Note"] = "a\nb"
    with pytest.raises(UnsafeHeaderValue, match="X-Note"):
        render_mime(message)


def test_clean_header_text_and_check_address() -> None:
    assert clean_header_text(" a\r\n\tb \x00c ") == "a b c"
    assert check_address(" a.b-c@so-khcn.demo.gov.vn ") == "a.b-c@so-khcn.demo.gov.vn"
    assert check_address("a@demo.gov.vn\r\n") == "a@demo.gov.vn"  # surrounding space is stripped


# -- rendering -------------------------------------------------------------------------------


def test_rendered_message_keeps_names_contents_and_hides_bcc(documents: list[Path]) -> None:
    message = build(documents)
    text = render_mime(message)
    assert text.isascii()
    rendered = parse(text)

    assert rendered["Subject"] == message.subject
    assert rendered["To"] == "vanthu@skhcn.demo.gov.vn"
    assert rendered["Cc"] == "ttpvhcc@demo.gov.vn"
    assert rendered["Bcc"] is None
    assert "luu-tru@demo.gov.vn" not in text
    assert rendered["Message-ID"] == message.message_id
    assert rendered["From"].addresses[0].display_name == "Báo cáo TTHC"
    assert rendered["Auto-Submitted"] == "auto-generated"
    assert rendered["Date"] is not None
    assert attachments_of(rendered) == {p.name: p.read_bytes() for p in documents}
    body = rendered.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().rstrip() == message.text.rstrip()
    # RFC 5322 header lines stay short: the long subject is folded into several words.
    header_block = text.split("\n\n", 1)[0]
    assert max(len(line) for line in header_block.splitlines()) <= 78


def test_a_body_line_naming_a_file_is_not_attached(documents: list[Path]) -> None:
    message = build(documents)
    message.attachments = []
    message.text = f"{documents[0]}\nxin chào\n"
    rendered = parse(render_mime(message))
    assert attachments_of(rendered) == {}


def test_failure_alert_names_period_departments_and_reasons() -> None:
    alert = build_failure_alert(
        MAY,
        {
            "Sở Nội vụ": "cannot connect to SMTP server mail.demo.gov.vn:587",
            SKHCN: "550 No such user",
        },
        ["van-hanh@demo.gov.vn"],
        SENDER,
    )
    assert alert.to == ["van-hanh@demo.gov.vn"]
    assert "tháng 5/2024" in alert.subject and "2 đơn vị" in alert.subject
    assert "- Sở Nội vụ: cannot connect to SMTP server mail.demo.gov.vn:587" in alert.text
    assert f"- {SKHCN}: 550 No such user" in alert.text
    assert alert.message_id.endswith("@demo.gov.vn>")
    with pytest.raises(NoRecipients, match="operators"):
        build_failure_alert(MAY, {"x": "y"}, [], SENDER)
    assert "Bộ chỉ số 766" not in alert.text


def test_failure_alert_carries_the_national_index_notes_of_the_same_run() -> None:
    alert = build_failure_alert(
        MAY,
        {"STP": "StorageError: cannot open the run database"},
        ["van-hanh@demo.gov.vn"],
        SENDER,
        index_notes=["Bộ chỉ số 766 kỳ 2024-05 chưa lấy được: HTTP 503"],
    )

    assert "Đối chiếu với Bộ chỉ số 766 trên Cổng Dịch vụ công quốc gia" in alert.text
    assert "- Bộ chỉ số 766 kỳ 2024-05 chưa lấy được: HTTP 503" in alert.text


def test_index_notice_lists_each_note_for_the_operators() -> None:
    notes = [
        "Bộ chỉ số 766 kỳ 2024-05: nhóm MDHL không lấy được (HTTP 503 after 6 attempt(s))",
        "SKHCN (H99.15): Bộ chỉ số 766 57/57/0, hệ thống 54/54/0",
    ]
    notice = build_index_notice(MAY, notes, ["van-hanh@demo.gov.vn"], SENDER)

    assert notice.to == ["van-hanh@demo.gov.vn"]
    assert notice.subject == "[Lưu ý] Bộ chỉ số 766 tháng 5/2024: 2 điểm cần kiểm tra"
    for note in notes:
        assert f"- {note}" in notice.text
    assert "không đưa vào báo cáo ký ban hành" in notice.text
    with pytest.raises(NoRecipients, match="operators"):
        build_index_notice(MAY, notes, [], SENDER)
    with pytest.raises(ValueError, match="at least one note"):
        build_index_notice(MAY, [], ["van-hanh@demo.gov.vn"], SENDER)


# -- the dry-run mailer -----------------------------------------------------------------------


def test_a_second_run_into_the_same_folder_never_reuses_a_file_name(
    documents: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    message = build(documents)
    first = EmlDirectoryMailer(folder)
    first.send(message)
    second = EmlDirectoryMailer(folder)  # the next run: a new mailer on the same folder
    second.send(message)

    names = sorted(path.name for path in folder.glob("*.eml"))
    assert len(names) == 2
    assert names == [first.written[0].name, second.written[0].name]
    assert not any(name.startswith("0001-") for name in names)


def test_the_date_header_is_in_the_provinces_time(documents: list[Path], tmp_path: Path) -> None:
    mailer = EmlDirectoryMailer(tmp_path / "outbox", timezone="Asia/Ho_Chi_Minh")
    mailer.send(build(documents))

    date = parse(mailer.written[0].read_text(encoding="ascii"))["Date"]
    assert str(date).endswith("+0700"), date


def test_eml_directory_mailer_writes_files_and_names_bcc(
    documents: list[Path], tmp_path: Path
) -> None:
    mailer = EmlDirectoryMailer(tmp_path / "outbox")
    message = build(documents)
    result = mailer.send(message)
    second = mailer.send(message.for_recipients(["ttpvhcc@demo.gov.vn"]))

    assert result.delivered == message.recipients()
    assert second.delivered == ["ttpvhcc@demo.gov.vn"]
    assert len(set(mailer.written)) == 2
    assert sorted(mailer.written) == mailer.written  # the names sort in the order written
    first = parse(mailer.written[0].read_text(encoding="ascii"))
    assert first["X-Bcc"] == "luu-tru@demo.gov.vn"
    assert first["Bcc"] is None
    assert first["X-Envelope-To"] is None
    assert parse(mailer.written[1].read_text(encoding="ascii"))["X-Envelope-To"] == (
        "ttpvhcc@demo.gov.vn"
    )
    assert attachments_of(first) == {p.name: p.read_bytes() for p in documents}


# -- sending through the loopback server ------------------------------------------------------


def test_yagmail_mailer_delivers_to_to_cc_and_bcc(
    smtp_server: LoopbackSmtpServer, documents: list[Path]
) -> None:
    message = build(documents)
    result = YagmailMailer(settings(smtp_server), None).send(message)

    assert result.error is None
    assert result.delivered == [
        "vanthu@skhcn.demo.gov.vn",
        "ttpvhcc@demo.gov.vn",
        "luu-tru@demo.gov.vn",
    ]
    [received] = smtp_server.received
    assert received.envelope_from == SENDER.address
    assert received.envelope_to == result.delivered
    assert received.subject == message.subject
    assert received.message["Bcc"] is None
    assert received.attachments() == {
        DOCX: documents[0].read_bytes(),
        XLSX: documents[1].read_bytes(),
    }
    assert received.path.is_file()


def test_a_refused_recipient_does_not_stop_the_others(
    smtp_server: LoopbackSmtpServer, documents: list[Path]
) -> None:
    smtp_server.refuse("ttpvhcc@demo.gov.vn")
    result = YagmailMailer(settings(smtp_server), None).send(build(documents))

    assert result.refused == ["ttpvhcc@demo.gov.vn"]
    refused = next(r for r in result.recipients if r.status == "refused")
    assert (refused.code, refused.text) == (550, "No such user here")
    assert result.delivered == ["vanthu@skhcn.demo.gov.vn", "luu-tru@demo.gov.vn"]
    assert smtp_server.received[0].envelope_to == result.delivered


def test_every_recipient_refused(smtp_server: LoopbackSmtpServer, documents: list[Path]) -> None:
    for address in RECIPIENTS.to + RECIPIENTS.cc + RECIPIENTS.bcc:
        smtp_server.refuse(address)
    result = YagmailMailer(settings(smtp_server), None).send(build(documents))
    assert len(result.refused) == 3
    assert not result.transient
    assert smtp_server.received == []


@pytest.mark.parametrize("code", [421, 451])
def test_a_4xx_reply_is_transient(
    smtp_server: LoopbackSmtpServer, documents: list[Path], code: int
) -> None:
    smtp_server.fail_next(1, code)
    mailer = YagmailMailer(settings(smtp_server), None)
    message = build(documents)

    first = mailer.send(message)
    assert first.transient
    assert len(first.deferred) == 3
    assert first.error is not None and f"{code} Try again later" in first.error
    assert smtp_server.received == []
    assert mailer.send(message).delivered == message.recipients()


def test_a_5xx_reply_at_data_is_final(
    smtp_server: LoopbackSmtpServer, documents: list[Path]
) -> None:
    smtp_server.fail_next(1, 554, "Message rejected")
    result = YagmailMailer(settings(smtp_server), None).send(build(documents))
    assert not result.transient
    assert len(result.failed) == 3
    assert result.error is not None and "554 Message rejected" in result.error


def test_a_server_that_is_down_is_named(
    smtp_server: LoopbackSmtpServer, documents: list[Path]
) -> None:
    mailer = YagmailMailer(settings(smtp_server), None)
    smtp_server.down = True
    result = mailer.send(build(documents))
    assert result.transient
    assert result.error is not None
    assert f"cannot connect to SMTP server 127.0.0.1:{smtp_server.port}" in result.error
    assert len(result.deferred) == 3


def test_a_slow_server_times_out(smtp_server: LoopbackSmtpServer, documents: list[Path]) -> None:
    smtp_server.slow_seconds = 2.0
    result = YagmailMailer(settings(smtp_server, timeout_seconds=0.2), None).send(build(documents))
    assert result.transient
    assert result.error == f"SMTP server {smtp_server.address} did not answer within 0.2 s"


def test_login_with_the_password(tmp_path: Path, documents: list[Path]) -> None:
    with LoopbackSmtpServer(tmp_path / "mail", credentials=("bao-cao", PASSWORD)) as server:
        base = server.settings_for(SmtpSettings(user="bao-cao", timeout_seconds=5))
        good = YagmailMailer(base, PASSWORD)
        assert good.send(build(documents)).error is None

        bad = YagmailMailer(base, "wrong-" + PASSWORD)
        result = bad.send(build(documents))
        assert not result.transient
        assert result.error is not None and "refused the login of user 'bao-cao'" in result.error
        assert PASSWORD not in f"{result!r}{bad!r}{good!r}"
        assert len(server.received) == 1
        assert PASSWORD not in server.received[0].path.read_text(encoding="ascii")


def test_a_non_ascii_password_fails_without_showing_it(
    tmp_path: Path, documents: list[Path]
) -> None:
    secret = "Mật-khẩu-bí-mật"
    with LoopbackSmtpServer(tmp_path / "mail", credentials=("bao-cao", secret)) as server:
        smtp = server.settings_for(SmtpSettings(user="bao-cao", timeout_seconds=5))
        result = YagmailMailer(smtp, secret).send(build(documents))
    assert not result.transient
    assert result.error is not None and "other than ASCII" in result.error
    assert "khẩu" not in repr(result)
    assert server.received == []


def test_a_user_without_password_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="SMTP_PASSWORD"):
        YagmailMailer(SmtpSettings(host="mail.demo.gov.vn", user="bao-cao"), None)
    with pytest.raises(ValueError, match="embedded"):
        YagmailMailer(SmtpSettings(), None)
    with pytest.raises(ValueError, match=r"ca_bundle '/no/such/ca\.pem'"):
        YagmailMailer(
            SmtpSettings(host="mail.demo.gov.vn", security="ssl", ca_bundle="/no/such/ca.pem"),
            None,
        )


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(
    request: pytest.FixtureRequest, tmp_path: Path, certificate: tuple[Path, Path]
) -> Iterator[LoopbackSmtpServer]:
    with LoopbackSmtpServer(
        tmp_path / "tls-mail",
        security=request.param,
        tls_cert=certificate,
        credentials=("bao-cao", PASSWORD),
    ) as server:
        yield server


def test_tls_with_the_configured_ca_bundle(
    tls_server: LoopbackSmtpServer, certificate: tuple[Path, Path], documents: list[Path]
) -> None:
    smtp = tls_server.settings_for(
        SmtpSettings(user="bao-cao", timeout_seconds=5, ca_bundle=str(certificate[0]))
    )
    result = YagmailMailer(smtp, PASSWORD).send(build(documents))
    assert result.error is None
    assert len(tls_server.received) == 1


def test_tls_with_an_unknown_certificate_fails_finally(
    tls_server: LoopbackSmtpServer, documents: list[Path]
) -> None:
    smtp = tls_server.settings_for(SmtpSettings(user="bao-cao", timeout_seconds=5))
    result = YagmailMailer(smtp, PASSWORD).send(build(documents))
    assert not result.transient
    assert result.error is not None and result.error.startswith(
        f"TLS with SMTP server {tls_server.address} failed"
    )
    assert tls_server.received == []


def test_the_centres_message_is_worded_as_the_summary_of_the_departments(
    documents: list[Path],
) -> None:
    message = build(documents, department_name="Trung tâm Phục vụ hành chính công", summary_of=5)

    assert message.subject == (
        "Báo cáo tổng hợp kết quả tiếp nhận, giải quyết TTHC tháng 5/2024 của 5 sở, ngành"
    )
    assert "báo cáo tổng hợp kết quả tiếp nhận" in message.text
    assert "tổng hợp từ báo cáo của từng sở" in message.text
    assert "cộng chung 5 sở, ngành" in message.text
    assert "của Trung tâm" not in message.text
    # A department's own message is unchanged.
    own = build(documents)
    assert own.subject.endswith(f"tháng 5/2024 - {SKHCN}")
    assert "tổng hợp" not in own.text
