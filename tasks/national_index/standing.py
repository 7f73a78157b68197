"""A department's standing in the national index, and the index's counts checked against ours.

Pure functions over a fetched `NationalIndex` (or the reason there is none): what a
department's report says about the index, and what the operators are told when the index's
progress counts (received, on time, overdue) differ from our figures for the same department
and period. The comparison never reaches the signed report.

The index's progress component counts the dossiers whose handling was assessed in the period
(`totalReceived` = on time + overdue, docs/national-index-api.md §5.3), which is our `resolved`
(đã giải quyết): its on time is our early + on time, its overdue our late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasks.figures.engine import Figures
from tasks.national_index.model import AGENCY, PROGRESS, NationalIndex, UnitScore


@dataclass(frozen=True)
class IndexFetch:
    """What a run got from the national index for a period: the index, or why there is none.

    `enabled` is False when the settings turn the index off (then nothing is said about it).
    """

    period_key: str
    index: NationalIndex | None = None
    fetched_at: datetime | None = None
    problem: str | None = None
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        """Return the fetch as plain data (for Prefect and the artifacts)."""
        return {
            "period": self.period_key,
            "index": None if self.index is None else self.index.to_record(),
            "fetched_at": None if self.fetched_at is None else self.fetched_at.isoformat(),
            "problem": self.problem,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class Standing:
    """A department's place in the index; `unit` None when the index has no figures for it."""

    unit: UnitScore | None
    agencies: int = 0  # the sở, ban, ngành the index ranks
    tied: int = 0  # other agencies at the same rank


def standing_of(fetch: IndexFetch | None, code: str | None) -> Standing | None:
    """Return what the report says about a department's index; None leaves the section out.

    Out: the index turned off or never asked for, or no national_index_code configured. A
    period not published, an API that did not answer, or a code the index does not list all
    read the same to the report's reader: the figures are not available yet.
    """
    if fetch is None or not fetch.enabled or not code:
        return None
    index = fetch.index
    unit = index.unit(code) if index is not None else None
    if index is None or unit is None:
        return Standing(None)
    agencies = [u for u in index.units if u.group == AGENCY]
    tied = sum(1 for u in agencies if u.rank == unit.rank and u.id != unit.id)
    return Standing(unit, len(agencies), tied if unit.group == AGENCY else 0)


@dataclass(frozen=True)
class ProgressCheck:
    """The index's progress counts of a department next to ours, and whether they differ."""

    department_key: str
    code: str
    index_counts: tuple[float, float, float] | None  # received, on time, overdue
    our_counts: tuple[int, int, int]  # resolved, early + on time, late
    tolerance: int

    @property
    def differs(self) -> bool:
        """Tell whether a count differs by more than the tolerance (or the index has none)."""
        if self.index_counts is None:
            return True
        return any(
            abs(theirs - ours) > self.tolerance
            for theirs, ours in zip(self.index_counts, self.our_counts, strict=True)
        )

    def line(self) -> str:
        """Return the operators' line for this department."""
        ours = "{}/{}/{}".format(*self.our_counts)
        if self.index_counts is None:
            return (
                f"{self.department_key} ({self.code}): Bộ chỉ số 766 không có số hồ sơ tiến độ "
                f"giải quyết; số liệu của hệ thống (đã giải quyết/đúng hạn và trước hạn/quá hạn): "
                f"{ours}"
            )
        theirs = "/".join(_count(value) for value in self.index_counts)
        verdict = "chênh lệch vượt ngưỡng" if self.differs else "khớp trong ngưỡng"
        return (
            f"{self.department_key} ({self.code}): Bộ chỉ số 766 {theirs}, hệ thống {ours} "
            f"(hồ sơ đã giải quyết/đúng hạn và trước hạn/quá hạn); {verdict} {self.tolerance}"
        )


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def progress_check(
    department_key: str, code: str, unit: UnitScore, figures: Figures, tolerance: int
) -> ProgressCheck:
    """Compare the index's progress counts of a unit with our figures of the same period."""
    ours = (
        figures["resolved"],
        figures["resolved_early"] + figures["resolved_on_time"],
        figures["resolved_late"],
    )
    progress = unit.components.get(PROGRESS)
    counts: tuple[float, float, float] | None = None
    if progress is not None and None not in (progress.received, progress.on_time, progress.overdue):
        counts = (
            float(progress.received or 0),
            float(progress.on_time or 0),
            float(progress.overdue or 0),
        )
    return ProgressCheck(department_key, code, counts, ours, tolerance)


def index_notes(
    fetch: IndexFetch | None,
    departments: Mapping[str, tuple[str | None, Figures | None]],
    tolerance: int,
) -> tuple[list[str], list[ProgressCheck]]:
    """Return what the operators must hear about the index, and every department's comparison.

    `departments` maps a department key to its national_index_code and its figures (None when
    they were not computed). Told: an index that could not be fetched, components left out,
    codes the index does not list, progress counts beyond the tolerance.
    """
    if fetch is None or not fetch.enabled:
        return [], []
    if fetch.index is None:
        return [f"Bộ chỉ số 766 kỳ {fetch.period_key} chưa lấy được: {fetch.problem}"], []
    index = fetch.index
    notes = [
        f"Bộ chỉ số 766 kỳ {fetch.period_key}: nhóm {code} không lấy được ({why})"
        for code, why in index.missing.items()
    ]
    checks: list[ProgressCheck] = []
    for key, (code, figures) in departments.items():
        if not code:
            continue
        unit = index.unit(code)
        if unit is None:
            notes.append(
                f"{key}: mã {code} (national_index_code) không có trong Bộ chỉ số 766 kỳ "
                f"{fetch.period_key}"
            )
            continue
        if figures is None or PROGRESS in index.missing:
            continue  # the missing component is already told, once
        check = progress_check(key, code, unit, figures, tolerance)
        checks.append(check)
        if check.differs:
            notes.append(check.line())
    return notes, checks
