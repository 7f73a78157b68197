"""Tests of tasks/documents/template_stamp.py: a passed template check is skipped until something changes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.documents.template_stamp import (
    STAMP_FILE,
    template_problems_unless_passed,
    templates_fingerprint,
)
from tasks.settings.paths import PROJECT_ROOT


def program_and_templates(root: Path) -> tuple[Path, list[Path]]:
    program = root / "tasks"
    (program / "documents").mkdir(parents=True)
    (program / "documents" / "report_document.py").write_text("KEYS = ('a',)\n")
    templates = [root / "report.docx", root / "summary.docx"]
    for template in templates:
        template.write_bytes(b"PK template " + template.name.encode())
    return program, templates


def edit_template(program: Path, templates: list[Path]) -> None:
    templates[1].write_bytes(b"PK template edited in Word")


def edit_program(program: Path, templates: list[Path]) -> None:
    (program / "documents" / "report_document.py").write_text("KEYS = ('a', 'b')\n")


def add_module(program: Path, templates: list[Path]) -> None:
    (program / "documents" / "context.py").write_text("")


def remove_template(program: Path, templates: list[Path]) -> None:
    templates[0].unlink()


def touch_only(program: Path, templates: list[Path]) -> None:
    # The same bytes written again: nothing the check reads has changed.
    for template in templates:
        template.write_bytes(template.read_bytes())


@pytest.mark.parametrize(
    ("change", "changes_fingerprint"),
    [
        (edit_template, True),
        (edit_program, True),
        (add_module, True),
        (remove_template, True),
        (touch_only, False),
    ],
)
def test_the_fingerprint_changes_with_what_the_check_reads(
    tmp_path: Path, change: Callable[[Path, list[Path]], None], changes_fingerprint: bool
) -> None:
    program, templates = program_and_templates(tmp_path)
    before = templates_fingerprint(templates, program)
    change(program, templates)
    assert (templates_fingerprint(templates, program) != before) is changes_fingerprint


def test_a_pass_is_remembered_until_a_template_changes(tmp_path: Path) -> None:
    templates = [PROJECT_ROOT / "templates" / "report.docx", tmp_path / "summary.docx"]
    templates[1].write_bytes((PROJECT_ROOT / "templates" / "centre_summary.docx").read_bytes())
    checks: list[str] = []

    def check() -> list[str]:
        checks.append("checked")
        return []

    out = tmp_path / "out"
    assert template_problems_unless_passed(out, templates, check) == []
    assert template_problems_unless_passed(out, templates, check) == []
    assert checks == ["checked"]
    assert (out / STAMP_FILE).is_file()

    templates[1].write_bytes(templates[1].read_bytes() + b"\0")
    assert template_problems_unless_passed(out, templates, check) == []
    assert checks == ["checked", "checked"]


def test_problems_are_found_every_time(tmp_path: Path) -> None:
    template = tmp_path / "report.docx"
    template.write_bytes(b"PK")
    checks: list[str] = []

    def check() -> list[str]:
        checks.append("checked")
        return [f"{template}: paragraph 3: tag 'nguoi_ky' names a value ..."]

    for _ in range(2):
        problems = template_problems_unless_passed(tmp_path / "out", [template], check)
        assert problems == [f"{template}: paragraph 3: tag 'nguoi_ky' names a value ..."]
    assert checks == ["checked", "checked"]
    assert not (tmp_path / "out" / STAMP_FILE).exists()


def test_an_output_folder_that_cannot_be_written_only_costs_the_full_check(
    tmp_path: Path,
) -> None:
    template = tmp_path / "report.docx"
    template.write_bytes(b"PK")
    not_a_folder = tmp_path / "out"
    not_a_folder.write_text("a file where the output folder should be")
    checks: list[str] = []

    def check() -> list[str]:
        checks.append("checked")
        return []

    for _ in range(2):
        assert template_problems_unless_passed(not_a_folder, [template], check) == []
    assert checks == ["checked", "checked"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "report.docx"]


def test_check_config_a_second_time_loads_no_document_library(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        "    app(['check-config'])\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        "print(sorted(m for m in ('docx', 'docxtpl', 'jinja2') if m in sys.modules))\n"
    )
    environ = {**os.environ, "TTHC_OUTPUT_DIR": str(tmp_path / "out")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env=environ,
            cwd=PROJECT_ROOT,
        ).stdout.splitlines()
        for _ in range(2)
    ]
    assert runs[0] == [
        "configuration OK: 5 departments, 10 recipients",
        "['docx', 'docxtpl', 'jinja2']",
    ]
    assert runs[1] == ["configuration OK: 5 departments, 10 recipients", "[]"]
