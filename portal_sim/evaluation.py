"""The national evaluation API (Bộ chỉ số 766) simulated over the portal scenario's dossiers.

`EvaluationSimulator` serves `POST {base}/service-results` and the six component endpoints of
docs/national-index-api.md on loopback, in the shapes the real API answers (envelope
`{"code": "OK", ...}`, HTTP 201, integers where a value is whole), for every agency of a
`DossierStore`: level-1 agencies are the province's sở, ban, ngành (`AGENCY`), the others its
communes (`COMMUNE`). The progress component (TDGQ) is computed from the same dossiers as the
report's figures, with the same engine: received = resolved in the period, on time = early +
on time, overdue = late; score = on-time share × 20. The other components are a stand-in
model over the period's rates (the real ones measure what the portal alone knows):
CKMB 18 × (0.6 + 0.4 × digitised), ONLINE 12 × online level 3-4, TTTT 10 × paid online,
MDSH 22 × digitised, MDHL 18 × (0.7 + 0.3 × early); a missing rate scores 0. The total is
their sum. A period after the scenario's last month lists no unit (not published yet).

Unit identities are derived from the MaDonVi: departmentCode "H99.15" for "000.00.15.H99",
departmentId a UUID named after it; `root_id` is the province's.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson

from portal_sim.store import DossierStore
from tasks.figures.engine import FiguresReport, compute_figures
from tasks.figures.periods import InvalidPeriod, Period
from tasks.national_index.model import COMPONENTS, SERVICE_RESULTS
from tasks.portal.client import check_record

__all__ = ["EVALUATION_PATH", "EvaluationSimulator", "unit_code", "unit_id"]

logger = logging.getLogger(__name__)

EVALUATION_PATH = "/api/v1/reporting/evaluation"
_NAMESPACE = uuid.UUID("6f1c4a52-6b1e-4c64-9b0e-7d6a1e0c7660")
_AGENCY_NUMBER = re.compile(r"^\d{3}\.\d{2}\.(\d{2,3})\.([A-Z]\d{2})$")
_MAX_BODY = 64 * 1024


def unit_code(agency_code: str, province: str) -> str:
    """Return the departmentCode of an agency: "000.00.15.H99" → "H99.15"."""
    match = _AGENCY_NUMBER.match(agency_code.strip())
    if match is None:
        digits = re.sub(r"\D", "", agency_code)[-3:] or "0"
        return f"{province}.{digits}"
    return f"{match.group(2)}.{match.group(1)}"


def unit_id(code: str) -> str:
    """Return the departmentId the simulator gives the unit with departmentCode `code`."""
    return str(uuid.uuid5(_NAMESPACE, code))


def served(value: float | None) -> int | float:
    """Return a score as the API serves it: two decimals, a whole value as an integer."""
    rounded = round(value or 0.0, 2)
    return int(rounded) if rounded == int(rounded) else rounded


class EvaluationSimulator:
    """The evaluation API over HTTP on loopback, from a DossierStore; use as a context manager.

    `failing` holds endpoint names that answer HTTP 503 (tests make the API "down" with it);
    `progress_offsets` adds, per departmentCode, dossiers on time to the progress counts (tests
    make the index disagree with the report with it); `stats` counts requests per endpoint.
    """

    def __init__(
        self,
        store: DossierStore,
        *,
        province: str = "Tỉnh Demo",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.store = store
        scenario = getattr(store, "scenario", None)
        self.province_code = str(getattr(scenario, "province", "H99"))
        self.vpubnd_agency = str(getattr(store, "vpubnd_agency", f"000.00.01.{self.province_code}"))
        self.province_name = province
        self.root_id = unit_id(self.province_code)
        self.failing: set[str] = set()
        self.progress_offsets: dict[str, int] = {}
        self.stats: dict[str, int] = {}
        self._last_month = _last_month(scenario)
        self._host = host
        self._port = port
        self._cache: dict[str, list[tuple[dict[str, Any], FiguresReport]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> EvaluationSimulator:
        """Bind the socket and serve in a background thread."""
        if self._server is None:
            self._server = _Server((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="evaluation-sim",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EvaluationSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL a client configures, up to and including /api/v1/reporting/evaluation."""
        if self._server is None:
            raise RuntimeError("the evaluation simulator is not running: call start() first")
        return f"http://{self._host}:{self._server.server_address[1]}{EVALUATION_PATH}"

    # -- answers -----------------------------------------------------------------------

    def answer(self, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Return the HTTP status and JSON body for a POST of `raw` to `path`."""
        route = path.split("?", 1)[0].rstrip("/")
        endpoint = route.removeprefix(EVALUATION_PATH + "/")
        with self._lock:
            self.stats[endpoint] = self.stats.get(endpoint, 0) + 1
        if endpoint in self.failing:
            return 503, {"code": "SERVICE_UNAVAILABLE", "message": "Service Unavailable"}
        known = {SERVICE_RESULTS, *(c.endpoint for c in COMPONENTS)}
        if not route.startswith(EVALUATION_PATH + "/") or endpoint not in known:
            return 404, {"code": "NOT_FOUND", "message": f"Cannot POST {route}"}
        try:
            body = orjson.loads(raw)
            period = _period_of(body)
        except (orjson.JSONDecodeError, InvalidPeriod, KeyError, TypeError, ValueError) as error:
            return 400, {"code": "BAD_REQUEST", "message": str(error)}
        if body.get("rootDepartmentId") != self.root_id:
            return 201, {"code": "OK", "data": _empty(endpoint), "message": "OK"}
        rows = self._units(period)
        data = (
            self._service_results(rows)
            if endpoint == SERVICE_RESULTS
            else self._component(endpoint, rows)
        )
        return 201, {"code": "OK", "data": data, "message": "OK"}

    def _units(self, period: Period) -> list[tuple[dict[str, Any], FiguresReport]]:
        """Return every agency's row and figures for `period` (none when not published yet)."""
        if self._last_month is not None and period.start_date > self._last_month.end_date:
            return []
        with self._lock:
            cached = self._cache.get(period.key)
        if cached is not None:
            return cached
        rows = []
        for agency in self.store.agencies():
            code = str(agency["MaDonVi"])
            window = self.store.window(code, period.start_stamp, period.end_stamp)
            # check_record, not check_records: the report's own fetch logs the rejections.
            records = (check_record(raw, code) for raw in window.page(0, window.total))
            report = compute_figures(records, period, code, self.vpubnd_agency)
            rows.append((agency, report))
        with self._lock:
            self._cache[period.key] = rows
        return rows

    def _identity(self, agency: Mapping[str, Any]) -> dict[str, Any]:
        code = unit_code(str(agency["MaDonVi"]), self.province_code)
        name = str(agency.get("TenDonVi") or code)
        if agency.get("CapDonVi") == 1:
            name = f"{name} - {_lower_first(self.province_name)}"
        return {"departmentId": unit_id(code), "departmentName": name, "departmentCode": code}

    def _service_results(self, rows: list[tuple[dict[str, Any], FiguresReport]]) -> dict[str, Any]:
        units = []
        for agency, report in rows:
            total = served(sum(_scores(report).values()))
            units.append(
                {
                    **self._identity(agency),
                    "totalScore": total,
                    "ratio": total,
                    "scoreDelta": None,
                    "childGroup": "AGENCY" if agency.get("CapDonVi") == 1 else "COMMUNE",
                }
            )
        units.sort(key=lambda unit: (-unit["totalScore"], unit["departmentName"]))
        average = served(sum(u["totalScore"] for u in units) / len(units)) if units else 0
        return {
            "overview": {
                "departmentName": f"UBND {_lower_first(self.province_name)}",
                "departmentCode": self.province_code,
                "totalScore": average,
                "totalMaxScore": 100,
                "ratio": average,
            },
            "growthPercent": 0,
            "evaluation": units,
        }

    def _component(
        self, endpoint: str, rows: list[tuple[dict[str, Any], FiguresReport]]
    ) -> dict[str, Any]:
        component = next(c for c in COMPONENTS if c.endpoint == endpoint)
        items = []
        for agency, report in sorted(
            rows, key=lambda row: self._identity(row[0])["departmentCode"]
        ):
            score = served(_scores(report)[component.code])
            item: dict[str, Any] = {**self._identity(agency)}
            level = "PROVINCE" if agency.get("CapDonVi") == 1 else "COMMUNE"
            if component.list_key == "children":
                item["level"] = level
            else:
                item["departmentLevel"] = level
            if component.code == "TDGQ":
                received, on_time, overdue = _progress(report)
                offset = self.progress_offsets.get(item["departmentCode"], 0)
                received, on_time = received + offset, on_time + offset
                item.update(
                    totalReceived=received,
                    totalOnTime=on_time,
                    totalOverdue=overdue,
                    ratio=served(100 * on_time / received) if received else 0,
                    score=score,
                    maxScore=component.maximum,
                )
            else:
                item.update(totalScore=score, totalMaxScore=component.maximum)
            item["scoreDelta"] = None
            items.append(item)
        data: dict[str, Any] = {component.list_key: items}
        if component.list_key == "evaluation":
            data["pagination"] = {
                "total": len(items),
                "currentPage": 1,
                "pageSize": 300,
                "totalPages": 1,
            }
        return data


def _progress(report: FiguresReport) -> tuple[int, int, int]:
    figures = report.figures
    on_time = figures["resolved_early"] + figures["resolved_on_time"]
    return figures["resolved"], on_time, figures["resolved_late"]


def _scores(report: FiguresReport) -> dict[str, float]:
    """Return the unit's score in each component (see the module's docstring)."""
    rates = report.rates
    received, on_time, _ = _progress(report)

    def rate(key: str) -> float:
        value = rates[key]  # type: ignore[literal-required]
        return 0.0 if value is None else float(value)

    return {
        "CKMB": 18 * (0.6 + 0.4 * rate("digitised_rate")),
        "TDGQ": round(100 * on_time / received, 2) * 20 / 100 if received else 0.0,
        "ONLINE": 12 * rate("online_l34_rate"),
        "TTTT": 10 * rate("paid_online_rate"),
        "MDSH": 22 * rate("digitised_rate"),
        "MDHL": 18 * (0.7 + 0.3 * rate("early_rate")),
    }


def _empty(endpoint: str) -> dict[str, Any]:
    if endpoint == SERVICE_RESULTS:
        return {"overview": None, "evaluation": []}
    component = next((c for c in COMPONENTS if c.endpoint == endpoint), None)
    return {component.list_key if component else "evaluation": []}


def _period_of(body: Any) -> Period:
    """Return the period a request body asks for; raise ValueError on a body the API refuses."""
    if not isinstance(body, Mapping):
        raise ValueError("the body is not a JSON object")
    year = int(body["year"])
    kind = body["timeType"]
    if kind == "month":
        return Period.parse(f"{year}-{int(body['month']):02d}")
    if kind == "quarter":
        return Period.parse(f"{year}-Q{int(body['quarter'])}")
    if kind == "year":
        return Period.parse(str(year))
    raise ValueError(f"timeType {kind!r} is not month, quarter or year")


def _last_month(scenario: Any) -> Period | None:
    agencies = getattr(scenario, "agencies", None)
    if not agencies:
        return None
    return max(spec.months[-1] for spec in agencies)


def _lower_first(text: str) -> str:
    """Return "tỉnh Demo" for "Tỉnh Demo", as the API writes a province inside a name."""
    return text[:1].lower() + text[1:] if text.startswith("Tỉnh") else text


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: EvaluationSimulator) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        """Answer one POST of the evaluation API."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, _MAX_BODY))
        try:
            status, payload = self.server.simulator.answer(self.path, raw)
        except Exception as error:  # answer as a server would rather than hang up
            logger.exception("evaluation simulator failed on %s", self.path)
            status, payload = 500, {"code": "INTERNAL_ERROR", "message": str(error)}
        body = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log through logging at debug level instead of writing to stderr."""
        logger.debug("evaluation-sim: " + format, *args)
