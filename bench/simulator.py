"""The portal simulator in a process of its own, so that its CPU and memory are not the client's.

`python -m bench.simulator SCENARIO.json [--latency SECONDS]` serves the scenario (a scenario
file's content as JSON) on a free loopback port, prints its base URL on the first line of
stdout and serves until its stdin closes. `SimulatorProcess` starts it and stops it.
"""

from __future__ import annotations

import argparse
import json
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

    def __init__(self, scenario: dict[str, Any], latency_seconds: float = 0.0) -> None:
        self.scenario = scenario
        self.latency_seconds = latency_seconds
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
    args = parser.parse_args(argv)

    from portal_sim.generator import ScenarioStore
    from portal_sim.server import Faults, PortalSimulator

    data = json.loads(args.scenario.read_text(encoding="utf-8"))
    store = ScenarioStore.from_dict(data, source=str(args.scenario))
    simulator = PortalSimulator(
        store,
        users={SIMULATOR_USER: SIMULATOR_PASSWORD},
        faults=Faults(latency_seconds=args.latency),
    )
    with simulator:
        print(simulator.url, flush=True)
        sys.stdin.read()  # until the parent closes it (or dies)


if __name__ == "__main__":
    main()
