"""Windows over generated agencies: the records open in [tungay, denngay], served page by page."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from typing import Any


class IndexWindow:
    """A window over a lazy agency: a compact head of indices, then a contiguous range."""

    def __init__(
        self, make: Callable[[int], dict[str, Any]], head: array[int], start: int, stop: int
    ) -> None:
        self._make = make
        self._head = head
        self._start = start
        self.total = len(head) + max(0, stop - start)

    def indices(self, offset: int, limit: int) -> Iterator[int]:
        """Yield the agency indices of the window's records offset .. offset+limit-1."""
        if offset < 0 or limit <= 0:
            return
        stop = min(self.total, offset + limit)
        head = len(self._head)
        for k in range(offset, stop):
            yield self._head[k] if k < head else self._start + (k - head)

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Return the records offset .. offset+limit-1 of the window."""
        return [self._make(i) for i in self.indices(offset, limit)]


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a record deep enough that a caller's changes stay its own."""
    copy = dict(record)
    link = copy.get("LienThong")
    if isinstance(link, dict):
        copy["LienThong"] = dict(link)
    supplements = copy.get("DanhSachHoSoBoSung")
    if isinstance(supplements, list):
        copy["DanhSachHoSoBoSung"] = [dict(s) if isinstance(s, dict) else s for s in supplements]
    return copy


class ListAgency:
    """The materialised records of a monthly agency, with their window bounds."""

    def __init__(self, rows: list[tuple[dict[str, Any], str, str]]) -> None:
        self.records = [row[0] for row in rows]
        self.lows = [row[1] for row in rows]
        self.highs = [row[2] for row in rows]

    def window(self, from_stamp: str, to_stamp: str) -> IndexWindow:
        """Return the window of the records open at some moment of [from, to]."""
        lows, highs = self.lows, self.highs
        head = array(
            "I",
            (k for k in range(len(lows)) if lows[k] <= to_stamp and highs[k] >= from_stamp),
        )
        return IndexWindow(self.make, head, 0, 0)

    def make(self, k: int) -> dict[str, Any]:
        """Return a copy of record k."""
        return _copy(self.records[k])


class EmptyWindow:
    """The window of an agency the store does not know: nothing in it."""

    total = 0

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Return the records offset .. offset+limit-1 of the window."""
        return []
