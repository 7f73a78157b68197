"""Province run: 120 agencies, 300,000 dossiers, 20 ms of portal latency, documents and e-mails.

The monthly_report flow runs for 2024-12 over portal_sim/scenarios/province.yaml (20
departments and 100 communes), the simulator in a process of its own adding 20 ms to every
request, the loopback SMTP server receiving every message. Its wall time is compared with
calling the same task functions directly (`.fn`), on a thread pool of the same size, in the
same process: the ratio is what orchestration costs.

What is measured is the steady-state monthly run. The first run for a department also
computes the eleven months before the period for its twelve-month trend chart, and stores
them; every later month reads them from the run history and computes one month. The
benchmark therefore fills the history with the previous months first (computed from the same
scenario, outside the timing): a province pays the first run once, and the months after it
are what must stay fast. The cold first run is printed too (full size only), for context.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.common import PROVINCE_SCENARIO, BenchResult, cpu_used, median, tree_cpu_seconds
from bench.simulator import SIMULATOR_PASSWORD, SIMULATOR_USER, SimulatorProcess
from standins.environment import environment_overrides

PERIOD = "2024-12"
LATENCY_SECONDS = 0.02
CONCURRENCY = 4  # settings.runner.max_concurrency, the default
WALL_LIMIT_SECONDS = 60.0
OVERHEAD_LIMIT = 1.3
PDF_COST_LIMIT = 1.3  # a run with PDFs against the same run without
DOMAIN = "demo.gov.vn"


def province_scenario(quick: bool) -> dict[str, Any]:
    """Return province.yaml; quick: 4 departments and 20 communes, a fifth of the dossiers."""
    data: dict[str, Any] = yaml.safe_load(PROVINCE_SCENARIO.read_text(encoding="utf-8"))
    if quick:
        data["agencies"] = [
            {**agency, "dossiers": agency["dossiers"] // 5} for agency in data["agencies"][:4]
        ]
        data["agency_groups"] = [{**group, "count": 10} for group in data["agency_groups"]]
    return data


def department_key(code: str) -> str:
    """Return the department key of an agency: "000.31.05.H99" -> "DV-31-05"."""
    parts = code.split(".")
    return f"DV-{parts[1]}-{parts[2]}"


def write_config(folder: Path, agencies: list[dict[str, Any]], portal_url: str) -> Path:
    """Write settings, departments and recipients for every agency; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "province": "Tỉnh Demo",
        "place": "Demo",
        "output_dir": "out",  # replaced per run by TTHC_OUTPUT_DIR
        "vpubnd_agency": "000.00.01.H99",
        "operators": [f"quantri@{DOMAIN}"],
        "portal": {"base_url": portal_url, "page_size": 500},
        # The departments have no national_index_code: the index would be fetched for nothing.
        "national_index": {"base_url": "off"},
        "smtp": {"host": "embedded", "port": 0, "sender_address": f"bao-cao-tthc@{DOMAIN}"},
        "runner": {"kind": "default", "max_concurrency": CONCURRENCY},
    }
    departments = [
        {
            "key": department_key(row["MaDonVi"]),
            "agency_code": row["MaDonVi"],
            "name": row["TenDonVi"],
            "parent_authority": "UBND TỈNH DEMO",
            "document_symbol": f"BC-{department_key(row['MaDonVi'])}",
            "signer": {
                "authority": "KT. GIÁM ĐỐC",
                "title": "PHÓ GIÁM ĐỐC",
                "name": "Nguyễn Văn An",
            },
        }
        for row in agencies
    ]
    recipients = {
        "allowed_domains": [DOMAIN],
        "defaults": {"noi_nhan": ["Trung tâm Phục vụ hành chính công", "Lưu: VT, VP"]},
        "centre": {"to": [f"ttphvhcc@{DOMAIN}"]},
        "departments": {
            d["key"]: {"to": [f"vanthu.{d['key'].lower()}@{DOMAIN}"]} for d in departments
        },
    }
    for name, content in (
        ("settings.yaml", settings),
        ("departments.yaml", {"departments": departments}),
        ("recipients.yaml", recipients),
    ):
        (folder / name).write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return folder


