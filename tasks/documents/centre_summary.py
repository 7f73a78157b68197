"""The Centre's summary report: every department's main figures and rates, ranked, in Word.

`rank_departments` and `summary_context` are pure; `render_centre_summary` is the one function
that writes, and it only fills templates/centre_summary.docx (the layout lives in the .docx).
Every value is escaped: the template is rendered with autoescape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from tasks.documents.files import write_atomically
from tasks.documents.index_text import summary_ranking, summary_scores
from tasks.documents.layout import fit_columns, fit_layout, stamp_properties
from tasks.documents.numbers import NOT_ARISEN, format_count, format_percent, format_table_count
from tasks.documents.report_text import date_line, recipient_lines
from tasks.documents.unused_styles import drop_unused_styles
from tasks.documents.word_template import TEMPLATE_ENVIRONMENT, WordTemplate
from tasks.figures.engine import (
    FIGURE_KEYS,
    FigureName,
    Figures,
    FiguresReport,
    RateName,
    Rates,
    compute_rates,
    zero_figures,
)
from tasks.figures.periods import Period
from tasks.national_index.standing import Standing
from tasks.settings.models import Settings, Signer

DOCUMENT_SYMBOL = "BC-TTPVHCC"
DEFAULT_NOI_NHAN: tuple[str, ...] = (
    "UBND tỉnh (b/c)",
    "Văn phòng UBND tỉnh",
    "Các sở, ban, ngành",
    "Lưu: VT",
)
UNRANKED = "-"
TOTAL_LABEL = "Tổng cộng"
RANKING_NOTE = (
    "Ghi chú: xếp hạng theo tỷ lệ giải quyết đúng hạn và trước hạn, sau đó theo tỷ lệ giải "
    "quyết trước hạn; cơ quan, đơn vị không phát sinh hồ sơ giải quyết trong kỳ không xếp hạng. "
    "BCCI: dịch vụ bưu chính công ích."
)
INDEX_NOTE = (
    " Cột Bộ chỉ số 766: điểm của cơ quan trên Cổng Dịch vụ công quốc gia (tối đa 100 điểm) "
    "và, trong ngoặc, thứ hạng theo điểm này trong số các cơ quan, đơn vị trên."
)
ATTACHMENT_NOTE = "(Gửi kèm theo biểu mẫu tổng hợp số liệu)"

# The table's rate columns and count columns, as the template's row keys.
RATE_COLUMNS: tuple[RateName, ...] = (
    "early_rate",
    "on_time_or_early_rate",
    "online_l34_rate",
    "postal_rate",
)
COUNT_COLUMNS: tuple[FigureName, ...] = ("received_total", "resolved", "in_progress_overdue")


class SummaryTemplateError(ValueError):
    """The summary template cannot be rendered (a broken or unknown tag after an edit in Word)."""


@dataclass(frozen=True)
class RankedDepartment:
    """One department's place in the ranking; `rank` is None when it resolved nothing."""

    rank: int | None
    name: str
    report: FiguresReport


def rank_departments(rows: Sequence[tuple[str, FiguresReport]]) -> list[RankedDepartment]:
    """Rank by on-time-or-early rate, then early rate (best first); equal rates share a rank.

    Departments that resolved nothing have no rate to compare: they come last, unranked, in
    the order given.
    """
    rated: list[tuple[float, float, str, FiguresReport]] = []
    unrated: list[RankedDepartment] = []
    for name, report in rows:
        on_time = report.rates["on_time_or_early_rate"]
        early = report.rates["early_rate"]
        if on_time is None or early is None:
            unrated.append(RankedDepartment(rank=None, name=name, report=report))
        else:
            rated.append((on_time, early, name, report))
    # sorted() is stable: equal rates keep the configured order of departments.
    rated.sort(key=lambda item: (-item[0], -item[1]))
    ranked: list[RankedDepartment] = []
    previous_key: tuple[float, float] | None = None
    rank = 0
    for position, (on_time, early, name, report) in enumerate(rated, start=1):
        if (on_time, early) != previous_key:
            rank, previous_key = position, (on_time, early)
        ranked.append(RankedDepartment(rank=rank, name=name, report=report))
    return ranked + unrated


