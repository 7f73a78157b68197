"""A small province for the fault scenarios: configuration, portal, mail server, and checks.

`Province` is one test's world: a copy of config/ cut down to three departments, aimed through
TTHC_* variables at a PortalSimulator over the demo scenario and at a LoopbackSmtpServer, with
its own output folder (documents and run database). The checks read what an operator would
look at after a run: the documents written, the delivery ledger and the messages the mail
server actually received.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import openpyxl
import yaml
from prefect.states import State

from flows.monthly_report import monthly_report
from portal_sim.server import PortalSimulator
from standins.environment import environment_overrides
from standins.smtp_server import LoopbackSmtpServer, ReceivedMessage
from tasks.figures.periods import Period
from tasks.settings.keys import CENTRE_KEY
from tasks.settings.loading import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR, load_config
from tasks.settings.models import AppConfig
from tasks.store.database import DATABASE_FILE, RunStore, default_database_url

PERIOD = "2024-05"
DEPARTMENTS = ("SKHCN", "STP", "SYT")
OPERATOR = "quantri@demo.gov.vn"

# Waits a test must not sit through: the portal client's backoff and the Prefect task
# retries (settings.runner), all but zero. Timeouts stay above any injected delay.
FAST_RETRIES = {
    "TTHC_PORTAL__BACKOFF_SECONDS": "0.01",
    "TTHC_PORTAL__TIMEOUT_SECONDS": "10",
    "TTHC_SMTP__TIMEOUT_SECONDS": "10",
    "TTHC_RUNNER__PORTAL_RETRY_DELAYS_SECONDS": "[0, 0]",
    "TTHC_RUNNER__MAIL_RETRY_DELAYS_SECONDS": "[0, 0]",
}


def write_config(folder: Path, departments: tuple[str, ...] = DEPARTMENTS) -> Path:
    """Copy config/ into `folder`, keeping only `departments` (and their recipients)."""
    shutil.copytree(DEFAULT_CONFIG_DIR, folder)
    listed = yaml.safe_load((folder / "departments.yaml").read_text(encoding="utf-8"))
    listed["departments"] = [d for d in listed["departments"] if d["key"] in departments]
    (folder / "departments.yaml").write_text(
        yaml.safe_dump(listed, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    recipients = yaml.safe_load((folder / "recipients.yaml").read_text(encoding="utf-8"))
    recipients["departments"] = {
        key: value for key, value in recipients["departments"].items() if key in departments
    }
    (folder / "recipients.yaml").write_text(
        yaml.safe_dump(recipients, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return folder


# The subject of the operators' notice (templates/email/notice_subject.txt): records set aside
# as invalid are told in it on every run that has them, faults or not.
NOTICE_PREFIX = "[Lưu ý]"


def department_of(message: ReceivedMessage) -> str | None:
    """Return the department (or CENTRE) whose report `message` carries; None for an alert."""
    value = message.message["X-Tthc-Department"]
    return None if value is None else str(value)


@dataclass
class Province:
    """One scenario's configuration, portal, mail server and output folder."""

    root: Path
    simulator: PortalSimulator
    smtp: LoopbackSmtpServer
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def output_dir(self) -> Path:
        return Path(self.environ["TTHC_OUTPUT_DIR"])

    @property
    def database_url(self) -> str:
        return self.environ.get("TTHC_DATABASE_URL") or default_database_url(self.output_dir)

    @classmethod
    def create(
        cls,
        root: Path,
        simulator: PortalSimulator,
        smtp: LoopbackSmtpServer,
        *,
        history: Path | None = None,
    ) -> Province:
        """Write the configuration under `root` and aim it at `simulator` and `smtp`.

        `history` is a run database to start from (earlier months' figures): without it the
        province runs for the first time and fetches a year of months for the trend chart.
        """
        write_config(root / "config")
        if history is not None:
            (root / "out").mkdir(parents=True)
            shutil.copyfile(history, root / "out" / DATABASE_FILE)
        environ = {
            CONFIG_DIR_VARIABLE: str(root / "config"),
            "TTHC_OUTPUT_DIR": str(root / "out"),
            "TTHC_PORTAL__BASE_URL": simulator.url,
            "TTHC_SMTP__HOST": smtp.host,
            "TTHC_SMTP__PORT": str(smtp.port),
            "PORTAL_USERNAME": "demo",
            "PORTAL_PASSWORD": "demo",
            **FAST_RETRIES,
        }
        return cls(root, simulator, smtp, environ)

    # -- running -----------------------------------------------------------------------------

    def environment(self) -> AbstractContextManager[None]:
        """Set this province's variables in os.environ for the block (the flow reads them)."""
        return environment_overrides(self.environ)

    def run(self, **parameters: Any) -> State[Any]:
        """Run monthly_report for PERIOD in this process; return its final state."""
        with self.environment():
            state = monthly_report(period=PERIOD, **parameters, return_state=True)  # type: ignore[call-overload]
        assert isinstance(state, State)
        return state

    def config(self) -> AppConfig:
        """Return the configuration as a run loads it."""
        return load_config(self.config_dir, {**os.environ, **self.environ})

    # -- what happened -----------------------------------------------------------------------

    def expected(self) -> Counter[tuple[str, str]]:
        """Return (department or CENTRE, recipient) -> 1 for every copy a complete run sends."""
        config = self.config()
        pairs: Counter[tuple[str, str]] = Counter()
        for department in config.departments.departments:
            entry = config.recipients_for(department.key)
            for address in {a.lower() for a in [*entry.to, *entry.cc, *entry.bcc]}:
                pairs[(department.key, address)] = 1
        centre = config.recipients.centre
        for address in {a.lower() for a in [*centre.to, *centre.cc, *centre.bcc]}:
            pairs[(CENTRE_KEY, address)] = 1
        return pairs

    def received(self) -> Counter[tuple[str, str]]:
        """Return how many copies of each report each recipient got from the mail server."""
        pairs: Counter[tuple[str, str]] = Counter()
        for message in self.smtp.received:
            key = department_of(message)
            if key is not None:
                for address in message.envelope_to:
                    pairs[(key, address.lower())] += 1
        return pairs

    def alerts(self) -> list[ReceivedMessage]:
        """Return the failure alerts the operators received (not the notices of a run that completed)."""
        return [
            m
            for m in self.smtp.received
            if department_of(m) is None and not m.subject.startswith(NOTICE_PREFIX)
        ]

    def notices(self) -> list[ReceivedMessage]:
        """Return the notices the operators received: the run completed, something needs a look."""
        return [
            m
            for m in self.smtp.received
            if department_of(m) is None and m.subject.startswith(NOTICE_PREFIX)
        ]

    def ledger_sent(self) -> Counter[tuple[str, str]]:
        """Return the ledger's "sent" rows as (department, recipient) counts."""
        with RunStore(self.database_url) as store:
            rows = store.deliveries(Period.parse(PERIOD))
        return Counter((row.department_key, row.recipient) for row in rows if row.outcome == "sent")

    def figures(self) -> dict[str, dict[str, int]]:
        """Return the latest figures the run database holds for each department."""
        result: dict[str, dict[str, int]] = {}
        with RunStore(self.database_url) as store:
            for key in DEPARTMENTS:
                stored = store.latest_figures(key, Period.parse(PERIOD))
                if stored is not None:
                    result[key] = stored.figures
        return result

    def documents(self) -> dict[str, Path]:
        """Return the files written for PERIOD by name."""
        folder = self.output_dir / "reports" / PERIOD
        return {path.name: path for path in sorted(folder.glob("*")) if path.is_file()}


