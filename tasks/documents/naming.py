"""File names of the documents: one predictable, Vietnamese name per department and period."""

from __future__ import annotations

from pathlib import Path

from tasks.figures.periods import Period
from tasks.settings.keys import safe_key


def period_folder(output_dir: Path, period: Period) -> Path:
    """Return the folder of one period's documents: <output>/reports/<period>/."""
    return output_dir / "reports" / period.key


def report_name(department_key: str, period: Period) -> str:
    """Return the file name of a department's report, without extension."""
    return f"Báo cáo TTHC {period.key} {safe_key(department_key)}"


def data_form_name(department_key: str, period: Period) -> str:
    """Return the file name of a department's data form (biểu mẫu số liệu), without extension."""
    return f"Biểu mẫu số liệu {period.key} {safe_key(department_key)}"


def summary_name(period: Period) -> str:
    """Return the file name of the Centre's summary report, without extension."""
    return f"Báo cáo tổng hợp TTHC {period.key}"


def summary_data_form_name(period: Period) -> str:
    """Return the file name of the Centre's summary data form, without extension."""
    return f"Biểu mẫu tổng hợp {period.key}"