def total_figures(reports: Sequence[FiguresReport]) -> Figures:
    """Return every figure summed over `reports`."""
    total = zero_figures()
    for report in reports:
        for key in FIGURE_KEYS:
            total[key] += report.figures[key]
    return total


def table_row(
    rank: str, name: str, figures: Figures, rates: Rates, index_score: str = UNRANKED
) -> dict[str, str]:
    """Return one row of the table as the document prints it ("90,7%", "không phát sinh")."""
    row = {"rank": rank, "name": name, "index_score": index_score}
    row.update({key: format_table_count(figures[key]) for key in COUNT_COLUMNS})
    row.update({key: format_percent(rates[key]) for key in RATE_COLUMNS})
    return row


def summary_findings(ranked: Sequence[RankedDepartment], total: Figures) -> list[str]:
    """Return the sentences of "Đánh giá chung", worded from the departments' figures."""
    total_rates = compute_rates(total)
    findings = [
        f"Các cơ quan, đơn vị đã tiếp nhận tổng số {format_count(total['received_total'])} "
        f"hồ sơ, đã giải quyết {format_count(total['resolved'])} hồ sơ (trước hạn "
        f"{format_count(total['resolved_early'])}, đúng hạn "
        f"{format_count(total['resolved_on_time'])}, quá hạn "
        f"{format_count(total['resolved_late'])}); tỷ lệ giải quyết đúng hạn và trước hạn "
        f"{_reaches(total_rates['on_time_or_early_rate'])}."
    ]
    rated = [d for d in ranked if d.rank is not None]
    if rated:
        all_in_time = [d for d in rated if d.report.figures["resolved_late"] == 0]
        findings.append(
            f"Có {len(all_in_time)}/{len(rated)} cơ quan, đơn vị giải quyết 100% hồ sơ "
            "đúng hạn và trước hạn."
        )
    findings.append(
        _named_counts(
            ranked,
            "resolved_late",
            "Các cơ quan, đơn vị còn hồ sơ giải quyết quá hạn: ",
            "Không có cơ quan, đơn vị nào giải quyết hồ sơ quá hạn.",
        )
    )
    findings.append(
        _named_counts(
            ranked,
            "in_progress_overdue",
            "Các cơ quan, đơn vị còn hồ sơ đang giải quyết quá hạn: ",
            "Không có hồ sơ đang giải quyết quá hạn.",
        )
    )
    idle = [d.name for d in ranked if d.rank is None]
    if idle:
        findings.append(f"Không phát sinh hồ sơ giải quyết trong kỳ: {', '.join(idle)}.")
    return findings


def _reaches(rate: float | None) -> str:
    return NOT_ARISEN if rate is None else f"đạt {format_percent(rate)}"


def _named_counts(ranked: Sequence[RankedDepartment], key: FigureName, lead: str, none: str) -> str:
    named = [
        f"{d.name} ({format_count(d.report.figures[key])} hồ sơ)"
        for d in ranked
        if d.report.figures[key]
    ]
    return f"{lead}{', '.join(named)}." if named else none


def issuing_body(centre_name: str) -> str:
    """Return the Centre's name as the masthead prints it, under "UBND TỈNH ...".

    The line above already names the province, so a trailing "tỉnh" is left out.
    """
    name = centre_name.strip()
    if name.lower().endswith(" tỉnh"):
        name = name[: -len(" tỉnh")]
    return name.upper()


