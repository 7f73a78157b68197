"""Tests of flows/monthly_report.py run on a real Prefect API, portal simulator and SMTP server."""

from __future__ import annotations

import json
import pickle
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document
from prefect import get_client, task
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from flows.monthly_report import monthly_report
from flows.runtime import SettingsTaskRunner, task_runner_for
from flows.steps import DeliveryIncomplete
from portal_sim.server import Faults
from tasks.delivery.ledger import DeliveryOutcome
from tasks.documents.numbers import format_count
from tasks.run.plan import RunSummary
from tasks.run.services import open_store
from tasks.settings.models import RunnerSettings
from tests.flows.conftest import FlowSetup

STP_AGENCY = "000.00.09.H99"
OPERATOR = "quantri@demo.gov.vn"


def _run(**parameters: Any) -> State[RunSummary]:
    state: State[RunSummary] = monthly_report(**parameters, return_state=True)
    return state


def _recipients(setup: FlowSetup, key: str) -> set[str]:
    recipients = setup.config().recipients_for(key)
    return {a.lower() for a in [*recipients.to, *recipients.cc, *recipients.bcc]}


def _deliveries(setup: FlowSetup, key: str) -> Counter[str]:
    """Count, per recipient, the messages that carried `key`'s report."""
    return Counter(a.lower() for m in setup.messages_for(key) for a in m.envelope_to)


