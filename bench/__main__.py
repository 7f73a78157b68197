"""Run every benchmark (or those named), print each as a table and as JSON, then the targets.

    python -m bench            # full sizes (several minutes)
    python -m bench --quick    # smaller sizes, about a minute
    python -m bench engine rendering

The JSON of the whole run is also written to out/bench/results.json, and the service's own
log lines (warnings such as "LibreOffice not found") to out/bench/bench.log.
"""

from __future__ import annotations

import os

# Prefect configures logging when imported: keep its console quiet (what it sends to its API,
# part of the overhead measured, is unchanged).
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
# The temporary Prefect API would try to send usage statistics over the network.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import argparse
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench.common import PROJECT_ROOT, BenchResult, columns, format_value, machine, table

OUT = PROJECT_ROOT / "out" / "bench"


def _benchmarks() -> dict[str, Callable[[bool], BenchResult]]:
    from bench import cli_startup, demo, engine, province, rendering, slow_portal, streaming

    return {
        "cli_startup": cli_startup.run,
        "demo_startup": demo.run,
        "engine": engine.run,
        "streaming": streaming.run,
        "province": province.run,
        "slow_portal": slow_portal.run,
        "rendering": rendering.run,
    }


def summary_table(results: list[BenchResult]) -> str:
    """Return every target of the run as one table: figure, value, target, MET or NOT MET."""
    rows = [
        (
            f"{result.name}: {target.name}",
            format_value(target.value),
            f"{target.comparison} {format_value(target.limit)}",
            "MET" if target.met else "NOT MET",
        )
        for result in results
        for target in result.targets
    ]
    lines = columns(("figure", "value", "target", "verdict"), rows)
    met = sum(1 for row in rows if row[3] == "MET")
    lines.append(f"{met} of {len(rows)} targets met")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks asked for and print their figures."""
    benchmarks = _benchmarks()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(benchmarks)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(benchmarks)}"
        )
    names = args.names or list(benchmarks)

    OUT.mkdir(parents=True, exist_ok=True)
    log = logging.FileHandler(OUT / "bench.log", encoding="utf-8")
    log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(log)
    logging.getLogger().setLevel(logging.WARNING)

    about = machine()
    mode = "quick" if args.quick else "full"
    print(f"tthc-report benchmarks ({mode} sizes), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {about['cpu']}, {about['cores']} cores, {about['memory_gb']} GB, "
        f"Python {about['python']}, {about['system']}, load average {about['load_average']}"
    )
    results: list[BenchResult] = []
    started = time.perf_counter()
    for name in names:
        print(f"\nrunning {name} ...", flush=True)
        began = time.perf_counter()
        result = benchmarks[name](args.quick)
        result.details["seconds"] = round(time.perf_counter() - began, 1)
        results.append(result)
        print(table(result))
        print(json.dumps(result.to_json(), ensure_ascii=False))
    report = {
        "mode": mode,
        "machine": about,
        "seconds": round(time.perf_counter() - started, 1),
        "results": [r.to_json() for r in results],
    }
    (OUT / "results.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(f"\n== targets (load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}) ==")
    print(summary_table(results))
    print(f"\nall done in {report['seconds']} s; JSON in {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
