"""Numbers written the Vietnamese way, one rule for every place a person reads them.

The report, the data form, the e-mail body, the Prefect artifacts and the command line all
format through these functions, so a rate never reads "81,3%" in one and "81,2%" in another.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NOT_ARISEN = "không phát sinh"


def format_count(count: int) -> str:
    """Write a count as the seed does: 1..9 with two digits ("03"), thousands grouped with "."."""
    if 1 <= count <= 9:
        return f"{count:02d}"
    return f"{count:,}".replace(",", ".")


def format_table_count(count: int) -> str:
    """Write a count in a table column: no leading zero, thousands grouped ("3", "63", "1.234").

    The seed's "03" belongs to prose; in a column it would sit beside "0" and "10" in a second
    format. The data form's cells (#,##0) print the same digits.
    """
    return f"{count:,}".replace(",", ".")


def format_percent(rate: float | None) -> str:
    """Write a rate as a percentage with one decimal comma and no ",0"; None is "không phát sinh"."""
    if rate is None:
        return NOT_ARISEN
    # repr gives the shortest decimal of the float, so 0.8125 rounds as written (half-up).
    percent = (Decimal(repr(rate)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if percent == percent.to_integral_value():
        return f"{int(percent)}%"
    return f"{percent}%".replace(".", ",")


def format_decimal(value: float, places: int = 1) -> str:
    """Write a number with a decimal comma and no trailing ",0": 12.5 -> "12,5", 10.0 -> "10"."""
    quantum = Decimal(1).scaleb(-places)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def format_size(size: int) -> str:
    """Write a file size for people: "850 KB", "12,5 MB"."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{format_decimal(size / (1024 * 1024))} MB"


def format_score(score: float | None) -> str:
    """Write a score as served, two decimals at most, with a decimal comma: "19,6", "60"."""
    if score is None:
        return "-"
    value = Decimal(repr(score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:f}".replace(".", ",")
