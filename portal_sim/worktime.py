"""Working time (Mon-Fri 07:30-17:00, Vietnamese public holidays off) as integer positions."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta

_DAY_START = 7 * 3600 + 30 * 60  # 07:30:00
WORKDAY = 9 * 3600 + 30 * 60  # working seconds of a day: 07:30:00 .. 16:59:59
DUE_TIME = "170000"
OPEN_END = "99999999999999"
CLOCK: list[str] = [
    f"{(_DAY_START + k) // 3600:02d}{(_DAY_START + k) // 60 % 60:02d}{(_DAY_START + k) % 60:02d}"
    for k in range(WORKDAY)
]

# Public holidays (days off) of Viet Nam, 2023-2025; weekends are off anyway.
_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(day)
    for day in (
        "2023-01-02",
        "2023-01-20",
        "2023-01-23",
        "2023-01-24",
        "2023-01-25",
        "2023-01-26",
        "2023-05-01",
        "2023-05-02",
        "2023-05-03",
        "2023-09-01",
        "2023-09-04",
        "2024-01-01",
        "2024-02-08",
        "2024-02-09",
        "2024-02-12",
        "2024-02-13",
        "2024-02-14",
        "2024-04-18",
        "2024-04-29",
        "2024-04-30",
        "2024-05-01",
        "2024-09-02",
        "2024-09-03",
        "2025-01-01",
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-04-07",
        "2025-04-30",
        "2025-05-01",
        "2025-05-02",
        "2025-09-01",
        "2025-09-02",
    )
)


class Calendar:
    """Working time as integer positions: day index * WORKDAY + seconds since 07:30."""

    def __init__(self, first: date, last: date) -> None:
        days: list[date] = []
        day = first
        while day <= last:
            if day.weekday() < 5 and day not in _HOLIDAYS:
                days.append(day)
            day += timedelta(days=1)
        self.days = days
        self.day_str = [d.strftime("%Y%m%d") for d in days]
        self.ordinals = [d.toordinal() for d in days]
        self.size = len(days) * WORKDAY

    def stamp(self, pos: int) -> str:
        """Return the yyyyMMddHHmmss time of a position."""
        return self.day_str[pos // WORKDAY] + CLOCK[pos % WORKDAY]

    def ordinal_of(self, pos: int) -> int:
        """Return the date (ordinal) of a position."""
        return self.ordinals[pos // WORKDAY]

    def day_start(self, ordinal: int) -> int:
        """The first working position on or after the date `ordinal`."""
        return bisect_left(self.ordinals, ordinal) * WORKDAY

    def day_last(self, ordinal: int) -> int:
        """The last working position on or before the date `ordinal`."""
        return (bisect_right(self.ordinals, ordinal) - 1) * WORKDAY + WORKDAY - 1

    def workday(self, ordinal: int, later: int) -> int:
        """The date (ordinal) `later` working days after the first working day >= `ordinal`."""
        index = min(bisect_left(self.ordinals, ordinal) + later, len(self.ordinals) - 1)
        return self.ordinals[index]

    def ceil_pos(self, stamp: str) -> int:
        """The smallest position whose stamp is >= `stamp` (a yyyyMMddHHmmss string)."""
        if len(stamp) != 14 or not stamp.isdigit():
            raise ValueError(f"{stamp!r} is not a time yyyyMMddHHmmss")
        index = bisect_left(self.day_str, stamp[:8])
        if index < len(self.day_str) and self.day_str[index] == stamp[:8]:
            seconds = int(stamp[8:10]) * 3600 + int(stamp[10:12]) * 60 + int(stamp[12:14])
            offset = seconds - _DAY_START
            if offset <= 0:
                return index * WORKDAY
            if offset >= WORKDAY:
                return (index + 1) * WORKDAY
            return index * WORKDAY + offset
        return index * WORKDAY

    def floor_pos(self, stamp: str) -> int:
        """The largest position whose stamp is <= `stamp` (-1 if none)."""
        pos = self.ceil_pos(stamp)
        if pos < self.size and self.stamp(pos) == stamp:
            return pos
        return pos - 1

    def due_stamp(self, ordinal: int) -> str:
        """Return the due time (17:00) of the date `ordinal`."""
        return date.fromordinal(ordinal).strftime("%Y%m%d") + DUE_TIME

    def nearest_workday(self, ordinal: int, low: int, high: int | None) -> int:
        """`ordinal` moved to a working day within [low, high] when one is near, else kept."""
        index = bisect_left(self.ordinals, ordinal)
        if index < len(self.ordinals) and self.ordinals[index] == ordinal:
            return ordinal
        if index < len(self.ordinals):
            after = self.ordinals[index]
            if after >= low and (high is None or after <= high):
                return after
        if index > 0:
            before = self.ordinals[index - 1]
            if before >= low and (high is None or before <= high):
                return before
        return ordinal
