"""Paging through LayDanhSachHoSo: bounds on the pages, de-duplication, validation.

Pure logic, no IO: `PageGuard` decides whether the next page may be read and whether a page is
acceptable (the declared `total`, a maximum number of pages, a page seen before anywhere in the
sequence); `merge_pages` keeps one record per MaHoSo over the whole fetch; `check_records`
validates. Memory stays flat whatever the number of records: two pages, and one 16-byte digest
per page read.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasks.portal.dossiers import (
    Dossier,
    InvalidDossier,
    RejectedRecord,
    is_portal_time,
    parse_dossier,
)
from tasks.portal.wire import WireDossier, dossier_of_wire, wire_as_dict

__all__ = [
    "FetchStats",
    "PageGuard",
    "PagingError",
    "check_record",
    "check_records",
    "merge_pages",
    "record_code",
]

logger = logging.getLogger(__name__)


class PagingError(ValueError):
    """The pages break the portal's contract so that no exact count can come out of them."""


@dataclass
class FetchStats:
    """What one or more fetches took: counted as they go, for the run's log and report.

    `records` counts the dossiers yielded, `rejected` the RejectedRecord items yielded and
    `duplicates_merged` the records dropped as repeats of a MaHoSo; `pages` counts the pages
    answered, the final empty one included; `requests` every HTTP request, logins included;
    `text_cleaned` the strings from the portal that held code points XML cannot carry
    (removed) or were not in NFC (normalised).
    """

    pages: int = 0
    requests: int = 0
    retries: int = 0
    relogins: int = 0
    duplicates_merged: int = 0
    rejected: int = 0
    records: int = 0
    text_cleaned: int = 0


# -- de-duplication ---------------------------------------------------------------------------


def record_code(raw: Any) -> str:
    """Return the record's MaHoSo stripped and in NFC ("" when it has none)."""
    # type() first: isinstance against the Mapping ABC costs more than the rest, per record.
    kind = type(raw)
    if kind is Dossier:
        return raw.code  # read as it is: stripped, ASCII
    if kind is WireDossier or kind is dict or isinstance(raw, Mapping):
        value = raw.MaHoSo if kind is WireDossier else raw.get("MaHoSo")
        if isinstance(value, str):
            value = value.strip()
            # NFC and NFD spellings of one code must be one code (ASCII is NFC already).
            return value if value.isascii() else unicodedata.normalize("NFC", value)
    return ""


def _updated_of(raw: Any) -> str:
    if type(raw) is Dossier:
        return raw.updated
    if type(raw) is WireDossier:
        return raw.NgayCapNhat or ""
    if isinstance(raw, Mapping):
        value = raw.get("NgayCapNhat")
        if isinstance(value, str):
            return value
    return ""


def _newer(kept: Any, candidate: Any) -> Any:
    """Return the later version by NgayCapNhat; on a tie the one read last."""
    return candidate if _updated_of(candidate) >= _updated_of(kept) else kept


def _orderly(raw: Any) -> bool:
    """Tell whether a record looks like a dossier (a cheap check): only those set the order."""
    if type(raw) is Dossier:
        return True  # decoded and found valid (tasks/portal/wire.py)
    if type(raw) is WireDossier:
        status, received = raw.TrangThaiHoSo, raw.NgayTiepNhan
    elif type(raw) is dict:
        status, received = raw.get("TrangThaiHoSo"), raw.get("NgayTiepNhan")
    else:
        return False
    return (
        type(status) is int
        and 1 <= status <= 10
        and type(received) is str
        and is_portal_time(received)
    )


def merge_pages(pages: Iterable[list[Any]], stats: FetchStats) -> Iterator[Any]:
    """Yield the raw records of `pages`, one per MaHoSo over the whole fetch, the latest kept.

    Pages are ordered by MaHoSo (docs/portal-api.md), so a record repeated while the portal's
    data changed during paging can only straddle a page boundary: one page is held back and
    merged with the next one, keeping the copy with the latest NgayCapNhat. A record whose
    MaHoSo is not above every code already passed on could repeat one of them unseen: that
    breaks the order the exactness rests on, so it raises PagingError rather than count a
    dossier twice. (Records that do not look like dossiers, which validation rejects, do not
    set that order: a portal may list them anywhere.) Memory stays at two pages whatever the
    number of records.
    """
    held: list[Any] = []
    held_index: dict[str, int] = {}
    floor = ""  # the highest MaHoSo of the dossiers already passed on
    for number, page in enumerate(pages, 1):
        fresh: list[Any] = []
        fresh_index: dict[str, int] = {}
        for raw in page:
            # A Dossier's code is read already (record_code, inlined for the common case).
            code = raw.code if type(raw) is Dossier else record_code(raw)
            if code:
                position = held_index.get(code)
                if position is not None:
                    held[position] = _newer(held[position], raw)
                    stats.duplicates_merged += 1
                    continue
                position = fresh_index.get(code)
                if position is not None:
                    fresh[position] = _newer(fresh[position], raw)
                    stats.duplicates_merged += 1
                    continue
                if code <= floor and _orderly(raw):
                    raise PagingError(
                        f"page {number}: MaHoSo {code!r} comes after {floor!r} was passed: the "
                        "pages are not in MaHoSo order, so a repeated dossier cannot be told "
                        "from a new one and the count would not be exact"
                    )
                fresh_index[code] = len(fresh)
            # A record without MaHoSo has nothing to merge on: validation rejects it.
            fresh.append(raw)
        yield from held
        if held_index:
            top = max(held_index)
            if top > floor:
                if _orderly(held[held_index[top]]):
                    floor = top  # the highest code is a dossier's: no need to look further
                else:
                    for code, position in held_index.items():
                        if code > floor and _orderly(held[position]):
                            floor = code
        held, held_index = fresh, fresh_index
    yield from held


