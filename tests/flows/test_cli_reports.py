"""`tthc-report figures` and `render` on the embedded simulator, checked against the seed report."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from tasks.figures.engine import FIGURE_KEYS, FORM_KEYS, RATE_KEYS
from tasks.settings.loading import DEFAULT_CONFIG_DIR
from tests.builders import SEED_STATED_FIGURES

SEED = Path(__file__).parent.parent / "fixtures" / "bao-cao-skhcn-thang-5-2024.txt"


# Seed lines the document words differently on purpose, and why.
SEED_LINES_WORDED_OTHERWISE = {
    # report-format.md names the distribution block "Nơi nhận:" (Decree 30/2020).
    "Đối tượng:",
}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TTHC_OUTPUT_DIR", str(tmp_path / "out"))
    return CliRunner()


def _figures(runner: CliRunner, period: str) -> dict[str, object]:
    result = runner.invoke(
        app,
        [
            "--config",
            str(DEFAULT_CONFIG_DIR),
            "figures",
            "--period",
            period,
            "--department",
            "SKHCN",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_figures_json_prints_the_seed_figures(runner: CliRunner) -> None:
    printed = _figures(runner, "2024-05")

    assert {key: printed[key] for key in SEED_STATED_FIGURES} == SEED_STATED_FIGURES
    assert set(FIGURE_KEYS) | set(RATE_KEYS) <= set(printed)
    assert printed["early_rate"] == pytest.approx(49 / 54)
    assert printed["postal_rate"] == pytest.approx(40 / 60)
    quality = printed["data_quality"]
    assert isinstance(quality, dict)
    assert quality["reconciliation"]["balanced"] is True
    assert quality["withdrawn"] == 4


def test_figures_json_prints_april_postal_rate(runner: CliRunner) -> None:
    assert _figures(runner, "2024-04")["postal_rate"] == pytest.approx(0.28)


def test_figures_refuses_an_unknown_department(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["figures", "--period", "2024-05", "--department", "SXYZ", "--json"]
    )

    assert result.exit_code != 0
    assert "SXYZ" in result.output


def _seed_lines() -> list[str]:
    lines = []
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        line = raw.replace("*", "").strip()
        if line and line not in SEED_LINES_WORDED_OTHERWISE:
            lines.append(line)
    return lines


def _document_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.extend(paragraph.text for paragraph in cell.paragraphs)
    return "\n".join(parts)


def _render(runner: CliRunner, period: str, department: str) -> Result:
    command = ["--config", str(DEFAULT_CONFIG_DIR), "render", "--period", period]
    result = runner.invoke(app, [*command, "--department", department])
    assert result.exit_code == 0, result.output
    return result


def test_render_writes_the_seed_report_word_for_word(runner: CliRunner, tmp_path: Path) -> None:
    result = _render(runner, "2024-05", "SKHCN")
    folder = tmp_path / "out" / "reports" / "2024-05"
    report = folder / "Báo cáo TTHC 2024-05 SKHCN.docx"
    data_form = folder / "Biểu mẫu số liệu 2024-05 SKHCN.xlsx"
    assert str(report) in result.stdout
    assert str(data_form) in result.stdout

    text = _document_text(report)
    missing = [line for line in _seed_lines() if line not in text]
    assert missing == []
    # The subject is one paragraph, broken where the seed breaks it.
    assert (
        "Kết quả tiếp nhận, giải quyết TTHC\ntại Trung tâm Phục vụ hành chính công tỉnh tháng 5/2024"
        in text
    )
    assert "Nơi nhận:" in text
    # The four dossiers the seed leaves unexplained are counted in the data-quality note.
    assert "- 04 hồ sơ do tổ chức, cá nhân xin rút (chưa thể hiện trong các mục trên)." in text
    # The department's standing in the national index (the embedded simulator's figures).
    assert (
        "trên Cổng Dịch vụ công quốc gia tháng 5/2024: Sở Khoa học và Công nghệ đạt 84,84/100 "
        "điểm, xếp thứ 2/6 sở, ban, ngành của tỉnh; trong đó:" in text
    )
    assert "- Tiến độ giải quyết: 20/20 điểm;" in text
    assert "- Mức độ hài lòng: 17,5/18 điểm." in text

    sheet = openpyxl.load_workbook(data_form).active
    assert sheet is not None
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    total = next(row for row in rows if row[1] == "Tổng cộng")
    numbers = [cell for cell in total if isinstance(cell, int)]
    assert numbers == [
        63,
        60,
        0,
        0,
        3,  # received: total, online, direct, postal; carried over
        54,
        49,
        5,
        0,  # resolved: total, early, on time, late
        5,
        5,
        0,  # in progress: total, within deadline, overdue
        4,
        0,  # withdrawn, returned: 63 = 54 + 5 + 4 + 0
    ]
    assert len(numbers) == len(FORM_KEYS)


def test_render_of_some_departments_never_writes_the_centre_summary(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = _render(runner, "2024-04", "SKHCN")

    folder = tmp_path / "out" / "reports" / "2024-04"
    assert sorted(path.name for path in folder.iterdir() if path.suffix != ".pdf") == [
        "Biểu mẫu số liệu 2024-04 SKHCN.xlsx",
        "Báo cáo TTHC 2024-04 SKHCN.docx",
    ]
    assert "báo cáo tổng hợp chưa lập: lượt chạy không gồm STP" in result.stdout
