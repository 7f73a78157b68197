"""Tests of the run's PDF converter (tasks/documents/pdf.py): batches, failures, deadlines, shutdown.

Most use a stand-in soffice (a shell script that writes PDFs as LibreOffice's --convert-to
does and logs each call); those marked `libreoffice` run the real one and skip without it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from docx import Document

from tasks.documents.pdf import (
    PdfConversionError,
    PdfConverter,
    convert_to_pdf,
    converting,
    find_soffice,
    submit_pdf,
    submitted_pdf,
)

# Logs each call (its profile, then its documents, on one line), sleeps $SOFFICE_SLEEP on the
# first call, then writes a PDF for each document except those named "broken*" (what
# LibreOffice does with a file it cannot load); CRASH=1 makes it exit 81 at a broken one
# before writing anything.
FAKE_SOFFICE = """#!/bin/sh
here=$(dirname "$0")
profile=""; out=""; docs=""
while [ $# -gt 0 ]; do
  case "$1" in
    -env:UserInstallation=*) profile="${1#-env:UserInstallation=}";;
    --outdir) out="$2"; shift;;
    *.docx) docs="$docs $1";;
  esac
  shift
done
echo "$profile$docs" >> "$here/calls.log"
if [ ! -f "$here/slept" ]; then touch "$here/slept"; sleep "${SOFFICE_SLEEP:-0}"; fi
mkdir -p "$out"
for doc in $docs; do
  name=$(basename "$doc" .docx)
  case "$name" in
    broken*)
      if [ "${CRASH:-0}" = 1 ]; then echo "soffice.bin crashed" >&2; exit 81; fi
      echo "Error: source file could not be loaded" >&2;;
  esac
done
for doc in $docs; do
  name=$(basename "$doc" .docx)
  case "$name" in broken*) ;; *) printf '%%PDF-1.4 fake\\n' > "$out/$name.pdf";; esac
done
"""
# Starts a child that outlives nothing: both must be killed at the deadline or at close().
HANGING_SOFFICE = """#!/bin/sh
sleep 60 &
echo $! > "$(dirname "$0")/child.pid"
wait
"""

libreoffice = pytest.mark.skipif(
    find_soffice() is None, reason="LibreOffice (soffice) is not installed on this machine"
)


def program(folder: Path, text: str = FAKE_SOFFICE) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "soffice"
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def documents(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        document = Document()
        document.add_paragraph(f"Báo cáo {name}")
        path = folder / f"{name}.docx"
        document.save(str(path))
        paths.append(path)
    return paths


def calls(bin_dir: Path) -> list[tuple[str, list[str]]]:
    """Return each call of the stand-in: its profile and the names of its documents."""
    log = bin_dir / "calls.log"
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        profile, *docs = line.split()
        found.append((profile, [Path(doc).stem for doc in docs]))
    return found


def processes_mentioning(text: str) -> list[int]:
    """Return the pids of live (not zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "status").read_text()
        except OSError:
            continue
        if text in command and "State:\tZ" not in state:
            found.append(int(entry.name))
    return found


def test_documents_queued_meanwhile_go_in_one_call_with_the_lanes_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOFFICE_SLEEP", "0.5")  # the first call is slow: the rest queue up
    bin_dir = tmp_path / "bin"
    first, *rest = documents(tmp_path / "reports", *(f"report-{n}" for n in range(7)))

    # Without gathering: the lane starts on the first document at once.
    with PdfConverter(program(bin_dir), workers=1, max_batch=16, gather_seconds=0) as converter:
        converter.submit(first)
        time.sleep(0.2)
        for path in rest:
            converter.submit(path)
        pdfs = [converter.result(path) for path in [first, *rest]]

    assert pdfs == [path.with_suffix(".pdf") for path in [first, *rest]]
    assert all(pdf.read_bytes().startswith(b"%PDF") for pdf in pdfs)
    made = calls(bin_dir)
    assert [docs for _, docs in made] == [
        ["report-0"],
        [f"report-{n}" for n in range(1, 7)],
    ]
    assert len({profile for profile, _ in made}) == 1  # one warm profile per lane
    assert "tthc-pdf-" in made[0][0]


