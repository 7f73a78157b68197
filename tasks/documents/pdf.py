"""PDF copies of the Word documents, made by LibreOffice in headless mode where it is installed.

A PDF is a convenience: without LibreOffice the .docx alone is delivered and one log line says
so. A run converts through one `PdfConverter` (see `converting`): a few lanes, each running
LibreOffice over a batch of the documents queued meanwhile, with a profile of its own kept for
the run. Measured on a 2-core machine (LibreOffice 7.4): a new profile starts in about 3 s, a
warm one costs 1.2-1.5 s of CPU before its first document, and each report about 0.14 s more
(0.3 s before the reports shed the 150 styles they never used, see unused_styles, and the
export asked for lossless images, see PDF_FILTER); one start per document tripled the province
run of 120 agencies (bench/province.py). Lanes that took whatever was queued made 34 calls for its
121 reports (3.6 a call); gathering a batch until somebody waits for a PDF, `max_batch`
documents are queued or the first has waited `gather_seconds` makes 9 with batches of 16,
5 with batches of 32 (the starts were then half of LibreOffice's CPU). Gathering for 4 s
instead of 10 made 7 calls and no faster run.

A long-lived LibreOffice driven through its Python bridge (`uno`: Debian's python3-uno, for
the system's Python, not the project's) saves the starts but spent 0.37 s of CPU a report
against 0.3 s for `--convert-to`: no gain then. Measured again with the lean reports: 1.1 s
to start once, then 0.15-0.17 s a report against 0.14 s; with the starts now half of
LibreOffice's CPU in a province run, it is the next lever (not built). A `--convert-to` handed
to an instance already listening on a pipe is done by that instance, which then exits.

Outside a `converting` block (the `render` command of one document, a Dask worker process)
`convert_to_pdf` converts its one document alone, as before.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tasks.documents.files import write_atomically

SOFFICE_NAMES: tuple[str, ...] = ("soffice", "libreoffice")
# Lossless images: the PDF is the same (the PNG charts went in losslessly already), but
# LibreOffice no longer also tries JPEG on each: 0.07 s less CPU a report (LibreOffice 7.4,
# 2 cores, alternated runs). Filter options written in JSON need LibreOffice 7.4 or later.
PDF_FILTER = 'pdf:writer_pdf_Export:{"UseLosslessCompression":{"type":"boolean","value":"true"}}'
DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_WORKERS = 2
DEFAULT_MAX_BATCH = 32
# How long a queued document waits for others to share a LibreOffice call with, when nobody
# waits for its PDF yet: a call costs 1.2-1.5 s of CPU before its first document.
DEFAULT_GATHER_SECONDS = 10.0
# How long close() waits for a lane to end after its LibreOffice was killed.
_JOIN_SECONDS = 10.0
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

    Inside a `converting` block (and without `soffice` or `search_path`) the block's converter
    does it; otherwise a LibreOffice of its own. `soffice` names the program (a path or a name
    looked up on `search_path`); by default "soffice", then "libreoffice", are looked up on
    `search_path` (default: $PATH). Raise PdfConversionError, naming the file, when LibreOffice
    fails or takes over `timeout`.
    """
    if not docx_path.is_file():
        raise FileNotFoundError(f"cannot convert {docx_path} to PDF: no such file")
    active = _active_converter()
    if active is not None and soffice is None and search_path is None:
        return active.convert(docx_path)
    program = shutil.which(soffice, path=search_path) if soffice else find_soffice(search_path)
    if program is None:
        wanted = f" ({soffice})" if soffice else ""
        _log.warning(
            "LibreOffice not found%s: PDF not produced, the .docx alone is delivered (%s)",
            wanted,
            docx_path.name,
        )
        return None
    with PdfConverter(program, workers=1, timeout=timeout) as converter:
        return converter.convert(docx_path)


@dataclass
class _Job:
    """One document waiting for its PDF."""

    source: Path
    future: Future[Path] = field(default_factory=Future)
    # Already failed once in a batch with others: converted alone next time, then given up.
    alone: bool = False
    # When whoever waits for it gives up (time.monotonic()).
    deadline: float = 0.0
    # When it was queued (time.monotonic()).
    queued: float = 0.0


