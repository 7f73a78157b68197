"""A loopback server that replays the real recorded answers of the national evaluation API.

The samples (shared/samples/national-index/, copied into tests/fixtures/national-index/) are
served for the request body they were recorded with: service-results for month 2/2026,
dvc-progress-tree and handling-satisfaction for the year 2026. Any other endpoint answers
404, and a recorded endpoint asked for another period answers an empty list (not published).
`script` queues statuses to answer first (e.g. [403, 503]) to test the client's slow-downs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "fixtures" / "national-index"
EVALUATION_PATH = "/api/v1/reporting/evaluation"
GIA_LAI_ROOT = "019d2be3-6a85-74ec-a346-6489e82ae4c7"

# (endpoint, timeType, month) -> sample file
RECORDED: dict[tuple[str, str, int | None], str] = {
    ("service-results", "month", 2): "service-results.month-2026-02.gia-lai.json",
    (
        "dvc-progress-tree",
        "year",
        None,
    ): "dvc-progress-tree.year-2026.snapshot-2026-10-01.gia-lai.json",
    ("handling-satisfaction", "year", None): "handling-satisfaction.year-2026.gia-lai.json",
}
LIST_KEYS = {"service-results": "evaluation", "dvc-progress-tree": "children"}


def sample(name: str) -> dict[str, Any]:
    """Return one recorded answer, decoded."""
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return loaded


@dataclass
class Replay:
    """The running replay server: its URL, the bodies it received, statuses to answer first."""

    url: str = ""
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """Return the status and body for a POST of `body` to `path`."""
        endpoint = path.removeprefix(EVALUATION_PATH + "/")
        self.bodies.append((endpoint, body))
        if self.script:
            return self.script.pop(0), b"<html>Request blocked</html>"
        keys = {key[0] for key in RECORDED}
        if endpoint not in keys or body.get("rootDepartmentId") != GIA_LAI_ROOT:
            return 404, b'{"statusCode":404,"message":"Not Found"}'
        recorded = RECORDED.get((endpoint, body.get("timeType", ""), body.get("month")))
        if recorded is None or body.get("year") != 2026:
            empty = {
                "code": "OK",
                "data": {LIST_KEYS.get(endpoint, "evaluation"): []},
                "message": "OK",
            }
            return 201, json.dumps(empty).encode()
        # Compact, as the portal sends it (contract §1).
        return 201, json.dumps(sample(recorded), ensure_ascii=False, separators=(",", ":")).encode()


@contextmanager
def replay_server() -> Iterator[Replay]:
    """Serve the recorded answers on loopback for the block."""
    replay = Replay()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload = replay.answer(self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    replay.url = f"http://127.0.0.1:{server.server_address[1]}{EVALUATION_PATH}"
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