def fill_history(data: dict[str, Any], config_dir: Path, database: Path) -> int:
    """Store the figures of the eleven months before PERIOD for every agency; return records read.

    Computed from the scenario in this process, without HTTP: the values are those a first
    run would have fetched and stored.
    """
    from portal_sim.generator import ScenarioStore
    from tasks.figures.engine import compute_figures
    from tasks.figures.periods import Period
    from tasks.portal.dossiers import InvalidDossier, RejectedRecord, parse_dossier
    from tasks.settings.loading import load_config
    from tasks.store.database import RunStore

    config = load_config(config_dir, {})
    scenario = ScenarioStore.from_dict(data, source=str(PROVINCE_SCENARIO))
    period = Period.parse(PERIOD)
    months = [m for m in period.trailing_months(12) if m != period]
    read = 0

    def validated(rows: list[dict[str, Any]]) -> Iterator[Any]:
        for row in rows:
            try:
                yield parse_dossier(row)
            except InvalidDossier as error:
                yield RejectedRecord(error.code, error.reason)

    with RunStore(f"sqlite:///{database}") as store:
        for department in config.departments.departments:
            for month in months:
                window = scenario.window(department.agency_code, month.start_stamp, month.end_stamp)
                rows = window.page(0, window.total)
                read += len(rows)
                report = compute_figures(
                    validated(rows), month, department.agency_code, config.settings.vpubnd_agency
                )
                store.record_figures(department.key, report)
    return read


def run_direct(config_dir: Path, keys: list[str] | None = None) -> dict[str, Any]:
    """Do what the flow does, calling each task's function (`.fn`) on a same-sized thread pool."""
    from flows.embedded import embedded
    from flows.runtime import config_dir_from_env
    from flows.steps import (
        compute_department_figures,
        deliver_centre_documents,
        deliver_department_documents,
        render_centre_documents,
        render_department_documents,
    )
    from tasks.figures.periods import Period
    from tasks.run.services import pdf_converter
    from tasks.settings.loading import load_config

    config = load_config(config_dir_from_env(os.environ), os.environ)
    selected = keys or [d.key for d in config.departments.departments]
    period = Period.parse(PERIOD)
    with (
        embedded(config) as services,
        pdf_converter(services.config),
        ThreadPoolExecutor(CONCURRENCY) as pool,
    ):
        live = services.config
        # Submitted in the flow's order: every department's figures, then documents, then
        # deliveries, each waiting in its worker for what it needs, as Prefect's tasks do.
        figures = {k: pool.submit(compute_department_figures.fn, live, k, period) for k in selected}

        def render(key: str) -> Any:
            return render_department_documents.fn(live, key, figures[key].result())

        documents = {k: pool.submit(render, k) for k in selected}

        def deliver(key: str) -> Any:
            return deliver_department_documents.fn(
                live, key, documents[key].result(), figures[key].result(), False, False
            )

        deliveries = {k: pool.submit(deliver, k) for k in selected}
        # As the flow does: the Centre's summary written in this thread once every figure is in.
        centre = None
        if keys is None:
            rows = [(live.department(k).name, figures[k].result().report) for k in selected]
            centre = render_centre_documents.fn(live, period, rows, pdf_later=True)
        every: list[Future[Any]] = [*figures.values(), *documents.values(), *deliveries.values()]
        wait_all(every)
        for future in every:
            future.result()  # raise the first failure
        if centre is not None:
            pool.submit(
                deliver_centre_documents.fn,
                live,
                period,
                centre,
                [report for _, report in rows],
                False,
                False,
            ).result()
        received = len(services.mail_server.received) if services.mail_server else 0
    return {"messages": received}


def run_flow() -> dict[str, Any]:
    """Run the monthly_report flow for PERIOD (inside a Prefect API started beforehand)."""
    from flows.monthly_report import monthly_report

    summary = monthly_report(period=PERIOD)
    if summary.failed:
        raise RuntimeError(f"the flow run failed for {summary.failed}")
    return {"departments": len(summary.departments)}


