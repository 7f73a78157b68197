"""What a run shows in the Prefect UI: a table of figures and deliveries, and a summary."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.documents.numbers import format_count, format_percent
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
    return "\n".join(lines) + "\n"
