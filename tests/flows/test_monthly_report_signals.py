"""What an operator sees of a monthly_report run tells the truth: states, names, counts, alerts.

Run on a real Prefect API, the portal simulator and a loopback SMTP server (tests/flows/conftest).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Artifact, FlowRun, Log, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.logging.handlers import APILogWorker
from prefect.states import State
from typer.testing import CliRunner

from flows.cli import REFUSED_EXIT, app
from flows.monthly_report import monthly_report
from tasks.documents.pdf import find_soffice
from tasks.run.plan import RunSummary
from tasks.store.run_lock import run_lock
from tests.flows.conftest import FlowSetup

OPERATOR = "quantri@demo.gov.vn"
# A LibreOffice that fails every conversion, and one that works (writes a small PDF).
FAILING_SOFFICE = '#!/bin/sh\necho "soffice.bin crashed" >&2\nexit 81\n'
WORKING_SOFFICE = """#!/bin/sh
while [ $# -gt 1 ]; do
  if [ "$1" = "--outdir" ]; then out="$2"; fi
  shift
done
mkdir -p "$out"
printf '%%PDF-1.4 fake\\n' > "$out/$(basename "$1" .docx).pdf"
"""


def _run(**parameters: Any) -> State[RunSummary]:
    state: State[RunSummary] = monthly_report(**parameters, return_state=True)
    return state


def _flow_run(state: State[Any]) -> FlowRun:
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _artifacts(flow_run_id: UUID) -> dict[str, Artifact]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    # By type; the run's summary is the markdown artifact whose key ends "-tom-tat" (the
    # national index has a markdown artifact of its own).
    by_type = {artifact.type or "": artifact for artifact in artifacts}
    for artifact in artifacts:
        if (artifact.key or "").endswith("-tom-tat"):
            by_type["markdown"] = artifact
    return by_type


def _logs(flow_run_id: UUID) -> list[Log]:
    APILogWorker.drain_all(timeout=10)  # the log lines go to the API in batches, in the background
    with get_client(sync_client=True) as client:
        return client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )


def _count(setup: FlowSetup, key: str) -> int:
    recipients = setup.config().recipients_for(key)
    return len({a.lower() for a in [*recipients.to, *recipients.cc, *recipients.bcc]})


def test_a_run_refused_by_the_period_lock_is_no_failure_says_one_line_and_alerts_nobody(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # Another run of 2024-02 holds the period's lock (the real lock, as a deployment run would).
    with run_lock(flow_setup.config().output_dir, "2024-02"):
        result = CliRunner().invoke(app, ["send", "--period", "2024-02"])

    assert result.exit_code == REFUSED_EXIT == 3, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("another run of 2024-02 is in progress (pid ")
    assert "this one did nothing" in line
    assert "Traceback" not in result.output
    with get_client(sync_client=True) as client:
        [flow_run] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["báo cáo TTHC 2024-02"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    assert flow_run.state is not None
    assert (flow_run.state.type, flow_run.state.name) == (StateType.COMPLETED, "Refused")
    assert flow_run.state.message is not None
    assert flow_run.state.message.startswith("another run of 2024-02 is in progress")
    # Nobody must act: no operators' alert, nothing sent at all.
    assert flow_setup.smtp.received == []


def test_a_dry_run_counts_messages_that_would_go_and_names_its_folder(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    state = _run(period="2024-01", departments=["SKHCN"], dry_run=True)

    assert state.is_completed(), state.message
    flow_run = _flow_run(state)
    assert flow_run.name == "báo cáo TTHC 2024-01 (SKHCN) · chạy thử"
    count = _count(flow_setup, "SKHCN")
    folder = flow_setup.output_dir / "dry-run" / "2024-01"
    by_type = _artifacts(flow_run.id)
    assert by_type["table"].key == "bao-cao-tthc-2024-01-skhcn-chay-thu"
    rows = by_type["table"].data
    [row] = json.loads(rows) if isinstance(rows, str) else rows
    assert (row["Thư thử (.eml)"], row["Người nhận (sẽ gửi)"]) == (1, count)
    assert "Thư đã gửi" not in row
    markdown = str(by_type["markdown"].data)
    assert "đã gửi" not in markdown
    assert "- Chạy thử: có, không gửi thư nào" in markdown
    assert (
        f"- Thư: chạy thử, không gửi thư nào: 1 thư thử (.eml) sẽ gửi tới {count} người nhận, "
        f"lưu ở {folder}"
    ) in markdown
    messages = [log.message for log in _logs(flow_run.id)]
    assert f"SKHCN: 1 thư thử, sẽ gửi {count} người nhận, bỏ qua 0" in messages
    assert flow_setup.smtp.received == []


def test_one_message_to_several_recipients_counts_once_and_each_department_logs_a_line(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    state = _run(period="2024-02", departments=["SKHCN", "STP"], force_resend=True)

    assert state.is_completed(), state.message
    flow_run = _flow_run(state)
    assert flow_run.name == "báo cáo TTHC 2024-02 (SKHCN, STP) · gửi lại"
    by_type = _artifacts(flow_run.id)
    assert by_type["table"].key == "bao-cao-tthc-2024-02-skhcn-stp"
    rows = by_type["table"].data
    table = json.loads(rows) if isinstance(rows, str) else rows
    skhcn, stp = _count(flow_setup, "SKHCN"), _count(flow_setup, "STP")
    assert [(r["Sở"], r["Thư đã gửi"], r["Người nhận"]) for r in table] == [
        ("SKHCN", 1, skhcn),
        ("STP", 1, stp),
    ]
    assert len(flow_setup.smtp.received) == 2
    assert f"- Thư: 2 thư đã gửi tới {skhcn + stp} người nhận" in str(by_type["markdown"].data)
    messages = [log.message for log in _logs(flow_run.id)]
    assert f"SKHCN: 1 thư, {skhcn} người nhận, bỏ qua 0" in messages
    assert f"STP: 1 thư, {stp} người nhận, bỏ qua 0" in messages


def test_a_period_without_any_dossier_is_reported_and_flagged_to_the_operators(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # 2026-11 is outside the simulator's data: only stale carried-over dossiers, if any.
    state = _run(period="2026-11", departments=["SYT"])

    assert state.is_completed(), state.message
    assert flow_setup.messages_for("SYT"), "the report is still delivered"
    [notice] = flow_setup.smtp.messages_to(OPERATOR)
    assert notice.subject.startswith("[Lưu ý] Báo cáo TTHC tháng 11/2026")
    assert "- SYT: không có hồ sơ nào tiếp nhận trong kỳ" in notice.text()


def _soffice(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "soffice"
    program.write_text(text)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return folder


@pytest.mark.pdf
def test_a_failed_pdf_never_stops_delivery_and_a_later_run_adds_nothing_twice(
    prefect_api: str, flow_setup: FlowSetup, tmp_path: Path
) -> None:
    path = flow_setup.monkeypatch
    path.setenv("PATH", f"{_soffice(tmp_path / 'broken', FAILING_SOFFICE)}:/usr/bin:/bin")

    state = _run(period="2024-03", departments=["SYT"])

    assert state.is_completed(), state.message
    [delivered] = flow_setup.messages_for("SYT")
    assert sorted(delivered.attachments()) == [
        "Biểu mẫu số liệu 2024-03 SYT.xlsx",
        "Báo cáo TTHC 2024-03 SYT.docx",
    ]
    [notice] = flow_setup.smtp.messages_to(OPERATOR)
    assert "- SYT: chưa tạo được PDF" in notice.text()
    assert ".docx và .xlsx vẫn được gửi" in notice.text()

    path.setenv("PATH", f"{_soffice(tmp_path / 'working', WORKING_SOFFICE)}:/usr/bin:/bin")
    again = _run(period="2024-03", departments=["SYT"])

    assert again.is_completed(), again.message
    assert flow_setup.messages_for("SYT") == [delivered]  # the PDF alone sends nothing again
    assert len(flow_setup.smtp.messages_to(OPERATOR)) == 1


@pytest.mark.pdf
@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_with_libreoffice_every_report_carries_its_pdf_and_no_libreoffice_is_left(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    state = _run(period="2024-03", departments=["SYT", "STP", "SKHCN"])

    assert state.is_completed(), state.message
    for key in ("SYT", "STP", "SKHCN"):
        [delivered] = flow_setup.messages_for(key)
        assert f"Báo cáo TTHC 2024-03 {key}.pdf" in delivered.attachments()
        pdf = flow_setup.output_dir / "reports" / "2024-03" / f"Báo cáo TTHC 2024-03 {key}.pdf"
        assert pdf.read_bytes().startswith(b"%PDF")
    assert flow_setup.smtp.messages_to(OPERATOR) == []  # nothing to tell the operators
    assert _libreoffice_converting(flow_setup.output_dir) == []


def _libreoffice_converting(folder: Path) -> list[str]:
    """Return the command lines of running LibreOffices converting documents under `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            zombie = "State:\tZ" in (entry / "status").read_text()
        except OSError:
            continue
        if str(folder) in command and "soffice" in command and not zombie:
            found.append(command)
    return found


def test_an_output_folder_that_cannot_be_made_is_one_line_and_a_dry_run_alerts_nobody(
    prefect_api: str, flow_setup: FlowSetup, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    flow_setup.use_output(blocker / "out")

    result = CliRunner().invoke(app, ["send", "--period", "2024-02", "--dry-run"])

    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"cannot create the run lock {blocker / 'out'}")
    assert line.endswith("(the output folder must be writable)")
    assert "Traceback" not in result.output
    assert flow_setup.smtp.received == []  # a dry run's operator is watching: no alert


def test_an_invalid_period_that_reaches_the_flow_fails_in_one_line_and_alerts_nobody(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # The form refuses it (test_deployment.py); a caller that skips the schema gets this.
    state = _run(period="2024-13", departments=["SKHCM"])

    assert state.is_failed()
    assert state.message == (
        "tham số không hợp lệ: period '2024-13': month number 13 is out of range 1..12"
    )
    assert flow_setup.smtp.received == []  # no alert, least of all one naming another month
