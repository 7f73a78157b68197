"""The configuration's shape: settings, departments and recipients as validated models.

The three files live in one folder (`config/` by default, `--config DIR` elsewhere). Every setting
can be overridden by an environment variable: `TTHC_<KEY>` for a top-level key and
`TTHC_<SECTION>__<KEY>` for a nested one, in any case (the naming is Settings' pydantic-settings
configuration; tasks/settings/environment.py reads the variables). Secrets never come from YAML:
`PORTAL_USERNAME`, `PORTAL_PASSWORD` and `SMTP_PASSWORD` are read from the environment only.

Override values of lists and sections are read as YAML (`TTHC_OPERATORS='[a@demo.gov.vn]'` is a
list); other values as text that validation converts (`TTHC_SMTP__PORT=2525` is a number), so a
setting whose type is text keeps the raw string.

Relative paths in settings are made absolute when the configuration is loaded:
- `output_dir` against the current working directory (where the operator runs the command);
- `portal.scenario` against the project root (the folder holding the `tasks` package, hence
  the default `config/` too), because the scenarios ship with the code;
- `portal.ca_bundle` and `smtp.ca_bundle` against the configuration folder, so a certificate
  can sit next to the file that names it.

Texts of departments.yaml may hold placeholders the renderer fills: `{period}` becomes the
period's label ("tháng 5/2024"). Any other `{name}` is a configuration problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SETTINGS_FILE = "settings.yaml"
DEPARTMENTS_FILE = "departments.yaml"
RECIPIENTS_FILE = "recipients.yaml"

EMBEDDED = "embedded"
OFF = "off"

ENV_PREFIX = "TTHC_"
ENV_NESTED_DELIMITER = "__"

# Keys that settings.yaml once had, with what replaced them: an operator's file or environment
# that still sets one is told so, instead of "unknown key" or a silent no-op.
_MAIL_RETRIES = "a delivery is retried after each of runner.mail_retry_delays_seconds"
RETIRED_KEYS: dict[tuple[str, ...], str] = {
    ("smtp", "max_attempts"): _MAIL_RETRIES,
    ("smtp", "backoff_seconds"): _MAIL_RETRIES,
}


class StrictModel(BaseModel):
    """A model that refuses unknown keys, so a typo in YAML is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PortalSettings(StrictModel):
    """How to reach the portal; base_url "embedded" starts the bundled simulator in-process."""

    base_url: str = EMBEDDED
    scenario: str = "portal_sim/scenarios/demo.yaml"
    # Each socket read waits up to timeout_seconds; a whole request (connecting, headers, body)
    # up to deadline_seconds, however the server trickles its answer.
    timeout_seconds: float = Field(default=30.0, gt=0)
    deadline_seconds: float = Field(default=120.0, gt=0)
    page_size: int = Field(default=500, ge=1, le=1000)
    max_page_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=2000, ge=1)  # per agency and period
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = 0.5
    # Politeness: requests under way at once to the portal from this process, all departments
    # together (one agency's pages are read ahead within it).
    max_concurrent_requests: int = Field(default=4, ge=1, le=64)
    # A CA bundle (PEM) trusted instead of certifi's authorities; REQUESTS_CA_BUNDLE is ignored.
    ca_bundle: str | None = None


class SmtpSettings(StrictModel):
    """The mail server; host "embedded" starts a loopback SMTP server that stores .eml files."""

    host: str = EMBEDDED
    port: int = 0
    security: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    # Each reply waits up to timeout_seconds; a whole session (connect to QUIT) up to
    # deadline_seconds, however slowly the server answers.
    timeout_seconds: float = Field(default=30.0, gt=0)
    deadline_seconds: float = Field(default=300.0, gt=0)
    # Recipients per transaction (RFC 5321 requires servers to take at least 100).
    max_recipients_per_message: int = Field(default=50, ge=1)
    sender_name: str = "Báo cáo TTHC"
    sender_address: str = "bao-cao-tthc@demo.gov.vn"
    max_attachment_bytes: int = 10 * 1024 * 1024
    ca_bundle: str | None = None


