"""Tests of tasks/documents/template_check.py: a template's tags against the renderer's values."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from docxtpl import DocxTemplate
from jinja2 import Environment

from tasks.documents.template_check import (
    report_context_keys,
    summary_context_keys,
    template_problems,
)
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config
from tasks.settings.models import AppConfig
from tasks.settings.paths import REPORT_TEMPLATE, SUMMARY_TEMPLATE


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(DEFAULT_CONFIG_DIR, {})


def _used(template: Path) -> set[str]:
    return set(DocxTemplate(str(template)).get_undeclared_template_variables(Environment()))


def test_shipped_templates_use_only_values_the_renderer_gives(config: AppConfig) -> None:
    assert _used(REPORT_TEMPLATE) <= report_context_keys(config)
    assert _used(SUMMARY_TEMPLATE) <= summary_context_keys(config)
    assert template_problems(REPORT_TEMPLATE, report_context_keys(config)) == []
    assert template_problems(SUMMARY_TEMPLATE, summary_context_keys(config)) == []


def test_context_keys_come_from_the_renderers(config: AppConfig) -> None:
    assert {"signer_name", "result_lines", "chart_trend", "noi_nhan"} <= report_context_keys(config)
    assert {"rows", "total", "findings"} <= summary_context_keys(config)


def _with_paragraph(tmp_path: Path, text: str) -> Path:
    document = docx.Document(str(REPORT_TEMPLATE))
    document.add_paragraph(text)
    path = tmp_path / "report.docx"
    document.save(str(path))
    return path


@pytest.mark.parametrize(
    ("paragraph", "name"),
    [
        ("Ký tên: {{ nguoi_ky }}", "nguoi_ky"),
        ("{% for dong in danh_sach %}{{ dong }}{% endfor %}", "danh_sach"),
        ("{{ signer_name }} – {{ chuc_vu|upper }}", "chuc_vu"),
    ],
)
def test_unknown_value_is_named_with_its_paragraph(
    config: AppConfig, tmp_path: Path, paragraph: str, name: str
) -> None:
    template = _with_paragraph(tmp_path, paragraph)

    problems = template_problems(template, report_context_keys(config))

    assert len(problems) == 1
    assert problems[0].startswith(f"{template}: paragraph ")
    assert (
        f"{paragraph!r}: tag {name!r} names a value the renderer does not provide" in (problems[0])
    )


def test_missing_template_and_a_file_that_is_not_word(tmp_path: Path) -> None:
    not_word = tmp_path / "report.docx"
    not_word.write_text("not a zip")

    assert template_problems(tmp_path / "none.docx", set()) == [
        f"{tmp_path / 'none.docx'}: template not found"
    ]
    (problem,) = template_problems(not_word, set())
    assert problem.startswith(f"{not_word}: cannot be read as a Word template: ")