def count_messages(output_dir: Path) -> int:
    """Count the .eml files the loopback mail server stored."""
    return sum(1 for _ in (output_dir / "mail").rglob("*.eml"))


def count_pdfs(output_dir: Path) -> int:
    """Count the PDFs written."""
    return sum(1 for _ in (output_dir / "reports").rglob("*.pdf"))


def count_documents(output_dir: Path) -> int:
    """Count the reports and data forms written."""
    reports = output_dir / "reports"
    return sum(1 for p in reports.rglob("*") if p.suffix in (".docx", ".xlsx"))


@dataclass
class Timing:
    """What the timed runs of one kind took: wall and CPU seconds, one entry per run."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


# Each round runs these in this order: the two without PDFs side by side (their ratio is the
# orchestration overhead of that round), then the Prefect run with PDFs.
KINDS: dict[str, tuple[str, str]] = {
    "direct": ("direct", "off"),
    "prefect": ("prefect", "off"),
    "prefect-pdf": ("prefect", "auto"),
    "floor": ("floor", "off"),
}


def run(quick: bool) -> BenchResult:
    """Fill the history, then time the direct and the Prefect runs (with and without PDFs)."""
    from flows.processes import temporary_prefect_api
    from tasks.documents.pdf import find_soffice
    from tasks.store.database import DATABASE_FILE

    data = province_scenario(quick)
    rounds = 1 if quick else 3
    libreoffice = find_soffice() is not None
    kinds = {k: v for k, v in KINDS.items() if libreoffice or v[1] == "off"}
    agencies = agency_rows(data)
    keys = [department_key(a["MaDonVi"]) for a in agencies]
    dossiers = sum(int(a.get("dossiers", 0)) for a in data["agencies"]) + sum(
        int(g["count"]) * int(g.get("dossiers", 0)) for g in data.get("agency_groups", [])
    )
    timings = {kind: Timing() for kind in kinds}
    actions = {
        "direct": run_direct_all,
        "prefect": run_flow_all,
        "floor": lambda _config: run_prefect_floor(len(keys)),
    }
    outputs: dict[str, Path] = {}
    cold: float | None = None
    load: list[list[float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="tthc-bench-province-") as folder,
        SimulatorProcess(data, latency_seconds=LATENCY_SECONDS) as simulator,
    ):
        root = Path(folder)
        config_dir = write_config(root / "config", agencies, simulator.url)
        history = root / "history.sqlite"
        started = time.perf_counter()
        history_records = fill_history(data, config_dir, history)
        fill_seconds = time.perf_counter() - started
        base_env = {
            "TTHC_CONFIG_DIR": str(config_dir),
            "PORTAL_USERNAME": SIMULATOR_USER,
            "PORTAL_PASSWORD": SIMULATOR_PASSWORD,
        }

        def output_for(label: str, pdf: str = "off", with_history: bool = True) -> dict[str, str]:
            output = root / "runs" / label
            output.mkdir(parents=True)
            if with_history:
                shutil.copy(history, output / DATABASE_FILE)
            outputs[label] = output
            return {**base_env, "TTHC_OUTPUT_DIR": str(output), "TTHC_DOCUMENTS__PDF": pdf}

        with environment_overrides(output_for("warm-up", "auto")):
            run_direct(config_dir, keys[:2])  # imports, fonts, templates, chart processes
        # Started as the demo starts its own: the server records task run states in batches
        # and ends with this process, however it ends.
        with temporary_prefect_api(startup_timeout=120):
            with environment_overrides(output_for("warm-up-flow")):
                warm_up_flow()
            # Alternated, so that a burst of load from elsewhere hits every kind alike.
            for number in range(rounds):
                for kind, (how, pdf) in kinds.items():
                    with environment_overrides(
                        output_for(f"{kind}-{number}", pdf, with_history=how != "floor")
                    ):
                        before = tree_cpu_seconds(exclude=[simulator.pid])
                        started = time.perf_counter()
                        actions[how](config_dir)
                        timings[kind].wall.append(time.perf_counter() - started)
                        after = tree_cpu_seconds(exclude=[simulator.pid])
                        timings[kind].cpu.append(cpu_used(before, after))
                        load.append([round(x, 2) for x in os.getloadavg()])
                print(_round_line(number, timings), flush=True)
        if not quick:
            with environment_overrides(output_for("cold", with_history=False)):
                started = time.perf_counter()
                run_direct(config_dir)
                cold = time.perf_counter() - started
        expected = len(agencies) + 1
        for label, output in outputs.items():
            if label.startswith(("direct", "prefect", "cold")):
                received = count_messages(output)
                if received != expected:
                    raise RuntimeError(
                        f"{label}: {received} messages received, {expected} expected"
                    )
        documents = count_documents(outputs[f"prefect-{rounds - 1}"])
        pdfs = count_pdfs(outputs[f"prefect-pdf-{rounds - 1}"]) if libreoffice else 0

    direct, prefect = median(timings["direct"].wall), median(timings["prefect"].wall)
    direct_cpu, prefect_cpu = median(timings["direct"].cpu), median(timings["prefect"].cpu)
    ratios = [p / d for p, d in zip(timings["prefect"].wall, timings["direct"].wall, strict=True)]
    result = BenchResult("province", "Province run (steady-state month, 20 ms portal latency)")
    result.add("agencies", len(agencies), "", "departments and communes")
    result.add("dossiers in the scenario", dossiers, "", "over 2024")
    result.add("documents written", documents, "", ".docx and .xlsx, Centre's included")
    result.add("messages delivered", expected, "", "to the loopback SMTP server")
    result.add("Prefect run, no PDF: wall time", prefect, "s", f"median of {rounds}")
    result.add("direct (.fn) run, no PDF: wall time", direct, "s", f"median of {rounds}")
    result.add("reports per second (Prefect run)", expected / prefect, "reports/s")
    for number, ratio in enumerate(ratios, start=1):
        result.add(f"orchestration overhead, run {number}", ratio, "x", "Prefect / direct, wall")
    result.add("Prefect run: CPU", prefect_cpu, "s", "run + chart workers + Prefect API")
    result.add("direct (.fn) run: CPU", direct_cpu, "s", "run + chart workers + Prefect API")
    result.add("orchestration overhead, CPU", prefect_cpu / direct_cpu, "x", "load elsewhere aside")
    floor = median(timings["floor"].wall)
    result.add("Prefect run - direct run, no PDF", prefect - direct, "s", "medians, wall")
    result.add(
        "Prefect alone: same task graph, no-op tasks",
        floor,
        "s",
        f"{len(keys) * 3 + 3} task runs, median",
    )
    result.add(
        "Prefect alone: CPU", median(timings["floor"].cpu), "s", "this process + Prefect API"
    )
    result.add(
        "overhead if the work cost nothing more",
        (direct + floor) / direct,
        "x",
        "(direct + Prefect alone) / direct",
    )
    if libreoffice:
        with_pdf = median(timings["prefect-pdf"].wall)
        result.add("Prefect run WITH PDFs: wall time", with_pdf, "s", f"median of {rounds}")
        result.add("PDFs written", pdfs, "", "one per report, Centre's included")
        result.add("PDF cost", with_pdf / prefect, "x", "with PDFs / without, Prefect runs")
        result.add(
            "Prefect run WITH PDFs: CPU",
            median(timings["prefect-pdf"].cpu),
            "s",
            "LibreOffice's calls included",
        )
    else:
        result.add("Prefect run WITH PDFs", float("nan"), "s", "LibreOffice is not installed")
    result.add("history fill (outside timing)", fill_seconds, "s", f"{history_records:,} records")
    if cold is not None:
        result.add("cold first run, direct (context)", cold, "s", "computes 12 months per agency")
    result.target("Prefect run, no PDF, wall time (s)", prefect, WALL_LIMIT_SECONDS, "<")
    result.target(
        f"orchestration overhead, worst of {rounds} consecutive runs",
        max(ratios),
        OVERHEAD_LIMIT,
        "<",
    )
    if libreoffice:
        result.target("Prefect run WITH PDFs, wall time (s)", with_pdf, WALL_LIMIT_SECONDS, "<")
        result.target("with PDFs / without (Prefect)", with_pdf / prefect, PDF_COST_LIMIT, "<")
    result.details = {
        "period": PERIOD,
        "latency_seconds": LATENCY_SECONDS,
        "concurrency": CONCURRENCY,
        "libreoffice": libreoffice,
        "wall_seconds": {k: [round(v, 2) for v in t.wall] for k, t in timings.items()},
        "cpu_seconds": {k: [round(v, 2) for v in t.cpu] for k, t in timings.items()},
        "overhead_per_round": [round(r, 3) for r in ratios],
        "load_average_after_each_run": load,
        "cold_first_run_seconds": None if cold is None else round(cold, 2),
    }
    return result


def _round_line(number: int, timings: dict[str, Timing]) -> str:
    """Return one round's wall times and its overhead, printed as the round ends."""
    walls = {kind: t.wall[number] for kind, t in timings.items()}
    parts = [f"{kind} {wall:.1f} s" for kind, wall in walls.items()]
    ratio = walls["prefect"] / walls["direct"]
    verdict = "MET" if ratio < OVERHEAD_LIMIT else "NOT MET"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"  round {number + 1}: {'; '.join(parts)}; overhead {ratio:.2f}x ({verdict}); "
        f"load average {load}"
    )