def summary_context(
    rows: Sequence[tuple[str, FiguresReport]],
    period: Period,
    settings: Settings,
    *,
    issue_date: date | None = None,
    noi_nhan: Sequence[str] = DEFAULT_NOI_NHAN,
    signer: Signer | None = None,
    document_symbol: str = DOCUMENT_SYMBOL,
    standings: Mapping[str, Standing] | None = None,
) -> dict[str, Any]:
    """Return every value the summary template shows, for all departments and one period.

    `standings` holds each department's place in the national index by name (None: the index
    is turned off; its column then reads "-" and no ranking sentence is written). `signer`
    defaults to settings.centre_signer.
    """
    signer = signer or settings.centre_signer
    for name, report in rows:
        if report.period != period:
            raise ValueError(
                f"summary of {period.key}: figures of {name} are for {report.period.key}"
            )
    ranked = rank_departments(rows)
    total = total_figures([report for _, report in rows])
    centre = settings.centre_name
    names = [name for name, _ in rows]
    scores = summary_scores(names, standings)
    findings = summary_findings(ranked, total)
    ranking = summary_ranking(names, standings, period)
    if ranking is not None:
        findings.append(ranking)
    return {
        "parent_authority": f"UBND {settings.province}".upper(),
        "issuer_upper": issuing_body(centre),
        "number_line": f"Số: ..../{document_symbol.strip()}",
        "date_line": date_line(settings.place, period, issue_date),
        "subject": (
            f"Tổng hợp kết quả tiếp nhận, giải quyết TTHC của các sở, ban, ngành {period.label}"
        ),
        "intro": (
            f"{centre} tổng hợp kết quả tiếp nhận, giải quyết thủ tục hành chính (TTHC) "
            f"của các sở, ban, ngành {period.label} như sau:"
        ),
        "rows": [
            table_row(
                UNRANKED if d.rank is None else str(d.rank),
                d.name,
                d.report.figures,
                d.report.rates,
                scores.get(d.name, UNRANKED),
            )
            for d in ranked
        ],
        "total": table_row("", TOTAL_LABEL, total, compute_rates(total), ""),
        "ranking_note": RANKING_NOTE + (INDEX_NOTE if standings is not None else ""),
        "attachment_note": ATTACHMENT_NOTE,
        "findings": findings,
        "closing": (
            "Trên đây là báo cáo tổng hợp kết quả tiếp nhận, giải quyết TTHC của các sở, "
            f"ban, ngành {period.label} của {centre}./."
        ),
        "noi_nhan": recipient_lines(list(noi_nhan)),
        "signer_authority": signer.authority.strip().upper(),
        "signer_title": signer.title.strip().upper(),
        "signer_name": signer.name.strip(),
    }


def render_centre_summary(
    template_path: Path,
    rows: Sequence[tuple[str, FiguresReport]],
    period: Period,
    settings: Settings,
    out_path: Path,
    *,
    issue_date: date | None = None,
    noi_nhan: Sequence[str] | None = None,
    signer: Signer | None = None,
    standings: Mapping[str, Standing] | None = None,
    now: datetime | None = None,
) -> Path:
    """Fill the summary template for `rows` (department name, figures), write it atomically.

    The masthead, the rules and the ranking table's columns are then sized from the filled
    text (no agency name broken inside a word), and the file describes itself: title the
    subject, author the Centre, created and modified `now` (default: the time of rendering).
    """
    context = summary_context(
        rows,
        period,
        settings,
        issue_date=issue_date,
        noi_nhan=noi_nhan or DEFAULT_NOI_NHAN,
        signer=signer,
        standings=standings,
    )
    template = WordTemplate(str(template_path))
    try:
        template.render(context, jinja_env=TEMPLATE_ENVIRONMENT, autoescape=True)
    except TemplateError as error:
        raise SummaryTemplateError(f"{template_path}: {error}") from error
    document = template.docx
    fit_layout(document)
    ranking = next((t for t in document.tables if len(t.columns) > 2), None)
    if ranking is not None:
        fit_columns(ranking, stretch=1)
    stamp_properties(
        document,
        title=context["subject"],
        author=settings.centre_name,
        when=now or datetime.now(UTC),
    )
    drop_unused_styles(document)
    return write_atomically(out_path, template.save)
