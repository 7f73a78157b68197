"""What a run shows in the Prefect UI: a table of figures and deliveries, and a summary."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.documents.data_note import rejected_details
from tasks.documents.numbers import format_count, format_percent, format_score
from tasks.figures.periods import Period
from tasks.run.plan import RunPlan, RunSummary, message_count

_NOT_KEY = re.compile(r"[^a-z0-9-]+")


def artifact_key(plan: RunPlan) -> str:
    """Return the run's artifact key: the period, the departments when not all, a dry run's mark.

    Runs of different department sets, or a dry run and a real one, each keep their own
    "latest" artifact instead of overwriting one another's.
    """
    parts = ["bao-cao-tthc", plan.period.key]
    if plan.left_out:
        parts.extend(plan.keys)
    if plan.dry_run:
        parts.append("chay-thu")
    return _NOT_KEY.sub("-", "-".join(parts).lower()).strip("-")


def publish(summary: RunSummary, plan: RunPlan) -> None:
    """Show the run's figures and deliveries in the Prefect UI as two artifacts."""
    period = plan.period
    # A dry run sent nothing: its columns say what would have gone.
    messages, recipients = (
        ("Thư thử (.eml)", "Người nhận (sẽ gửi)")
        if summary.dry_run
        else ("Thư đã gửi", "Người nhận")
    )
    table: list[dict[str, Any]] = []
    for result in summary.results:
        report = result.report
        delivery = result.delivery
        table.append(
            {
                "Sở": result.key,
                "Tên": result.name,
                "Tổng tiếp nhận": format_count(report.figures["received_total"]) if report else "",
                "Đã giải quyết": format_count(report.figures["resolved"]) if report else "",
                "Trước hạn": format_percent(report.rates["early_rate"]) if report else "",
                "Đang giải quyết": format_count(report.figures["in_progress"]) if report else "",
                messages: message_count(delivery) if delivery else 0,
                recipients: len(delivery.sent) if delivery else 0,
                "Bỏ qua (đã nhận)": len(delivery.skipped) if delivery else 0,
                "Kết quả": "lỗi: " + result.error if result.error else "hoàn thành",
            }
        )
    key = artifact_key(plan)
    what = "chạy thử" if summary.dry_run else "số liệu và gửi thư"
    create_table_artifact(table, key=key, description=f"Báo cáo TTHC {period.label}: {what}")
    if summary.index is not None and summary.index.enabled:
        create_markdown_artifact(
            index_markdown(summary, period),
            key=f"{key}-bo-chi-so-766",
            description=f"Bộ chỉ số 766 {period.label}: đối chiếu với số liệu báo cáo",
        )
    create_markdown_artifact(
        summary_markdown(summary, period),
        key=f"{key}-tom-tat",
        description=f"Tóm tắt lượt chạy {period.label}",
    )


def summary_markdown(summary: RunSummary, period: Period) -> str:
    """Return the run's summary as markdown: counts, what failed, the data-quality notes."""
    results = summary.results
    documents = [d for r in results if r.documents for d in r.documents.attachments]
    centre = "chưa lập, " + summary.centre_held if summary.centre_held else "đã lập"
    title = f"# Báo cáo TTHC {period.label}" + (" (chạy thử)" if summary.dry_run else "")
    lines = [
        title,
        "",
        f"- Chạy thử: {'có, không gửi thư nào' if summary.dry_run else 'không'}",
        f"- Bộ chạy tác vụ: {summary.task_runner or 'mặc định'}",
        f"- Văn bản đã viết: {len(documents)}",
        f"- Thư: {summary.delivery_text()}",
        f"- Sở chưa hoàn thành: {', '.join(summary.failed) or 'không'}",
        f"- Báo cáo tổng hợp: {centre}",
        "",
        "## Ghi chú về số liệu",
    ]
    for result in summary.departments:
        if result.report is None:
            continue
        quality = result.report.data_quality
        if quality.is_clean:
            continue
        lines.append(
            f"- {result.key}: loại {format_count(quality.excluded)}, "
            f"từ chối {format_count(quality.rejected_count)}, "
            f"trùng gộp {format_count(quality.duplicates_merged)}, "
            f"rút hồ sơ {format_count(quality.withdrawn)}"
        )
        lines.extend(f"  - {line}" for line in rejected_details(quality))
    return "\n".join(lines) + "\n"


def index_markdown(summary: RunSummary, period: Period) -> str:
    """Return the national index's part of the run for the operators: fetch, notes, comparison."""
    fetch = summary.index
    lines = [f"# Bộ chỉ số 766 {period.label}", ""]
    if fetch is None or fetch.index is None:
        problem = fetch.problem if fetch is not None else "không lấy"
        lines.append(f"- Chưa lấy được: {problem}")
    else:
        fetched = fetch.fetched_at.isoformat(timespec="seconds") if fetch.fetched_at else "?"
        root = fetch.index.root
        lines.append(
            f"- Lấy lúc (UTC): {fetched}; {root.name} {format_score(root.total_score)}/100"
        )
    lines += ["", "## Cần kiểm tra", ""]
    lines += [f"- {note}" for note in summary.index_notes] or ["- Không có."]
    if summary.index_checks:
        lines += [
            "",
            "## Tiến độ giải quyết: Bộ chỉ số 766 / hệ thống",
            "",
            "| Sở | Mã | Bộ chỉ số 766 | Hệ thống | Kết quả |",
            "|---|---|---|---|---|",
        ]
        for check in summary.index_checks:
            theirs = (
                "-"
                if check.index_counts is None
                else "/".join(format_score(v) for v in check.index_counts)
            )
            ours = "/".join(str(v) for v in check.our_counts)
            verdict = "chênh lệch" if check.differs else "khớp"
            lines.append(
                f"| {check.department_key} | {check.code} | {theirs} | {ours} | {verdict} |"
            )
        lines.append("")
        lines.append(
            "Đã giải quyết / đúng hạn và trước hạn / quá hạn; ngưỡng chênh lệch "
            f"{summary.index_checks[0].tolerance} hồ sơ."
        )
    return "\n".join(lines) + "\n"