def test_a_failing_department_fails_the_run_and_a_rerun_delivers_only_it(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    flow_setup.simulator.faults = Faults(failing_agencies={STP_AGENCY})
    parameters = {"period": "2024-03", "departments": ["SKHCN", "STP"]}

    failed = _run(**parameters)

    assert failed.is_failed()
    assert failed.message is not None
    assert "\n- STP: " in failed.message
    assert "SKHCN" not in failed.message
    assert _deliveries(flow_setup, "SKHCN") == Counter(
        dict.fromkeys(_recipients(flow_setup, "SKHCN"), 1)
    )
    assert flow_setup.messages_for("STP") == []

    flow_setup.simulator.faults = Faults()
    rerun = _run(**parameters)

    assert rerun.is_completed(), rerun.message
    summary = rerun.result()
    by_key = {result.key: result for result in summary.departments}
    assert by_key["SKHCN"].delivery is not None
    assert by_key["SKHCN"].delivery.sent == []
    assert {a.lower() for a in by_key["SKHCN"].delivery.skipped} == _recipients(flow_setup, "SKHCN")
    # Every recipient has each report exactly once, over both runs.
    for key in ("SKHCN", "STP"):
        assert _deliveries(flow_setup, key) == Counter(
            dict.fromkeys(_recipients(flow_setup, key), 1)
        )
    # A run of some departments leaves the Centre's summary to a run of all.
    assert summary.centre is None
    assert not [m for m in flow_setup.smtp.received if "tổng hợp" in " ".join(m.attachments())]


def test_the_operators_get_one_alert_naming_the_period_and_the_department(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    flow_setup.simulator.faults = Faults(failing_agencies={STP_AGENCY})

    state = _run(period="2024-03", departments=["STP", "SGDDT"])

    assert state.is_failed()
    alerts = flow_setup.smtp.messages_to(OPERATOR)
    assert len(alerts) == 1
    [alert] = alerts
    assert alert.envelope_to == [OPERATOR]
    assert "tháng 3/2024" in alert.subject
    body = alert.text()
    assert "(kỳ 2024-03)" in body
    assert "- STP: " in body
    assert "SGDDT" not in body
    assert alert.attachments() == {}


def _report_text(setup: FlowSetup, period: str, key: str) -> str:
    path = setup.output_dir / "reports" / period / f"Báo cáo TTHC {period} {key}.docx"
    return "\n".join(paragraph.text for paragraph in Document(str(path)).paragraphs)


def test_an_unavailable_national_index_fails_nothing_and_the_operators_are_told(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    flow_setup.evaluation.failing = {"service-results"}
    flow_setup.monkeypatch.setenv("TTHC_NATIONAL_INDEX__MAX_ATTEMPTS", "2")

    state = _run(period="2024-02", departments=["SKHCN"])

    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.index is not None and summary.index.index is None
    assert "service-results: HTTP 503 after 2 attempt(s)" in (summary.index.problem or "")
    assert _deliveries(flow_setup, "SKHCN") == Counter(
        dict.fromkeys(_recipients(flow_setup, "SKHCN"), 1)
    )
    assert (
        "Cổng Dịch vụ công quốc gia chưa cung cấp số liệu của Sở Khoa học và Công nghệ tại thời "
        "điểm lập báo cáo." in _report_text(flow_setup, "2024-02", "SKHCN")
    )
    [notice] = flow_setup.smtp.messages_to(OPERATOR)
    assert notice.subject == "[Lưu ý] Bộ chỉ số 766 tháng 2/2024: 1 điểm cần kiểm tra"
    assert "Bộ chỉ số 766 kỳ 2024-02 chưa lấy được: national index service-results" in (
        notice.text()
    )

    # Back up: the next run fetches again, stores it and the report gains its standing.
    flow_setup.evaluation.failing = set()
    again = _run(period="2024-02", departments=["SKHCN"])

    assert again.is_completed(), again.message
    assert "đạt " in _report_text(flow_setup, "2024-02", "SKHCN")
    assert len(flow_setup.smtp.messages_to(OPERATOR)) == 1  # nothing more to tell
    with open_store(flow_setup.config()) as store:
        stored = store.latest_national_index("2024-02")
    assert stored is not None and stored[1]["units"]


def test_progress_counts_that_differ_go_to_the_operators_never_into_the_report(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    flow_setup.evaluation.progress_offsets = {"H99.15": 3}

    state = _run(period="2024-05", departments=["SKHCN"])

    assert state.is_completed(), state.message
    [notice] = flow_setup.smtp.messages_to(OPERATOR)
    assert (
        "SKHCN (H99.15): Bộ chỉ số 766 57/57/0, hệ thống 54/54/0 (hồ sơ đã giải quyết/đúng hạn "
        "và trước hạn/quá hạn); chênh lệch vượt ngưỡng 0" in notice.text()
    )
    report = _report_text(flow_setup, "2024-05", "SKHCN")
    assert "57" not in report
    assert "Tiến độ giải quyết: 20/20 điểm;" in report


def _table_rows(data: Any) -> list[dict[str, Any]]:
    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list)
    return rows


def test_a_second_run_sends_nothing_and_the_artifacts_show_the_figures(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    first = _run(period="2024-01", departments=["SYT"])
    assert first.is_completed(), first.message
    received = len(flow_setup.smtp.received)
    assert received == 1

    second = _run(period="2024-01", departments=["SYT"])

    assert second.is_completed(), second.message
    assert len(flow_setup.smtp.received) == received
    [syt] = second.result().departments
    assert syt.delivery is not None
    assert syt.delivery.sent == []
    assert {a.lower() for a in syt.delivery.skipped} == _recipients(flow_setup, "SYT")
    assert syt.report is not None

    flow_run_id = second.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    assert sorted(run.name for run in task_runs) == [
        "báo cáo SYT 2024-01",
        "bộ chỉ số 766 2024-01",
        "gửi SYT 2024-01",
        "số liệu SYT 2024-01",
    ]
    by_type = {artifact.type: artifact for artifact in artifacts}
    # A run of one department keeps its own key: it does not overwrite a run of all.
    assert by_type["table"].key == "bao-cao-tthc-2024-01-syt"
    [row] = _table_rows(by_type["table"].data)
    assert row["Sở"] == "SYT"
    assert row["Tổng tiếp nhận"] == format_count(syt.report.figures["received_total"])
    assert row["Đã giải quyết"] == format_count(syt.report.figures["resolved"])
    assert row["Thư đã gửi"] == 0
    assert row["Người nhận"] == 0
    assert row["Bỏ qua (đã nhận)"] == len(syt.delivery.skipped)
    assert row["Kết quả"] == "hoàn thành"
    by_key = {artifact.key: artifact for artifact in artifacts}
    markdown = str(by_key["bao-cao-tthc-2024-01-syt-tom-tat"].data)
    assert "# Báo cáo TTHC tháng 1/2024" in markdown
    index = str(by_key["bao-cao-tthc-2024-01-syt-bo-chi-so-766"].data)
    assert "| SYT | H99.17 | 102/97/5 | 102/97/5 | khớp |" in index
    skipped = len(syt.delivery.skipped)
    assert (
        f"- Thư: 0 thư đã gửi tới 0 người nhận; bỏ qua {skipped} người nhận đã có bản này"
        in markdown
    )
    # The .docx and the .xlsx, and the PDF where LibreOffice made one.
    assert syt.documents is not None
    written = 2 if syt.documents.pdf is None else 3
    assert f"Văn bản đã viết: {written}" in markdown


def _docx_text(path: Path) -> list[str]:
    document = Document(str(path))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return lines


def _xlsx_values(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    workbook = openpyxl.load_workbook(path, data_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def test_the_dask_runner_writes_the_same_documents_as_the_default(
    prefect_api: str, flow_setup: FlowSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parameters = {"period": "2024-02", "departments": ["SGDDT"], "dry_run": True}
    by_threads = _run(**parameters)
    flow_setup.use_output(tmp_path / "out-dask")
    monkeypatch.setenv("TTHC_RUNNER__KIND", "dask")
    monkeypatch.setenv("TTHC_RUNNER__MAX_CONCURRENCY", "2")

    by_dask = _run(**parameters)

    assert by_threads.is_completed(), by_threads.message
    assert by_dask.is_completed(), by_dask.message
    threads, dask = by_threads.result(), by_dask.result()
    assert (threads.task_runner, dask.task_runner) == ("threadpool", "dask")
    [left], [right] = threads.departments, dask.departments
    assert left.report == right.report
    assert left.documents is not None
    assert right.documents is not None
    assert left.documents.report != right.documents.report  # two output folders
    assert _docx_text(left.documents.report) == _docx_text(right.documents.report)
    assert _xlsx_values(left.documents.data_form) == _xlsx_values(right.documents.data_form)
    assert flow_setup.smtp.received == []  # dry runs

    # What travels to and from Dask workers survives pickling unchanged.
    config = flow_setup.config()
    for value in (config, right.report, right.documents, right.delivery):
        assert pickle.loads(pickle.dumps(value)) == value
    outcome = DeliveryOutcome(
        "2024-02", "SGDDT", "hash", 1, failed={"a@demo.gov.vn": "451"}, deferred=["a@demo.gov.vn"]
    )
    copy = pickle.loads(pickle.dumps(DeliveryIncomplete(outcome)))
    assert (copy.outcome, copy.transient, str(copy)) == (
        outcome,
        True,
        str(DeliveryIncomplete(outcome)),
    )


def test_the_default_runner_is_a_thread_pool_of_max_concurrency() -> None:
    runner = task_runner_for(RunnerSettings(kind="default", max_concurrency=3))

    assert isinstance(runner, ThreadPoolTaskRunner)
    assert runner.duplicate()._max_workers == 3


def test_the_dask_runner_connects_to_the_scheduler_address() -> None:
    runner = task_runner_for(RunnerSettings(kind="dask", dask_address="tcp://10.0.0.5:8786"))

    assert isinstance(runner, DaskTaskRunner)
    assert runner.address == "tcp://10.0.0.5:8786"


def test_the_dask_runner_starts_a_local_cluster_of_processes_without_an_address() -> None:
    runner = task_runner_for(RunnerSettings(kind="dask", max_concurrency=4))

    assert isinstance(runner, DaskTaskRunner)
    assert runner.address is None
    kwargs = runner.cluster_kwargs
    assert kwargs["processes"] is True
    assert 1 <= kwargs["n_workers"] <= 4
    assert kwargs["n_workers"] * kwargs["threads_per_worker"] >= 4


@pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted to send logs")
def test_the_settings_runner_runs_on_the_runner_the_flow_chose(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    runner = SettingsTaskRunner()
    assert runner.name == "settings"

    with runner.duplicate() as started:
        started.use(RunnerSettings(kind="default", max_concurrency=2))
        assert started.name == "threadpool"
        assert started.submit(_double, {"value": 21}).result() == 42


def test_the_settings_runner_reads_no_configuration_and_refuses_work_before_a_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The flow reads the configuration once; the runner never does (a broken folder is fine).
    monkeypatch.setenv("TTHC_CONFIG_DIR", str(tmp_path / "missing"))

    with SettingsTaskRunner() as started:
        assert started.name == "settings"
        with pytest.raises(RuntimeError, match="use\\(settings\\) first"):
            started.submit(_double, {"value": 1})


@task
def _double(value: int) -> int:
    return value * 2


# A LibreOffice that writes a small PDF for every document of a call and logs each call's
# documents, one line a call.
LOGGING_SOFFICE = """#!{python}
import pathlib, sys
args = sys.argv[1:]
out = pathlib.Path(args[args.index("--outdir") + 1])
out.mkdir(parents=True, exist_ok=True)
documents = [pathlib.Path(a) for a in args if a.endswith(".docx")]
for document in documents:
    (out / (document.stem + ".pdf")).write_bytes(b"%PDF-1.4 fake\\n")
with open(pathlib.Path(sys.argv[0]).with_name("calls.log"), "a", encoding="utf-8") as log:
    log.write("|".join(d.name for d in documents) + "\\n")
"""


@pytest.mark.pdf
def test_the_centres_summary_goes_last_with_its_pdf_and_each_document_is_converted_once(
    prefect_api: str, flow_setup: FlowSetup, tmp_path: Path
) -> None:
    folder = tmp_path / "libreoffice"
    folder.mkdir()
    program = folder / "soffice"
    program.write_text(LOGGING_SOFFICE.format(python=sys.executable), encoding="utf-8")
    program.chmod(0o755)
    flow_setup.monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")

    state = _run(period="2024-04")

    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.centre is not None and summary.centre.failure is None
    last = flow_setup.smtp.received[-1]
    assert sorted(last.attachments()) == sorted(
        [
            "Báo cáo tổng hợp TTHC 2024-04.docx",
            "Báo cáo tổng hợp TTHC 2024-04.pdf",
            "Biểu mẫu tổng hợp 2024-04.xlsx",
        ]
    )
    departments = {result.key for result in summary.departments}
    assert {key for key in departments if flow_setup.messages_for(key)} == departments
    # The summary, written while the departments' reports still are, goes through the run's
    # converter as they do: every document converted once (the calls the program above logged).
    calls = [line.split("|") for line in (folder / "calls.log").read_text().splitlines()]
    converted = [name for call in calls for name in call]
    assert sorted(converted) == sorted(
        [f"Báo cáo TTHC 2024-04 {key}.docx" for key in departments]
        + ["Báo cáo tổng hợp TTHC 2024-04.docx"]
    )


def test_a_centres_summary_that_cannot_be_written_fails_alone_and_is_never_sent(
    prefect_api: str, flow_setup: FlowSetup
) -> None:
    # A folder where the summary's .docx goes: writing it fails, as on a full disk.
    blocked = flow_setup.output_dir / "reports" / "2024-06" / "Báo cáo tổng hợp TTHC 2024-06.docx"
    blocked.mkdir(parents=True)

    state = _run(period="2024-06")

    assert state.is_failed()
    assert state.message is not None
    failures = [line for line in state.message.splitlines() if line.startswith("- ")]
    assert len(failures) == 1 and failures[0].startswith("- CENTRE: "), state.message
    keys = [department.key for department in flow_setup.config().departments.departments]
    for key in keys:
        assert _deliveries(flow_setup, key) == Counter(
            dict.fromkeys(_recipients(flow_setup, key), 1)
        )
    assert not [m for m in flow_setup.smtp.received if "tổng hợp" in " ".join(m.attachments())]
    [alert] = flow_setup.smtp.messages_to(OPERATOR)
    assert "- CENTRE: " in alert.text()
