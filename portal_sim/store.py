"""What the portal simulator serves: agencies and, per agency, the dossiers open in a window.

The HTTP server (portal_sim/server.py) answers `LayDanhSachDonVi` from `DossierStore.agencies()`
and `LayDanhSachHoSo` from `DossierStore.window(madonvi, tungay, denngay).page(offset, limit)`,
so any object with these two methods can stand behind it:

- `ListStore`: a plain in-memory list of raw records, for tests (mutable, windows computed on
  every call, malformed records tolerated and served);
- `portal_sim.generator.ScenarioStore`: the dossiers a scenario file states, generated
  deterministically and, for volume scenarios, lazily (see `open_scenario`).

The window rule (docs/portal-api.md): a record is served for [tungay, denngay] when
`NgayTiepNhan <= denngay` and (closing time empty or `>= tungay`), where the closing time is
`NgayKetThucXuLy` if set, else `NgayTra`. Records are raw dicts with the portal's field names;
pages are ordered by MaHoSo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tasks.portal.dossiers import is_portal_time

__all__ = [
    "DossierStore",
    "DossierWindow",
    "ListStore",
    "ListWindow",
    "closing_stamp",
    "in_window",
    "open_scenario",
]


class DossierWindow(Protocol):
    """The dossiers of one agency open at some moment of one window, ordered by MaHoSo."""

    @property
    def total(self) -> int:
        """How many records match the window."""
        ...

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Return the raw records `offset .. offset+limit-1` (fewer or none past the end)."""
        ...


class DossierStore(Protocol):
    """Agencies and dossiers as the portal would serve them."""

    def agencies(self) -> list[dict[str, Any]]:
        """Return the rows of LayDanhSachDonVi: MaDonVi, TenDonVi, CapDonVi, MaDonViCha."""
        ...

    def window(self, agency: str, from_stamp: str, to_stamp: str) -> DossierWindow:
        """Return the records of `agency` open at some moment of [from_stamp, to_stamp]."""
        ...


def closing_stamp(record: Mapping[str, Any]) -> str:
    """Return the record's closing time for the window rule: NgayKetThucXuLy, else NgayTra."""
    finished = record.get("NgayKetThucXuLy")
    if finished:
        return str(finished)
    handed_back = record.get("NgayTra")
    return str(handed_back) if handed_back else ""


def in_window(record: Any, from_stamp: str, to_stamp: str) -> bool:
    """Tell whether a raw record is served for the window [from_stamp, to_stamp].

    A record whose times cannot be read (not an object, no NgayTiepNhan, a malformed time) is
    served in every window: the portal does not validate, the client must reject it.
    """
    if not isinstance(record, Mapping):
        return True
    received = record.get("NgayTiepNhan")
    if not isinstance(received, str) or not is_portal_time(received):
        return True
    closed = closing_stamp(record)
    if closed and not is_portal_time(closed):
        return True
    return received <= to_stamp and (not closed or closed >= from_stamp)


def _agency_of(record: Any) -> str:
    if isinstance(record, Mapping):
        value = record.get("MaDonVi")
        if isinstance(value, str):
            return value.strip()
    return ""


def _sort_key(record: Any) -> str:
    if isinstance(record, Mapping):
        value = record.get("MaHoSo")
        return "" if value is None else str(value)
    return ""


class ListWindow:
    """A window over a list already filtered and sorted."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self._records = records
        self.total = len(records)

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        if offset < 0 or limit <= 0:
            return []
        return list(self._records[offset : offset + limit])


class ListStore:
    """An in-memory store of raw records, for tests.

    `records` is a public list: tests may append, remove or change records at any time; every
    call of `window` reads it afresh. Records of `agency` (MaDonVi) are served by the window rule;
    a record without a MaDonVi (or not an object at all) is served in every agency's windows,
    and one with an unreadable NgayTiepNhan or closing time in every window of its agency.
    """

    def __init__(
        self,
        agencies: list[dict[str, Any]] | None = None,
        records: list[dict[str, Any]] | None = None,
    ) -> None:
        self.agency_rows: list[dict[str, Any]] = list(agencies or [])
        self.records: list[dict[str, Any]] = list(records or [])

    def agencies(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.agency_rows]

    def window(self, agency: str, from_stamp: str, to_stamp: str) -> ListWindow:
        wanted = agency.strip()
        selected = [
            record
            for record in self.records
            if _agency_of(record) in (wanted, "") and in_window(record, from_stamp, to_stamp)
        ]
        selected.sort(key=_sort_key)
        return ListWindow(selected)


def open_scenario(path: str | Path, seed: int = 0) -> DossierStore:
    """Return the store of a scenario file (see portal_sim/generator.py for the schema)."""
    from portal_sim.generator import ScenarioStore

    return ScenarioStore.from_file(path, seed=seed)
