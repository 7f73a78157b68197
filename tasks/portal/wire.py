"""LayDanhSachHoSo pages decoded by msgspec straight into typed records, then validated fast.

Decoding a page into dicts and reading every field back out of them cost more than decoding
itself (docs/portal-api.md, "Dossier record"). `decode_page` decodes a well-typed page in one
pass into `WireDossier` structs: each field already of the type a valid record has (text, a
whole number, a boolean, or null). `dossier_of_wire` then only has to check what the types
cannot say (times, the status's range, the closing rules, clean text) and returns None for
anything unusual, which `wire_as_dict` hands to `parse_dossier`, the one reference reader: a
rejected record is rejected there, with the very same reason.

A page the typed decoder refuses (a record that is not an object, a number sent as text, a
field of another type) is decoded into plain dicts instead, as before: lenient reading and
its messages stay in one place.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from tasks.portal.dossiers import (
    NOT_SET,
    RESULT_BY_POST,
    STATUS_RESOLVED,
    STATUS_WITHDRAWN,
    Dossier,
    InvalidDossier,
    SupplementRequest,
    clean_text,
    forwarding_of,
    is_portal_time,
    supplements_of,
)

__all__ = ["WireDossier", "decode_body", "decode_page", "dossier_of_wire", "wire_as_dict"]


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


_PAGE_DECODER = msgspec.json.Decoder(_WirePage)
_ENVELOPE = ("error_code", "message", "total", "pageIndex", "pageSize", "data")


def decode_page(content: bytes) -> dict[str, Any] | None:
    """Return a LayDanhSachHoSo body as a dict whose `data` holds WireDossier records.

    None when the body is JSON but not of the typed shape (the caller decodes it plainly);
    raise msgspec.DecodeError when it is not JSON at all.
    """
    try:
        page = _PAGE_DECODER.decode(content)
    except msgspec.ValidationError:
        return None
    body: dict[str, Any] = {}
    for name in _ENVELOPE:
        value = getattr(page, name)
        if value is not msgspec.UNSET:
            body[name] = value
    return body


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
    code = record.MaHoSo
    agency = record.MaDonVi
    received = record.NgayTiepNhan
    status = record.TrangThaiHoSo
    if (
        code is None
        or agency is None
        or received is None
        or status is None
        or not 1 <= status <= 10
        or not is_portal_time(received)
    ):
        return None
    code = code.strip()
    agency = agency.strip()
    if not code or not agency:
        return None
    finished = record.NgayKetThucXuLy
    if not finished:
        finished = NOT_SET
    elif not is_portal_time(finished):
        return None
    handed_back = record.NgayTra
    if not handed_back:
        handed_back = NOT_SET
    elif not is_portal_time(handed_back):
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
    elif not is_portal_time(due):
        return None
    updated = record.NgayCapNhat
    if not updated:
        updated = NOT_SET
    elif not is_portal_time(updated):
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
        record.HinhThuc == RESULT_BY_POST,
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
