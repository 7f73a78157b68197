"""The figures engine: every figure, rate and reconciliation of kpi-rules.md.

Pure code. It streams over dossier records once, keeping counters only, so its memory does
not depend on the number of dossiers. Times are compared as fixed-format strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tasks.figures.periods import Period
from tasks.portal.dossiers import (
    CHANNEL_DIRECT,
    CHANNEL_ONLINE,
    CHANNEL_POSTAL,
    STATUS_NOT_ACCEPTED,
    STATUS_RESOLVED,
    STATUS_RESULT_RETURNED,
    STATUS_RETURNED,
    STATUS_WITHDRAWN,
    Dossier,
    RejectedRecord,
)

FIGURE_KEYS: tuple[str, ...] = (
    "carried_over",
    "received_new",
    "received_total",
    "received_online",
    "received_direct",
    "received_postal",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress",
    "in_progress_not_due",
    "in_progress_overdue",
    "supplement_requested",
    "returned",
    "withdrawn",
    "interagency_new",
    "online_l34",
    "postal_return",
    "paid_online",
    "fee_bearing",
    "digitised",
    "vpubnd_sent",
    "vpubnd_early",
    "vpubnd_on_time",
    "vpubnd_late",
    "vpubnd_in_progress",
    "vpubnd_not_due",
    "vpubnd_overdue",
)

# rate -> (numerator figures summed, denominator figure)
RATE_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "early_rate": (("resolved_early",), "resolved"),
    "on_time_or_early_rate": (("resolved_early", "resolved_on_time"), "resolved"),
    "online_l34_rate": (("online_l34",), "received_new"),
    "postal_rate": (("postal_return",), "received_new"),
    "paid_online_rate": (("paid_online",), "fee_bearing"),
    "digitised_rate": (("digitised",), "received_new"),
}
RATE_KEYS: tuple[str, ...] = tuple(RATE_RULES)

# The columns of the data form (Biểu II.06a) counted per field of activity (lĩnh vực).
FORM_KEYS: tuple[str, ...] = (
    "received_total",
    "received_online",
    "received_direct",
    "received_postal",
    "carried_over",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "in_progress",
    "in_progress_not_due",
    "in_progress_overdue",
)

# How many excluded or rejected MaHoSo a report names before it only counts them.
NAMED_LIMIT = 200


@dataclass
class FieldFigures:
    """The data-form counts of one field of activity (lĩnh vực)."""

    code: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FORM_KEYS, 0))


@dataclass
class Reconciliation:
    """received_total = resolved + returned + withdrawn + in_progress, checked."""

    received_total: int
    resolved: int
    returned: int
    withdrawn: int
    in_progress: int

    @property
    def accounted(self) -> int:
        return self.resolved + self.returned + self.withdrawn + self.in_progress

    @property
    def difference(self) -> int:
        return self.received_total - self.accounted

    @property
    def balanced(self) -> bool:
        return self.difference == 0


@dataclass
class DataQuality:
    """What the report's data-quality note states: what was left out, rejected or merged."""

    excluded_by_status: dict[int, int] = field(default_factory=dict)
    excluded_codes: list[str] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    rejected_count: int = 0
    duplicates_merged: int = 0
    outside_window: int = 0
    withdrawn: int = 0
    missing_due_date: int = 0
    reconciliation: Reconciliation | None = None

    @property
    def excluded(self) -> int:
        return sum(self.excluded_by_status.values())

    @property
    def is_clean(self) -> bool:
        """Tell whether nothing at all needs a note."""
        balanced = self.reconciliation is None or self.reconciliation.balanced
        return (
            not self.excluded
            and not self.rejected_count
            and not self.duplicates_merged
            and not self.withdrawn
            and balanced
        )

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form printed by `tthc-report figures --json`."""
        recon = self.reconciliation
        return {
            "excluded": {
                "count": self.excluded,
                "by_status": {str(k): v for k, v in sorted(self.excluded_by_status.items())},
                "codes": self.excluded_codes,
            },
            "rejected": {
                "count": self.rejected_count,
                "records": [{"MaHoSo": r.code, "reason": r.reason} for r in self.rejected],
            },
            "duplicates_merged": self.duplicates_merged,
            "outside_window": self.outside_window,
            "withdrawn": self.withdrawn,
            "missing_due_date": self.missing_due_date,
            "reconciliation": None
            if recon is None
            else {
                **asdict(recon),
                "accounted": recon.accounted,
                "difference": recon.difference,
                "balanced": recon.balanced,
            },
        }


@dataclass
class FiguresReport:
    """Every figure and rate of one agency for one period, with its data-quality note."""

    agency: str
    period: Period
    figures: dict[str, int]
    rates: dict[str, float | None]
    by_field: list[FieldFigures]
    data_quality: DataQuality

    def with_duplicates_merged(self, count: int) -> FiguresReport:
        """Return a copy whose data-quality note counts `count` duplicates merged by the client."""
        quality = replace(self.data_quality, duplicates_merged=count)
        return replace(self, data_quality=quality)

    def to_json(self) -> dict[str, Any]:
        """Return the flat JSON object: agency, period, every figure, every rate, data_quality."""
        return {
            "agency": self.agency,
            "period": self.period.key,
            **self.figures,
            **self.rates,
            "data_quality": self.data_quality.to_json(),
        }


def compute_rates(figures: dict[str, int]) -> dict[str, float | None]:
    """Return every rate of kpi-rules.md; None where the denominator is zero."""
    rates: dict[str, float | None] = {}
    for key, (numerators, denominator) in RATE_RULES.items():
        whole = figures[denominator]
        rates[key] = sum(figures[n] for n in numerators) / whole if whole else None
    return rates


def _timeliness(finished: str, due: str) -> str:
    """Compare the dates (not times) of finishing and due: early, on_time or late."""
    if not due:
        return "on_time"
    finished_day, due_day = finished[:8], due[:8]
    if finished_day < due_day:
        return "early"
    if finished_day == due_day:
        return "on_time"
    return "late"


def closing_time(dossier: Dossier) -> str:
    """Return when the dossier closed ("" while it is open), by kpi-rules.md."""
    status = dossier.status
    if status in (STATUS_RESOLVED, STATUS_RESULT_RETURNED):
        return dossier.finished
    if status in (STATUS_WITHDRAWN, STATUS_RETURNED):
        return dossier.handed_back or dossier.finished
    return ""


def compute_figures(
    records: Iterable[Dossier | RejectedRecord],
    period: Period,
    agency: str,
    vpubnd_agency: str,
) -> FiguresReport:
    """Compute every figure of `agency` for `period` from one pass over `records`.

    `vpubnd_agency` is the MaDonVi of the provincial People's Committee Office: dossiers
    forwarded to it make the vpubnd_* figures. RejectedRecord items are counted and named
    in the data-quality note.
    """
    start, end = period.start_stamp, period.end_stamp
    counts = dict.fromkeys(FIGURE_KEYS, 0)
    fields: dict[str, FieldFigures] = {}
    quality = DataQuality()

    for record in records:
        if isinstance(record, RejectedRecord):
            quality.rejected_count += 1
            if len(quality.rejected) < NAMED_LIMIT:
                quality.rejected.append(record)
            continue
        status = record.status
        if status == 1 or status == STATUS_NOT_ACCEPTED:
            quality.excluded_by_status[status] = quality.excluded_by_status.get(status, 0) + 1
            if len(quality.excluded_codes) < NAMED_LIMIT:
                quality.excluded_codes.append(record.code)
            continue

        received = record.received
        # closing_time(), inlined: this loop runs once per dossier.
        if status in (STATUS_RESOLVED, STATUS_RESULT_RETURNED):
            closed = record.finished
        elif status in (STATUS_WITHDRAWN, STATUS_RETURNED):
            closed = record.handed_back or record.finished
        else:
            closed = ""
        in_window = received <= end and (not closed or closed >= start)

        if record.supplements and any(
            start <= s.requested <= end for s in record.supplements if s.requested
        ):
            counts["supplement_requested"] += 1
        forwarding = record.forwarding
        if forwarding is not None and vpubnd_agency and forwarding.to_agency == vpubnd_agency:
            _count_forwarding(
                counts, forwarding.sent, forwarding.due, forwarding.finished, start, end
            )

        if not in_window:
            quality.outside_window += 1
            continue

        field_figures = fields.get(record.field_code)
        if field_figures is None:
            field_figures = fields[record.field_code] = FieldFigures(
                record.field_code, record.field_name
            )
        form = field_figures.counts

        form["received_total"] += 1
        if received < start:
            counts["carried_over"] += 1
            form["carried_over"] += 1
        else:
            counts["received_new"] += 1
            channel = record.channel
            if channel == CHANNEL_ONLINE:
                counts["received_online"] += 1
                form["received_online"] += 1
                if record.online_level in (3, 4):
                    counts["online_l34"] += 1
            elif channel == CHANNEL_DIRECT:
                counts["received_direct"] += 1
                form["received_direct"] += 1
            elif channel == CHANNEL_POSTAL:
                counts["received_postal"] += 1
                form["received_postal"] += 1
            if record.interagency:
                counts["interagency_new"] += 1
            if record.result_by_post:
                counts["postal_return"] += 1
            if record.fee_bearing:
                counts["fee_bearing"] += 1
                if record.paid_online:
                    counts["paid_online"] += 1
            if record.digitised:
                counts["digitised"] += 1

        if closed and closed <= end:
            if status == STATUS_WITHDRAWN:
                counts["withdrawn"] += 1
            elif status == STATUS_RETURNED:
                counts["returned"] += 1
            else:
                if not record.due:
                    quality.missing_due_date += 1
                key = "resolved_" + _timeliness(closed, record.due)
                counts["resolved"] += 1
                counts[key] += 1
                form["resolved"] += 1
                form[key] += 1
        else:
            key = (
                "in_progress_not_due"
                if not record.due or record.due >= end
                else "in_progress_overdue"
            )
            counts["in_progress"] += 1
            counts[key] += 1
            form["in_progress"] += 1
            form[key] += 1

    counts["received_total"] = counts["carried_over"] + counts["received_new"]
    quality.withdrawn = counts["withdrawn"]
    quality.reconciliation = Reconciliation(
        received_total=counts["received_total"],
        resolved=counts["resolved"],
        returned=counts["returned"],
        withdrawn=counts["withdrawn"],
        in_progress=counts["in_progress"],
    )
    return FiguresReport(
        agency=agency,
        period=period,
        figures=counts,
        rates=compute_rates(counts),
        by_field=sorted(fields.values(), key=lambda f: f.code),
        data_quality=quality,
    )


def _count_forwarding(
    counts: dict[str, int], sent: str, due: str, finished: str, start: str, end: str
) -> None:
    if sent and start <= sent <= end:
        counts["vpubnd_sent"] += 1
    if finished and start <= finished <= end:
        counts["vpubnd_" + _timeliness(finished, due)] += 1
    elif sent and sent <= end and (not finished or finished > end):
        counts["vpubnd_in_progress"] += 1
        counts["vpubnd_not_due" if not due or due >= end else "vpubnd_overdue"] += 1
