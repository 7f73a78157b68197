"""Tests of the environment: `TTHC_*` overrides (through pydantic-settings) and the secrets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.settings.loading import DEFAULT_CONFIG_DIR, check_config, load_config
from tasks.settings.models import AppConfig, Secrets, Settings
from tests.tasks.settings.demo import edit, load_demo

# --- overrides and secrets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        ("TTHC_OUTPUT_DIR", "/srv/tthc/out", lambda c: c.settings.output_dir, "/srv/tthc/out"),
        (
            "TTHC_PORTAL__BASE_URL",
            "https://api.demo.gov.vn/dvcqg",
            lambda c: c.settings.portal.base_url,
            "https://api.demo.gov.vn/dvcqg",
        ),
        ("TTHC_SMTP__PORT", "2525", lambda c: c.settings.smtp.port, 2525),
        ("TTHC_SMTP__HOST", "mail.demo.gov.vn", lambda c: c.settings.smtp.host, "mail.demo.gov.vn"),
        ("TTHC_PORTAL__BACKOFF_SECONDS", "1.5", lambda c: c.settings.portal.backoff_seconds, 1.5),
        (
            "TTHC_OPERATORS",
            "[a@demo.gov.vn, b@demo.gov.vn]",
            lambda c: c.settings.operators,
            ["a@demo.gov.vn", "b@demo.gov.vn"],
        ),
        # A text setting keeps the raw string, even when it reads as a YAML number or boolean.
        ("TTHC_PLACE", "2024", lambda c: c.settings.place, "2024"),
        ("TTHC_SMTP__SECURITY", "starttls", lambda c: c.settings.smtp.security, "starttls"),
        (
            "TTHC_NATIONAL_INDEX__BASE_URL",
            "off",
            lambda c: c.settings.national_index.base_url,
            "off",
        ),
        (
            "TTHC_NATIONAL_INDEX__ROOT_DEPARTMENT_ID",
            "019d2be3-6a85-74ec-a346-6489e82ae4c7",
            lambda c: c.settings.national_index.root_department_id,
            "019d2be3-6a85-74ec-a346-6489e82ae4c7",
        ),
        (
            "tthc_national_index__pause_max_seconds",
            "3",
            lambda c: c.settings.national_index.pause_max_seconds,
            3.0,
        ),
    ],
)
def test_environment_overrides_a_setting(
    variable: str, value: str, read: Callable[[AppConfig], object], expected: object
) -> None:
    environ = {variable: value}
    if variable == "TTHC_SMTP__HOST":
        environ["TTHC_SMTP__PORT"] = "587"

    config = load_demo(environ)

    assert read(config) == expected
    assert type(read(config)) is type(expected)


def test_port_override_is_an_int_and_other_settings_stay() -> None:
    config = load_demo({"TTHC_SMTP__PORT": "2525"})

    assert config.settings.smtp.port == 2525
    assert config.settings.smtp.host == "embedded"
    assert config.settings.portal.page_size == 500


def test_config_dir_variable_is_not_an_override() -> None:
    assert check_config(DEFAULT_CONFIG_DIR, {"TTHC_CONFIG_DIR": "/etc/tthc"}) == []


def test_secrets_come_from_the_environment_and_stay_hidden() -> None:
    config = load_demo(
        {"PORTAL_USERNAME": "baocao", "PORTAL_PASSWORD": "p0rtal!", "SMTP_PASSWORD": "m4il!"}
    )

    assert config.secrets.portal_username == "baocao"
    assert config.secrets.portal_password is not None
    assert config.secrets.portal_password.get_secret_value() == "p0rtal!"
    assert config.secrets.smtp_password is not None
    assert config.secrets.smtp_password.get_secret_value() == "m4il!"
    assert "p0rtal!" not in repr(config) and "m4il!" not in repr(config)


def test_unset_or_empty_secrets_are_none() -> None:
    config = load_demo({"SMTP_PASSWORD": ""})

    assert config.secrets.smtp_password is None
    assert config.secrets.portal_password is None


# --- the names: any case, each key once -----------------------------------------------


@pytest.mark.parametrize(
    "variable", ["tthc_smtp__port", "Tthc_Smtp__Port", "TTHC_smtp__PORT", "TTHC_SMTP__PORT"]
)
def test_variable_names_are_case_insensitive(variable: str) -> None:
    config = load_demo({variable: "2525"})

    assert config.settings.smtp.port == 2525


def test_unknown_variable_in_lower_case_is_named_as_written() -> None:
    problems = check_config(DEFAULT_CONFIG_DIR, {"tthc_smtp__hostname": "mail.demo.gov.vn"})

    assert problems == [
        "tthc_smtp__hostname: environment override of unknown setting 'smtp.hostname'; "
        "did you mean 'host'? (allowed: host, port, security, user, timeout_seconds, "
        "deadline_seconds, max_recipients_per_message, sender_name, sender_address, "
        "max_attachment_bytes, ca_bundle)"
    ]


def test_config_dir_variable_in_lower_case_is_not_an_override() -> None:
    assert check_config(DEFAULT_CONFIG_DIR, {"tthc_config_dir": "/etc/tthc"}) == []


def test_one_key_set_by_two_variables_is_refused() -> None:
    problems = check_config(
        DEFAULT_CONFIG_DIR, {"TTHC_SMTP__PORT": "2525", "tthc_smtp__port": "2626"}
    )

    assert problems == ["tthc_smtp__port: sets smtp.port like TTHC_SMTP__PORT (keep one of them)"]


def test_variable_without_the_prefix_is_not_read() -> None:
    assert load_demo({"SMTP__PORT": "2525", "PORT": "2525"}).settings.smtp.port == 0


# --- precedence: environment over settings.yaml over defaults --------------------------


def test_environment_wins_over_the_file_and_keeps_its_other_keys(config_dir: Path) -> None:
    edit(config_dir / "settings.yaml", "  max_concurrency: 4\n", "  max_concurrency: 2\n")
    edit(config_dir / "settings.yaml", "  kind: default\n", "")

    config = load_config(
        config_dir,
        {"TTHC_RUNNER__MAIL_RETRY_DELAYS_SECONDS": "[0, 1.5]"},
        cwd=config_dir.parent,
    )

    runner = config.settings.runner
    assert runner.mail_retry_delays_seconds == [0, 1.5]  # the environment
    assert runner.max_concurrency == 2  # the file
    assert runner.kind == "default"  # the default
    assert runner.portal_retry_delays_seconds == [10, 60]


def test_a_whole_section_can_be_given_as_yaml() -> None:
    config = load_demo({"TTHC_SMTP": "{host: mail.demo.gov.vn, port: 587}"})

    assert (config.settings.smtp.host, config.settings.smtp.port) == ("mail.demo.gov.vn", 587)
    assert config.settings.smtp.sender_address == "bao-cao-tthc@demo.gov.vn"


def test_list_that_is_not_yaml_names_the_variable() -> None:
    problems = check_config(DEFAULT_CONFIG_DIR, {"TTHC_OPERATORS": "[a@demo.gov.vn"})

    assert problems == [
        "TTHC_OPERATORS (overrides operators): Input should be a valid list (got '[a@demo.gov.vn')"
    ]


# --- nothing is read from os.environ ----------------------------------------------------


def test_load_config_reads_only_the_environ_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_SMTP__PORT", "2525")
    monkeypatch.setenv("TTHC_SMTP__HOSTNAME", "typo")
    monkeypatch.setenv("SMTP_PASSWORD", "m4il!")

    config = load_demo({})

    assert config.settings.smtp.port == 0
    assert config.secrets.smtp_password is None


def test_building_the_models_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_PLACE", "Elsewhere")
    monkeypatch.setenv("PORTAL_USERNAME", "baocao")

    assert Settings().place == "Demo"
    assert Settings(place="Huế").place == "Huế"
    assert Secrets().portal_username is None


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        (
            "TTHC_PORTAL__PASSWORD",
            "TTHC_PORTAL__PASSWORD: secrets come from the environment: "
            "set PORTAL_PASSWORD, not a settings override",
        ),
        (
            "TTHC_PORTAL__USERNAME",
            "TTHC_PORTAL__USERNAME: secrets come from the environment: "
            "set PORTAL_USERNAME, not a settings override",
        ),
        (
            "tthc_smtp__password",
            "tthc_smtp__password: secrets come from the environment: "
            "set SMTP_PASSWORD, not a settings override",
        ),
    ],
)
def test_secret_as_an_override_is_refused(variable: str, expected: str) -> None:
    problems = check_config(DEFAULT_CONFIG_DIR, {variable: "hunter2"})

    assert problems == [expected]
