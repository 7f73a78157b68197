"""The portal simulator in a process of its own, so that its CPU and memory are not the client's.

`python -m bench.simulator SCENARIO.json [--latency SECONDS] [--max-page-size N]
[--faults key=value,...]` serves the scenario (a scenario file's content as JSON) on a free
loopback port, prints its base URL on the first line of stdout and serves until its stdin
closes. A line "stats" on its stdin prints its request counts as one JSON line (the most
requests answered at once among them), "reset" starts them afresh. `SimulatorProcess` starts
it, reads them and stops it.
"""

from __future__ import annotations

import argparse
import json
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

SIMULATOR_USER = "demo"
SIMULATOR_PASSWORD = "demo"


class SimulatorProcess:
    """Run `python -m bench.simulator` for a scenario; `url` is its base URL once started."""

    def __init__(
        self,
        scenario: dict[str, Any],
        latency_seconds: float = 0.0,
        *,
        max_page_size: int = 1000,
        faults: str = "",
    ) -> None:
        self.scenario = scenario
        self.latency_seconds = latency_seconds
        self.max_page_size = max_page_size
        self.faults = faults
        self.url = ""
        self.pid = 0
        self._process: subprocess.Popen[str] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> SimulatorProcess:
        self._folder = tempfile.TemporaryDirectory(prefix="tthc-bench-sim-")
        path = Path(self._folder.name) / "scenario.json"
        path.write_text(json.dumps(self.scenario), encoding="utf-8")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.simulator",
                str(path),
                "--latency",
                str(self.latency_seconds),
                "--max-page-size",
                str(self.max_page_size),
                "--faults",
                self.faults,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("http"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = line
        self.pid = self._process.pid
        return self

    def stats(self, timeout: float = 10.0) -> dict[str, int]:
        """Return the simulator's request counts so far (see PortalSimulator.stats)."""
        return self._ask("stats", timeout)

    def reset_stats(self, timeout: float = 10.0) -> None:
        """Make the simulator count afresh from now on."""
        self._ask("reset", timeout)

    def _ask(self, command: str, timeout: float) -> dict[str, int]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the simulator is not running")
        process.stdin.write(command + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError(f"the simulator did not answer {command!r} within {timeout:g} s")
        answer: dict[str, int] = json.loads(process.stdout.readline())
        return answer

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # the simulator stops when its stdin closes
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


def main(argv: list[str] | None = None) -> None:
    """Serve a scenario until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-page-size", type=int, default=1000)
    parser.add_argument("--faults", default="", help="as `tthc-report portal-sim --faults`")
    args = parser.parse_args(argv)

    from portal_sim.generator import ScenarioStore
    from portal_sim.server import PortalSimulator, parse_faults

    data = json.loads(args.scenario.read_text(encoding="utf-8"))
    store = ScenarioStore.from_dict(data, source=str(args.scenario))
    faults = parse_faults(args.faults)
    faults.latency_seconds = args.latency
    simulator = PortalSimulator(
        store,
        users={SIMULATOR_USER: SIMULATOR_PASSWORD},
        faults=faults,
        max_page_size=args.max_page_size,
    )
    with simulator:
        print(simulator.url, flush=True)
        for line in sys.stdin:  # until the parent closes it (or dies)
            command = line.strip()
            if command == "reset":
                simulator.reset_stats()
            if command in ("stats", "reset"):
                print(json.dumps(simulator.snapshot()), flush=True)


if __name__ == "__main__":
    main()
