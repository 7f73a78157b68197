"""The generated text of the report: every sentence of the seed, worded from the figures.

Pure functions, no IO. The body is returned as data (`ReportBody` made of `Paragraph`s made of
`Run`s with an italic flag) so the .docx renderer and the tests read the same sentences.

Wording choices beyond the seed (docs/kpi-rules.md leaves them open):
- a rate whose denominator is 0 prints "(tỷ lệ: không phát sinh)" in the bullet lines and
  "... trong kỳ không phát sinh." in the evaluation;
- a department text may mark italics as `*text*` (as the seed does); an unpaired asterisk stays
  literal; `{period}` in a text becomes the period label ("tháng 5/2024");
- when nothing needs saying under "Ưu điểm" or "Tồn tại hạn chế" the report says "Không.";
- what is a strength and what a weakness: docs/evaluation-rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tasks.documents.numbers import NOT_ARISEN, format_count, format_percent
from tasks.figures.engine import DataQuality, FigureName, Figures, FiguresReport, RateName, Rates
from tasks.figures.periods import Period
from tasks.settings.models import DepartmentTexts, TargetRates

PERIOD_PLACEHOLDER = "{period}"
# A rate that moved by less than this since the previous period (0..1) reads "tương đương"
# (settings.yaml: evaluation.steady_change; docs/evaluation-rules.md).
DEFAULT_STEADY_CHANGE = 0.01

_UNIT = {"month": "tháng", "quarter": "quý", "half": "6 tháng", "year": "năm"}
# "so với tháng trước": for a half-year "6 tháng trước" would read as a duration, so "kỳ trước".
_PREVIOUS = {
    "month": "tháng trước",
    "quarter": "quý trước",
    "half": "kỳ trước",
    "year": "năm trước",
}
_EMPHASIS = re.compile(r"\*([^*\n]+)\*")

# rate -> the noun phrase of the weakness line "Tỷ lệ ... đạt X%, chưa đạt chỉ tiêu Y%."
_TARGET_SUBJECTS: dict[RateName, str] = {
    "early_rate": "hồ sơ giải quyết trước hạn",
    "online_l34_rate": "hồ sơ trực tuyến mức độ 3,4",
    "postal_rate": "hồ sơ tiếp nhận và trả kết quả qua dịch vụ bưu chính công ích",
    "paid_online_rate": "hồ sơ thanh toán phí, lệ phí trực tuyến",
    "digitised_rate": "hồ sơ được số hóa",
}
_STATUS_NAMES = {1: "mới nộp, chưa tiếp nhận", 3: "không được tiếp nhận"}


@dataclass(frozen=True)
class Run:
    """A stretch of text of one paragraph, italic or not."""

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of generated text, as runs."""

    runs: tuple[Run, ...]

    @classmethod
    def plain(cls, text: str) -> Paragraph:
        """Return a paragraph of one upright run."""
        return cls((Run(text),))

    @property
    def text(self) -> str:
        """The paragraph as a reader sees it, without any markup."""
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class ReportBody:
    """Every generated paragraph of the report, by the section that holds it."""

    legal_basis: Paragraph
    results_intro: Paragraph
    result_lines: tuple[Paragraph, ...]
    postal_line: Paragraph
    data_quality: tuple[Paragraph, ...]
    strengths: tuple[Paragraph, ...]
    weaknesses: tuple[Paragraph, ...]
    next_tasks: tuple[Paragraph, ...]
    proposals: Paragraph
    closing: Paragraph
    date_line: str

    def paragraphs(self) -> list[Paragraph]:
        """Return every paragraph in reading order."""
        return [
            self.legal_basis,
            self.results_intro,
            *self.result_lines,
            self.postal_line,
            *self.data_quality,
            *self.strengths,
            *self.weaknesses,
            *self.next_tasks,
            self.proposals,
            self.closing,
        ]


# --- periods ---------------------------------------------------------------------------------


def period_unit(period: Period) -> str:
    """Return the period's noun as in "trong tháng", "trong tháng tới": tháng, quý, 6 tháng, năm."""
    return _UNIT[period.kind]


