"""Bad input refused before anything is sent, with an error naming where it is.

Each broken configuration is found by `tthc-report check-config` and stops `tthc-report send`
the same way (exit 2, the problem on stderr) while a real mail server listens: it must receive
nothing. Broken templates are found by the template check that check-config runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

from flows.cli import app
from standins.smtp_server import LoopbackSmtpServer
from tasks.documents.template_check import check_templates
from tasks.settings.loading import load_config
from tasks.settings.paths import REPORT_TEMPLATE, SUMMARY_TEMPLATE
from tests.faults.conftest import ScenarioLog
from tests.faults.province import FAST_RETRIES, write_config

Edit = Callable[[str], str]


def _replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, f"{old!r} is not in the file"
        return text.replace(old, new, 1)

    return edit


# name: (file, edit, the problem's text as check-config prints it, a regular expression)
LAUGHS = "\n".join(
    [
        'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)),
    ]
)

BAD_CONFIGURATIONS: dict[str, tuple[str, Edit, str]] = {
    "a billion laughs (nested YAML aliases)": (
        "settings.yaml",
        lambda text: text + "\n" + LAUGHS + "\n",
        r"settings\.yaml: line \d+, column \d+: invalid YAML: more than 20 aliases",
    ),
    "an internationalised address": (
        "recipients.yaml",
        _replace("vanthu.stp@demo.gov.vn", "vanthu@sở-tp.demo.gov.vn"),
        r"recipients\.yaml: departments\.STP\.to\[0\]: 'vanthu@sở-tp\.demo\.gov\.vn' holds "
        "letters other than ASCII",
    ),
    "YAML that does not parse": (
        "settings.yaml",
        _replace("province: Tỉnh Demo", "province: [Tỉnh Demo"),
        r"settings\.yaml: line \d+, column \d+: invalid YAML: ",
    ),
    "a key written twice": (
        "settings.yaml",
        _replace("place: Demo", "place: Demo\nplace: Demo 2"),
        r"settings\.yaml: line \d+, column \d+: invalid YAML: duplicate key 'place'",
    ),
    "a number that is text": (
        "settings.yaml",
        _replace("page_size: 500", "page_size: nhiều"),
        r"settings\.yaml: portal\.page_size: Input should be a valid integer.*\(got 'nhiều'\)",
    ),
    "a list that is one address": (
        "recipients.yaml",
        _replace(
            "  STP:\n    to:\n    - vanthu.stp@demo.gov.vn",
            "  STP:\n    to: vanthu.stp@demo.gov.vn",
        ),
        r"recipients\.yaml: departments\.STP\.to: Input should be a valid list",
    ),
    "an unknown key": (
        "settings.yaml",
        _replace("max_attempts: 5", "max_atempts: 5"),
        r"settings\.yaml: portal\.max_atempts: unknown key; did you mean 'max_attempts'\?",
    ),
    "an unknown key in a department": (
        "departments.yaml",
        _replace("  parent_authority:", "  parent_authorty:"),
        r"departments\.yaml: departments\[0\]\.parent_authorty: unknown key; did you mean "
        r"'parent_authority'\?",
    ),
    "a password written in the YAML": (
        "settings.yaml",
        _replace("  user:\n", "  user: bao-cao\n  password: hunter2\n"),
        r"settings\.yaml: smtp\.password: secrets come from the environment: set SMTP_PASSWORD "
        r"and remove this key",
    ),
    "a recipient that is not an address": (
        "recipients.yaml",
        _replace("- vanthu.stp@demo.gov.vn", "- vanthu.stp@"),
        r"recipients\.yaml: departments\.STP\.to\[0\]: 'vanthu\.stp@' is not an e-mail address",
    ),
    "a recipient outside the allowed domains": (
        "recipients.yaml",
        _replace("- vanthu.stp@demo.gov.vn", "- vanthu.stp@gmail.com"),
        r"recipients\.yaml: departments\.STP\.to\[0\]: 'vanthu\.stp@gmail\.com' is outside the "
        r"allowed domains \(demo\.gov\.vn\)",
    ),
    "a recipient listed twice": (
        "recipients.yaml",
        _replace("- vanphong.skhcn@demo.gov.vn", "- VanThu.SKHCN@demo.gov.vn"),
        r"recipients\.yaml: departments\.SKHCN\.cc\[0\]: 'VanThu\.SKHCN@demo\.gov\.vn' is "
        r"already listed in departments\.SKHCN\.to\[0\]",
    ),
    "a department key with '/'": (
        "departments.yaml",
        _replace("key: STP", "key: S/TP"),
        r"departments\.yaml: departments\[1\]\.key: department key 'S/TP' may hold only "
        r"letters, digits, '-' and '_'",
    ),
    "a department key with '..'": (
        "departments.yaml",
        _replace("key: STP", "key: ../STP"),
        r"departments\.yaml: departments\[1\]\.key: department key '\.\./STP' may hold only",
    ),
    "a department key with a space": (
        "departments.yaml",
        _replace("key: STP", "key: S TP"),
        r"departments\.yaml: departments\[1\]\.key: department key 'S TP' may hold only",
    ),
}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config")


@pytest.fixture
def environ(tmp_path: Path, smtp_server: LoopbackSmtpServer) -> dict[str, str]:
    """The variables of a run aimed at a real mail server and at a portal nobody answers."""
    return {
        "TTHC_OUTPUT_DIR": str(tmp_path / "out"),
        "TTHC_PORTAL__BASE_URL": "http://127.0.0.1:9/dvcqg",
        "TTHC_SMTP__HOST": smtp_server.host,
        "TTHC_SMTP__PORT": str(smtp_server.port),
        "PORTAL_USERNAME": "demo",
        "PORTAL_PASSWORD": "demo",
        **FAST_RETRIES,
    }


def _stderr_line(stderr: str, pattern: str) -> str:
    found = [line for line in stderr.splitlines() if re.search(pattern, line)]
    assert found, f"no line matches {pattern!r} in:\n{stderr}"
    return found[0]


@pytest.mark.parametrize("name", list(BAD_CONFIGURATIONS))
def test_bad_configuration_is_named_and_nothing_is_sent(
    name: str,
    config_dir: Path,
    environ: dict[str, str],
    smtp_server: LoopbackSmtpServer,
    scenario_log: ScenarioLog,
) -> None:
    file_name, edit, pattern = BAD_CONFIGURATIONS[name]
    path = config_dir / file_name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    runner = CliRunner()

    checked = runner.invoke(app, ["--config", str(config_dir), "check-config"], env=environ)
    sent = runner.invoke(
        app, ["--config", str(config_dir), "send", "--period", "2024-05"], env=environ
    )

    assert checked.exit_code == 2, checked.output
    line = _stderr_line(checked.stderr, pattern)
    assert line.startswith(str(path))  # the file, then the key or line
    assert "configuration OK" not in checked.output
    assert sent.exit_code == 2, sent.output
    _stderr_line(sent.stderr, pattern)
    assert smtp_server.received == []
    assert not (Path(environ["TTHC_OUTPUT_DIR"]) / "reports").exists()
    scenario_log.bad_input(name, f"exit 2: {line[len(str(config_dir)) + 1 :][:90]}", 0)


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        ("2024-13", "month number 13 is out of range 1..12"),
        ("2024-Q5", "quarter number 5 is out of range 1..4"),
        ("2099-01", "period '2099-01' has not started yet"),
    ],
)
def test_bad_period_is_refused_before_the_run(
    period: str,
    problem: str,
    config_dir: Path,
    environ: dict[str, str],
    smtp_server: LoopbackSmtpServer,
    scenario_log: ScenarioLog,
) -> None:
    result = CliRunner().invoke(
        app, ["--config", str(config_dir), "send", "--period", period], env=environ
    )

    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "--period" in text
    assert problem in text
    assert smtp_server.received == []
    scenario_log.bad_input(f"period {period}", f"exit 2: --period: {problem}", 0)


def _template_with(source: Path, folder: Path, text: str) -> Path:
    """Return a copy of `source` with one more paragraph holding `text` (a tag, say)."""
    document = docx.Document(str(source))
    document.add_paragraph(text)
    copy = folder / source.name
    document.save(str(copy))
    return copy


@pytest.mark.parametrize("source", [REPORT_TEMPLATE, SUMMARY_TEMPLATE], ids=lambda p: p.name)
def test_template_tag_for_a_missing_value_is_found_before_any_run(
    source: Path, config_dir: Path, tmp_path: Path, scenario_log: ScenarioLog
) -> None:
    broken = _template_with(source, tmp_path, "Người ký: {{ nguoi_ky }}")
    config = load_config(config_dir, {})
    good_report, good_summary = REPORT_TEMPLATE, SUMMARY_TEMPLATE
    templates = (broken, good_summary) if source == REPORT_TEMPLATE else (good_report, broken)

    problems = check_templates(config, *templates)

    (problem,) = problems
    assert problem.startswith(f"{broken}: paragraph ")
    assert "'Người ký: {{ nguoi_ky }}'" in problem
    assert "tag 'nguoi_ky' names a value the renderer does not provide (known: " in problem
    scenario_log.bad_input(
        f"template {source.name} with {{{{ nguoi_ky }}}}",
        "check-config: names the paragraph and the tag",
        0,
    )


def test_template_with_a_broken_tag_is_found(config_dir: Path, tmp_path: Path) -> None:
    broken = _template_with(REPORT_TEMPLATE, tmp_path, "{{ signer_name ")

    problems = check_templates(load_config(config_dir, {}), broken, SUMMARY_TEMPLATE)

    (problem,) = problems
    assert problem.startswith(f"{broken}: broken tag: ")


def test_shipped_templates_pass_and_check_config_says_so(config_dir: Path) -> None:
    assert check_templates(load_config(config_dir, {})) == []
    result = CliRunner().invoke(app, ["--config", str(config_dir), "check-config"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "configuration OK: 3 departments, 7 recipients\n"
