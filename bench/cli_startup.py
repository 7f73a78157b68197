"""How fast the command line answers when no flow runs: `--help`, `check-config`, a bad period.

Each command runs as an operator types it, a new `tthc-report` process every time, so the
figure includes the interpreter's start and every import. Prefect and the document libraries
are imported only by the commands that run a flow; these three must answer in under a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.common import PROJECT_ROOT, BenchResult, median

LIMIT_SECONDS = 1.0
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "check-config": ["check-config"],
    "send --period 2024-13": ["send", "--period", "2024-13"],
}


def program() -> list[str]:
    """Return the `tthc-report` console script of this environment."""
    script = Path(sys.executable).parent / "tthc-report"
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing: run `make bench` (it installs the project)")
    return [str(script)]


def time_command(arguments: list[str]) -> tuple[float, int]:
    """Run `tthc-report arguments` once; return its wall time and exit code."""
    started = time.perf_counter()
    finished = subprocess.run(
        [*program(), *arguments],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    return time.perf_counter() - started, finished.returncode


def run(quick: bool) -> BenchResult:
    """Time each command (median of several runs, after one that warms the file cache)."""
    repeats = 3 if quick else 7
    result = BenchResult("cli_startup", "CLI start-up, no flow run (new process each time)")
    for name, arguments in COMMANDS.items():
        time_command(arguments)  # the first run reads the files from disk
        runs = [time_command(arguments) for _ in range(repeats)]
        seconds = [wall for wall, _ in runs]
        codes = sorted({code for _, code in runs})
        result.add(f"{name} median", median(seconds), "s", f"exit {codes}, {repeats} runs")
        result.add(f"{name} max", max(seconds), "s")
        result.target(f"{name} median s", median(seconds), LIMIT_SECONDS, "<")
        result.details[name] = {"seconds": [round(s, 3) for s in seconds], "exit_codes": codes}
    return result