class NationalIndexSettings(StrictModel):
    """The national portal's evaluation API (Bộ chỉ số 766); docs/national-index-api.md.

    base_url: "embedded" (the bundled simulator), "off" (no index), or the API's address up to
    and including /api/v1/reporting/evaluation (the endpoints' names are appended).
    """

    base_url: str = EMBEDDED
    # departmentId of the province on the portal (the root whose units are listed).
    root_department_id: str | None = None
    timeout_seconds: float = Field(default=45.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    backoff_seconds: float = Field(default=3.0, ge=0)
    # A random pause between two calls, as the contract's §10 advises (the API rate-limits).
    pause_min_seconds: float = Field(default=1.0, ge=0)
    pause_max_seconds: float = Field(default=2.5, ge=0)
    # The whole fetch of one period (seven endpoints, retries and pauses included) ends by then.
    deadline_seconds: float = Field(default=900.0, gt=0)
    page_size: int = Field(default=300, ge=1, le=1000)
    # Dossiers by which the index's progress counts may differ from ours before operators hear.
    cross_check_tolerance: int = Field(default=0, ge=0)
    ca_bundle: str | None = None


class TargetRates(StrictModel):
    """Rates under which the evaluation adds a weakness line (0..1)."""

    early_rate: float = 0.8
    online_l34_rate: float = 0.8
    postal_rate: float = 0.5
    paid_online_rate: float = 0.5
    digitised_rate: float = 0.5


class EvaluationSettings(StrictModel):
    """How the evaluation (Ưu điểm / Tồn tại hạn chế) words a change (docs/evaluation-rules.md)."""

    # A rate that moved by less than this since the previous period (0..1) reads "tương đương".
    steady_change: float = Field(default=0.01, ge=0, le=1)


class RunnerSettings(StrictModel):
    """How the flow runs its tasks: Prefect's default thread pool or a Dask cluster."""

    kind: Literal["default", "dask"] = "default"
    dask_address: str | None = None
    max_concurrency: int = Field(default=4, ge=1)
    # A department's step that failed for a passing reason (portal unreachable, mail server
    # 4xx or down) runs again after each of these waits; [] never runs it again. The mail
    # server has no retries of its own: these are the only ones.
    portal_retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = [10, 60]
    mail_retry_delays_seconds: list[Annotated[float, Field(ge=0)]] = [30, 120]
    # A run still going after this long ends Failed, naming what it waited for.
    run_deadline_seconds: float = Field(default=4 * 3600, gt=0)


class DocumentsSettings(StrictModel):
    """The documents a run writes besides the .docx and .xlsx: the PDF copies."""

    # auto: a PDF of each report where LibreOffice is installed; off: none (the .docx and .xlsx
    # alone, no note to the operators).
    pdf: Literal["auto", "off"] = "auto"
    # LibreOffice processes converting at once, each over a batch of the reports ready.
    pdf_workers: int = Field(default=2, ge=1, le=16)
    # One LibreOffice call (a batch) still going after this long is killed, and the rest of
    # the run goes without PDFs (the operators are told).
    pdf_timeout_seconds: float = Field(default=120, gt=0)


class ExplicitEnvironment(BaseSettings):
    """Settings read from an environment only when one is handed over (see environment.py)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Use the keyword arguments only: building a model must not read os.environ."""
        # load_config takes the environment as an argument so that tests and callers decide it.
        return (init_settings,)


class Signer(StrictModel):
    """The signature block: "KT. GIÁM ĐỐC" over "PHÓ GIÁM ĐỐC", then the name."""

    authority: str = ""
    title: str
    name: str


class Settings(ExplicitEnvironment):
    """config/settings.yaml."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
    )

    province: str = "Tỉnh Demo"
    place: str = "Demo"
    timezone: str = "Asia/Ho_Chi_Minh"
    output_dir: str = "out"
    database_url: str | None = None
    vpubnd_agency: str = "000.00.01.H99"
    centre_name: str = "Trung tâm Phục vụ hành chính công tỉnh"
    # Who signs the Centre's summary, as a department's signer in departments.yaml.
    centre_signer: Signer = Signer(title="Giám đốc", name="")
    operators: list[str] = []
    portal: PortalSettings = PortalSettings()
    national_index: NationalIndexSettings = NationalIndexSettings()
    smtp: SmtpSettings = SmtpSettings()
    targets: TargetRates = TargetRates()
    evaluation: EvaluationSettings = EvaluationSettings()
    runner: RunnerSettings = RunnerSettings()
    documents: DocumentsSettings = DocumentsSettings()


class DepartmentTexts(StrictModel):
    """A department's own narrative, inserted into the report as written."""

    legal_basis: str | None = None
    strengths: list[str] = []
    weaknesses: list[str] = []
    next_tasks: list[str] = []
    proposals: str | None = None


class Department(StrictModel):
    """One department (Sở/ban/ngành) of config/departments.yaml."""

    key: str
    agency_code: str
    name: str
    parent_authority: str
    document_symbol: str
    signer: Signer
    # The department's departmentCode in the national index (Bộ chỉ số 766), e.g. "H21.09".
    national_index_code: str | None = None
    texts: DepartmentTexts = DepartmentTexts()


class DepartmentsFile(StrictModel):
    """config/departments.yaml: texts every department shares, then the departments."""

    defaults: DepartmentTexts = DepartmentTexts()
    departments: list[Department]


class DepartmentRecipients(StrictModel):
    """Who receives one department's report, and the "Nơi nhận" lines printed in it."""

    to: list[str] = []
    cc: list[str] = []
    bcc: list[str] = []
    noi_nhan: list[str] = []


class RecipientsFile(StrictModel):
    """config/recipients.yaml."""

    allowed_domains: list[str] = []
    defaults: DepartmentRecipients = DepartmentRecipients()
    centre: DepartmentRecipients = DepartmentRecipients()
    departments: dict[str, DepartmentRecipients] = {}

    def addresses(self) -> list[str]:
        """Return every distinct address of the file (compared case-insensitively), in order."""
        seen: dict[str, str] = {}
        entries = [self.defaults, self.centre, *self.departments.values()]
        for entry in entries:
            for address in [*entry.to, *entry.cc, *entry.bcc]:
                seen.setdefault(address.lower(), address)
        return list(seen.values())


class Secrets(ExplicitEnvironment):
    """Secrets read from the environment only; SecretStr keeps them out of reprs and logs."""

    # PORTAL_USERNAME, PORTAL_PASSWORD, SMTP_PASSWORD; an empty variable counts as unset.
    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, env_ignore_empty=True)

    portal_username: str | None = None
    portal_password: SecretStr | None = None
    smtp_password: SecretStr | None = None


