"""The demo's start-up: `tthc-report demo` end to end, and its temporary Prefect API alone.

`make demo` on a warm set-up (the virtual environment installed, a demo run before in the same
output folder) is what an operator trying the service waits for. Its largest fixed part is
the temporary Prefect API server the demo starts for itself: a uvicorn process that imports
Prefect's server and opens (on first use, creates) its database. Both are timed in new
processes, as an operator runs them; the first demo in an output folder is printed for
context (it also creates the Prefect database).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cli_startup import program
from bench.common import PROJECT_ROOT, BenchResult, median

PERIOD = "2024-05"
DEMO_TIMEOUT_SECONDS = 600
# The demo prints how long its flow run took, the Prefect API's start excluded.
_FLOW_LINE = re.compile(r"monthly_report \S+: ([0-9.]+) s")

# Run in a new interpreter: start and stop the demo's temporary API as the demo does, in the
# output folder given, and print the seconds each part took as JSON.
_API_START = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from prefect.settings import temporary_settings
from flows.demo import temporary_api_settings, demo_api
from flows.processes import temporary_prefect_api
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config
imported = time.perf_counter()
config = load_config(DEFAULT_CONFIG_DIR, {"TTHC_OUTPUT_DIR": sys.argv[1]})
api = demo_api(config) if sys.argv[2] == "demo" else temporary_prefect_api()
with temporary_settings(updates=temporary_api_settings(config)):
    with api:
        ready = time.perf_counter()
stopped = time.perf_counter()
print(json.dumps({"import": imported - started, "start": ready - imported, "stop": stopped - ready}))
"""


def time_api_start(output: Path, how: str = "demo") -> dict[str, float]:
    """Start and stop the demo's temporary API once in a new process; return its timings.

    `how`: "demo", as the demo starts it; "harness", as prefect_test_harness does (a new
    database each time, Prefect's block types registered), how the demo started it before.
    """
    finished = subprocess.run(
        [sys.executable, "-c", _API_START, str(output), how],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    timings: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return timings


def time_demo(output: Path) -> tuple[float, float | None]:
    """Run `tthc-report demo` once into `output`; return its wall time and its flow's seconds."""
    environment = {**os.environ, "TTHC_OUTPUT_DIR": str(output), "COLUMNS": "160"}
    started = time.perf_counter()
    finished = subprocess.run(
        [*program(), "demo", "--period", PERIOD],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
        check=False,
    )
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"tthc-report demo exited with {finished.returncode}: {finished.stderr}")
    found = _FLOW_LINE.search(finished.stdout + finished.stderr)
    return wall, float(found.group(1)) if found else None


def keep_only_prefect(output: Path) -> None:
    """Empty the output folder but for the Prefect API's home: the next demo starts warm."""
    for entry in output.iterdir():
        if entry.name == "prefect":
            continue
        if entry.is_dir():
            subprocess.run(["rm", "-rf", str(entry)], check=True)
        else:
            entry.unlink()


def run(quick: bool) -> BenchResult:
    """Time the temporary API's start, then the demo: first in a folder, then warm."""
    repeats = 2 if quick else 3
    result = BenchResult("demo_startup", "Demo start-up (new processes, as an operator runs them)")
    with tempfile.TemporaryDirectory(prefix="tthc-bench-demo-") as folder:
        output = Path(folder) / "out"
        output.mkdir()
        first_api = time_api_start(output)  # creates the Prefect database
        apis = [time_api_start(output) for _ in range(repeats)]
        harness = [time_api_start(output, "harness") for _ in range(repeats)]
        keep_only_prefect(output)
        first_wall, first_flow = time_demo(output)
        walls: list[float] = []
        flows: list[float] = []
        for _ in range(repeats):
            keep_only_prefect(output)
            wall, flow_seconds = time_demo(output)
            walls.append(wall)
            if flow_seconds is not None:
                flows.append(flow_seconds)
    load = [round(x, 2) for x in os.getloadavg()]
    start = median([api["start"] for api in apis])
    result.add("Prefect API start, warm", start, "s", f"median of {repeats}, database exists")
    result.add("Prefect API start, first", first_api["start"], "s", "creates its database")
    result.add(
        "Prefect API start, test harness",
        median([api["start"] for api in harness]),
        "s",
        "new database each time: how the demo started it before",
    )
    result.add("Prefect API stop", median([api["stop"] for api in apis]), "s")
    result.add("Prefect client import", median([api["import"] for api in apis]), "s", "in the CLI")
    result.add("demo wall, warm", median(walls), "s", f"median of {repeats}, `tthc-report demo`")
    if flows:
        result.add("demo flow run, warm", median(flows), "s", "as the demo prints it")
        result.add("demo: Prefect API share", start / median(walls), "x", "API start / demo wall")
    result.add("demo wall, first in a folder", first_wall, "s", "creates the Prefect database")
    if first_flow is not None:
        result.add("demo flow run, first", first_flow, "s")
    result.details = {
        "api": [first_api, *apis],
        "api_harness": harness,
        "demo_wall_seconds": [round(first_wall, 2), *(round(w, 2) for w in walls)],
        "demo_flow_seconds": [first_flow, *flows],
        "load_average": load,
    }
    return result
