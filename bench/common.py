"""What every benchmark shares: results with targets, tables, JSON, the machine and memory."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = PROJECT_ROOT / "portal_sim" / "scenarios"
VOLUME_SCENARIO = SCENARIOS / "volume-1m.yaml"
PROVINCE_SCENARIO = SCENARIOS / "province.yaml"
MB = 1024 * 1024


@dataclass
class Measure:
    """One figure a benchmark prints: a value, its unit, and what it is."""

    name: str
    value: float
    unit: str
    note: str = ""


@dataclass
class Target:
    """A figure and the bound it must meet ("<" below `limit`, "<=" at most, ">=" at least)."""

    name: str
    value: float
    limit: float
    comparison: Literal["<", "<=", ">="]

    @property
    def met(self) -> bool:
        """Tell whether the value meets its bound."""
        if self.comparison == "<":
            return self.value < self.limit
        if self.comparison == "<=":
            return self.value <= self.limit
        return self.value >= self.limit


@dataclass
class BenchResult:
    """What one benchmark found: its measures, its targets and details for the JSON."""

    name: str
    title: str
    measures: list[Measure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, note: str = "") -> None:
        """Add a measure."""
        self.measures.append(Measure(name, value, unit, note))

    def target(
        self, name: str, value: float, limit: float, comparison: Literal["<", "<=", ">="]
    ) -> None:
        """Add a target."""
        self.targets.append(Target(name, value, limit, comparison))

    def to_json(self) -> dict[str, Any]:
        """Return the result as plain JSON values."""
        return {
            "name": self.name,
            "title": self.title,
            "measures": [asdict(m) for m in self.measures],
            "targets": [{**asdict(t), "met": t.met} for t in self.targets],
            "details": self.details,
        }


def format_value(value: float) -> str:
    """Print a number with the precision its size deserves."""
    if value != value:  # NaN
        return "n/a"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1000):
        return f"{value:,.0f}"
    if abs(value) >= 100_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lay out `rows` under `headers` in aligned columns, the second (the value) right-aligned."""
    widths = [max([len(r[i]) for r in rows] + [len(h)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                cell.rjust(w) if i == 1 else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return lines


def table(result: BenchResult) -> str:
    """Return the result as a plain-text table: measures, then targets."""
    rows = [(m.name, format_value(m.value), m.unit, m.note) for m in result.measures]
    lines = [f"== {result.title} ==", *columns(HEADERS, rows)]
    for target in result.targets:
        verdict = "MET" if target.met else "NOT MET"
        lines.append(
            f"target: {target.name} = {format_value(target.value)} "
            f"(must be {target.comparison} {format_value(target.limit)}): {verdict}"
        )
    return "\n".join(lines)


HEADERS = ("measure", "value", "unit", "note")


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    model = platform.processor() or platform.machine()
    memory_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process so far, in MB (VmHWM on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux counts kilobytes, macOS bytes.
    return peak / MB if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """Return the resident memory of this process now, in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds() -> float:
    """Return the CPU time this process used so far (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(exclude: Collection[int] = ()) -> dict[int, float]:
    """Return the CPU seconds used so far by this process and each of its descendants, by pid.

    Processes in `exclude` (and theirs) are left out: the portal simulator is not the service.
    This process's entry includes the children it has waited for (LibreOffice's calls, which
    end within a run): a process that has ended is no longer among the descendants.
    """
    import psutil  # in the lock (a dependency of distributed); only this needs it

    me = psutil.Process()
    seconds: dict[int, float] = {}
    skipped = set(exclude)
    for process in [me, *me.children(recursive=True)]:
        try:
            if process.pid in skipped or process.ppid() in skipped:
                skipped.add(process.pid)
                continue
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
            if process is me:
                seconds[process.pid] += times.children_user + times.children_system
        except psutil.Error:  # ended meanwhile
            continue
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """Return the CPU seconds used between two `tree_cpu_seconds` snapshots."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def timed(action: Callable[[], Any]) -> float:
    """Return the wall time of one call of `action`, in seconds."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    """Return the median of `values`."""
    return statistics.median(values)


def volume_scenario(dossiers: int, months: str = "2024-01..2024-12") -> dict[str, Any]:
    """Return volume-1m.yaml with its one agency's dossiers spread over `months` instead."""
    data: dict[str, Any] = yaml.safe_load(VOLUME_SCENARIO.read_text(encoding="utf-8"))
    data["months"] = months
    data["agencies"][0]["dossiers"] = dossiers
    return data


def volume_agency(data: dict[str, Any]) -> str:
    """Return the MaDonVi of the agency of a volume scenario."""
    return str(data["agencies"][0]["code"])