class AppConfig(BaseModel):
    """Everything a command needs, loaded once at the entry and passed down."""

    model_config = ConfigDict(frozen=True)

    config_dir: Path
    settings: Settings
    departments: DepartmentsFile
    recipients: RecipientsFile
    secrets: Secrets = Secrets()

    def department(self, key: str) -> Department:
        """Return the department with `key`; raise KeyError naming the known keys."""
        for department in self.departments.departments:
            if department.key == key:
                return department
        known = ", ".join(d.key for d in self.departments.departments)
        raise KeyError(f"unknown department {key!r} (known: {known})")

    def texts_for(self, department: Department) -> DepartmentTexts:
        """Return the department's texts with the shared defaults filling what it leaves out."""
        defaults = self.departments.defaults
        own = department.texts
        return DepartmentTexts(
            legal_basis=own.legal_basis or defaults.legal_basis,
            strengths=own.strengths or defaults.strengths,
            weaknesses=own.weaknesses or defaults.weaknesses,
            next_tasks=own.next_tasks or defaults.next_tasks,
            proposals=own.proposals or defaults.proposals,
        )

    def recipients_for(self, key: str) -> DepartmentRecipients:
        """Return a department's recipients with the shared defaults added (to/cc/bcc merged)."""
        own = self.recipients.departments.get(key, DepartmentRecipients())
        defaults = self.recipients.defaults
        return DepartmentRecipients(
            to=_merged(own.to, defaults.to),
            cc=_merged(own.cc, defaults.cc),
            bcc=_merged(own.bcc, defaults.bcc),
            noi_nhan=own.noi_nhan or defaults.noi_nhan,
        )

    @property
    def output_dir(self) -> Path:
        return Path(self.settings.output_dir)


def _merged(first: list[str], second: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for address in [*first, *second]:
        seen.setdefault(address, None)
    return list(seen)