class PdfConverter:
    """Convert .docx files to PDF for a whole run: `workers` lanes, each a LibreOffice at a time.

    `convert` queues a document and waits for its PDF. A lane takes every queued document (up to
    `max_batch`, no two of the same name) and converts them in one LibreOffice call with the
    lane's own profile. It starts the call once `max_batch` documents are queued, somebody waits
    for the PDF of a queued one, or the first has waited `gather_seconds`: a province's reports,
    queued one by one as they are written, then share a few calls instead of paying
    LibreOffice's start for every two or three of them. A call that fails leaves its documents
    without a PDF, each then tried once alone so that one bad document fails only itself. A call
    that takes over `timeout` seconds is killed with its children, and every later document of
    the run fails at once: a LibreOffice that hangs once would hang again. `close` (the end of a
    `with` block) kills what still runs and removes the profiles.
    """

    def __init__(
        self,
        program: str,
        *,
        workers: int = DEFAULT_WORKERS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_batch: int = DEFAULT_MAX_BATCH,
        gather_seconds: float = DEFAULT_GATHER_SECONDS,
    ) -> None:
        if workers < 1 or max_batch < 1 or timeout <= 0 or gather_seconds < 0:
            raise ValueError(
                "workers and max_batch must be at least 1, timeout above 0, gather_seconds not "
                "below 0"
            )
        self.program = program
        self.workers = workers
        self.timeout = timeout
        self.max_batch = max_batch
        self.gather_seconds = gather_seconds
        self._work = Path(tempfile.mkdtemp(prefix="tthc-pdf-"))
        self._changed = threading.Condition()
        self._queue: list[_Job] = []
        self._submitted: dict[Path, _Job] = {}
        self._running: dict[int, subprocess.Popen[str]] = {}
        self._lanes: list[threading.Thread] = []
        self._broken: str | None = None
        self._closed = False
        self._batches = 0
        # Callers of result() waiting for a document still queued.
        self._waiting = 0

    @property
    def work_dir(self) -> Path:
        """Return the folder of the lanes' profiles and outputs (removed by close)."""
        return self._work

    @property
    def batches(self) -> int:
        """Return how many LibreOffice calls were started so far."""
        return self._batches

    def __enter__(self) -> PdfConverter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def convert(self, docx_path: Path) -> Path:
        """Write `docx_path` as a PDF beside it and return the PDF's path.

        Raise PdfConversionError, naming the file, when LibreOffice fails, hung on it or on
        an earlier document of the run, or the converter is closed.
        """
        self.submit(docx_path)
        return self.result(docx_path)

    def submit(self, docx_path: Path) -> None:
        """Queue `docx_path` for conversion and return at once (`result` waits for the PDF)."""
        source = docx_path.resolve()
        if not source.is_file():
            raise FileNotFoundError(f"cannot convert {docx_path} to PDF: no such file")
        job = _Job(source)
        with self._changed:
            if self._broken is not None or self._closed:
                job.future.set_exception(
                    PdfConversionError(
                        f"cannot convert {source} to PDF: "
                        f"{self._broken or 'the converter is closed'}"
                    )
                )
            else:
                self._queue.append(job)
                # Each round of lanes ends within `timeout` or kills its call; the documents
                # ahead take that many rounds at most, this one and a retry alone two more.
                rounds = math.ceil(len(self._queue) / (self.workers * self.max_batch)) + 2
                job.queued = time.monotonic()
                job.deadline = (
                    job.queued + self.gather_seconds + rounds * (self.timeout + _JOIN_SECONDS)
                )
                self._start_lanes()
                self._changed.notify_all()
            self._submitted[source] = job

    def result(self, docx_path: Path) -> Path:
        """Wait for the PDF of a document `submit` queued and return its path.

        Raise PdfConversionError as `convert` does, and when nothing was queued for it.
        """
        source = docx_path.resolve()
        with self._changed:
            job = self._submitted.get(source)
            queued = job is not None and job in self._queue
            if queued:
                self._waiting += 1  # its lane gathers no longer
                self._changed.notify_all()
        if job is None:
            raise PdfConversionError(f"cannot convert {source} to PDF: it was never queued")
        try:
            return job.future.result(timeout=max(0.0, job.deadline - time.monotonic()))
        except FutureTimeout:
            with self._changed:
                if job in self._queue:
                    self._queue.remove(job)
            raise PdfConversionError(
                f"cannot convert {source} to PDF: no PDF by the converter's deadline"
            ) from None
        finally:
            if queued:
                with self._changed:
                    self._waiting -= 1

    def close(self) -> None:
        """Stop the lanes, kill any LibreOffice still running and remove the profiles."""
        with self._changed:
            self._closed = True
            waiting, self._queue = self._queue, []
            running = list(self._running.values())
            self._changed.notify_all()
        for job in waiting:
            _fail(job, f"cannot convert {job.source} to PDF: the converter is closed")
        for process in running:
            _kill(process)
        for lane in self._lanes:
            lane.join(timeout=_JOIN_SECONDS)
        shutil.rmtree(self._work, ignore_errors=True)

    def _start_lanes(self) -> None:
        """Start the lanes on first use (called holding the lock)."""
        while len(self._lanes) < self.workers:
            lane = threading.Thread(
                target=self._lane,
                args=(len(self._lanes),),
                name=f"pdf-lane-{len(self._lanes)}",
                daemon=True,
            )
            self._lanes.append(lane)
            lane.start()

    def _next_batch(self) -> list[_Job] | None:
        """Wait for queued documents and take a batch of them; None once closed."""
        with self._changed:
            while not self._closed:
                if not self._queue:
                    self._changed.wait()
                    continue
                gathered = time.monotonic() - self._queue[0].queued
                if (
                    len(self._queue) >= self.max_batch
                    or self._waiting
                    or gathered >= self.gather_seconds
                ):
                    break
                self._changed.wait(timeout=self.gather_seconds - gathered)
            if self._closed:
                return None
            self._batches += 1
            # A document tried alone goes alone; no two of one name in a call (one --outdir).
            if self._queue[0].alone:
                return [self._queue.pop(0)]
            batch: list[_Job] = []
            names: set[str] = set()
            for job in list(self._queue):
                if len(batch) >= self.max_batch:
                    break
                if job.alone or job.source.stem in names:
                    continue
                names.add(job.source.stem)
                batch.append(job)
                self._queue.remove(job)
            return batch

    def _lane(self, number: int) -> None:
        """Convert batches until the converter closes."""
        profile = self._work / f"profile-{number}"
        calls = 0
        while (batch := self._next_batch()) is not None:
            calls += 1
            try:
                self._convert_batch(number, profile, self._work / f"out-{number}-{calls}", batch)
            except Exception as error:  # a bug here must not leave anyone waiting on its batch
                for job in batch:
                    _fail(job, f"cannot convert {job.source} to PDF: {error!r}")
                raise

    def _convert_batch(self, number: int, profile: Path, out_dir: Path, batch: list[_Job]) -> None:
        """Convert one batch, hand each PDF to its waiter, and queue failures to go alone."""
        try:
            produced, said = self._run(number, profile, out_dir, [j.source for j in batch])
        except _Hung as hung:
            self._give_up(batch, str(hung))
            return
        except OSError as error:
            self._give_up(batch, f"{self.program}: {error}")
            return
        retry = []
        for job in batch:
            pdf = produced.get(job.source)
            if pdf is not None:
                _deliver(job, pdf)
            elif len(batch) > 1 and not job.alone:
                job.alone = True
                retry.append(job)
            else:
                _fail(job, f"cannot convert {job.source} to PDF: {said}")
        shutil.rmtree(out_dir, ignore_errors=True)
        if retry:
            with self._changed:
                if not self._closed:
                    self._queue[:0] = retry
                    self._changed.notify_all()
                    return
            for job in retry:
                _fail(job, f"cannot convert {job.source} to PDF: the converter is closed")

    def _run(
        self, number: int, profile: Path, out_dir: Path, sources: list[Path]
    ) -> tuple[dict[Path, Path], str]:
        """Run one LibreOffice call over `sources`; return the PDFs it wrote and what it said."""
        command = [
            self.program,
            # A profile per lane: two LibreOffices cannot share one, nor a user's running one.
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--norestore",
            "--convert-to",
            PDF_FILTER,
            "--outdir",
            str(out_dir),
            *(str(source) for source in sources),
        ]
        with self._changed:
            if self._closed:
                raise _Hung("the converter is closed")
            # A session of its own, so that a kill reaches soffice.bin too, not just its wrapper.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,
            )
            self._running[number] = process
        try:
            with process:
                try:
                    stdout, stderr = process.communicate(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    _kill(process)
                    process.communicate()
                    raise _Hung(
                        f"LibreOffice did not finish in {self.timeout:g} s and was stopped; "
                        "the rest of this run goes without PDFs"
                    ) from None
        finally:
            with self._changed:
                self._running.pop(number, None)
        if self._closed:
            raise _Hung("the converter was closed while LibreOffice ran")
        produced = {
            source: out_dir / f"{source.stem}.pdf"
            for source in sources
            if (out_dir / f"{source.stem}.pdf").is_file()
        }
        said = (stderr.strip() or stdout.strip())[-_STDERR_TAIL:] or "no message"
        return produced, f"LibreOffice exited with {process.returncode} and wrote no PDF: {said}"

    def _give_up(self, batch: list[_Job], reason: str) -> None:
        """Fail the batch and, the converter being unusable, every document queued or to come."""
        with self._changed:
            if self._broken is None and not self._closed:
                self._broken = reason
                _log.warning("PDF conversion stopped: %s", reason)
            waiting, self._queue = self._queue, []
        for job in [*batch, *waiting]:
            _fail(job, f"cannot convert {job.source} to PDF: {reason}")


class _Hung(Exception):
    """A LibreOffice call was killed: past its deadline, or the converter closed under it."""


def _deliver(job: _Job, produced: Path) -> None:
    """Copy the PDF beside its .docx (atomically) and hand its path to whoever waits."""
    target = job.source.with_suffix(".pdf")
    try:
        with produced.open("rb") as source:
            write_atomically(target, lambda stream: shutil.copyfileobj(source, stream))
    except OSError as error:
        _fail(job, f"cannot write {target}: {error}")
        return
    job.future.set_result(target)


def _fail(job: _Job, message: str) -> None:
    if not job.future.done():
        job.future.set_exception(PdfConversionError(message))


def _kill(process: subprocess.Popen[str]) -> None:
    """Kill a LibreOffice call's whole session (the wrapper, oosplash and soffice.bin)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


_active: list[PdfConverter] = []
_active_lock = threading.Lock()


def _active_converter() -> PdfConverter | None:
    with _active_lock:
        return _active[-1] if _active else None


def submit_pdf(docx_path: Path) -> bool:
    """Queue `docx_path` with the converter of the running `converting` block; False without one."""
    active = _active_converter()
    if active is None:
        return False
    active.submit(docx_path)
    return True


def submitted_pdf(docx_path: Path) -> Path:
    """Wait for the PDF `submit_pdf` queued; PdfConversionError when it fails or the block ended."""
    active = _active_converter()
    if active is None:
        raise PdfConversionError(
            f"cannot convert {docx_path} to PDF: the run's converter stopped before it"
        )
    return active.result(docx_path)


@contextmanager
def converting(
    soffice: str | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_batch: int = DEFAULT_MAX_BATCH,
    gather_seconds: float = DEFAULT_GATHER_SECONDS,
    search_path: str | None = None,
) -> Iterator[PdfConverter | None]:
    """Convert through one PdfConverter in this process for the block; None without LibreOffice.

    Every `convert_to_pdf` in the block (from any thread) goes through it; at the end, however
    the block ends, no LibreOffice it started is left running.
    """
    program = shutil.which(soffice, path=search_path) if soffice else find_soffice(search_path)
    if program is None:
        yield None
        return
    converter = PdfConverter(
        program,
        workers=workers,
        timeout=timeout,
        max_batch=max_batch,
        gather_seconds=gather_seconds,
    )
    with _active_lock:
        _active.append(converter)
    started = time.monotonic()
    try:
        yield converter
    finally:
        with _active_lock:
            _active.remove(converter)
        converter.close()
        _log.debug(
            "PDF converter: %d LibreOffice calls in %.1f s",
            converter.batches,
            time.monotonic() - started,
        )
