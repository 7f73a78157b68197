"""Slow portal: a province month's portal phase against a portal that answers in 300 ms.

The simulator (a process of its own) serves portal_sim/scenarios/province.yaml with 300 ms of
latency on every request, at most 50 records a page, 2% of requests answered 503 at random
and one burst of 429s (Retry-After 1 s) a third of the way in. The portal phase of a run for
2024-12 fetches every agency's dossiers of the month and computes its figures, as the run's
figures step does (`figures_from_portal` over a client from `open_portal`), on a thread
pool of `runner.max_concurrency` = 8, with `portal.max_concurrent_requests` = 8. (An agency's
login and first page come one after the other before its pages are read ahead, so as many
agencies as request slots keep the slots busy: with 4 at a time, the quick sizes measured
2.0x their floor instead of 1.35x.)

Its floor is what the portal's latency alone costs at that politeness bound: requests (every
request the simulator answered, logins, 503s and 429s included) × latency ÷ the bound. The
target is the phase within 1.25× of its floor, and the simulator never answering more
requests at once than the bound.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import BenchResult
from bench.province import agency_rows, province_scenario, write_config
from bench.simulator import SIMULATOR_PASSWORD, SIMULATOR_USER, SimulatorProcess

PERIOD = "2024-12"
LATENCY_SECONDS = 0.3
PAGE_CAP = 50
UNAVAILABLE_SHARE = 0.02
THROTTLE_BURST = 6
RETRY_AFTER_SECONDS = 1
MAX_CONCURRENT_REQUESTS = 8
RUNNER_CONCURRENCY = 8
FLOOR_LIMIT = 1.25


def expected_requests(data: dict[str, Any]) -> int:
    """Return the requests a fault-free phase makes: a login and every page, per agency."""
    from portal_sim.generator import ScenarioStore
    from tasks.figures.periods import Period

    store = ScenarioStore.from_dict(data)
    period = Period.parse(PERIOD)
    requests = 0
    for row in agency_rows(data):
        window = store.window(row["MaDonVi"], period.start_stamp, period.end_stamp)
        requests += 1 + -(-window.total // PAGE_CAP) + 1  # login, pages, the empty page
    return requests


def portal_phase(config_dir: Path, environ: dict[str, str]) -> dict[str, Any]:
    """Fetch every department's month and compute its figures; return what came out."""
    from tasks.figures.periods import Period
    from tasks.run.services import open_portal
    from tasks.run.steps import figures_from_portal
    from tasks.settings.loading import load_config

    config = load_config(config_dir, environ)
    period = Period.parse(PERIOD)
    vpubnd = config.settings.vpubnd_agency

    def one(agency: str) -> tuple[int, int]:
        with open_portal(config) as portal:
            report = figures_from_portal(portal, agency, period, vpubnd)
        return int(report.figures["received_total"]), report.data_quality.rejected_count

    agencies = [d.agency_code for d in config.departments.departments]
    with ThreadPoolExecutor(config.settings.runner.max_concurrency) as pool:
        outcomes = list(pool.map(one, agencies))
    return {
        "agencies": len(outcomes),
        "received": sum(received for received, _ in outcomes),
        "rejected": sum(rejected for _, rejected in outcomes),
    }


def run(quick: bool) -> BenchResult:
    """Time the portal phase against the slow simulator and compare it with its floor."""
    data = province_scenario(quick)
    agencies = agency_rows(data)
    planned = expected_requests(data)
    faults = ",".join(
        [
            f"unavailable_share={UNAVAILABLE_SHARE}",
            "seed=15",
            f"throttle_burst={THROTTLE_BURST}",
            f"throttle_after={planned // 3}",
            f"retry_after_seconds={RETRY_AFTER_SECONDS}",
        ]
    )
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="tthc-bench-slow-portal-") as folder,
        SimulatorProcess(
            data, latency_seconds=LATENCY_SECONDS, max_page_size=PAGE_CAP, faults=faults
        ) as simulator,
    ):
        root = Path(folder)
        config_dir = write_config(root / "config", agencies, simulator.url)
        environ = {
            "PORTAL_USERNAME": SIMULATOR_USER,
            "PORTAL_PASSWORD": SIMULATOR_PASSWORD,
            "TTHC_OUTPUT_DIR": str(root / "out"),
            "TTHC_PORTAL__MAX_CONCURRENT_REQUESTS": str(MAX_CONCURRENT_REQUESTS),
            "TTHC_RUNNER__MAX_CONCURRENCY": str(RUNNER_CONCURRENCY),
        }
        simulator.reset_stats()
        started = time.perf_counter()
        outcome = portal_phase(config_dir, environ)
        wall = time.perf_counter() - started
        stats = simulator.stats()
    load_after = os.getloadavg()

    requests = stats.get("requests", 0)
    floor = requests * LATENCY_SECONDS / MAX_CONCURRENT_REQUESTS
    seen = stats.get("max_concurrent", 0)
    result = BenchResult(
        "slow_portal",
        f"Slow portal: {PERIOD}'s portal phase, {LATENCY_SECONDS * 1000:.0f} ms a request",
    )
    result.add("agencies", outcome["agencies"], "", f"{RUNNER_CONCURRENCY} at a time")
    result.add("dossiers received in the month", outcome["received"], "")
    result.add("requests answered", requests, "", f"{planned} without faults")
    result.add("503 answered", stats.get("fault:503", 0), "", f"{UNAVAILABLE_SHARE:.0%} at random")
    result.add(
        "429 answered", stats.get("fault:429", 0), "", f"Retry-After {RETRY_AFTER_SECONDS} s"
    )
    result.add("portal phase: wall time", wall, "s")
    result.add("floor: requests × latency ÷ bound", floor, "s", f"bound {MAX_CONCURRENT_REQUESTS}")
    result.add("wall / floor", wall / floor, "x", f"target < {FLOOR_LIMIT}")
    result.add("most requests under way at once", seen, "", "counted by the simulator")
    result.add("requests per second", requests / wall, "req/s")
    result.target("portal phase / its floor", wall / floor, FLOOR_LIMIT, "<")
    result.target(
        "most concurrent requests seen (portal.max_concurrent_requests = "
        f"{MAX_CONCURRENT_REQUESTS})",
        seen,
        MAX_CONCURRENT_REQUESTS,
        "<=",
    )
    if outcome["rejected"]:
        raise RuntimeError(f"{outcome['rejected']} records rejected: the scenario is valid")
    result.details = {
        "period": PERIOD,
        "latency_seconds": LATENCY_SECONDS,
        "page_cap": PAGE_CAP,
        "faults": faults,
        "max_concurrent_requests": MAX_CONCURRENT_REQUESTS,
        "runner_concurrency": RUNNER_CONCURRENCY,
        "simulator_stats": stats,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    return result