def previous_period_name(period: Period) -> str:
    """Return how the report names the previous period: "tháng 4", or "tháng 12/2023" across years."""
    previous = period.previous()
    return previous.short_label if previous.year == period.year else previous.label


def fill_period(text: str, period: Period) -> str:
    """Replace the placeholder {period} in a configured text with the period label."""
    # str.replace, not str.format: a configured text may hold other braces.
    return text.replace(PERIOD_PLACEHOLDER, period.label)


def parse_emphasis(text: str) -> tuple[Run, ...]:
    """Split `*italic*` markup of a configured text into runs; lone asterisks stay literal."""
    runs: list[Run] = []
    position = 0
    for match in _EMPHASIS.finditer(text):
        if match.start() > position:
            runs.append(Run(text[position : match.start()]))
        runs.append(Run(match.group(1), italic=True))
        position = match.end()
    if position < len(text) or not runs:
        runs.append(Run(text[position:]))
    return tuple(runs)


def configured_paragraph(text: str, period: Period) -> Paragraph:
    """Return a department's own text as a paragraph: period filled, italics marked, one line."""
    one_line = " ".join(fill_period(text, period).split())
    return Paragraph(parse_emphasis(one_line))


# --- 1. Kết quả ------------------------------------------------------------------------------


def legal_basis(text: str | None, department_name: str, period: Period) -> Paragraph:
    """Return the opening paragraph: the configured legal basis, then "<Sở> báo cáo ... như sau:"."""
    lead = f"{department_name} báo cáo kết quả {period.label} như sau:"
    if not text or not text.strip():
        return Paragraph.plain(lead)
    basis = configured_paragraph(text, period)
    return Paragraph((*basis.runs, Run(" " + lead)))


def results_intro(department_name: str, period: Period, figures: Figures) -> str:
    """Return "Trong tháng 5/2024, <Sở> đã tiếp nhận tổng số 63 hồ sơ, trong đó:"."""
    total = format_count(figures["received_total"])
    return f"Trong {period.label}, {department_name} đã tiếp nhận tổng số {total} hồ sơ, trong đó:"


def _rate_in_brackets(rate: float | None, prefix: str) -> str:
    if rate is None:
        return f"(tỷ lệ: {NOT_ARISEN})"
    return f"({prefix} {format_percent(rate)})"


def result_lines(figures: Figures, rates: Rates) -> list[str]:
    """Return the bullet lines of "1. Kết quả", worded exactly as the seed."""

    def f(name: FigureName) -> str:
        return format_count(figures[name])

    l34_rate = _rate_in_brackets(rates["online_l34_rate"], "đạt tỷ lệ là")
    return [
        f"- Kỳ trước là {f('carried_over')} hồ sơ, trong kỳ là {f('received_new')} hồ sơ;",
        f"- Đã trả kết quả {f('resolved')} hồ sơ, trong đó hồ sơ giải quyết trước hạn là "
        f"{f('resolved_early')} hồ sơ, đúng hạn là {f('resolved_on_time')}, quá hạn là "
        f"{f('resolved_late')} hồ sơ;",
        f"- Hồ sơ đang giải quyết là {f('in_progress')}, trong đó: chưa đến hạn là "
        f"{f('in_progress_not_due')} hồ sơ, quá hạn là {f('in_progress_overdue')} hồ sơ;",
        f"- Hồ sơ yêu cầu bổ sung là {f('supplement_requested')} hồ sơ;",
        f"- Hồ sơ trả lại cho tổ chức, cá nhân là {f('returned')};",
        f"- Hồ sơ liên thông phát sinh trong kỳ là {f('interagency_new')} hồ sơ;",
        f"- Tổng số hồ sơ giải quyết mức độ 3,4 là {f('online_l34')} hồ sơ {l34_rate}.",
        f"- Hồ sơ gửi liên thông Văn phòng UBND tỉnh trong kỳ là {f('vpubnd_sent')} hồ sơ, "
        f"kết quả trước hạn {f('vpubnd_early')} hồ sơ, đúng hạn {f('vpubnd_on_time')} hồ sơ, "
        f"quá hạn: {f('vpubnd_late')} hồ sơ; hồ sơ đang giải quyết liên thông là "
        f"{f('vpubnd_in_progress')} hồ sơ, chưa đến hạn là {f('vpubnd_not_due')} hồ sơ, "
        f"quá hạn là {f('vpubnd_overdue')} hồ sơ.",
    ]


