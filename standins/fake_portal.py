"""A Portal from memory for tests: selects, pages, de-duplicates and validates as HttpPortal does."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from tasks.portal.client import (
    SERVICE_DOSSIERS,
    Agency,
    FetchStats,
    PortalServiceError,
    check_records,
    check_window,
    merge_pages,
    record_code,
)
from tasks.portal.dossiers import Dossier, RejectedRecord, is_portal_time


def _served(raw: Any, agency: str, start: str, end: str) -> bool:
    """The portal's selection: records of `agency` (or of none) open in [start, end].

    As the simulator does, a record whose times cannot be read is served in every window
    so that validation, not the selection, rejects it.
    """
    if not isinstance(raw, Mapping):
        return True
    owner = raw.get("MaDonVi")
    if isinstance(owner, str) and owner.strip() and owner.strip() != agency:
        return False
    received = raw.get("NgayTiepNhan")
    closed = raw.get("NgayKetThucXuLy") or raw.get("NgayTra") or ""
    if not isinstance(received, str) or not is_portal_time(received):
        return True
    if not isinstance(closed, str) or (closed and not is_portal_time(closed)):
        return True
    return received <= end and (not closed or closed >= start)


class FakePortal:
    """The Portal from memory: agencies and raw records (portal field names), for tests.

    It selects, pages, de-duplicates and validates exactly as HttpPortal does with a portal;
    `failing_agencies` answer a service error; `calls` records each iter_dossiers call.
    """

    def __init__(
        self,
        agencies: Iterable[Agency],
        records: Iterable[Any],
        *,
        page_size: int = 500,
        failing_agencies: Collection[str] = (),
    ) -> None:
        self.agencies = list(agencies)
        self.records = list(records)
        self.page_size = page_size
        self.failing_agencies = set(failing_agencies)
        self.calls: list[tuple[str, str, str]] = []

    def list_agencies(self) -> list[Agency]:
        """Return the agencies given."""
        return list(self.agencies)

    def iter_dossiers(
        self, agency: str, start: str, end: str, stats: FetchStats | None = None
    ) -> Iterator[Dossier | RejectedRecord]:
        """Stream the records of `agency` open at some moment of [start, end], validated."""
        check_window(start, end)
        self.calls.append((agency, start, end))
        return self._serve(agency, start, end, stats if stats is not None else FetchStats())

    def _serve(
        self, agency: str, start: str, end: str, stats: FetchStats
    ) -> Iterator[Dossier | RejectedRecord]:
        # A generator, so that a failing agency fails when read, as over HTTP.
        if agency in self.failing_agencies:
            raise PortalServiceError(
                SERVICE_DOSSIERS, f"Lỗi khi truy vấn hồ sơ của đơn vị {agency}", "03"
            )
        selected = sorted(
            (raw for raw in self.records if _served(raw, agency, start, end)), key=record_code
        )
        size = self.page_size
        pages = [selected[i : i + size] for i in range(0, len(selected), size)]
        stats.pages += len(pages) + 1
        stats.requests += len(pages) + 1
        yield from check_records(merge_pages(pages, stats), agency, stats)
