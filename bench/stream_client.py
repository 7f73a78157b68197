"""The streaming client, run in a process of its own so that its peak memory is its own.

`python -m bench.stream_client URL AGENCY PERIOD` fetches the agency's dossiers of the period
from the portal at URL through HttpPortal, computes every figure in one pass, and prints one
JSON object: records, wall and CPU seconds, and the process's resident memory (after imports,
sampled while streaming, and its peak, VmHWM).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from bench.common import cpu_seconds, current_rss_mb, peak_rss_mb
from bench.simulator import SIMULATOR_PASSWORD, SIMULATOR_USER
from tasks.figures.engine import compute_figures
from tasks.figures.periods import Period
from tasks.portal.client import FetchStats, HttpPortal

T = TypeVar("T")


def sampled(items: Iterable[T], every: int, samples: list[tuple[int, float]]) -> Iterator[T]:
    """Yield `items`, noting (count, resident MB) every `every` items."""
    for count, item in enumerate(items, start=1):
        if count % every == 0:
            samples.append((count, round(current_rss_mb(), 1)))
        yield item


def main(argv: list[str] | None = None) -> None:
    """Stream one agency's dossiers of one period and print what it took as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("agency")
    parser.add_argument("period")
    parser.add_argument("--expected", type=int, default=0, help="records expected (for sampling)")
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args(argv)

    period = Period.parse(args.period)
    baseline = current_rss_mb()
    samples: list[tuple[int, float]] = []
    stats = FetchStats()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    with HttpPortal(
        args.url, SIMULATOR_USER, SIMULATOR_PASSWORD, page_size=args.page_size
    ) as portal:
        records = portal.iter_dossiers(args.agency, period.start_stamp, period.end_stamp, stats)
        every = max(1, args.expected // 10) if args.expected else 50_000
        report = compute_figures(sampled(records, every, samples), period, args.agency, "")
    wall = time.perf_counter() - started
    result: dict[str, Any] = {
        "records": stats.records,
        "rejected": stats.rejected,
        "pages": stats.pages,
        "requests": stats.requests,
        "received_total": report.figures["received_total"],
        "wall_seconds": wall,
        "cpu_seconds": cpu_seconds() - cpu_before,
        "rss_after_imports_mb": round(baseline, 1),
        "rss_samples_mb": samples,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
