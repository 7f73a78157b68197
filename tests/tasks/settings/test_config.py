"""Tests of tasks/settings: the demo configuration loads, and each mistake is named precisely."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tasks.settings.loading import (
    DEFAULT_CONFIG_DIR,
    PROJECT_ROOT,
    ConfigError,
    check_config,
    fill_placeholders,
    load_config,
)
from tests.tasks.settings.demo import edit, load_demo

# The hand-written parts of the seed report (bao-cao-skhcn-thang-5-2024), word for word.
SEED_LEGAL_BASIS = (
    "Thực hiện Nghị định số 61/2018/NĐ-CP ngày 23/4/2018 của Chính phủ về thực hiện cơ chế "
    "một cửa, một cửa liên thông; Công văn số 293/VP-TTPVHCC ngày 12/8/2020 của Văn phòng "
    "UBND tỉnh về thực hiện chế độ báo cáo kết quả giải quyết TTHC tại Trung tâm Phục vụ "
    "hành chính công tỉnh."
)
SEED_STRENGTH = (
    "Hướng dẫn các tổ chức, cá nhân thanh toán phí và lệ phí giải quyết các thủ tục hành chính "
    "qua công dịch vụ công quốc gia và thanh toán lệ phí và lệ phí bằng hình thức chuyển khoản "
    "từ kho bạc nhà nước (*thanh toán trực tuyến qua công dịch vụ công chưa hỗ trợ thanh toán "
    "bằng tài khoản kho bạc*)."
)
SEED_WEAKNESS = (
    "Tiếp nhận và trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích vẫn "
    "chưa được cao (*Hiện nay 100% hồ sơ nộp trực tuyến, cán bộ tại bộ phận một cửa đã hướng "
    "dẫn việc nhận và kết quả qua dịch vụ bưu chính công ích. Tuy nhiên việc lựa chọn do tổ "
    "chức cá nhân do vậy tỷ lệ này phụ thuộc rất nhiều*)."
)
SEED_NEXT_TASKS = [
    "Tiếp tục tuyên truyền, vận động và hướng dẫn cá nhân, tổ chức thực hiện TTHC qua dịch vụ "
    "công mức độ 3,4. Gửi hồ sơ và nhận kết quả qua dịch vụ Bưu chính công ích với tỉ lệ cao.",
    "Tiếp tục duy trì và phát huy kết quả đã đạt được trong tháng 5/2024, lấy sự hài lòng của "
    "tổ chức, công dân là thước đo chất lượng và hiệu quả phục vụ cán bộ công chức thực hiện "
    "một cửa của cơ quan, đơn vị.",
]
SEED_NOI_NHAN = [
    "Trung tâm Phục vụ hành chính công",
    "Lãnh đạo Sở",
    "Các phòng, đơn vị trực thuộc Sở",
    "Lưu: VT, VP",
]


# --- the demo configuration -------------------------------------------------------------


def test_demo_configuration_has_no_problems() -> None:
    assert check_config(DEFAULT_CONFIG_DIR, {}) == []


def test_demo_describes_the_province_and_its_departments() -> None:
    config = load_demo()
    departments = {
        (d.key, d.agency_code, d.name, d.document_symbol) for d in config.departments.departments
    }
    assert departments == {
        ("SKHCN", "000.00.15.H99", "Sở Khoa học và Công nghệ", "BC-SKHCN"),
        ("STP", "000.00.09.H99", "Sở Tư pháp", "BC-STP"),
        ("SYT", "000.00.17.H99", "Sở Y tế", "BC-SYT"),
        ("SGDDT", "000.00.12.H99", "Sở Giáo dục và Đào tạo", "BC-SGDĐT"),
        ("STNMT", "000.00.20.H99", "Sở Tài nguyên và Môi trường", "BC-STNMT"),
    }
    assert {d.parent_authority for d in config.departments.departments} == {"UBND TỈNH DEMO"}
    assert config.settings.vpubnd_agency == "000.00.01.H99"
    assert config.settings.portal.base_url == "embedded"
    assert config.settings.smtp.host == "embedded"
    assert config.settings.operators == ["quantri@demo.gov.vn"]


def test_demo_skhcn_reproduces_the_seed_report() -> None:
    config = load_demo()
    skhcn = config.department("SKHCN")
    texts = config.texts_for(skhcn)
    assert (skhcn.signer.authority, skhcn.signer.title, skhcn.signer.name) == (
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Triệu Ngọc Trung",
    )
    assert texts.legal_basis == SEED_LEGAL_BASIS
    assert texts.strengths == [SEED_STRENGTH]
    assert texts.weaknesses == [SEED_WEAKNESS]
    assert [
        fill_placeholders(t, period="tháng 5/2024") for t in texts.next_tasks
    ] == SEED_NEXT_TASKS
    assert texts.proposals == "Không"
    recipients = config.recipients_for("SKHCN")
    assert recipients.noi_nhan == SEED_NOI_NHAN
    assert recipients.to == ["vanthu.skhcn@demo.gov.vn"]
    assert "ttphvhcc@demo.gov.vn" in recipients.cc
    assert config.recipients.centre.to == ["ttphvhcc@demo.gov.vn"]


def test_next_tasks_hold_the_period_placeholder_not_a_fixed_month() -> None:
    texts = load_demo().texts_for(load_demo().department("SKHCN"))
    assert "{period}" in texts.next_tasks[1]
    assert "tháng 5/2024" not in " ".join(texts.next_tasks)
    assert fill_placeholders(texts.next_tasks[1], period="tháng 6/2024").count("tháng 6/2024") == 1


# --- broken copies: each mistake gives the expected line --------------------------------


@dataclass(frozen=True)
class Broken:
    """One edit of a demo file, and the start of the problem line it must produce."""

    file: str
    old: str
    new: str
    expected: str
    environ: dict[str, str] = field(default_factory=dict)


BROKEN = {
    "bad e-mail address": Broken(
        "recipients.yaml",
        "      - vanphong.skhcn@demo.gov.vn\n",
        "      - vanphong.skhcn@demo.gov.vn\n      - abc@\n",
        "config/recipients.yaml: departments.SKHCN.cc[1]: 'abc@' is not an e-mail address",
    ),
    "address outside the allow-list": Broken(
        "recipients.yaml",
        "vanthu.stp@demo.gov.vn",
        "vanthu.stp@gmail.com",
        "config/recipients.yaml: departments.STP.to[0]: 'vanthu.stp@gmail.com' is outside "
        "the allowed domains (demo.gov.vn)",
    ),
    "look-alike domain is not a subdomain": Broken(
        "recipients.yaml",
        "vanthu.stp@demo.gov.vn",
        "vanthu.stp@notdemo.gov.vn",
        "config/recipients.yaml: departments.STP.to[0]: 'vanthu.stp@notdemo.gov.vn' is outside",
    ),
    "operator outside the allow-list": Broken(
        "settings.yaml",
        "  - quantri@demo.gov.vn",
        "  - quantri@gmail.com",
        "config/settings.yaml: operators[0]: 'quantri@gmail.com' is outside the allowed domains",
    ),
    "sender outside the allow-list": Broken(
        "settings.yaml",
        "sender_address: bao-cao-tthc@demo.gov.vn",
        "sender_address: bao-cao@mail.example.com",
        "config/settings.yaml: smtp.sender_address: 'bao-cao@mail.example.com' is outside",
    ),
    "allowed domain written with @": Broken(
        "recipients.yaml",
        "  - demo.gov.vn\n",
        "  - demo.gov.vn\n  - '@demo.gov.vn'\n",
        "config/recipients.yaml: allowed_domains[1]: '@demo.gov.vn' is not a domain name",
    ),
    "address duplicated in one department": Broken(
        "recipients.yaml",
        "phonghanhchinh.syt@demo.gov.vn",
        "VanThu.SYT@demo.gov.vn",
        "config/recipients.yaml: departments.SYT.bcc[0]: 'VanThu.SYT@demo.gov.vn' is already "
        "listed in departments.SYT.to[0]",
    ),
    "address the defaults add to a second list": Broken(
        "recipients.yaml",
        "vanthu.sgddt@demo.gov.vn",
        "ttphvhcc@demo.gov.vn",
        "config/recipients.yaml: departments.SGDDT.to: 'ttphvhcc@demo.gov.vn' is also in "
        "defaults.cc[0]",
    ),
    "department unknown to departments.yaml": Broken(
        "recipients.yaml",
        "departments:\n",
        "departments:\n  SXD:\n    to: [vanthu.sxd@demo.gov.vn]\n",
        "config/recipients.yaml: departments.SXD: department 'SXD' is not in departments.yaml",
    ),
    "department without recipients": Broken(
        "recipients.yaml",
        "  SGDDT:\n    to:\n      - vanthu.sgddt@demo.gov.vn\n",
        "",
        "config/recipients.yaml: departments.SGDDT: missing: departments.yaml lists "
        "department 'SGDDT'",
    ),
    "department without a to address": Broken(
        "recipients.yaml",
        "  SGDDT:\n    to:\n      - vanthu.sgddt@demo.gov.vn\n",
        "  SGDDT:\n    cc: [vanthu.sgddt@demo.gov.vn]\n",
        "config/recipients.yaml: departments.SGDDT.to: department 'SGDDT' has no 'to' address",
    ),
    "noi nhan line with its punctuation": Broken(
        "recipients.yaml",
        "      - Các phòng, đơn vị trực thuộc Sở\n",
        "      - '- Các phòng, đơn vị trực thuộc Sở;'\n",
        "config/recipients.yaml: departments.SKHCN.noi_nhan[2]: write '- Các phòng, đơn vị "
        "trực thuộc Sở;' without the leading '- '",
    ),
    "missing MaDonVi": Broken(
        "departments.yaml",
        '    agency_code: "000.00.17.H99"\n',
        "",
        "config/departments.yaml: departments[2].agency_code: required key is missing "
        "(department 'SYT')",
    ),
    "empty MaDonVi": Broken(
        "departments.yaml",
        '    agency_code: "000.00.17.H99"\n',
        '    agency_code: ""\n',
        "config/departments.yaml: departments[2].agency_code: department 'SYT' has an empty "
        "agency_code (MaDonVi)",
    ),
    "MaDonVi used twice": Broken(
        "departments.yaml",
        '"000.00.17.H99"',
        '"000.00.15.H99"',
        "config/departments.yaml: departments[2].agency_code: MaDonVi '000.00.15.H99' is "
        "already used by department 'SKHCN'",
    ),
    "department key with a slash": Broken(
        "departments.yaml",
        "key: SYT",
        "key: S/YT",
        "config/departments.yaml: departments[2].key: department key 'S/YT' may hold only "
        "letters, digits, '-' and '_'",
    ),
    "department key ..": Broken(
        "departments.yaml",
        "key: SYT",
        "key: ..",
        "config/departments.yaml: departments[2].key: department key '..' may hold only",
    ),
    "department key with a space": Broken(
        "departments.yaml",
        "key: SYT",
        "key: S YT",
        "config/departments.yaml: departments[2].key: department key 'S YT' may hold only",
    ),
    "department key used twice": Broken(
        "departments.yaml",
        "key: STP",
        "key: SKHCN",
        "config/departments.yaml: departments[1].key: department key 'SKHCN' is already used "
        "by departments[0]",
    ),
    "unknown key": Broken(
        "settings.yaml",
        "  page_size: 500",
        "  page_sise: 500",
        "config/settings.yaml: portal.page_sise: unknown key; did you mean 'page_size'?",
    ),
    "unknown key in a department": Broken(
        "departments.yaml",
        "    document_symbol: BC-STP\n",
        "    document_symbol: BC-STP\n    symbol: BC-STP\n",
        "config/departments.yaml: departments[1].symbol: unknown key",
    ),
    "wrong type": Broken(
        "settings.yaml",
        "  page_size: 500",
        "  page_size: many",
        "config/settings.yaml: portal.page_size: Input should be a valid integer, unable to "
        "parse string as an integer (got 'many')",
    ),
    "value out of range": Broken(
        "settings.yaml",
        "  page_size: 500",
        "  page_size: 5000",
        "config/settings.yaml: portal.page_size: Input should be less than or equal to 1000",
    ),
    "list where a text is expected": Broken(
        "departments.yaml",
        "    name: Sở Y tế\n",
        "    name: [Sở Y tế]\n",
        "config/departments.yaml: departments[2].name: Input should be a valid string "
        "(got a list) (department 'SYT')",
    ),
    "unknown placeholder": Broken(
        "departments.yaml",
        "trong {period}, lấy sự hài lòng",
        "trong {perod}, lấy sự hài lòng",
        "config/departments.yaml: defaults.next_tasks[1]: unknown placeholder '{perod}'",
    ),
    "unknown placeholder in a department's text": Broken(
        "departments.yaml",
        "trong {period}, lấy sự hài\n",
        "trong {thang}, lấy sự hài\n",
        "config/departments.yaml: departments[0].texts.next_tasks[1]: unknown placeholder "
        "'{thang}' (known: {period})",
    ),
    "unknown time zone": Broken(
        "settings.yaml",
        "timezone: Asia/Ho_Chi_Minh",
        "timezone: Asia/Hanoi_City",
        "config/settings.yaml: timezone: unknown time zone 'Asia/Hanoi_City'",
    ),
    "password in settings.yaml": Broken(
        "settings.yaml",
        "  user:\n",
        "  user:\n  password: hunter2\n",
        "config/settings.yaml: smtp.password: secrets come from the environment: set SMTP_PASSWORD",
    ),
    "portal password in settings.yaml": Broken(
        "settings.yaml",
        "  base_url: embedded\n",
        "  base_url: embedded\n  password: hunter2\n",
        "config/settings.yaml: portal.password: secrets come from the environment: set "
        "PORTAL_PASSWORD",
    ),
    "token in recipients.yaml": Broken(
        "recipients.yaml",
        "allowed_domains:\n",
        "api_token: hunter2\nallowed_domains:\n",
        "config/recipients.yaml: api_token: secrets come from the environment",
    ),
    "env override of an unknown key": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_SMTP__HOSTNAME: environment override of unknown setting 'smtp.hostname'; "
        "did you mean 'host'?",
        environ={"TTHC_SMTP__HOSTNAME": "mail.demo.gov.vn"},
    ),
    "env override of an unknown top-level key": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_OUTPUT: environment override of unknown setting 'output'",
        environ={"TTHC_OUTPUT": "/tmp/out"},
    ),
    "env override of the wrong type": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_SMTP__PORT (overrides smtp.port): Input should be a valid integer",
        environ={"TTHC_SMTP__PORT": "twenty-five"},
    ),
    "env override carrying a secret": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_SMTP__PASSWORD: secrets come from the environment: set SMTP_PASSWORD",
        environ={"TTHC_SMTP__PASSWORD": "hunter2"},
    ),
    "real mail server without a port": Broken(
        "settings.yaml",
        "",
        "",
        "config/settings.yaml: smtp.port: port 0 is not a port number",
        environ={"TTHC_SMTP__HOST": "mail.demo.gov.vn"},
    ),
    "portal address that is not a URL": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_PORTAL__BASE_URL (overrides portal.base_url): 'api.demo.gov.vn' is neither",
        environ={"TTHC_PORTAL__BASE_URL": "api.demo.gov.vn"},
    ),
    "national index address cut short": Broken(
        "settings.yaml",
        "",
        "",
        "TTHC_NATIONAL_INDEX__BASE_URL (overrides national_index.base_url): "
        "'https://dichvucong.gov.vn/api' must end with /api/v1/reporting/evaluation",
        environ={
            "TTHC_NATIONAL_INDEX__BASE_URL": "https://dichvucong.gov.vn/api",
            "TTHC_NATIONAL_INDEX__ROOT_DEPARTMENT_ID": "r",
        },
    ),
    "national index address without its root unit": Broken(
        "settings.yaml",
        "",
        "",
        "config/settings.yaml: national_index.root_department_id: the province's departmentId",
        environ={
            "TTHC_NATIONAL_INDEX__BASE_URL": "https://dichvucong.gov.vn/api/v1/reporting/evaluation"
        },
    ),
    "national index that is neither embedded, off nor an address": Broken(
        "settings.yaml",
        "base_url: embedded\n  # departmentId",
        "base_url: none\n  # departmentId",
        "config/settings.yaml: national_index.base_url: 'none' is neither 'embedded', 'off'",
    ),
    "national index pauses the wrong way round": Broken(
        "settings.yaml",
        "pause_min_seconds: 1.0",
        "pause_min_seconds: 3.0",
        "config/settings.yaml: national_index.pause_min_seconds: 3 is above pause_max_seconds 2.5",
    ),
    "national index code that is not one": Broken(
        "departments.yaml",
        'national_index_code: "H99.15"',
        'national_index_code: "000.00.15.H99"',
        "config/departments.yaml: departments[0].national_index_code: '000.00.15.H99' is not a "
        "departmentCode",
    ),
    "national index code used twice": Broken(
        "departments.yaml",
        'national_index_code: "H99.09"',
        'national_index_code: "H99.15"',
        "config/departments.yaml: departments[1].national_index_code: 'H99.15' is already used "
        "by department 'SKHCN'",
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_copy_names_file_key_and_problem(config_dir: Path, case: Broken) -> None:
    if case.old or case.new:
        edit(config_dir / case.file, case.old, case.new)

    problems = check_config(config_dir, case.environ, cwd=config_dir.parent)

    assert [p for p in problems if p.startswith(case.expected)], "\n".join(problems)
    assert all("hunter2" not in problem for problem in problems)


def test_load_config_raises_with_every_problem(config_dir: Path) -> None:
    edit(config_dir / "recipients.yaml", "vanthu.stp@demo.gov.vn", "abc@")
    edit(config_dir / "departments.yaml", "key: SYT", "key: S/YT")

    with pytest.raises(ConfigError) as raised:
        load_config(config_dir, {}, cwd=config_dir.parent)

    problems = raised.value.problems
    assert any(
        p.startswith("config/recipients.yaml: departments.STP.to[0]: 'abc@'") for p in problems
    )
    assert any(p.startswith("config/departments.yaml: departments[2].key:") for p in problems)
    # The renamed key leaves SYT's recipients without a department; the unsafe key itself is
    # reported once, not again as a department without recipients.
    assert any(
        p.startswith("config/recipients.yaml: departments.SYT: department 'SYT'") for p in problems
    )
    assert not any(p.startswith("config/recipients.yaml: departments['S/YT']") for p in problems)
    assert len(problems) == 3


def test_invalid_yaml_gives_line_and_column(config_dir: Path) -> None:
    settings = config_dir / "settings.yaml"
    line = settings.read_text(encoding="utf-8").splitlines().index("place: Demo") + 1
    edit(settings, "place: Demo\n", "place: Demo: city\n")

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    assert problems == [
        f"config/settings.yaml: line {line}, column 12: invalid YAML: "
        "mapping values are not allowed here"
    ]


def test_duplicated_yaml_key_is_refused_with_both_lines(config_dir: Path) -> None:
    recipients = config_dir / "recipients.yaml"
    lines = recipients.read_text(encoding="utf-8").splitlines()
    first = lines.index("  STP:") + 1
    edit(recipients, "  SYT:\n", "  STP:\n")

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    second = lines.index("  SYT:") + 1
    assert problems == [
        f"config/recipients.yaml: line {second}, column 3: invalid YAML: "
        f"duplicate key 'STP' (first at line {first})"
    ]


def test_missing_file_is_named(config_dir: Path) -> None:
    (config_dir / "recipients.yaml").unlink()

    assert check_config(config_dir, {}, cwd=config_dir.parent) == [
        "config/recipients.yaml: file not found"
    ]


def test_top_level_must_be_a_mapping(config_dir: Path) -> None:
    (config_dir / "recipients.yaml").write_text("- vanthu@demo.gov.vn\n", encoding="utf-8")

    assert check_config(config_dir, {}, cwd=config_dir.parent) == [
        "config/recipients.yaml: the file must hold keys and values (a mapping), not a list"
    ]


def test_valid_variants_pass(config_dir: Path) -> None:
    # A subdomain of an allowed domain, an address in another case, an empty optional list.
    edit(config_dir / "recipients.yaml", "vanthu.stp@demo.gov.vn", "vanthu@stp.demo.gov.vn")
    edit(config_dir / "recipients.yaml", "vanthu.syt@demo.gov.vn", "VanThu.SYT@Demo.Gov.VN")
    edit(config_dir / "recipients.yaml", "  - demo.gov.vn\n", "  - DEMO.gov.vn\n")

    assert check_config(config_dir, {}, cwd=config_dir.parent) == []


def test_empty_allow_list_allows_any_domain(config_dir: Path) -> None:
    edit(
        config_dir / "recipients.yaml",
        "allowed_domains:\n  - demo.gov.vn\n",
        "allowed_domains: []\n",
    )
    edit(config_dir / "recipients.yaml", "vanthu.stp@demo.gov.vn", "vanthu.stp@gmail.com")

    assert check_config(config_dir, {}, cwd=config_dir.parent) == []


# --- retired keys: the mail server's retries are runner.mail_retry_delays_seconds -----

RETIRED = "no longer used: a delivery is retried after each of runner.mail_retry_delays_seconds"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  max_attempts: 4\n",
            f"config/settings.yaml: smtp.max_attempts: {RETIRED} (remove this key)",
        ),
        (
            "  backoff_seconds: 2\n",
            f"config/settings.yaml: smtp.backoff_seconds: {RETIRED} (remove this key)",
        ),
    ],
)
def test_retired_smtp_key_in_settings_yaml_is_one_problem(
    config_dir: Path, line: str, expected: str
) -> None:
    edit(config_dir / "settings.yaml", "  host: embedded\n", f"  host: embedded\n{line}")

    assert check_config(config_dir, {}, cwd=config_dir.parent) == [expected]


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("TTHC_SMTP__MAX_ATTEMPTS", f"TTHC_SMTP__MAX_ATTEMPTS: smtp.max_attempts: {RETIRED}"),
        (
            "TTHC_SMTP__BACKOFF_SECONDS",
            f"TTHC_SMTP__BACKOFF_SECONDS: smtp.backoff_seconds: {RETIRED}",
        ),
    ],
)
def test_retired_smtp_key_in_the_environment_is_one_problem(variable: str, expected: str) -> None:
    problems = check_config(DEFAULT_CONFIG_DIR, {variable: "3"})

    assert problems == [f"{expected} (unset this variable)"]


def test_portal_retry_keys_are_still_settings() -> None:
    config = load_demo({"TTHC_PORTAL__MAX_ATTEMPTS": "2"})

    assert config.settings.portal.max_attempts == 2
    assert config.settings.portal.backoff_seconds == 0.5
    assert not hasattr(config.settings.smtp, "max_attempts")
    assert not hasattr(config.settings.smtp, "backoff_seconds")


# --- paths ------------------------------------------------------------------------------


def test_relative_paths_are_resolved(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "portal-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    edit(config_dir / "settings.yaml", "  ca_bundle:\n", "  ca_bundle: portal-ca.pem\n")
    workdir = tmp_path / "run"

    config = load_config(config_dir, {}, cwd=workdir)

    assert config.output_dir == workdir / "out"
    assert config.settings.portal.scenario == str(PROJECT_ROOT / "portal_sim/scenarios/demo.yaml")
    assert config.settings.portal.ca_bundle == str(config_dir / "portal-ca.pem")
    assert config.config_dir == config_dir


def test_absolute_output_dir_is_kept(config_dir: Path, tmp_path: Path) -> None:
    config = load_config(config_dir, {"TTHC_OUTPUT_DIR": str(tmp_path / "x")}, cwd=tmp_path)

    assert config.output_dir == tmp_path / "x"


def test_missing_ca_bundle_is_a_problem(config_dir: Path) -> None:
    problems = check_config(
        config_dir, {"TTHC_SMTP__CA_BUNDLE": "mail-ca.pem"}, cwd=config_dir.parent
    )

    assert problems == [
        f"TTHC_SMTP__CA_BUNDLE (overrides smtp.ca_bundle): file not found: "
        f"{config_dir / 'mail-ca.pem'}"
    ]


# --- helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trong {period}, lấy", "trong tháng 5/2024, lấy"),
        ("không có chỗ trống", "không có chỗ trống"),
        ("{period} và {period}", "tháng 5/2024 và tháng 5/2024"),
    ],
)
def test_fill_placeholders(text: str, expected: str) -> None:
    assert fill_placeholders(text, period="tháng 5/2024") == expected


def test_addresses_are_distinct_ignoring_case() -> None:
    addresses = load_demo().recipients.addresses()

    assert len(addresses) == len({a.lower() for a in addresses}) == 10
    assert "ttphvhcc@demo.gov.vn" in addresses