def agency_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the LayDanhSachDonVi rows of a scenario given as data (groups expanded)."""
    from portal_sim.generator import scenario_from_dict

    return [spec.row for spec in scenario_from_dict(data, str(PROVINCE_SCENARIO)).agencies]


def run_direct_all(config_dir: Path) -> None:
    """Run every department and the Centre directly."""
    run_direct(config_dir)


def run_flow_all(config_dir: Path) -> None:
    """Run the flow for every department and the Centre."""
    del config_dir  # the flow reads $TTHC_CONFIG_DIR
    run_flow()


def run_prefect_floor(departments: int) -> None:
    """Run the monthly flow's task graph with tasks that do nothing: what Prefect alone costs.

    The same shape as `flows.monthly_report._run`: the national index, then for each department
    its figures, its documents (after the figures and the index) and its delivery (after both),
    the Centre's summary and its delivery; the same task runner and concurrency, results passed
    as futures. Its wall time is the part of the orchestration overhead no change to our own
    tasks can remove.
    """
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(cache_policy=NO_CACHE, task_run_name="bộ chỉ số 766")
    def index() -> int:
        return 0

    @task(cache_policy=NO_CACHE, task_run_name="số liệu {key}")
    def figures(key: str) -> int:
        return 0

    @task(cache_policy=NO_CACHE, task_run_name="báo cáo {key}")
    def documents(key: str, figures: int, index: int) -> int:
        return figures + index

    @task(cache_policy=NO_CACHE, task_run_name="gửi {key}")
    def deliver(key: str, documents: int, figures: int) -> int:
        return documents + figures

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=CONCURRENCY))
    def task_graph(count: int) -> int:
        keys = [f"DV-{number}" for number in range(count)]
        # Futures go in as arguments, which submit()'s typed overloads do not express.
        standing: Any = index.submit()
        counted: dict[str, Any] = {k: figures.submit(k) for k in keys}
        written: dict[str, Any] = {k: documents.submit(k, counted[k], standing) for k in keys}
        sent = [deliver.submit(k, written[k], counted[k]) for k in keys]
        summary: Any = documents.submit("tổng hợp", 0, standing)
        wait(sent)
        return int(deliver.submit("tổng hợp", summary, 0).result())

    task_graph(departments)


def warm_up_flow() -> None:
    """Run a trivial flow so that the Prefect API's first-use costs are not in the timing."""
    from prefect import flow, task

    @task
    def nothing() -> int:
        return 0

    @flow
    def warm_up() -> int:
        return int(nothing.submit().result())

    warm_up()
