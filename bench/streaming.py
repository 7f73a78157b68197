"""Streaming: one agency's dossiers from the simulator over loopback, fetched and computed.

The simulator runs in one process and the client (HttpPortal, merge, validation, the figures
engine) in another, so the client's peak resident memory (VmHWM) is its own. Two sizes side
by side show whether memory grows with the number of dossiers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import BenchResult, volume_scenario
from bench.simulator import SimulatorProcess

MEMORY_LIMIT_MB = 250.0
# Growth from the small to the large run that still counts as "not growing": allocator noise.
GROWTH_LIMIT_MB = 10.0
PERIOD = "2024"  # the year's report of an agency: every dossier of the scenario is in it
SMALL_CODE = "000.00.08.H99"


def run_client(url: str, agency: str, expected: int) -> dict[str, Any]:
    """Run bench.stream_client in a fresh process and return what it printed."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.stream_client",
            url,
            agency,
            PERIOD,
            "--expected",
            str(expected),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def scenario(small: int, large: int) -> tuple[dict[str, Any], str, str]:
    """Return a scenario with one agency of `small` and one of `large` dossiers in 2024."""
    data = volume_scenario(large)
    large_agency = dict(data["agencies"][0])
    small_agency = {**large_agency, "code": SMALL_CODE, "name": "Sở Giao thông vận tải"}
    small_agency["dossiers"] = small
    small_agency.pop("prefix", None)
    data["agencies"] = [small_agency, large_agency]
    return data, SMALL_CODE, str(large_agency["code"])


def run(quick: bool) -> BenchResult:
    """Stream the small and the large agency and compare memory and rates."""
    small, large = (10_000, 100_000) if quick else (100_000, 1_000_000)
    data, small_code, large_code = scenario(small, large)
    result = BenchResult("streaming", f"Streaming {small:,} and {large:,} dossiers over loopback")
    runs: dict[str, dict[str, Any]] = {}
    with SimulatorProcess(data) as simulator:
        for label, code, count in (("small", small_code, small), ("large", large_code, large)):
            outcome = run_client(simulator.url, code, count)
            if outcome["records"] != count:
                raise RuntimeError(f"{label}: streamed {outcome['records']} of {count} dossiers")
            runs[label] = outcome
    for label, count in (("small", small), ("large", large)):
        outcome = runs[label]
        rate = outcome["records"] / outcome["wall_seconds"]
        result.add(f"{count:,} dossiers: end to end", rate, "records/s")
        result.add(f"{count:,} dossiers: wall time", outcome["wall_seconds"], "s")
        result.add(
            f"{count:,} dossiers: client CPU",
            outcome["cpu_seconds"] / outcome["records"] * 1e6,
            "µs/record",
            "HTTP, JSON, merge, validation, figures",
        )
        result.add(f"{count:,} dossiers: client peak RSS", outcome["peak_rss_mb"], "MB", "VmHWM")
        result.add(
            f"{count:,} dossiers: client RSS after imports",
            outcome["rss_after_imports_mb"],
            "MB",
        )
    growth = runs["large"]["peak_rss_mb"] - runs["small"]["peak_rss_mb"]
    result.add("peak RSS growth, small to large", growth, "MB", f"{large // small}x the dossiers")
    peak = max(runs["small"]["peak_rss_mb"], runs["large"]["peak_rss_mb"])
    result.target("client peak RSS (MB)", peak, MEMORY_LIMIT_MB, "<")
    result.target("peak RSS growth small to large (MB)", growth, GROWTH_LIMIT_MB, "<")
    result.details = {"sizes": [small, large], "period": PERIOD, "runs": runs}
    return result