def test_documents_queued_one_by_one_wait_to_share_a_call_until_somebody_waits(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    paths = documents(tmp_path / "reports", *(f"report-{n}" for n in range(5)))

    with PdfConverter(program(bin_dir), workers=2, gather_seconds=30) as converter:
        for path in paths:
            converter.submit(path)
            time.sleep(0.1)  # written one after another, as a run writes them
        assert calls(bin_dir) == []  # gathering: nobody waits for a PDF yet
        assert converter.result(paths[-1]) == paths[-1].with_suffix(".pdf")
        for path in paths:
            assert converter.result(path) == path.with_suffix(".pdf")

    assert [docs for _, docs in calls(bin_dir)] == [[p.stem for p in paths]]


def test_a_document_nobody_waits_for_is_converted_after_gather_seconds(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    (path,) = documents(tmp_path / "reports", "alone")

    with PdfConverter(program(bin_dir), workers=1, gather_seconds=0.3) as converter:
        converter.submit(path)
        deadline = time.monotonic() + 10
        while not path.with_suffix(".pdf").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        made = calls(bin_dir)

    assert [docs for _, docs in made] == [["alone"]]


def test_a_batch_never_exceeds_max_batch_and_lanes_have_profiles_of_their_own(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    paths = documents(tmp_path / "reports", *(f"r{n}" for n in range(9)))

    with PdfConverter(program(bin_dir), workers=2, max_batch=2) as converter:
        for path in paths:
            converter.submit(path)
        for path in paths:
            assert converter.result(path) == path.with_suffix(".pdf")

    made = calls(bin_dir)
    assert sorted(name for _, docs in made for name in docs) == sorted(p.stem for p in paths)
    assert max(len(docs) for _, docs in made) <= 2
    assert len({profile for profile, _ in made}) <= 2


def test_two_documents_of_one_name_never_share_a_call(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    [a] = documents(tmp_path / "one", "report")
    [b] = documents(tmp_path / "two", "report")

    with PdfConverter(program(bin_dir), workers=1) as converter:
        converter.submit(a)
        converter.submit(b)
        assert converter.result(a) == tmp_path / "one" / "report.pdf"
        assert converter.result(b) == tmp_path / "two" / "report.pdf"

    assert all(len(docs) == 1 for _, docs in calls(bin_dir))


@pytest.mark.parametrize("crash", ["0", "1"], ids=["skips-it", "crashes-on-it"])
def test_one_bad_document_fails_alone_and_the_others_get_their_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    monkeypatch.setenv("CRASH", crash)
    bin_dir = tmp_path / "bin"
    good_a, broken, good_b = documents(tmp_path / "reports", "a", "broken", "b")

    with PdfConverter(program(bin_dir), workers=1) as converter:
        for path in (good_a, broken, good_b):
            converter.submit(path)
        assert converter.result(good_a) == good_a.with_suffix(".pdf")
        assert converter.result(good_b) == good_b.with_suffix(".pdf")
        with pytest.raises(PdfConversionError, match=r"broken\.docx") as raised:
            converter.result(broken)
        # A bad document does not stop the converter for the documents after it.
        [later] = documents(tmp_path / "reports", "later")
        assert converter.convert(later) == later.with_suffix(".pdf")

    said = "exited with 81" if crash == "1" else "source file could not be loaded"
    assert said in str(raised.value)
    assert not broken.with_suffix(".pdf").exists()
    assert ["broken"] in [docs for _, docs in calls(bin_dir)]  # tried alone before giving up


def test_a_hung_libreoffice_is_killed_and_the_rest_of_the_run_goes_without_pdfs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bin_dir = tmp_path / "bin"
    slow, after = documents(tmp_path / "reports", "slow", "after")

    with (
        caplog.at_level(logging.WARNING, logger="tasks.documents.pdf"),
        PdfConverter(program(bin_dir, HANGING_SOFFICE), timeout=0.5) as converter,
    ):
        started = time.monotonic()
        with pytest.raises(PdfConversionError, match=r"slow\.docx.*did not finish in 0.5 s"):
            converter.convert(slow)
        assert time.monotonic() - started < 5
        with pytest.raises(PdfConversionError, match="the rest of this run goes without PDFs"):
            converter.convert(after)
        child = int((bin_dir / "child.pid").read_text())
        assert processes_mentioning(converter.work_dir.name) == []

    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "State:\tZ" in status.read_text()
    assert [r.getMessage() for r in caplog.records] == [
        "PDF conversion stopped: LibreOffice did not finish in 0.5 s and was stopped; "
        "the rest of this run goes without PDFs"
    ]


def test_closing_kills_a_running_call_fails_its_waiters_and_removes_the_profiles(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    [stuck] = documents(tmp_path / "reports", "stuck")
    converter = PdfConverter(program(bin_dir, HANGING_SOFFICE), timeout=60)
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            converter.convert(stuck)
        except PdfConversionError as error:
            errors.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    deadline = time.monotonic() + 10
    while not (bin_dir / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert processes_mentioning(converter.work_dir.name), "LibreOffice should be running"

    started = time.monotonic()
    converter.close()
    waiter.join(timeout=10)

    assert time.monotonic() - started < 5
    assert not waiter.is_alive()
    assert len(errors) == 1
    assert "closed" in str(errors[0])
    assert processes_mentioning(converter.work_dir.name) == []
    assert not converter.work_dir.exists()
    child = Path(f"/proc/{int((bin_dir / 'child.pid').read_text())}/status")
    assert not child.exists() or "State:\tZ" in child.read_text()
    with pytest.raises(PdfConversionError, match="the converter is closed"):
        converter.convert(stuck)


def test_a_block_that_raises_still_stops_its_converter(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    work_dirs = []
    with pytest.raises(RuntimeError, match="the run failed"), converting(program(bin_dir)) as c:
        assert c is not None
        work_dirs.append(c.work_dir)
        raise RuntimeError("the run failed")
    [work_dir] = work_dirs
    assert not work_dir.exists()
    [docx] = documents(tmp_path / "reports", "after")
    # Outside the block convert_to_pdf is on its own again (and finds no LibreOffice here).
    assert convert_to_pdf(docx, search_path="") is None


def test_convert_to_pdf_goes_through_the_blocks_converter(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    paths = documents(tmp_path / "reports", "a", "b")
    with converting(program(bin_dir), workers=1) as converter:
        assert converter is not None
        assert [convert_to_pdf(path) for path in paths] == [p.with_suffix(".pdf") for p in paths]
        assert submit_pdf(paths[0])
        assert submitted_pdf(paths[0]) == paths[0].with_suffix(".pdf")
    assert {profile for profile, _ in calls(bin_dir)} == {
        (converter.work_dir / "profile-0").as_uri()
    }
    assert not submit_pdf(paths[0])  # no converter outside the block
    with pytest.raises(PdfConversionError, match="converter stopped"):
        submitted_pdf(paths[0])


def test_without_libreoffice_there_is_no_converter(tmp_path: Path) -> None:
    [docx] = documents(tmp_path, "a")
    with converting(search_path="") as converter:
        assert converter is None
        assert not submit_pdf(docx)
        assert convert_to_pdf(docx, search_path="") is None


def test_a_program_that_cannot_start_fails_each_document_by_name(tmp_path: Path) -> None:
    not_executable = tmp_path / "bin" / "soffice"
    not_executable.parent.mkdir()
    not_executable.write_text("not a program")
    [docx] = documents(tmp_path, "a")
    with (
        PdfConverter(str(not_executable)) as converter,
        pytest.raises(PdfConversionError, match=r"a\.docx.*Permission denied"),
    ):
        converter.convert(docx)


@libreoffice
def test_libreoffice_converts_a_batch_and_leaves_no_process(tmp_path: Path) -> None:
    paths = documents(tmp_path / "reports", "Sở Tư pháp", "Sở Y tế", "UBND xã A")
    with converting(workers=1, timeout=180) as converter:
        assert converter is not None
        work_dir = converter.work_dir
        for path in paths:
            assert submit_pdf(path)
        pdfs = [submitted_pdf(path) for path in paths]
        batches = converter.batches
    assert batches <= len(paths)
    assert processes_mentioning(work_dir.name) == []
    assert not work_dir.exists()
    for path, pdf in zip(paths, pdfs, strict=True):
        assert pdf == path.with_suffix(".pdf")
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert f"Báo cáo {path.stem}" in text
        else:
            assert pdf.read_bytes().startswith(b"%PDF")


@libreoffice
def test_libreoffice_killed_at_close_leaves_no_process(tmp_path: Path) -> None:
    [docx] = documents(tmp_path, "a")
    converter = PdfConverter(find_soffice() or "soffice", timeout=180)
    converter.submit(docx)
    deadline = time.monotonic() + 30
    while not processes_mentioning(converter.work_dir.name) and time.monotonic() < deadline:
        time.sleep(0.02)
    converter.close()
    assert processes_mentioning(converter.work_dir.name) == []
    assert os.path.exists(docx)
