"""PDF copies of the Word documents, made by LibreOffice in headless mode where it is installed.

A PDF is a convenience: without LibreOffice the .docx alone is delivered and one log line says
so. Each conversion runs with its own throwaway LibreOffice profile, so conversions may run in
parallel and never touch a user's profile.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tasks.documents.files import write_atomically

SOFFICE_NAMES: tuple[str, ...] = ("soffice", "libreoffice")
DEFAULT_TIMEOUT_SECONDS = 120.0
_STDERR_TAIL = 500

_log = logging.getLogger(__name__)


class PdfConversionError(RuntimeError):
    """LibreOffice was found but did not turn a document into a PDF."""


def find_soffice(search_path: str | None = None) -> str | None:
    """Return the LibreOffice program on `search_path` (default: $PATH), or None."""
    for name in SOFFICE_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    return None


def convert_to_pdf(
    docx_path: Path,
    *,
    soffice: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    search_path: str | None = None,
) -> Path | None:
    """Write `docx_path` as a PDF beside it and return the PDF's path; None without LibreOffice.

    `soffice` names the program (a path or a name looked up on `search_path`); by default
    "soffice", then "libreoffice", are looked up on `search_path` (default: $PATH).
    Raise PdfConversionError, naming the file, when LibreOffice fails or takes over `timeout`.
    """
    if not docx_path.is_file():
        raise FileNotFoundError(f"cannot convert {docx_path} to PDF: no such file")
    program = shutil.which(soffice, path=search_path) if soffice else find_soffice(search_path)
    if program is None:
        wanted = f" ({soffice})" if soffice else ""
        _log.warning(
            "LibreOffice not found%s: PDF not produced, the .docx alone is delivered (%s)",
            wanted,
            docx_path.name,
        )
        return None

    with tempfile.TemporaryDirectory(prefix="tthc-pdf-") as work:
        work_dir = Path(work)
        produced = _run_soffice(program, docx_path.resolve(), work_dir, timeout)
        target = docx_path.with_suffix(".pdf")
        with produced.open("rb") as source:
            write_atomically(target, lambda stream: shutil.copyfileobj(source, stream))
    return target


def _run_soffice(program: str, source: Path, work_dir: Path, timeout: float) -> Path:
    """Run one headless conversion into `work_dir`/out and return the PDF it wrote."""
    out_dir = work_dir / "out"
    command = [
        program,
        # A profile of its own: a running LibreOffice (or another conversion) holds the default.
        f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--norestore",
        "--convert-to",
        "pdf:writer_pdf_Export",
        "--outdir",
        str(out_dir),
        str(source),
    ]
    try:
        # A session of its own, so that a timeout kills soffice.bin too, not just its wrapper.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise PdfConversionError(f"cannot convert {source} to PDF: {program}: {error}") from error
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise PdfConversionError(
                f"cannot convert {source} to PDF: LibreOffice did not finish in {timeout:g} s"
            ) from None
    produced = out_dir / f"{source.stem}.pdf"
    if process.returncode != 0 or not produced.is_file():
        said = (stderr.strip() or stdout.strip())[-_STDERR_TAIL:] or "no message"
        raise PdfConversionError(
            f"cannot convert {source} to PDF: LibreOffice exited with {process.returncode} "
            f"and wrote no PDF: {said}"
        )
    return produced