def postal_line(figures: Figures, rates: Rates) -> str:
    """Return the paragraph on results returned by post (Decision 45/2016/QĐ-TTg)."""
    rate = _rate_in_brackets(rates["postal_rate"], "đạt")
    return (
        "Tổng số hồ sơ trả qua Bưu điện theo Quyết định số 45/2016/QĐ-TTg ngày 19/10/2016 "
        "của Chính phủ về việc tiếp nhận hồ sơ, trả kết quả giải quyết thủ tục hành chính qua "
        f"dịch vụ Bưu chính công ích là {format_count(figures['postal_return'])} hồ sơ {rate}."
    )


# --- Đánh giá chung --------------------------------------------------------------------------
# The rules are written down in docs/evaluation-rules.md; every sentence below follows them.


Trend = Literal["equal", "steady", "up", "down"]


def trend(current: float | None, previous: float | None, steady_change: float) -> Trend | None:
    """Return how a rate moved since the previous period; None when either rate is missing.

    "equal": both print the same; "steady": they differ by less than `steady_change` (0..1,
    settings.yaml: evaluation.steady_change), which the report calls "tương đương".
    """
    if current is None or previous is None:
        return None
    if format_percent(current) == format_percent(previous):
        return "equal"
    if abs(current - previous) < steady_change:
        return "steady"
    return "up" if current > previous else "down"


def _previous_runs(previous: float, period: Period) -> tuple[Run, ...]:
    name = f"{previous_period_name(period)} là {format_percent(previous)}"
    return (Run(" ("), Run(name, italic=True), Run(")"))