def sheet_values(path: Path) -> list[tuple[Any, ...]]:
    """Return every row of the data form's first sheet as values."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


DATA_NOTE = "Ghi chú về số liệu:"
EVALUATION = "* Đánh giá chung:"


def report_lines(path: Path, *, without_data_note: bool = False) -> list[str]:
    """Return the report's paragraphs as text; optionally without the data-quality note."""
    lines = [p.text for p in docx.Document(str(path)).paragraphs]
    return _without_data_note(lines) if without_data_note else lines


def _without_data_note(lines: list[str]) -> list[str]:
    if DATA_NOTE not in lines:
        return lines
    start = lines.index(DATA_NOTE)
    end = lines.index(EVALUATION) if EVALUATION in lines else start + 1
    return lines[:start] + lines[end:]


@dataclass(frozen=True)
class Baseline:
    """What a fault-free run of the province wrote: figures, data forms, report texts."""

    figures: Mapping[str, Mapping[str, int]]
    sheets: Mapping[str, list[tuple[Any, ...]]]
    reports: Mapping[str, list[str]]
    expected: Counter[tuple[str, str]]
    history: Path  # the run database with the months before PERIOD only

    @classmethod
    def of(cls, province: Province) -> Baseline:
        """Read the baseline from a province after its fault-free run."""
        documents = province.documents()
        history = province.root / "history.sqlite"
        with sqlite3.connect(province.output_dir / DATABASE_FILE) as connection:
            connection.execute("VACUUM INTO ?", (str(history),))
        connection.close()
        with sqlite3.connect(history) as connection:
            connection.execute("DELETE FROM deliveries")
            connection.execute("DELETE FROM documents")
            connection.execute("DELETE FROM figures_history WHERE period_key = ?", (PERIOD,))
        connection.close()
        return cls(
            figures=province.figures(),
            sheets={n: sheet_values(p) for n, p in documents.items() if n.endswith(".xlsx")},
            reports={n: report_lines(p) for n, p in documents.items() if n.endswith(".docx")},
            expected=province.expected(),
            history=history,
        )


