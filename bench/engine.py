"""The figures engine over dossier records already decoded, next to decoding them at all.

The records are one agency's dossiers of 2024 from the volume scenario, served as the
simulator serves them: pages of 500 as JSON bodies. Side by side, in interleaved rounds:
`json.loads` (and orjson) over every body, `compute_figures` over the same records already
validated into Dossier values, and the client's whole CPU path over the bodies: typed
decoding (msgspec), de-duplication, validation and the figures, as HttpPortal runs them
without the HTTP. Targets: the engine at least twice as fast as decoding (computing the
figures must cost less than reading the data), and the client's CPU path at least as fast
as `json.loads` alone.
"""

from __future__ import annotations

import gc
import json
import os
import time
from typing import Any

import orjson

from bench.common import BenchResult, volume_agency, volume_scenario
from portal_sim.generator import ScenarioStore
from tasks.figures.engine import compute_figures
from tasks.figures.periods import Period
from tasks.portal.dossiers import Dossier, parse_dossier
from tasks.portal.paging import FetchStats, check_records, merge_pages
from tasks.portal.wire import decode_body

PAGE_SIZE = 500
PERIOD = "2024"
VPUBND = "000.00.01.H99"
TARGET_RATIO = 2.0
CLIENT_TARGET_RATIO = 1.0


def served_pages(count: int) -> tuple[list[bytes], str]:
    """Return the JSON bodies of LayDanhSachHoSo for `count` dossiers, and the agency."""
    data = volume_scenario(count)
    agency = volume_agency(data)
    store = ScenarioStore.from_dict(data)
    period = Period.parse(PERIOD)
    window = store.window(agency, period.start_stamp, period.end_stamp)
    bodies = []
    for index, offset in enumerate(range(0, window.total, PAGE_SIZE), start=1):
        page = window.page(offset, PAGE_SIZE)
        bodies.append(
            orjson.dumps(
                {
                    "error_code": "00",
                    "message": "",
                    "total": window.total,
                    "pageIndex": index,
                    "pageSize": PAGE_SIZE,
                    "data": page,
                }
            )
        )
    return bodies, agency


def run(quick: bool) -> BenchResult:
    """Measure the engine and the decoders over the same records, in interleaved rounds."""
    count = 100_000 if quick else 1_000_000
    rounds = 3
    period = Period.parse(PERIOD)
    result = BenchResult("engine", f"Figures engine vs decoding, {count:,} records")

    started = time.perf_counter()
    bodies, agency = served_pages(count)
    dossiers: list[Dossier] = [
        parse_dossier(row) for body in bodies for row in orjson.loads(body)["data"]
    ]
    setup = time.perf_counter() - started
    if len(dossiers) != count:
        raise RuntimeError(f"{len(dossiers)} records served, {count} expected")
    # Keep the collector off the records held for the benchmark: every pass allocates its own
    # garbage, and none should pay for walking a heap of a million unrelated objects.
    gc.collect()
    gc.freeze()

    def json_loads() -> Any:
        for body in bodies:
            json.loads(body)

    def orjson_loads() -> Any:
        for body in bodies:
            orjson.loads(body)

    def engine() -> Any:
        return compute_figures(dossiers, period, agency, VPUBND)

    def dict_path() -> Any:
        rows = (row for body in bodies for row in orjson.loads(body)["data"])
        return compute_figures(map(parse_dossier, rows), period, agency, VPUBND)

    def client_path() -> Any:
        stats = FetchStats()
        pages = (decode_body(body)["data"] for body in bodies)
        records = check_records(merge_pages(pages, stats), agency, stats)
        return compute_figures(records, period, agency, VPUBND)

    cases = {
        "json.loads": json_loads,
        "orjson.loads": orjson_loads,
        "figures engine": engine,
        "orjson dicts + parse_dossier + engine": dict_path,
        "client path: msgspec + merge + validation + engine": client_path,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for _ in range(rounds):
            for name, action in cases.items():
                began = time.perf_counter()
                outcome = action()
                times[name].append(time.perf_counter() - began)
                if outcome is not None and outcome.figures["received_total"] != count:
                    raise RuntimeError(f"{name}: received_total is not {count}")
    finally:
        gc.unfreeze()
    # The fastest round of each: noise from other processes only ever adds time.
    rates = {name: count / min(values) for name, values in times.items()}
    notes = {
        "json.loads": "stdlib, every page body as served",
        "orjson.loads": "the decoder the client uses",
        "figures engine": "compute_figures over Dossier values",
        "orjson dicts + parse_dossier + engine": "the reference reader (before msgspec)",
        "client path: msgspec + merge + validation + engine": "HttpPortal's CPU path, no HTTP",
    }
    for name, rate in rates.items():
        result.add(f"{name}", rate, "records/s", notes[name])
    for name, rate in rates.items():
        result.add(f"{name}: per record", 1e6 / rate, "µs")
    ratio = rates["figures engine"] / rates["json.loads"]
    result.add("engine / json.loads", ratio, "x", "target >= 2")
    result.add("engine / orjson.loads", rates["figures engine"] / rates["orjson.loads"], "x")
    client = rates["client path: msgspec + merge + validation + engine"] / rates["json.loads"]
    result.add("client CPU path / json.loads", client, "x", "target >= 1")
    result.add("set-up: generate, serialise, validate", setup, "s", "not timed above")
    result.target("engine speed / json.loads speed", ratio, TARGET_RATIO, ">=")
    result.target("client CPU path speed / json.loads speed", client, CLIENT_TARGET_RATIO, ">=")
    result.details = {
        "records": count,
        "pages": len(bodies),
        "bytes_per_record": round(sum(map(len, bodies)) / count, 1),
        "rounds": rounds,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "seconds": {name: [round(v, 3) for v in values] for name, values in times.items()},
    }
    return result
