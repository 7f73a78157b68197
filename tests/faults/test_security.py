"""Nobody let in: secrets stay in the environment, certificates are checked, portal data is data.

The secrets test runs the flow with known passwords, then greps everything a run leaves behind:
every file under the test's folder (documents, run database, the .eml files the mail server
stored), every log record, and what the Prefect API keeps (logs, artifacts, run states).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import re
import shutil
import ssl
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import certifi
import docx
import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.states import State

from portal_sim.server import Faults, PortalSimulator
from portal_sim.store import DossierStore, ListWindow, in_window
from standins.smtp_server import LoopbackSmtpServer
from tasks.delivery.messages import OutgoingMessage, Sender
from tasks.figures.periods import Period
from tasks.portal.client import PortalUnavailable
from tasks.run.services import open_mailer, open_portal
from tasks.settings.loading import PROJECT_ROOT, load_config
from tests.builders import raw_dossier
from tests.faults.conftest import ScenarioLog
from tests.faults.province import (
    OPERATOR,
    PERIOD,
    Baseline,
    Province,
    assert_delivered_once,
    write_config,
)

PORTAL_USER = "svc-tthc"
PORTAL_SECRET = "Pq7!portal-SECRET-4711"
PORTAL_WRONG = "Wr0ng!portal-SECRET-0815"
SMTP_USER = "tthc-mailer"
SMTP_SECRET = "Sm7!smtp-SECRET-2342"
SMTP_WRONG = "Wr0ng!smtp-SECRET-9999"
SECRETS = (PORTAL_SECRET, PORTAL_WRONG, SMTP_SECRET, SMTP_WRONG)


def _forms(secret: str) -> list[bytes]:
    """Return the ways a secret could be written down: as is, UTF-16, base64 (as in SMTP AUTH)."""
    raw = secret.encode()
    return [
        raw,
        secret.encode("utf-16-le"),
        base64.b64encode(raw),
        base64.b64encode(b"\0" + SMTP_USER.encode() + b"\0" + raw),
    ]


def _leaks(data: bytes) -> list[str]:
    return [secret for secret in SECRETS if any(form in data for form in _forms(secret))]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@contextmanager
def every_log_record() -> Iterator[list[str]]:
    """Collect every record of the service's loggers and Prefect's, at DEBUG, for the block."""
    handler = _Collect()
    names = ["", "prefect", "tasks", "flows", "portal_sim", "urllib3", "requests"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _prefect_records(flow_run_ids: list[UUID]) -> list[str]:
    """Return what the Prefect API holds about these runs: logs, states, artifacts."""
    texts: list[str] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)),
                limit=200,
                offset=offset,
            )
            texts += [log.message for log in logs]
            if len(logs) < 200:
                break
            offset += 200
        for flow_run_id in flow_run_ids:
            run = client.read_flow_run(flow_run_id)
            texts += [repr(run.parameters), repr(run.state)]
        runs = FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids))
        for task_run in client.read_task_runs(flow_run_filter=runs):
            texts += [task_run.name, repr(task_run.state)]
        for artifact in client.read_artifacts():
            texts += [repr(artifact.data), str(artifact.description)]
    return texts


# The stand-in mail server asks for a login over plain SMTP on loopback; aiosmtpd warns.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_secrets_appear_in_no_output(
    prefect_api: str,
    demo_store: DossierStore,
    baseline: Baseline,
    tmp_path: Path,
    scenario_log: ScenarioLog,
) -> None:
    del prefect_api
    faults = Faults(session_calls=3, unavailable_share=0.1, seed=5)  # re-logins and retries
    states: list[State[Any]] = []
    with (
        PortalSimulator(demo_store, users={PORTAL_USER: PORTAL_SECRET}, faults=faults) as portal,
        LoopbackSmtpServer(
            tmp_path / "smtp-received", credentials=(SMTP_USER, SMTP_SECRET)
        ) as smtp,
        every_log_record() as log_lines,
    ):
        province = Province.create(tmp_path, portal, smtp, history=baseline.history)
        province.environ |= {
            "TTHC_PORTAL__PAGE_SIZE": "20",
            "PORTAL_USERNAME": PORTAL_USER,
            "PORTAL_PASSWORD": PORTAL_SECRET,
            "TTHC_SMTP__USER": SMTP_USER,
            "SMTP_PASSWORD": SMTP_SECRET,
        }
        states.append(province.run())
        assert states[-1].is_completed(), states[-1].message
        assert_delivered_once(province)
        assert portal.stats["fault:session"] and portal.stats["fault:503"]

        province.environ["SMTP_PASSWORD"] = SMTP_WRONG  # a failed login: errors, alert, log
        states.append(province.run(force_resend=True))
        assert states[-1].is_failed()
        assert f"refused the login of user {SMTP_USER!r}" in (states[-1].message or "")

        province.environ["PORTAL_PASSWORD"] = PORTAL_WRONG
        states.append(province.run())
        assert states[-1].is_failed()
        assert f"refused the login of {PORTAL_USER!r}" in (states[-1].message or "")

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".eml" for path in files)
    assert any(path.name.startswith("tthc-report.sqlite") for path in files)
    leaked_files = {str(path): _leaks(path.read_bytes()) for path in files}
    assert {path: found for path, found in leaked_files.items() if found} == {}

    assert log_lines
    assert [line for line in log_lines if _leaks(line.encode())] == []

    flow_run_ids = [state.state_details.flow_run_id for state in states]
    records = _prefect_records([run_id for run_id in flow_run_ids if run_id is not None])
    assert any("refused the login" in text for text in records)
    assert [text for text in records if _leaks(text.encode())] == []
    for state in states:
        assert not _leaks(repr(state).encode())
        assert not _leaks(str(state.message).encode())
    scenario_log.fault(
        "security: known passwords, then wrong ones; every output grepped",
        "no secret in files, logs, database, .eml, Prefect logs/artifacts/states",
        province,
        figures_equal=None,
    )


# -- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """A private CA (as a province's government CA would be) and a server certificate."""

    ca: Path
    certificate: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("CA Chính phủ thử nghiệm"))
        .issuer_name(_name("CA Chính phủ thử nghiệm"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_portal_certificate_is_checked_and_a_configured_ca_is_trusted(
    demo_store: DossierStore,
    certificates: Certificates,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Servers often set this for every program; the configured CA must still be the one used.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    config_dir = write_config(tmp_path / "config")
    shutil.copy(certificates.ca, config_dir / "ca-cong-dich-vu.pem")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(certificates.certificate, certificates.key)
    with PortalSimulator(demo_store, users={"demo": "demo"}, ssl_context=server) as simulator:
        environ = {
            "TTHC_PORTAL__BASE_URL": simulator.url,
            "TTHC_PORTAL__BACKOFF_SECONDS": "0.01",
            "PORTAL_USERNAME": "demo",
            "PORTAL_PASSWORD": "demo",
        }
        assert simulator.url.startswith("https://127.0.0.1:")

        default = load_config(config_dir, environ)
        with open_portal(default) as portal, pytest.raises(PortalUnavailable) as refused:
            portal.list_agencies()
        trusting = load_config(
            config_dir, {**environ, "TTHC_PORTAL__CA_BUNDLE": "ca-cong-dich-vu.pem"}
        )
        with open_portal(trusting) as portal:
            agencies = portal.list_agencies()

    assert default.settings.portal.ca_bundle is None
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert refused.value.attempts == 1  # a certificate problem is final, not retried
    assert trusting.settings.portal.ca_bundle == str(config_dir / "ca-cong-dich-vu.pem")
    assert {agency.code for agency in agencies} >= {"000.00.15.H99", "000.00.09.H99"}


def test_mail_server_certificate_is_checked_and_a_configured_ca_is_trusted(
    certificates: Certificates, tmp_path: Path
) -> None:
    config_dir = write_config(tmp_path / "config")
    shutil.copy(certificates.ca, config_dir / "ca-thu-dien-tu.pem")
    message = OutgoingMessage(
        sender=Sender("Báo cáo TTHC", "bao-cao-tthc@demo.gov.vn"),
        to=["quantri@demo.gov.vn"],
        subject="Kiểm tra TLS",
        text="Thử.\n",
        headers={"Message-ID": "<tls-test@demo.gov.vn>"},
    )
    with LoopbackSmtpServer(
        tmp_path / "smtp-received",
        security="starttls",
        tls_cert=(certificates.certificate, certificates.key),
    ) as smtp:
        environ = {
            "TTHC_SMTP__HOST": smtp.host,
            "TTHC_SMTP__PORT": str(smtp.port),
            "TTHC_SMTP__SECURITY": "starttls",
            "TTHC_SMTP__TIMEOUT_SECONDS": "10",
        }
        refused = open_mailer(
            load_config(config_dir, environ), dry_run=False, period=Period.parse(PERIOD)
        )
        refused_result = refused.send(message)
        trusting_config = load_config(
            config_dir, {**environ, "TTHC_SMTP__CA_BUNDLE": "ca-thu-dien-tu.pem"}
        )
        trusted = open_mailer(trusting_config, dry_run=False, period=Period.parse(PERIOD)).send(
            message
        )
        received = list(smtp.received)

    assert refused_result.delivered == []
    assert refused_result.error is not None and "certificate verify failed" in refused_result.error
    assert not refused_result.transient
    assert trusted.delivered == ["quantri@demo.gov.vn"]
    assert len(received) == 1


def test_no_code_turns_certificate_checks_off() -> None:
    pattern = re.compile(
        r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    )
    sources = [
        path
        for folder in ("flows", "tasks", "portal_sim")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
    ]
    offending = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert sources and offending == []


# -- hostile portal data --------------------------------------------------------------------

SKHCN_AGENCY = "000.00.15.H99"
FORMULA = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'
TEMPLATE_CODE = "{{ 7*7 }}{% for x in range(3) %}LẶP{% endfor %}"
MARKUP = "</w:t></w:r></w:p><w:p><w:r><w:t>CHÈN"
HEADER = "HS-1\r\nBcc: attacker@evil.example\r\nSubject: giả mạo"


class WithExtraRecords:
    """The demo store plus raw records of one agency, served by the portal's window rule."""

    def __init__(self, base: DossierStore, records: list[dict[str, Any]]) -> None:
        self.base = base
        self.records = records

    def agencies(self) -> list[dict[str, Any]]:
        """Return the demo agencies."""
        return self.base.agencies()

    def window(self, agency: str, from_stamp: str, to_stamp: str) -> ListWindow:
        """Return the demo window with the extra records of `agency` in it, by MaHoSo."""
        window = self.base.window(agency, from_stamp, to_stamp)
        rows = list(window.page(0, max(window.total, 1)))
        rows += [
            record
            for record in self.records
            if record.get("MaDonVi") == agency and in_window(record, from_stamp, to_stamp)
        ]
        return ListWindow(sorted(rows, key=lambda record: str(record.get("MaHoSo", ""))))


def _hostile_records() -> list[dict[str, Any]]:
    received = "20240510080000"
    common = {"MaDonVi": SKHCN_AGENCY, "NgayTiepNhan": received, "NgayCapNhat": received}
    return [
        # Counted dossiers whose field of activity is named to inject into the data form.
        raw_dossier("H99.15-EVIL-0001", **common, MaLinhVuc="LV-X1", TenLinhVuc=FORMULA),
        raw_dossier("H99.15-EVIL-0002", **common, MaLinhVuc="LV-X2", TenLinhVuc=TEMPLATE_CODE),
        # Rejected records: counted in the report's data note, named in the operators' notice.
        raw_dossier(MARKUP, **common, TrangThaiHoSo=12),
        raw_dossier(TEMPLATE_CODE, **common, TrangThaiHoSo=12),
        raw_dossier(HEADER, **common, TrangThaiHoSo=12),
        raw_dossier("H99.15-EVIL-0003", **{**common, "NgayTiepNhan": "2024\x0b05\x0010"}),
        raw_dossier("HS-CTRL\x0b\x01\x1b[31m", **common, TrangThaiHoSo=12),
    ]


def test_portal_data_cannot_inject_into_documents_messages_or_paths(
    prefect_api: str,
    demo_store: DossierStore,
    baseline: Baseline,
    tmp_path: Path,
    scenario_log: ScenarioLog,
) -> None:
    del prefect_api
    store = WithExtraRecords(demo_store, _hostile_records())
    with (
        PortalSimulator(store, users={"demo": "demo"}) as portal,
        LoopbackSmtpServer(tmp_path / "smtp-received") as smtp,
        every_log_record() as log_lines,
    ):
        province = Province.create(tmp_path, portal, smtp, history=baseline.history)
        state = province.run()

        assert state.is_completed(), state.message
        assert_delivered_once(province)
        messages = list(smtp.received)

    documents = province.documents()
    report = documents[f"Báo cáo TTHC {PERIOD} SKHCN.docx"]
    text = "\n".join(p.text for p in docx.Document(str(report)).paragraphs)
    # The signed report counts the five rejected records and names none of them.
    assert "- 05 hồ sơ có dữ liệu không hợp lệ, không tính vào số liệu" in text
    assert "CHÈN" not in text
    assert "HS-CTRL" not in text
    with zipfile.ZipFile(report) as package:
        body = package.read("word/document.xml").decode()
    assert "<w:t>CHÈN" not in body
    # The operators' notice names them, quoted as text: no template code ran.
    [notice] = province.notices()
    named = notice.text()
    assert "</w:t></w:r></w:p><w:p><w:r><w:t>CHÈN" in named
    assert "{{ 7*7 }}{% for x in range(3) %}LẶP{% endfor %}" in named
    assert "LẶPLẶPLẶP" not in named
    assert "HS-CTRL" in named

    form = documents[f"Biểu mẫu số liệu {PERIOD} SKHCN.xlsx"]
    sheet = openpyxl.load_workbook(form).worksheets[0]
    names = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value}
    assert names[FORMULA].data_type == "s"  # a text, not a formula
    assert TEMPLATE_CODE in names
    with zipfile.ZipFile(form) as package:
        assert not any(b"<f>" in package.read(name) for name in package.namelist())

    quoted = [line for line in log_lines if "attacker@evil.example" in line]
    assert quoted  # the rejected record is logged, its line breaks escaped: no forged line
    assert not [line for line in quoted if "\nBcc:" in line or "\rBcc" in line]

    allowed = {address for _, address in province.expected()} | {OPERATOR}
    for message in messages:
        assert {address.lower() for address in message.envelope_to} <= allowed
        for header, value in message.message.items():
            assert "evil.example" not in str(value), header
        assert message.message["Bcc"] is None

    written = {path.relative_to(tmp_path).parts[0] for path in tmp_path.rglob("*")}
    assert written <= {"config", "out", "smtp-received"}  # nothing outside the output folder
    output = {
        path.relative_to(province.output_dir).parts[0] for path in province.output_dir.rglob("*")
    }
    assert output <= {
        "reports",
        "locks",
        "tthc-report.sqlite",
        "tthc-report.sqlite-wal",
        "tthc-report.sqlite-shm",
    }
    scenario_log.fault(
        "security: hostile portal data (markup, template code, formula, CR LF, control chars)",
        "completed; quoted as text everywhere",
        province,
        figures_equal=None,
    )