def differences(province: Province, baseline: Baseline, *, data_note_may_differ: bool) -> list[str]:
    """Name what the run's figures and documents say otherwise than the fault-free run's."""
    found: list[str] = []
    figures = province.figures()
    for key, expected in baseline.figures.items():
        if figures.get(key) != expected:
            found.append(f"figures of {key}: {figures.get(key)} != {expected}")
    documents = province.documents()
    for name, rows in baseline.sheets.items():
        if name not in documents:
            found.append(f"{name} not written")
        elif sheet_values(documents[name]) != rows:
            found.append(f"{name} differs")
    for name, lines in baseline.reports.items():
        if name not in documents:
            found.append(f"{name} not written")
            continue
        ours = report_lines(documents[name], without_data_note=data_note_may_differ)
        theirs = _without_data_note(lines) if data_note_may_differ else lines
        if ours != theirs:
            changed = [line for line in ours if line not in theirs][:3]
            found.append(f"{name} differs: {changed}")
    return found


def assert_consistent(province: Province) -> None:
    """Nobody got a report twice, and the ledger says "sent" exactly for what arrived."""
    received = province.received()
    duplicated = {pair: n for pair, n in received.items() if n > 1}
    assert not duplicated, f"sent more than once: {duplicated}"
    assert province.ledger_sent() == received, (
        f"ledger and mail server disagree: ledger {sorted(province.ledger_sent())}, "
        f"received {sorted(received)}"
    )


def assert_delivered_once(province: Province) -> None:
    """Every report reached every recipient exactly once, and the ledger says so."""
    assert_consistent(province)
    received = province.received()
    expected = province.expected()
    missing = sorted(set(expected) - set(received))
    assert not missing, f"never received: {missing}"
    assert received == expected


def assert_rerun_completes(province: Province, baseline: Baseline) -> None:
    """Re-run after a fatal fault: it completes, everyone has each report once, figures as before."""
    rerun = province.run()

    assert rerun.is_completed(), rerun.message
    assert_delivered_once(province)
    assert differences(province, baseline, data_note_may_differ=False) == []
