"""Tests of tasks/documents/pdf.py: a PDF where LibreOffice is installed, a log line where it is not."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from docx import Document

from tasks.documents.pdf import PdfConversionError, convert_to_pdf, find_soffice

# A stand-in for soffice: records its arguments, then writes a PDF where --outdir says.
FAKE_SOFFICE = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/argv.txt"
while [ $# -gt 1 ]; do
  if [ "$1" = "--outdir" ]; then out="$2"; fi
  shift
done
name=$(basename "$1" .docx)
mkdir -p "$out"
printf '%%PDF-1.4 fake\\n' > "$out/$name.pdf"
"""
FAILING_SOFFICE = """#!/bin/sh
echo "Error: source file could not be loaded" >&2
exit 0
"""
CRASHING_SOFFICE = """#!/bin/sh
echo "soffice.bin crashed" >&2
exit 81
"""
HANGING_SOFFICE = """#!/bin/sh
sleep 30 &
echo $! > "$(dirname "$0")/child.pid"
wait
"""


def script(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def small_docx(path: Path, text: str = "Báo cáo tháng 5/2024") -> Path:
    document = Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


def test_without_libreoffice_returns_none_and_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docx = small_docx(tmp_path / "Báo cáo.docx")
    with caplog.at_level(logging.INFO, logger="tasks.documents.pdf"):
        assert convert_to_pdf(docx, soffice=None, search_path="") is None
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "LibreOffice not found: PDF not produced, the .docx alone is delivered" in message
    assert "Báo cáo.docx" in message
    assert not (tmp_path / "Báo cáo.pdf").exists()


def test_an_explicit_program_that_is_missing_is_named_in_the_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docx = small_docx(tmp_path / "a.docx")
    with caplog.at_level(logging.INFO, logger="tasks.documents.pdf"):
        assert convert_to_pdf(docx, soffice=str(tmp_path / "no-soffice")) is None
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(f"LibreOffice not found ({tmp_path / 'no-soffice'})")
    )


def test_find_soffice_looks_on_the_given_path(tmp_path: Path) -> None:
    assert find_soffice("") is None
    bin_dir = tmp_path / "bin"
    libreoffice = script(bin_dir, "libreoffice", FAKE_SOFFICE)
    assert find_soffice(str(bin_dir)) == str(libreoffice)
    soffice = script(bin_dir, "soffice", FAKE_SOFFICE)
    assert find_soffice(str(bin_dir)) == str(soffice)


def test_converts_beside_the_docx_with_an_isolated_profile(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    script(bin_dir, "soffice", FAKE_SOFFICE)
    docx = small_docx(tmp_path / "Báo cáo TTHC 2024-05 skhcn.docx")

    pdf = convert_to_pdf(docx, search_path=str(bin_dir))

    assert pdf == tmp_path / "Báo cáo TTHC 2024-05 skhcn.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    argv = (bin_dir / "argv.txt").read_text().splitlines()
    profile = next(a for a in argv if a.startswith("-env:UserInstallation=file:///"))
    assert "tthc-pdf-" in profile
    assert {"--headless", "--convert-to", "--norestore"} <= set(argv)
    assert argv[-1] == str(docx.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Báo cáo TTHC 2024-05 skhcn.docx",
        "Báo cáo TTHC 2024-05 skhcn.pdf",
        "bin",
    ]


@pytest.mark.parametrize(
    ("program", "said"),
    [
        (FAILING_SOFFICE, "exited with 0 and wrote no PDF: Error: source file could not be loaded"),
        (CRASHING_SOFFICE, "exited with 81 and wrote no PDF: soffice.bin crashed"),
    ],
    ids=["no-output", "exit-code"],
)
def test_a_failed_conversion_names_the_file(tmp_path: Path, program: str, said: str) -> None:
    soffice = script(tmp_path / "bin", "soffice", program)
    docx = small_docx(tmp_path / "broken.docx")
    with pytest.raises(PdfConversionError, match=r"broken\.docx") as raised:
        convert_to_pdf(docx, soffice=str(soffice))
    assert said in str(raised.value)
    assert not (tmp_path / "broken.pdf").exists()


def test_a_hanging_conversion_is_killed_with_its_children(tmp_path: Path) -> None:
    soffice = script(tmp_path / "bin", "soffice", HANGING_SOFFICE)
    docx = small_docx(tmp_path / "slow.docx")
    with pytest.raises(PdfConversionError, match=r"slow.docx.*did not finish in 0.3 s"):
        convert_to_pdf(docx, soffice=str(soffice), timeout=0.3)
    child = int((tmp_path / "bin" / "child.pid").read_text())
    status = Path(f"/proc/{child}/status")
    # Killed: gone, or a zombie waiting for init to reap it.
    assert not status.exists() or "State:\tZ" in status.read_text()


def test_a_missing_docx_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.docx"):
        convert_to_pdf(tmp_path / "missing.docx", search_path="")


@pytest.mark.skipif(
    find_soffice() is None, reason="LibreOffice (soffice) is not installed on this machine"
)
def test_libreoffice_converts_a_small_docx(tmp_path: Path) -> None:
    docx = small_docx(tmp_path / "Báo cáo.docx", "Kết quả giải quyết hồ sơ")
    pdf = convert_to_pdf(docx, timeout=180)
    assert pdf is not None
    assert pdf.read_bytes().startswith(b"%PDF")
