"""Reporting periods: a month, quarter, half-year or year of local (Asia/Ho_Chi_Minh) time."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

PeriodKind = Literal["month", "quarter", "half", "year"]

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_PATTERNS: list[tuple[PeriodKind, re.Pattern[str]]] = [
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})-Q(\d)$")),
    ("half", re.compile(r"^(\d{4})-H(\d)$")),
    ("year", re.compile(r"^(\d{4})$")),
]
# The periods Period.parse accepts, as a JSON-schema pattern (no flags there: case by hand),
# for the Prefect form; empty means "the month before the run".
PERIOD_PATTERN = r"^(?:|(?:20[0-9]{2}|2100)(?:-(?:0[1-9]|1[0-2])|-[Qq][1-4]|-[Hh][12])?)$"
_MONTHS_IN = {"month": 1, "quarter": 3, "half": 6, "year": 12}
_COUNT_IN_YEAR = {"month": 12, "quarter": 4, "half": 2, "year": 1}


class InvalidPeriod(ValueError):
    """A period string that names no period ("2024-13", "2024-Q5", "May")."""


@dataclass(frozen=True, order=True)
class Period:
    """A closed interval [start 00:00:00, end 23:59:59] of local time.

    `index` is the month (1..12), quarter (1..4) or half (1..2) within `year`; 1 for a year.
    """

    year: int
    kind: PeriodKind
    index: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read "2024-05", "2024-Q2", "2024-H1" or "2024"; raise InvalidPeriod otherwise."""
        cleaned = text.strip().upper()
        for kind, pattern in _PATTERNS:
            match = pattern.match(cleaned)
            if not match:
                continue
            year = int(match.group(1))
            index = int(match.group(2)) if kind != "year" else 1
            if not 1 <= index <= _COUNT_IN_YEAR[kind]:
                raise InvalidPeriod(
                    f"period {text!r}: {kind} number {index} is out of range "
                    f"1..{_COUNT_IN_YEAR[kind]}"
                )
            if not 2000 <= year <= 2100:
                raise InvalidPeriod(f"period {text!r}: year {year} is out of range 2000..2100")
            return cls(year=year, kind=kind, index=index)
        raise InvalidPeriod(
            f"period {text!r} is not a month (2024-05), quarter (2024-Q2), "
            "half-year (2024-H1) or year (2024)"
        )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """Return the month period of `year`/`month`."""
        return cls(year=year, kind="month", index=month)

    @classmethod
    def month_before(cls, day: date) -> Period:
        """Return the month before the one that contains `day`."""
        if day.month == 1:
            return cls.month(day.year - 1, 12)
        return cls.month(day.year, day.month - 1)

    @property
    def first_month(self) -> int:
        return (self.index - 1) * _MONTHS_IN[self.kind] + 1

    @property
    def last_month(self) -> int:
        return self.first_month + _MONTHS_IN[self.kind] - 1

    @property
    def start_date(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end_date(self) -> date:
        last = self.last_month
        return date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def start(self) -> datetime:
        """First second of the period (naive local time)."""
        return datetime.combine(self.start_date, datetime.min.time())

    @property
    def end(self) -> datetime:
        """Last second of the period (naive local time)."""
        return datetime.combine(self.end_date, datetime.max.time()).replace(microsecond=0)

    @property
    def start_stamp(self) -> str:
        """The period's start as a portal time string yyyyMMddHHmmss."""
        return self.start_date.strftime("%Y%m%d") + "000000"

    @property
    def end_stamp(self) -> str:
        """The period's end as a portal time string yyyyMMddHHmmss."""
        return self.end_date.strftime("%Y%m%d") + "235959"

    @property
    def key(self) -> str:
        """The canonical text of the period, as parsed: "2024-05", "2024-Q2", "2024-H1", "2024"."""
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        if self.kind == "half":
            return f"{self.year}-H{self.index}"
        return str(self.year)

    @property
    def label(self) -> str:
        """The period as the report names it: "tháng 5/2024", "quý II/2024", "năm 2024"."""
        if self.kind in ("month", "quarter"):
            return f"{self.short_label}/{self.year}"
        if self.kind == "half":
            return f"{self.short_label} {self.year}"
        return f"năm {self.year}"

    @property
    def short_label(self) -> str:
        """The period without its year, as in "(tháng 4 là 28%)": "tháng 4", "quý I"."""
        if self.kind == "month":
            return f"tháng {self.index}"
        if self.kind == "quarter":
            return f"quý {_ROMAN[self.index]}"
        if self.kind == "half":
            return "6 tháng đầu năm" if self.index == 1 else "6 tháng cuối năm"
        return f"năm {self.year}"

    def previous(self) -> Period:
        """Return the period of the same kind just before this one."""
        if self.index > 1:
            return Period(self.year, self.kind, self.index - 1)
        return Period(self.year - 1, self.kind, _COUNT_IN_YEAR[self.kind])

    def trailing_months(self, count: int = 12) -> list[Period]:
        """Return the `count` months that end with this period's last month, oldest first."""
        months: list[Period] = []
        current = Period.month(self.year, self.last_month)
        for _ in range(count):
            months.append(current)
            current = current.previous()
        return list(reversed(months))

    def __str__(self) -> str:
        return self.key
