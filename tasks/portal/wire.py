"""LayDanhSachHoSo pages decoded by msgspec straight into typed records, then validated fast.

Decoding a page into dicts and reading every field back out of them cost more than decoding
itself (docs/portal-api.md, "Dossier record"). `decode_page` first decodes a page straight
into `Dossier` values (the struct carries the portal's names), which needs every field of
the type a valid record has (text, a whole number, a boolean; no null). `_read_as_is` then
checks, in one loop over the page, what the types cannot say (times, the status's range,
the closing rules, clean text): when every record passes, the page is done, each value what
`parse_dossier` would have read.

Any other page is decoded again into `WireDossier` structs, each field of its valid type or
null: `dossier_of_wire` checks them one by one and returns None for anything unusual, which
`wire_as_dict` hands to `parse_dossier`, the one reference reader: a rejected record is
rejected there, with the very same reason. A page neither typed decoder takes (a record
that is not an object, a number sent as text, a field of another type) is decoded into
plain dicts instead: lenient reading and its messages stay in one place.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from tasks.portal.dossiers import (
    MINUTE_SECONDS,
    NOT_SET,
    STATUS_RESOLVED,
    STATUS_WITHDRAWN,
    VALID_HOURS,
    Dossier,
    InvalidDossier,
    SupplementRequest,
    clean_text,
    forwarding_of,
    is_portal_time,
    supplements_of,
)

__all__ = [
    "WireDossier",
    "decode_body",
    "decode_page",
    "decode_wire_page",
    "dossier_of_wire",
    "wire_as_dict",
]


class WireDossier(msgspec.Struct, gc=False):
    """One record of LayDanhSachHoSo as served, every field of its valid type or null."""

    MaHoSo: str | None = None
    MaDonVi: str | None = None
    NgayTiepNhan: str | None = None
    TrangThaiHoSo: int | None = None
    MaTTHC: str | None = None
    TenTTHC: str | None = None
    MaLinhVuc: str | None = None
    TenLinhVuc: str | None = None
    NgayHenTra: str | None = None
    NgayKetThucXuLy: str | None = None
    NgayTra: str | None = None
    KenhThucHien: int | None = None
    HinhThuc: int | None = None
    MucDo: int | None = None
    LaLienThong: bool | None = None
    # Rare and nested: read as plain JSON values, checked by the reference reader's helpers.
    LienThong: Any = None
    DanhSachHoSoBoSung: Any = None
    CoPhiLePhi: bool | None = None
    DuocThanhToanTrucTuyen: bool | None = None
    HoSoCoThanhPhanSoHoa: bool | None = None
    NgayCapNhat: str | None = None


class _WirePage(msgspec.Struct, gc=False):
    """The envelope of a LayDanhSachHoSo answer, its records typed."""

    error_code: Any = msgspec.UNSET
    message: Any = msgspec.UNSET
    total: Any = msgspec.UNSET
    pageIndex: Any = msgspec.UNSET
    pageSize: Any = msgspec.UNSET
    data: list[WireDossier] | msgspec.UnsetType | None = msgspec.UNSET


class _DossierPage(msgspec.Struct, gc=False):
    """The envelope of a LayDanhSachHoSo answer, its records decoded straight into Dossier."""

    error_code: Any = msgspec.UNSET
    message: Any = msgspec.UNSET
    total: Any = msgspec.UNSET
    pageIndex: Any = msgspec.UNSET
    pageSize: Any = msgspec.UNSET
    data: list[Dossier] | msgspec.UnsetType | None = msgspec.UNSET


_DOSSIER_DECODER = msgspec.json.Decoder(_DossierPage)
_PAGE_DECODER = msgspec.json.Decoder(_WirePage)
_ENVELOPE = ("error_code", "message", "total", "pageIndex", "pageSize", "data")

# Names (TenTTHC, TenLinhVuc, MaDonViNhan) found clean: the reference reader keeps them as
# they are. A few hundred in a province; bounded all the same, emptied when full.
_CLEAN_TEXTS: set[str] = set()
_CLEAN_TEXTS_LIMIT = 10_000


def _is_clean(text: str) -> bool:
    """Tell whether the reference reader keeps `text` as it is (remembering the answer)."""
    if clean_text(text)[1]:
        return False
    if len(_CLEAN_TEXTS) >= _CLEAN_TEXTS_LIMIT:
        _CLEAN_TEXTS.clear()
    _CLEAN_TEXTS.add(text)
    return True


def _read_as_is(records: list[Dossier]) -> bool:
    """Tell whether `parse_dossier` would read every record of a page into the very same value.

    True only when no record needs anything done: every time well-formed, a status 1..10
    with the times its closing rules need, codes without surrounding blanks, texts that need
    no cleaning, no LienThong that is an empty object (the reference reader ignores `{}`
    but reads one with unknown keys). Otherwise the page is read again the careful way.
    """
    # The hot path of every fetch, written flat: a function call costs as much as a check.
    # A time is valid at once when its hour (yyyyMMddHH) was found valid before and its
    # minutes and seconds are: two set lookups (is_portal_time decides, and remembers, the rest).
    minute_seconds = MINUTE_SECONDS
    hours = VALID_HOURS
    clean = _CLEAN_TEXTS
    for record in records:
        status = record.status
        if not 1 <= status <= 10:
            return False
        time = record.received
        if not (time[10:] in minute_seconds and (time[:10] in hours or is_portal_time(time))):
            return False
        finished = record.finished
        if finished and not (
            finished[10:] in minute_seconds and (finished[:10] in hours or is_portal_time(finished))
        ):
            return False
        handed_back = record.handed_back
        if handed_back and not (
            handed_back[10:] in minute_seconds
            and (handed_back[:10] in hours or is_portal_time(handed_back))
        ):
            return False
        # Status 9 and 10 need NgayKetThucXuLy; 7 and 8 it or NgayTra.
        if (
            status >= STATUS_WITHDRAWN
            and not finished
            and (status >= STATUS_RESOLVED or not handed_back)
        ):
            return False
        time = record.due
        if time and not (
            time[10:] in minute_seconds and (time[:10] in hours or is_portal_time(time))
        ):
            return False
        time = record.updated
        if time and not (
            time[10:] in minute_seconds and (time[:10] in hours or is_portal_time(time))
        ):
            return False
        code = record.code
        agency = record.agency
        if not (code and agency):
            return False
        if code[0] == " " or code[-1] == " " or agency[0] == " " or agency[-1] == " ":
            return False  # the reference reader strips these (other blanks fail isprintable)
        codes = code + agency + record.procedure_code + record.field_code
        if not (codes.isascii() and codes.isprintable()):
            return False
        name = record.procedure_name
        if not (name in clean or _is_clean(name)):
            return False
        name = record.field_name
        if not (name in clean or _is_clean(name)):
            return False
        if record.text_cleaned:
            return False  # sent by the portal: not a field of LayDanhSachHoSo
        link = record.forwarding
        if link is not None:
            name = link.to_agency
            if not (link.sent or link.due or link.finished or name):
                return False
            if name and (
                name[:1] <= " " or name[-1:] <= " " or not (name.isascii() and name.isprintable())
            ):
                return False
            for time in (link.sent, link.due, link.finished):
                if time and not is_portal_time(time):
                    return False
        if record.supplements:
            for entry in record.supplements:
                for time in (entry.requested, entry.received):
                    if time and not is_portal_time(time):
                        return False
    return True


def _as_body(page: _DossierPage | _WirePage) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in _ENVELOPE:
        value = getattr(page, name)
        if value is not msgspec.UNSET:
            body[name] = value
    return body


def decode_wire_page(content: bytes) -> dict[str, Any] | None:
    """Return a LayDanhSachHoSo body as a dict whose `data` holds WireDossier records.

    None when the body is JSON but not of the typed shape; raise msgspec.DecodeError when it
    is not JSON at all.
    """
    try:
        return _as_body(_PAGE_DECODER.decode(content))
    except msgspec.ValidationError:
        return None


def decode_page(content: bytes) -> dict[str, Any] | None:
    """Return a LayDanhSachHoSo body as a dict whose `data` holds its records, typed.

    The records are Dossier values, read and valid, when the page decodes into them and
    every one is read as it is (`_read_as_is`); else the page is decoded again into
    WireDossier records (`decode_wire_page`), for the checks record by record.
    None when the body is JSON but not of the typed shape (the caller decodes it plainly);
    raise msgspec.DecodeError when it is not JSON at all.
    """
    try:
        page = _DOSSIER_DECODER.decode(content)
    except msgspec.ValidationError:
        return decode_wire_page(content)
    if type(page.data) is list and not _read_as_is(page.data):
        return decode_wire_page(content)
    return _as_body(page)


def decode_body(content: bytes) -> Any:
    """Return a LayDanhSachHoSo body decoded typed when it can be, else as plain JSON values.

    Raise orjson.JSONDecodeError when the body is not JSON.
    """
    try:
        body = decode_page(content)
    except msgspec.DecodeError:
        raise orjson.JSONDecodeError("not JSON", "", 0) from None
    return body if body is not None else orjson.loads(content)


def wire_as_dict(record: WireDossier) -> dict[str, Any]:
    """Return the record as the plain dict `parse_dossier` reads (absent fields are null)."""
    return msgspec.structs.asdict(record)


def dossier_of_wire(record: WireDossier) -> Dossier | None:
    """Return the Dossier `parse_dossier` would read from `record`; None when it would object.

    Only a record every check passes is read here; for any other, the caller asks
    `parse_dossier`, whose first objection (in the order of the fields) names the reason.
    """
    # The hot path of every fetch, written flat: a function call costs as much as a check.
    # A time is valid at once when its hour (yyyyMMddHH) was found valid before and its
    # minutes and seconds are: two set lookups (is_portal_time decides, and remembers, the rest).
    code = record.MaHoSo
    agency = record.MaDonVi
    received = record.NgayTiepNhan
    status = record.TrangThaiHoSo
    if code is None or agency is None or received is None or status is None:
        return None
    if not 1 <= status <= 10:
        return None
    if not (
        received[10:] in MINUTE_SECONDS
        and (received[:10] in VALID_HOURS or is_portal_time(received))
    ):
        return None
    if code[:1] <= " " or code[-1:] <= " ":
        code = code.strip()
        if not code:
            return None
    if agency[:1] <= " " or agency[-1:] <= " ":
        agency = agency.strip()
        if not agency:
            return None
    finished = record.NgayKetThucXuLy
    if not finished:
        finished = NOT_SET
    elif not (
        finished[10:] in MINUTE_SECONDS
        and (finished[:10] in VALID_HOURS or is_portal_time(finished))
    ):
        return None
    handed_back = record.NgayTra
    if not handed_back:
        handed_back = NOT_SET
    elif not (
        handed_back[10:] in MINUTE_SECONDS
        and (handed_back[:10] in VALID_HOURS or is_portal_time(handed_back))
    ):
        return None
    # Status 9 and 10 need NgayKetThucXuLy; 7 and 8 it or NgayTra.
    if (
        status >= STATUS_WITHDRAWN
        and not finished
        and (status >= STATUS_RESOLVED or not handed_back)
    ):
        return None
    due = record.NgayHenTra
    if not due:
        due = NOT_SET
    elif not (due[10:] in MINUTE_SECONDS and (due[:10] in VALID_HOURS or is_portal_time(due))):
        return None
    updated = record.NgayCapNhat
    if not updated:
        updated = NOT_SET
    elif not (
        updated[10:] in MINUTE_SECONDS and (updated[:10] in VALID_HOURS or is_portal_time(updated))
    ):
        return None
    cleaned = 0
    forwarding = None
    supplements: tuple[SupplementRequest, ...] = ()
    link = record.LienThong
    entries = record.DanhSachHoSoBoSung
    if link or entries:
        try:
            if link:
                forwarding, changed = forwarding_of(link, code)
                cleaned += changed
            if entries:
                supplements = supplements_of(entries, code)
        except InvalidDossier:
            return None
    procedure_code = record.MaTTHC or ""
    procedure_name = record.TenTTHC or ""
    field_code = record.MaLinhVuc or ""
    field_name = record.TenLinhVuc or ""
    # One check over every text at once; names in Vietnamese go through the (cached) cleaner.
    every = code + agency + procedure_code + procedure_name + field_code + field_name
    if not (every.isascii() and every.isprintable()):
        if not (
            code.isascii() and code.isprintable() and agency.isascii() and agency.isprintable()
        ):
            return None  # the reference reader cleans these two and may find them empty
        texts = [procedure_code, procedure_name, field_code, field_name]
        for position, text in enumerate(texts):
            if not (text.isascii() and text.isprintable()):
                texts[position], changed = clean_text(text)
                cleaned += changed
        procedure_code, procedure_name, field_code, field_name = texts
    return Dossier(
        code,
        agency,
        received,
        status,
        procedure_code,
        procedure_name,
        field_code,
        field_name,
        due,
        finished,
        handed_back,
        record.KenhThucHien or 0,
        record.HinhThuc or 0,
        record.MucDo or 0,
        bool(record.LaLienThong),
        forwarding,
        supplements,
        bool(record.CoPhiLePhi),
        bool(record.DuocThanhToanTrucTuyen),
        bool(record.HoSoCoThanhPhanSoHoa),
        updated,
        cleaned,
    )
