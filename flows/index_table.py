"""The national index (Bộ chỉ số 766) as a rich table for `tthc-report index`."""

from __future__ import annotations

from rich.table import Table

from tasks.documents.numbers import format_score
from tasks.national_index.model import AGENCY, COMPONENTS, NationalIndex


def index_table(index: NationalIndex) -> Table:
    """Return the agencies (sở, ban, ngành) of the index, ranked, with their components."""
    root = index.root
    table = Table(
        title=(
            f"Bộ chỉ số 766, kỳ {index.period_key}: {root.name or root.code or root.id} "
            f"{format_score(root.total_score)}/100"
        )
    )
    table.add_column("Hạng", justify="right")
    table.add_column("Mã")
    table.add_column("Cơ quan, đơn vị")
    table.add_column("Tổng /100", justify="right")
    for component in COMPONENTS:
        table.add_column(f"{component.code} /{component.maximum}", justify="right")
    agencies = [unit for unit in index.units if unit.group == AGENCY]
    for unit in agencies:
        scores = [
            format_score(unit.components[c.code].score) if c.code in unit.components else ""
            for c in COMPONENTS
        ]
        rank = "-" if unit.rank is None else f"{unit.rank}/{len(agencies)}"
        table.add_row(rank, unit.code or "", unit.name, format_score(unit.total_score), *scores)
    return table
