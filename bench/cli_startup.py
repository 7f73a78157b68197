"""How fast the command line answers when no flow runs: `--help`, `check-config`, a bad period.

Each command runs as an operator types it, a new `tthc-report` process every time, so the
figure includes the interpreter's start and every import. Prefect and the document libraries
are imported only by the commands that run a flow; these three must answer in under a second.

`check-config` checks the Word templates only when they, the program or the document libraries
changed since their last passed check (tasks/documents/template_stamp.py), as after an edit of
the recipients' YAML; that is the figure held to the target. The full check, as after an edit
of a template, is timed beside it in an output folder of its own each run, and printed.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
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


def time_command(
    arguments: list[str], environ: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Run `tthc-report arguments` once; return its wall time, its CPU time and exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(
        [*program(), *arguments],
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, finished.returncode


def time_full_check() -> tuple[float, float, int]:
    """Run `check-config` with an output folder of its own: the templates are checked in full."""
    with tempfile.TemporaryDirectory(prefix="bench-check-") as folder:
        return time_command(["check-config"], {**os.environ, "TTHC_OUTPUT_DIR": folder})


def run(quick: bool) -> BenchResult:
    """Time each command (median of several runs, after one that warms the file cache).

    Wall time is what the operator waits; on a machine shared with other work it grows with
    the load average (printed in the header), so the CPU time the process used and the
    fastest run are printed beside it.
    """
    repeats = 3 if quick else 9
    result = BenchResult("cli_startup", "CLI start-up, no flow run (new process each time)")
    cases: list[tuple[str, Callable[[], tuple[float, float, int]], bool]] = [
        (name, partial(time_command, arguments), True) for name, arguments in COMMANDS.items()
    ]
    cases.append(("check-config, templates checked in full", time_full_check, False))
    for name, command, held_to_target in cases:
        command()  # the first run reads the files from disk (and leaves the templates' stamp)
        runs = [command() for _ in range(repeats)]
        walls = [wall for wall, _, _ in runs]
        cpus = [cpu for _, cpu, _ in runs]
        codes = sorted({code for _, _, code in runs})
        result.add(f"{name} wall median", median(walls), "s", f"exit {codes}, {repeats} runs")
        result.add(f"{name} wall fastest", min(walls), "s")
        result.add(f"{name} CPU median", median(cpus), "s", "user + system")
        if held_to_target:
            result.target(f"{name} wall median s", median(walls), LIMIT_SECONDS, "<")
        result.details[name] = {
            "wall_seconds": [round(s, 3) for s in walls],
            "cpu_seconds": [round(s, 3) for s in cpus],
            "exit_codes": codes,
            "load_average": list(os.getloadavg()),
        }
    return result
