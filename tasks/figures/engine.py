"""The figures engine: every figure, rate and reconciliation of docs/kpi-rules.md.

Pure code. It streams over dossier records once, keeping counters only, so its memory does
not depend on the number of dossiers. Times are compared as fixed-format strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TypedDict, cast, get_args

from tasks.figures.periods import Period
from tasks.portal.dossiers import (
    CHANNEL_DIRECT,
    CHANNEL_ONLINE,
    CHANNEL_POSTAL,
    RESULT_BY_POST,
    STATUS_NOT_ACCEPTED,
    STATUS_RESOLVED,
    STATUS_RESULT_RETURNED,
    STATUS_RETURNED,
    STATUS_WITHDRAWN,
    Dossier,
    RejectedRecord,
)


class Figures(TypedDict):
    """Every count of one agency for one period (docs/kpi-rules.md); a misspelt name fails mypy."""

    carried_over: int
    received_new: int
    received_total: int
    received_online: int
    received_direct: int
    received_postal: int
    resolved: int
    resolved_early: int
    resolved_on_time: int
    resolved_late: int
    in_progress: int
    in_progress_not_due: int
    in_progress_overdue: int
    supplement_requested: int
    returned: int
    withdrawn: int
    interagency_new: int
    online_l34: int
    postal_return: int
    paid_online: int
    fee_bearing: int
    digitised: int
    vpubnd_sent: int
    vpubnd_early: int
    vpubnd_on_time: int
    vpubnd_late: int
    vpubnd_in_progress: int
    vpubnd_not_due: int
    vpubnd_overdue: int


# The name of a figure: the keys of Figures (a test checks they are the same set).
FigureName = Literal[
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
]
FIGURE_KEYS: tuple[FigureName, ...] = get_args(FigureName)


class Rates(TypedDict):
    """Every rate of one agency for one period, 0..1; None where the denominator is zero."""

    early_rate: float | None
    on_time_or_early_rate: float | None
    online_l34_rate: float | None
    postal_rate: float | None
    paid_online_rate: float | None
    digitised_rate: float | None


# The name of a rate: the keys of Rates (a test checks they are the same set).
RateName = Literal[
    "early_rate",
    "on_time_or_early_rate",
    "online_l34_rate",
    "postal_rate",
    "paid_online_rate",
    "digitised_rate",
]

# rate -> (numerator figures summed, denominator figure)
RATE_RULES: dict[RateName, tuple[tuple[FigureName, ...], FigureName]] = {
    "early_rate": (("resolved_early",), "resolved"),
    "on_time_or_early_rate": (("resolved_early", "resolved_on_time"), "resolved"),
    "online_l34_rate": (("online_l34",), "received_new"),
    "postal_rate": (("postal_return",), "received_new"),
    "paid_online_rate": (("paid_online",), "fee_bearing"),
    "digitised_rate": (("digitised",), "received_new"),
}
RATE_KEYS: tuple[RateName, ...] = get_args(RateName)


def zero_figures() -> Figures:
    """Return a Figures with every count at 0."""
    return cast(Figures, dict.fromkeys(FIGURE_KEYS, 0))


def figure_counts(figures: Figures) -> Mapping[str, int]:
    """Return the figures as a plain mapping, for code that walks every figure by name."""
    return cast(Mapping[str, int], figures)


def rate_values(rates: Rates) -> Mapping[str, float | None]:
    """Return the rates as a plain mapping, for code that walks every rate by name."""
    return cast(Mapping[str, float | None], rates)


def figures_from_mapping(values: Mapping[str, int]) -> Figures:
    """Return a Figures from stored values, refusing a mapping that lacks a figure."""
    missing = [key for key in FIGURE_KEYS if key not in values]
    if missing:
        raise ValueError(f"figures lack {', '.join(missing)}")
    return cast(Figures, {key: int(values[key]) for key in FIGURE_KEYS})


def rates_from_mapping(values: Mapping[str, float | None]) -> Rates:
    """Return Rates from stored values; a rate the store lacks reads as None (not arisen)."""
    return cast(Rates, {key: values.get(key) for key in RATE_KEYS})


# The columns of the data form (Biểu II.06a) counted per field of activity (lĩnh vực).
FORM_KEYS: tuple[FigureName, ...] = (
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
    # Not columns of Biểu II.06a, but without them its rows do not add up (Reconciliation).
    "withdrawn",
    "returned",
)

# How many excluded or rejected MaHoSo a report names before it only counts them.
NAMED_LIMIT = 200


@dataclass
class FieldFigures:
    """The data-form counts of one field of activity (lĩnh vực)."""

    code: str
    name: str
    counts: dict[FigureName, int] = field(default_factory=lambda: dict.fromkeys(FORM_KEYS, 0))


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
    # Texts from the portal cleaned at the boundary: XML-illegal code points removed, or NFC.
    text_cleaned: int = 0
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
            and not self.text_cleaned
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
            "text_cleaned": self.text_cleaned,
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
    figures: Figures
    rates: Rates
    by_field: list[FieldFigures]
    data_quality: DataQuality

    def with_duplicates_merged(self, count: int, text_cleaned: int = 0) -> FiguresReport:
        """Return a copy noting the duplicates merged and the texts cleaned by the client."""
        quality = replace(self.data_quality, duplicates_merged=count, text_cleaned=text_cleaned)
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


def compute_rates(figures: Figures) -> Rates:
    """Return every rate of docs/kpi-rules.md; None where the denominator is zero."""
    counts = figure_counts(figures)
    rates: dict[str, float | None] = {}
    for key, (numerators, denominator) in RATE_RULES.items():
        whole = counts[denominator]
        rates[key] = sum(counts[n] for n in numerators) / whole if whole else None
    return cast(Rates, rates)


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
    """Return when the dossier closed ("" while it is open), by docs/kpi-rules.md."""
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
    # A plain dict while counting: the loop below names figures by computed keys, and
    # dict.fromkeys makes a misspelt one a KeyError. Typed as Figures once complete.
    counts: dict[str, int] = dict.fromkeys(FIGURE_KEYS, 0)
    fields: dict[str, FieldFigures] = {}
    quality = DataQuality()

    # One dict increment per dossier: each in-window dossier is reduced to the few values its
    # figures depend on (its kind), and the kinds are counted; the figures are added up per
    # kind once the records are read. A few thousand kinds at most: memory stays flat.
    kinds: dict[tuple[Any, ...], int] = {}
    seen = kinds.get
    for record in records:
        if type(record) is not Dossier and isinstance(record, RejectedRecord):
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

        if record.supplements and any(
            start <= s.requested <= end for s in record.supplements if s.requested
        ):
            counts["supplement_requested"] += 1
        forwarding = record.forwarding
        if forwarding is not None and vpubnd_agency and forwarding.to_agency == vpubnd_agency:
            _count_forwarding(
                counts, forwarding.sent, forwarding.due, forwarding.finished, start, end
            )

        if received > end or (closed and closed < start):
            quality.outside_window += 1
            continue

        due = record.due
        if closed and closed <= end:
            if status == STATUS_WITHDRAWN:
                outcome = _WITHDRAWN
            elif status == STATUS_RETURNED:
                outcome = _RETURNED
            elif not due:
                outcome = _RESOLVED_NO_DUE
            else:
                # _timeliness(), inlined.
                finished_day, due_day = closed[:8], due[:8]
                if finished_day < due_day:
                    outcome = _RESOLVED_EARLY
                elif finished_day == due_day:
                    outcome = _RESOLVED_ON_TIME
                else:
                    outcome = _RESOLVED_LATE
        elif not due or due >= end:
            outcome = _NOT_DUE
        else:
            outcome = _OVERDUE
        if received < start:
            kind: tuple[Any, ...] = (record.field_code, record.field_name, outcome)
        else:
            channel = record.channel
            kind = (
                record.field_code,
                record.field_name,
                outcome,
                channel if CHANNEL_DIRECT <= channel <= CHANNEL_POSTAL else 0,
                channel == CHANNEL_ONLINE and 3 <= record.online_level <= 4,
                bool(record.interagency),
                record.result_form == RESULT_BY_POST,
                bool(record.fee_bearing),
                bool(record.fee_bearing and record.paid_online),
                bool(record.digitised),
            )
        kinds[kind] = seen(kind, 0) + 1

    for kind, number in kinds.items():
        _count_kind(counts, fields, quality, kind, number)

    counts["received_total"] = counts["carried_over"] + counts["received_new"]
    quality.withdrawn = counts["withdrawn"]
    quality.reconciliation = Reconciliation(
        received_total=counts["received_total"],
        resolved=counts["resolved"],
        returned=counts["returned"],
        withdrawn=counts["withdrawn"],
        in_progress=counts["in_progress"],
    )
    figures = cast(Figures, counts)
    return FiguresReport(
        agency=agency,
        period=period,
        figures=figures,
        rates=compute_rates(figures),
        by_field=sorted(fields.values(), key=lambda f: f.code),
        data_quality=quality,
    )


# What became of an in-window dossier by the end of the period: the figures it counts in.
_WITHDRAWN = 0
_RETURNED = 1
_RESOLVED_NO_DUE = 2
_RESOLVED_EARLY = 3
_RESOLVED_ON_TIME = 4
_RESOLVED_LATE = 5
_NOT_DUE = 6
_OVERDUE = 7
_OUTCOME_KEYS: dict[int, tuple[str, ...]] = {
    _WITHDRAWN: ("withdrawn",),
    _RETURNED: ("returned",),
    _RESOLVED_NO_DUE: ("resolved", "resolved_on_time"),  # no due date: on time
    _RESOLVED_EARLY: ("resolved", "resolved_early"),
    _RESOLVED_ON_TIME: ("resolved", "resolved_on_time"),
    _RESOLVED_LATE: ("resolved", "resolved_late"),
    _NOT_DUE: ("in_progress", "in_progress_not_due"),
    _OVERDUE: ("in_progress", "in_progress_overdue"),
}
_CHANNEL_KEYS = {
    CHANNEL_ONLINE: "received_online",
    CHANNEL_DIRECT: "received_direct",
    CHANNEL_POSTAL: "received_postal",
}


def _count_kind(
    counts: dict[str, int],
    fields: dict[str, FieldFigures],
    quality: DataQuality,
    kind: tuple[Any, ...],
    number: int,
) -> None:
    """Add `number` in-window dossiers of one kind (see compute_figures) to every figure."""
    field_code, field_name, outcome = kind[:3]
    field_figures = fields.get(field_code)
    if field_figures is None:
        # Kinds are counted in the order first met: the name is the first dossier's.
        field_figures = fields[field_code] = FieldFigures(field_code, field_name)
    # Computed keys below: checked by dict.fromkeys at run time.
    form = cast(dict[str, int], field_figures.counts)
    form["received_total"] += number
    if len(kind) == 3:
        counts["carried_over"] += number
        form["carried_over"] += number
    else:
        channel, online_l34, interagency, by_post, fee_bearing, paid_online, digitised = kind[3:]
        counts["received_new"] += number
        channel_key = _CHANNEL_KEYS.get(channel)
        if channel_key is not None:
            counts[channel_key] += number
            form[channel_key] += number
        for flag, key in (
            (online_l34, "online_l34"),
            (interagency, "interagency_new"),
            (by_post, "postal_return"),
            (fee_bearing, "fee_bearing"),
            (paid_online, "paid_online"),
            (digitised, "digitised"),
        ):
            if flag:
                counts[key] += number
    if outcome == _RESOLVED_NO_DUE:
        quality.missing_due_date += number
    for key in _OUTCOME_KEYS[outcome]:
        counts[key] += number
        form[key] += number


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
