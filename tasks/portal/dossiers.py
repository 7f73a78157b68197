"""The dossier record (hồ sơ) as the portal serves it, validated into a typed value.

Times stay as the portal's fixed-format strings `yyyyMMddHHmmss` ("" when not set):
strings of one fixed format compare in time order, so the figures engine never has to
build datetime objects.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

NOT_SET = ""

STATUS_NEWLY_SUBMITTED = 1
STATUS_ACCEPTED = 2
STATUS_NOT_ACCEPTED = 3
STATUS_IN_PROGRESS = 4
STATUS_SUPPLEMENT_REQUESTED = 5
STATUS_FINANCIAL_OBLIGATION = 6
STATUS_WITHDRAWN = 7
STATUS_RETURNED = 8
STATUS_RESOLVED = 9
STATUS_RESULT_RETURNED = 10

CHANNEL_DIRECT = 1
CHANNEL_ONLINE = 2
CHANNEL_POSTAL = 3

RESULT_BY_POST = 1


# The structs carry the portal's names (rename=): LayDanhSachHoSo pages are decoded straight
# into them (tasks/portal/wire.py), the English names staying the ones the code reads.
class Forwarding(
    msgspec.Struct,
    frozen=True,
    gc=False,
    rename={
        "to_agency": "MaDonViNhan",
        "sent": "NgayGui",
        "due": "NgayHenTra",
        "finished": "NgayKetThucXuLy",
    },
):
    """LienThong: the dossier was forwarded to another agency for a decision."""

    to_agency: str = ""
    sent: str = NOT_SET
    due: str = NOT_SET
    finished: str = NOT_SET


class SupplementRequest(
    msgspec.Struct,
    frozen=True,
    gc=False,
    rename={"requested": "NgayBoSung", "received": "NgayTiepNhanBoSung"},
):
    """One entry of DanhSachHoSoBoSung."""

    requested: str = NOT_SET
    received: str = NOT_SET


# Each field of Dossier and the portal's name for it (docs/portal-api.md).
WIRE_NAMES = {
    "code": "MaHoSo",
    "agency": "MaDonVi",
    "received": "NgayTiepNhan",
    "status": "TrangThaiHoSo",
    "procedure_code": "MaTTHC",
    "procedure_name": "TenTTHC",
    "field_code": "MaLinhVuc",
    "field_name": "TenLinhVuc",
    "due": "NgayHenTra",
    "finished": "NgayKetThucXuLy",
    "handed_back": "NgayTra",
    "channel": "KenhThucHien",
    "result_form": "HinhThuc",
    "online_level": "MucDo",
    "interagency": "LaLienThong",
    "forwarding": "LienThong",
    "supplements": "DanhSachHoSoBoSung",
    "fee_bearing": "CoPhiLePhi",
    "paid_online": "DuocThanhToanTrucTuyen",
    "digitised": "HoSoCoThanhPhanSoHoa",
    "updated": "NgayCapNhat",
}


# A msgspec Struct, not a dataclass: a frozen dataclass sets each field through
# object.__setattr__, which cost more than decoding the record; a Struct is built in C.
class Dossier(msgspec.Struct, frozen=True, gc=False, rename=WIRE_NAMES):
    """One validated dossier record (field names follow docs/portal-api.md in English)."""

    code: str  # MaHoSo
    agency: str  # MaDonVi
    received: str  # NgayTiepNhan
    status: int  # TrangThaiHoSo
    procedure_code: str = ""  # MaTTHC
    procedure_name: str = ""  # TenTTHC
    field_code: str = ""  # MaLinhVuc
    field_name: str = ""  # TenLinhVuc
    due: str = NOT_SET  # NgayHenTra
    finished: str = NOT_SET  # NgayKetThucXuLy
    handed_back: str = NOT_SET  # NgayTra
    channel: int = 0  # KenhThucHien
    # HinhThuc as served (RESULT_BY_POST: the result goes back by post), kept whole so that a
    # page decodes straight into Dossier values.
    result_form: int = 0  # HinhThuc
    online_level: int = 0  # MucDo
    interagency: bool = False  # LaLienThong
    forwarding: Forwarding | None = None  # LienThong
    supplements: tuple[SupplementRequest, ...] = ()  # DanhSachHoSoBoSung
    fee_bearing: bool = False  # CoPhiLePhi
    paid_online: bool = False  # DuocThanhToanTrucTuyen
    digitised: bool = False  # HoSoCoThanhPhanSoHoa
    updated: str = NOT_SET  # NgayCapNhat
    # How many of its texts held code points XML cannot carry or were not NFC (see clean_text).
    # Never on the wire: a page that sends it is read by the reference reader.
    text_cleaned: int = 0

    @property
    def result_by_post(self) -> bool:
        """Tell whether the result goes back by post (HinhThuc 1)."""
        return self.result_form == RESULT_BY_POST


# Every field's value, positionally in the order of the class's fields.
new_dossier = Dossier


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that failed validation: set aside, counted and named, never silently dropped."""

    code: str  # MaHoSo as served, "" when missing
    reason: str