def comparison_runs(
    current: float | None,
    previous: float | None,
    period: Period,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> tuple[Run, ...]:
    """Return the change from the previous period: " đã tăng hơn so với tháng trước (tháng 4 là 28%)".

    The parenthesis is italic. Equal printed percentages read "bằng tháng trước", a change
    under `steady_change` "tương đương tháng trước (...)"; no runs when either rate is missing.
    The text starts with a space so it follows the rate directly.
    """
    moved = trend(current, previous, steady_change)
    if moved is None or previous is None:
        return ()
    before = _PREVIOUS[period.kind]
    if moved == "equal":
        return (Run(f" bằng {before}"),)
    verb = {"steady": "tương đương", "up": "đã tăng hơn so với", "down": "giảm so với"}[moved]
    return (Run(f" {verb} {before}"), *_previous_runs(previous, period))


def timeliness_sentence(figures: Figures, rates: Rates) -> str:
    """Return the strength on timeliness: the early share, and "no late dossier" when none was.

    A late dossier is never told as a strength: with one, the sentence names the early share
    only, and "Còn ... hồ sơ giải quyết quá hạn." goes under "Tồn tại hạn chế".
    """
    resolved = figures["resolved"]
    if resolved == 0:
        return "Trong kỳ không có hồ sơ nào được giải quyết xong."
    early = format_count(figures["resolved_early"])
    share = f"{early}/{format_count(resolved)} hồ sơ chiếm {format_percent(rates['early_rate'])}"
    tail = ", trong kỳ không có hồ sơ nào chậm, muộn" if figures["resolved_late"] == 0 else ""
    return f"Số hồ sơ giải quyết trước hạn là {share}{tail}."


def online_sentence(rates: Rates, target: float, period: Period) -> str:
    """Return the sentence on level-3/4 online dossiers; "cao" only when the target is met."""
    rate = rates["online_l34_rate"]
    unit = period_unit(period)
    if rate is None:
        return f"Trong {unit} không phát sinh hồ sơ tiếp nhận mới, chưa có tỷ lệ hồ sơ trực tuyến mức độ 3,4."
    high = "cao " if rate >= target else ""
    return (
        f"Số lượng hồ sơ trực tuyến mức độ 3,4 trong {unit} phát sinh tỷ lệ {high}"
        f"{format_percent(rate)} hồ sơ nộp trực tuyến."
    )


def postal_sentence(
    rates: Rates,
    previous_rates: Rates | None,
    period: Period,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> Paragraph:
    """Return the evaluation's postal sentence with its month-over-month comparison."""
    subject = (
        "Tiếp nhận và trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích "
        "trong kỳ"
    )
    rate = rates["postal_rate"]
    if rate is None:
        return Paragraph.plain(f"{subject} {NOT_ARISEN}.")
    previous = previous_rates.get("postal_rate") if previous_rates else None
    return Paragraph(
        (
            Run(f"{subject} đạt tỷ lệ {format_percent(rate)}"),
            *comparison_runs(rate, previous, period, steady_change),
            Run("."),
        )
    )


def shortfall_paragraph(
    key: RateName,
    rate: float,
    target: float,
    previous: float | None,
    period: Period,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> Paragraph:
    """Return "Tỷ lệ ... đạt X%[, tăng so với tháng trước (...) nhưng] chưa đạt chỉ tiêu Y%."."""
    lead = Run(f"Tỷ lệ {_TARGET_SUBJECTS[key]} đạt {format_percent(rate)}, ")
    short = f"chưa đạt chỉ tiêu {format_percent(target)}."
    moved = trend(rate, previous, steady_change)
    if moved is None or previous is None:
        return Paragraph((lead, Run(short)))
    before = _PREVIOUS[period.kind]
    if moved == "equal":
        return Paragraph((lead, Run(f"bằng {before}, {short}")))
    verb = {"steady": "tương đương", "up": "tăng so với", "down": "giảm so với"}[moved]
    joint = " nhưng " if moved == "up" else ", "
    return Paragraph(
        (lead, Run(f"{verb} {before}"), *_previous_runs(previous, period), Run(joint + short))
    )


@dataclass(frozen=True)
class Finding:
    """One generated sentence of the evaluation and the figures or rates it judges."""

    judges: frozenset[str]
    paragraph: Paragraph


@dataclass(frozen=True)
class Evaluation:
    """The generated strengths and weaknesses; no figure is judged on both sides."""

    strengths: tuple[Finding, ...]  # in the seed's order: timeliness, online, postal
    weaknesses: tuple[Finding, ...]


def _meets(rate: float | None, target: float) -> bool:
    return rate is not None and rate >= target


def evaluate(
    report: FiguresReport,
    previous_rates: Rates | None,
    targets: TargetRates,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> Evaluation:
    """Judge the figures by docs/evaluation-rules.md: each a strength, a weakness or neither."""
    figures, rates, period = report.figures, report.rates, report.period
    good: list[Finding] = []
    bad: list[Finding] = []

    late = figures["resolved_late"]
    if figures["resolved"]:
        if _meets(rates["early_rate"], targets.early_rate):
            judged = {"early_rate", "resolved_late"} if late == 0 else {"early_rate"}
            sentence = timeliness_sentence(figures, rates)
            good.append(Finding(frozenset(judged), Paragraph.plain(sentence)))
        elif late == 0:  # the early share under its target is a weakness, below
            sentence = "Trong kỳ không có hồ sơ nào giải quyết chậm, muộn."
            good.append(Finding(frozenset({"resolved_late"}), Paragraph.plain(sentence)))
    if _meets(rates["online_l34_rate"], targets.online_l34_rate):
        online = online_sentence(rates, targets.online_l34_rate, period)
        good.append(Finding(frozenset({"online_l34_rate"}), Paragraph.plain(online)))
    if _meets(rates["postal_rate"], targets.postal_rate):
        postal = postal_sentence(rates, previous_rates, period, steady_change)
        good.append(Finding(frozenset({"postal_rate"}), postal))

    for key in _TARGET_SUBJECTS:
        rate, target = rates[key], getattr(targets, key)
        if rate is not None and rate < target:
            previous = previous_rates.get(key) if previous_rates else None
            shortfall = shortfall_paragraph(key, rate, target, previous, period, steady_change)
            bad.append(Finding(frozenset({key}), shortfall))
    for figure, line in overdue_lines(figures):
        bad.append(Finding(frozenset({figure}), Paragraph.plain(line)))
    return Evaluation(tuple(good), tuple(bad))


def strengths(
    report: FiguresReport,
    previous_rates: Rates | None,
    targets: TargetRates,
    texts: DepartmentTexts,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> list[Paragraph]:
    """Return the "Ưu điểm" paragraphs: timeliness, online, the department's own, postal."""
    found = evaluate(report, previous_rates, targets, steady_change).strengths
    generated = [f.paragraph for f in found if "postal_rate" not in f.judges]
    postal = [f.paragraph for f in found if "postal_rate" in f.judges]
    own = [configured_paragraph(text, report.period) for text in texts.strengths]
    return [*generated, *own, *postal] or [Paragraph.plain("Không.")]


def overdue_lines(figures: Figures) -> list[tuple[FigureName, str]]:
    """Return (figure, line) for each kind of overdue dossier."""
    lines: list[tuple[FigureName, str]] = []
    if figures["resolved_late"]:
        count = format_count(figures["resolved_late"])
        lines.append(("resolved_late", f"Còn {count} hồ sơ giải quyết quá hạn."))
    if figures["in_progress_overdue"]:
        count = format_count(figures["in_progress_overdue"])
        lines.append(("in_progress_overdue", f"Còn {count} hồ sơ đang giải quyết đã quá hạn."))
    late_forwarded = figures["vpubnd_late"] + figures["vpubnd_overdue"]
    if late_forwarded:
        count = format_count(late_forwarded)
        lines.append(("vpubnd_late", f"Còn {count} hồ sơ liên thông Văn phòng UBND tỉnh quá hạn."))
    return lines


def weaknesses(
    report: FiguresReport,
    targets: TargetRates,
    texts: DepartmentTexts,
    previous_rates: Rates | None = None,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> list[Paragraph]:
    """Return the "Tồn tại hạn chế" paragraphs: shortfalls, overdue dossiers, the department's own."""
    found = evaluate(report, previous_rates, targets, steady_change).weaknesses
    paragraphs = [
        *(finding.paragraph for finding in found),
        *(configured_paragraph(text, report.period) for text in texts.weaknesses),
    ]
    return paragraphs or [Paragraph.plain("Không.")]


# --- Ghi chú về số liệu ----------------------------------------------------------------------


def data_quality_lines(quality: DataQuality) -> list[str]:
    """Return the bullet lines of the data-quality note, counts only; none when all is clean.

    The note is part of a signed document: it never names a record nor repeats a validator's
    message. The records and their reasons go to the operators (tasks/documents/data_note.py).
    """
    items: list[str] = []
    recon = quality.reconciliation
    if recon is not None and not recon.balanced:
        items.append(
            f"Số liệu chưa khớp: tổng số tiếp nhận {format_count(recon.received_total)} hồ sơ, "
            "trong khi đã trả kết quả, trả lại, rút và đang giải quyết cộng lại là "
            f"{format_count(recon.accounted)} hồ sơ (chênh lệch {recon.difference})"
        )
    if quality.withdrawn:
        items.append(
            f"{format_count(quality.withdrawn)} hồ sơ do tổ chức, cá nhân xin rút "
            "(chưa thể hiện trong các mục trên)"
        )
    if quality.excluded:
        parts = "; ".join(
            f"{_STATUS_NAMES.get(status, f'trạng thái {status}')}: {format_count(count)}"
            for status, count in sorted(quality.excluded_by_status.items())
        )
        items.append(
            f"{format_count(quality.excluded)} hồ sơ không tính vào số liệu báo cáo ({parts})"
        )
    if quality.rejected_count:
        items.append(
            f"{format_count(quality.rejected_count)} hồ sơ có dữ liệu không hợp lệ, "
            "không tính vào số liệu"
        )
    if quality.duplicates_merged:
        items.append(
            f"{format_count(quality.duplicates_merged)} bản ghi trùng lặp trên cổng dịch vụ "
            "công đã được gộp"
        )
    if quality.text_cleaned:
        items.append(
            f"{format_count(quality.text_cleaned)} nội dung văn bản từ cổng dịch vụ công chứa ký tự "
            "không hợp lệ (đã loại bỏ) hoặc chưa chuẩn hóa Unicode (đã chuẩn hóa)"
        )
    if quality.missing_due_date:
        items.append(
            f"{format_count(quality.missing_due_date)} hồ sơ không có ngày hẹn trả, "
            "được tính là giải quyết đúng hạn"
        )
    return [
        f"- {item}{'.' if index == len(items) - 1 else ';'}" for index, item in enumerate(items)
    ]


# --- closing ---------------------------------------------------------------------------------


def subject_line(centre_name: str, period: Period) -> str:
    """Return the subject under the title: "Kết quả tiếp nhận, giải quyết TTHC tại ... tháng 5/2024"."""
    return f"Kết quả tiếp nhận, giải quyết TTHC tại {centre_name} {period.label}"


def closing_line(centre_name: str, department_name: str, period: Period) -> str:
    """Return "Trên đây báo cáo kết quả ... tháng 5/2024 của <Sở>./."."""
    return (
        f"Trên đây báo cáo kết quả tiếp nhận, giải quyết TTHC tại {centre_name} "
        f"{period.label} của {department_name}./."
    )


def issue_year(period: Period) -> int:
    """Return the year a report is normally signed in: that of the month after the period."""
    return period.year + 1 if period.last_month == 12 else period.year


def date_line(place: str, period: Period, issue_date: date | None = None) -> str:
    """Return "<place>, ngày ... tháng ... năm 2024", or filled from `issue_date`.

    Decree 30/2020 writes days below 10 and the months 1 and 2 with a leading zero.
    """
    if issue_date is None:
        return f"{place}, ngày ... tháng ... năm {issue_year(period)}"
    day = f"{issue_date.day:02d}"
    month = f"{issue_date.month:02d}" if issue_date.month <= 2 else str(issue_date.month)
    return f"{place}, ngày {day} tháng {month} năm {issue_date.year}"


def recipient_lines(noi_nhan: list[str]) -> list[str]:
    """Return the "Nơi nhận" lines: "- X;" each, the last "- Lưu: VT, ...." ("Lưu: VT" if none)."""
    cleaned = [line.strip().lstrip("-").strip().rstrip(";.").strip() for line in noi_nhan]
    names = [line for line in cleaned if line]
    if not any(name.startswith("Lưu") for name in names):
        names.append("Lưu: VT")
    return [f"- {name}{'.' if i == len(names) - 1 else ';'}" for i, name in enumerate(names)]


# --- the whole body --------------------------------------------------------------------------


def build_report_body(
    department_name: str,
    texts: DepartmentTexts,
    report: FiguresReport,
    previous_rates: Rates | None,
    targets: TargetRates,
    place: str,
    centre_name: str,
    issue_date: date | None = None,
    steady_change: float = DEFAULT_STEADY_CHANGE,
) -> ReportBody:
    """Return every generated paragraph of one department's report."""
    period = report.period
    proposals = texts.proposals.strip() if texts.proposals and texts.proposals.strip() else "Không"
    return ReportBody(
        legal_basis=legal_basis(texts.legal_basis, department_name, period),
        results_intro=Paragraph.plain(results_intro(department_name, period, report.figures)),
        result_lines=tuple(
            Paragraph.plain(line) for line in result_lines(report.figures, report.rates)
        ),
        postal_line=Paragraph.plain(postal_line(report.figures, report.rates)),
        data_quality=tuple(
            Paragraph.plain(line) for line in data_quality_lines(report.data_quality)
        ),
        strengths=tuple(strengths(report, previous_rates, targets, texts, steady_change)),
        weaknesses=tuple(weaknesses(report, targets, texts, previous_rates, steady_change)),
        next_tasks=tuple(configured_paragraph(text, period) for text in texts.next_tasks),
        proposals=configured_paragraph(proposals, period),
        closing=Paragraph.plain(closing_line(centre_name, department_name, period)),
        date_line=date_line(place, period, issue_date),
    )