# -- bounds on paging -------------------------------------------------------------------------


@dataclass
class PageGuard:
    """The bounds of one agency's paging: `max_pages`, the declared `total`, pages seen before.

    `page_size` is what was asked; the size the server answered on the first page replaces it.
    `check` raises PagingError for a page that must end the fetch; `finish` checks the rows
    served against the last declared total.
    """

    agency: str
    page_size: int
    max_pages: int
    total: int | None = None
    rows: int = 0
    _seen: set[bytes] = field(default_factory=set)

    def check(self, index: int, data: list[Any], body: Mapping[str, Any]) -> None:
        """Accept non-empty page `index` (from 1) of `body` or raise PagingError saying why."""
        where = f"page {index} of {self.agency}"
        if index > self.max_pages:
            raise PagingError(
                f"{where}: more than portal.max_pages ({self.max_pages}) pages; "
                "raise the setting if the agency really has that many dossiers"
            )
        answered = body.get("pageSize")
        if isinstance(answered, int) and not isinstance(answered, bool) and answered >= 1:
            # Later pages are asked with the size the server used, so that pageIndex keeps
            # meaning the same offsets.
            if index == 1:
                self.page_size = answered
            elif answered != self.page_size:
                raise PagingError(f"{where}: pageSize changed from {self.page_size} to {answered}")
        total = body.get("total")
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            self.total = total
        if self.total is not None:
            # One page more than the total needs: records added while paging shift the rest.
            allowed = -(-self.total // self.page_size) + 1
            if index > allowed:
                raise PagingError(
                    f"{where}: the portal declared {self.total} dossiers ({allowed - 1} "
                    f"page(s) of {self.page_size}) but keeps serving more"
                )
        digest = hashlib.blake2b(
            "\0".join(record_code(raw) or "?" for raw in data).encode("utf-8"), digest_size=16
        ).digest()
        if digest in self._seen:
            raise PagingError(
                f"{where} repeats a page read before (the same MaHoSo): is pageIndex ignored?"
            )
        self._seen.add(digest)
        self.rows += len(data)

    def finish(self) -> None:
        """Raise PagingError when fewer rows came than the portal declared."""
        # Fewer rows than declared: some were skipped (a dossier deleted while paging shifts
        # the next one onto a page already read), so the count would be short.
        if self.total is not None and self.rows < self.total:
            raise PagingError(
                f"{self.agency}: the portal declared {self.total} dossiers but served "
                f"{self.rows}: some were skipped between pages"
            )


# -- validation -------------------------------------------------------------------------------


def check_record(raw: Any, agency: str) -> Dossier | RejectedRecord:
    """Validate one raw record of `agency`; return the Dossier or the RejectedRecord saying why.

    A Dossier decoded from a page is read already (tasks/portal/wire.py); a typed record
    (WireDossier) that passes the fast checks needs no more; any other goes through
    `parse_dossier`, which names the reason.
    """
    dossier: Dossier | None = None
    if type(raw) is Dossier:
        dossier = raw
    elif type(raw) is WireDossier:
        dossier = dossier_of_wire(raw)
        if dossier is None:
            raw = wire_as_dict(raw)
    if dossier is None:
        try:
            dossier = parse_dossier(raw)
        except InvalidDossier as error:
            return RejectedRecord(error.code, error.reason)
    if dossier.agency != agency:
        return RejectedRecord(
            dossier.code, f"MaDonVi {dossier.agency} is not the agency asked for ({agency})"
        )
    return dossier


def check_records(
    raws: Iterable[Any], agency: str, stats: FetchStats
) -> Iterator[Dossier | RejectedRecord]:
    """Validate raw records of `agency` one by one, counting dossiers, rejections, cleaned text."""
    # The common case first, without check_record's call: a record decoded straight into a
    # Dossier (valid, nothing cleaned) of the agency asked for.
    for raw in raws:
        if type(raw) is Dossier and raw.agency == agency:
            stats.records += 1
            yield raw
            continue
        record = check_record(raw, agency)
        if isinstance(record, RejectedRecord):
            stats.rejected += 1
            # %r: a code or reason from the portal may hold line breaks that would forge log lines
            logger.warning(
                "rejected record %r of %s: %r", record.code or "<no MaHoSo>", agency, record.reason
            )
        else:
            stats.records += 1
            if record.text_cleaned:
                stats.text_cleaned += record.text_cleaned
        yield record