class InvalidDossier(ValueError):
    """A record that cannot be read as a dossier; `code` is its MaHoSo ("" if it has none)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"dossier {code or '<no MaHoSo>'}: {reason}")
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their message alone; a Dask worker sends this one back whole.
        return (type(self), (self.code, self.reason))


# Code points an XML 1.0 document cannot hold (the .docx and .xlsx are XML): C0 controls but
# tab and line breaks, surrogates (a lone one is what a broken UTF-16 source leaves), U+FFFE/F.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Names (TenTTHC, TenLinhVuc) repeat across records: a Vietnamese one is checked once.
@functools.lru_cache(maxsize=4096)
def clean_text(value: str) -> tuple[str, bool]:
    """Return `value` in NFC without XML-illegal code points, and whether anything changed."""
    if value.isascii() and value.isprintable():
        return value, False  # the common case, checked in C
    cleaned = _XML_ILLEGAL.sub("", value)
    if not unicodedata.is_normalized("NFC", cleaned):
        cleaned = unicodedata.normalize("NFC", cleaned)
    return cleaned, cleaned != value


_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# A time is checked by looking up its parts in small sets of every valid value (about 1 MB in
# all) instead of converting five numbers: it runs for every time of every record read.
# Years 1900-2999: a year 0000 (a default of some databases) or 9999 is no dossier's time.
# Built by joining two-digit strings: formatting the 12,000 values took 20 ms of every start.
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_YEARS = frozenset(f"{year:04d}" for year in range(1900, 3000))
_HOURS = frozenset(_TWO_DIGITS[:24])
_MONTH_DAY_HOURS = frozenset(
    [
        _TWO_DIGITS[month] + _TWO_DIGITS[day] + hour
        for month in range(1, 13)
        for day in range(1, _DAYS_IN_MONTH[month] + 1)
        if (month, day) != (2, 29)  # 29 February exists in leap years only: checked apart
        for hour in _HOURS
    ]
)
MINUTE_SECONDS = frozenset([minute + second for minute in _TWO_DIGITS for second in _TWO_DIGITS])


# The hours (yyyyMMddHH) already found valid: the times of one fetch share a few thousand,
# and one lookup of them replaces two. Bounded: emptied when full.
VALID_HOURS: set[str] = set()
VALID_HOURS_LIMIT = 100_000


def is_portal_time(value: str) -> bool:
    """Tell whether `value` is a well-formed `yyyyMMddHHmmss` time (a cheap check, no datetime)."""
    if len(value) != 14 or value[10:] not in MINUTE_SECONDS:
        return False
    hour = value[:10]
    if hour in VALID_HOURS:
        return True
    if value[:4] not in _YEARS:
        return False
    if not (
        value[4:10] in _MONTH_DAY_HOURS
        or (value[4:8] == "0229" and value[8:10] in _HOURS and calendar.isleap(int(value[:4])))
    ):
        return False
    if len(VALID_HOURS) >= VALID_HOURS_LIMIT:
        VALID_HOURS.clear()
    VALID_HOURS.add(hour)
    return True


def _time(
    raw: Mapping[str, Any], key: str, code: str, *, required: bool = False, within: str = ""
) -> str:
    value = raw.get(key)
    name = f"{within}.{key}" if within else key
    if value is None or value == "":
        if required:
            raise InvalidDossier(code, f"{name} is missing")
        return NOT_SET
    if not isinstance(value, str) or not is_portal_time(value):
        raise InvalidDossier(code, f"{name} {value!r} is not a time yyyyMMddHHmmss")
    return value


def _int(raw: Mapping[str, Any], key: str, code: str, default: int = 0) -> int:
    value = raw.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidDossier(code, f"{key} {value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise InvalidDossier(code, f"{key} {value!r} is not a number")


def _bool(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def forwarding_of(link: Any, code: str) -> tuple[Forwarding, bool]:
    """Read a set LienThong of record `code`; return it and whether its text was cleaned."""
    if not isinstance(link, Mapping):
        raise InvalidDossier(code, "LienThong is not an object")
    to_agency, changed = clean_text(_text(link, "MaDonViNhan").strip())
    forwarding = Forwarding(
        to_agency=to_agency,
        sent=_time(link, "NgayGui", code, within="LienThong"),
        due=_time(link, "NgayHenTra", code, within="LienThong"),
        finished=_time(link, "NgayKetThucXuLy", code, within="LienThong"),
    )
    return forwarding, changed


def supplements_of(entries: Any, code: str) -> tuple[SupplementRequest, ...]:
    """Read a set DanhSachHoSoBoSung of record `code`."""
    if not isinstance(entries, list):
        raise InvalidDossier(code, "DanhSachHoSoBoSung is not a list")
    requests = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InvalidDossier(code, "an entry of DanhSachHoSoBoSung is not an object")
        requests.append(
            SupplementRequest(
                requested=_time(entry, "NgayBoSung", code, within="DanhSachHoSoBoSung"),
                received=_time(entry, "NgayTiepNhanBoSung", code, within="DanhSachHoSoBoSung"),
            )
        )
    return tuple(requests)


def parse_dossier(raw: Any) -> Dossier:
    """Validate one record of `LayDanhSachHoSo`; raise InvalidDossier naming the record and why."""
    # The hot path of every fetch: each field is read once and a well-formed value is kept
    # as is; only an unusual one goes through its helper (_time, _int, _bool, _text), which
    # reads it leniently or raises naming the field. The checks run in the order of the
    # fields' descriptions so that a record with several faults always names the same one.
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise InvalidDossier("", f"record is a {type(raw).__name__}, not an object")
    get = raw.get
    cleaned = 0
    code_value = get("MaHoSo")
    code = code_value.strip() if isinstance(code_value, str) else ""
    if code and not (code.isascii() and code.isprintable()):
        code, changed = clean_text(code)
        cleaned += changed
    if not code:
        raise InvalidDossier("", "MaHoSo is missing")
    agency = get("MaDonVi")
    agency = (agency if type(agency) is str else _text(raw, "MaDonVi")).strip()
    if not (agency.isascii() and agency.isprintable()):
        agency, changed = clean_text(agency)
        cleaned += changed
    if not agency:
        raise InvalidDossier(code, "MaDonVi is missing")
    received = get("NgayTiepNhan")
    if type(received) is not str or not is_portal_time(received):
        received = _time(raw, "NgayTiepNhan", code, required=True)
    status = get("TrangThaiHoSo")
    if type(status) is not int:
        status = _int(raw, "TrangThaiHoSo", code, default=-1)
    if not 1 <= status <= 10:
        raise InvalidDossier(code, f"TrangThaiHoSo {get('TrangThaiHoSo')!r} is not a status 1..10")
    finished = get("NgayKetThucXuLy")
    if finished is None or finished == "":
        finished = NOT_SET
    elif type(finished) is not str or not is_portal_time(finished):
        finished = _time(raw, "NgayKetThucXuLy", code)
    handed_back = get("NgayTra")
    if handed_back is None or handed_back == "":
        handed_back = NOT_SET
    elif type(handed_back) is not str or not is_portal_time(handed_back):
        handed_back = _time(raw, "NgayTra", code)
    if status in (STATUS_RESOLVED, STATUS_RESULT_RETURNED) and not finished:
        raise InvalidDossier(code, f"TrangThaiHoSo {status} (resolved) has no NgayKetThucXuLy")
    if status in (STATUS_WITHDRAWN, STATUS_RETURNED) and not (handed_back or finished):
        raise InvalidDossier(
            code, f"TrangThaiHoSo {status} has neither NgayTra nor NgayKetThucXuLy"
        )

    forwarding = None
    link = get("LienThong")
    if link:
        forwarding, changed = forwarding_of(link, code)
        cleaned += changed

    supplements: tuple[SupplementRequest, ...] = ()
    supplements_raw = get("DanhSachHoSoBoSung")
    if supplements_raw:
        supplements = supplements_of(supplements_raw, code)

    procedure_code = get("MaTTHC")
    if type(procedure_code) is not str:
        procedure_code = _text(raw, "MaTTHC")
    procedure_name = get("TenTTHC")
    if type(procedure_name) is not str:
        procedure_name = _text(raw, "TenTTHC")
    field_code = get("MaLinhVuc")
    if type(field_code) is not str:
        field_code = _text(raw, "MaLinhVuc")
    field_name = get("TenLinhVuc")
    if type(field_name) is not str:
        field_name = _text(raw, "TenLinhVuc")
    texts = [procedure_code, procedure_name, field_code, field_name]
    for position, text in enumerate(texts):
        if not (text.isascii() and text.isprintable()):
            texts[position], changed = clean_text(text)
            cleaned += changed
    procedure_code, procedure_name, field_code, field_name = texts
    due = get("NgayHenTra")
    if due is None or due == "":
        due = NOT_SET
    elif type(due) is not str or not is_portal_time(due):
        due = _time(raw, "NgayHenTra", code)
    channel = get("KenhThucHien")
    if type(channel) is not int:
        channel = _int(raw, "KenhThucHien", code)
    by_post = get("HinhThuc")
    if type(by_post) is not int:
        by_post = _int(raw, "HinhThuc", code)
    online_level = get("MucDo")
    if type(online_level) is not int:
        online_level = _int(raw, "MucDo", code)
    interagency = get("LaLienThong")
    if interagency is not True and interagency is not False:
        interagency = _bool(raw, "LaLienThong")
    fee_bearing = get("CoPhiLePhi")
    if fee_bearing is not True and fee_bearing is not False:
        fee_bearing = _bool(raw, "CoPhiLePhi")
    paid_online = get("DuocThanhToanTrucTuyen")
    if paid_online is not True and paid_online is not False:
        paid_online = _bool(raw, "DuocThanhToanTrucTuyen")
    digitised = get("HoSoCoThanhPhanSoHoa")
    if digitised is not True and digitised is not False:
        digitised = _bool(raw, "HoSoCoThanhPhanSoHoa")
    updated = get("NgayCapNhat")
    if updated is None or updated == "":
        updated = NOT_SET
    elif type(updated) is not str or not is_portal_time(updated):
        updated = _time(raw, "NgayCapNhat", code)

    return new_dossier(
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
        channel,
        by_post,
        online_level,
        interagency,
        forwarding,
        supplements,
        fee_bearing,
        paid_online,
        digitised,
        updated,
        cleaned,
    )
