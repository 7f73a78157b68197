"""The dossier record (hồ sơ) as the portal serves it, validated into a typed value.

Times stay as the portal's fixed-format strings `yyyyMMddHHmmss` ("" when not set):
strings of one fixed format compare in time order, so the figures engine never has to
build datetime objects.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Forwarding:
    """LienThong: the dossier was forwarded to another agency for a decision."""

    to_agency: str
    sent: str
    due: str
    finished: str


@dataclass(frozen=True, slots=True)
class SupplementRequest:
    """One entry of DanhSachHoSoBoSung."""

    requested: str
    received: str


@dataclass(frozen=True, slots=True)
class Dossier:
    """One validated dossier record (field names follow portal-api.md in English)."""

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
    result_by_post: bool = False  # HinhThuc == 1
    online_level: int = 0  # MucDo
    interagency: bool = False  # LaLienThong
    forwarding: Forwarding | None = None  # LienThong
    supplements: tuple[SupplementRequest, ...] = ()  # DanhSachHoSoBoSung
    fee_bearing: bool = False  # CoPhiLePhi
    paid_online: bool = False  # DuocThanhToanTrucTuyen
    digitised: bool = False  # HoSoCoThanhPhanSoHoa
    updated: str = NOT_SET  # NgayCapNhat


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


_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_portal_time(value: str) -> bool:
    """Tell whether `value` is a well-formed `yyyyMMddHHmmss` time (a cheap check, no datetime)."""
    if len(value) != 14 or not value.isdigit():
        return False
    month = int(value[4:6])
    day = int(value[6:8])
    if month == 2 and day == 29 and not calendar.isleap(int(value[:4])):
        return False
    return (
        1 <= month <= 12
        and 1 <= day <= _DAYS_IN_MONTH[month]
        and int(value[8:10]) < 24
        and int(value[10:12]) < 60
        and int(value[12:14]) < 60
    )


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


def parse_dossier(raw: Any) -> Dossier:
    """Validate one record of `LayDanhSachHoSo`; raise InvalidDossier naming the record and why."""
    if not isinstance(raw, Mapping):
        raise InvalidDossier("", f"record is a {type(raw).__name__}, not an object")
    code_value = raw.get("MaHoSo")
    code = code_value.strip() if isinstance(code_value, str) else ""
    if not code:
        raise InvalidDossier("", "MaHoSo is missing")
    agency = _text(raw, "MaDonVi").strip()
    if not agency:
        raise InvalidDossier(code, "MaDonVi is missing")
    received = _time(raw, "NgayTiepNhan", code, required=True)
    status = _int(raw, "TrangThaiHoSo", code, default=-1)
    if not 1 <= status <= 10:
        raise InvalidDossier(
            code, f"TrangThaiHoSo {raw.get('TrangThaiHoSo')!r} is not a status 1..10"
        )
    finished = _time(raw, "NgayKetThucXuLy", code)
    handed_back = _time(raw, "NgayTra", code)
    if status in (STATUS_RESOLVED, STATUS_RESULT_RETURNED) and not finished:
        raise InvalidDossier(code, f"TrangThaiHoSo {status} (resolved) has no NgayKetThucXuLy")
    if status in (STATUS_WITHDRAWN, STATUS_RETURNED) and not (handed_back or finished):
        raise InvalidDossier(
            code, f"TrangThaiHoSo {status} has neither NgayTra nor NgayKetThucXuLy"
        )

    forwarding = None
    link = raw.get("LienThong")
    if link:
        if not isinstance(link, Mapping):
            raise InvalidDossier(code, "LienThong is not an object")
        forwarding = Forwarding(
            to_agency=_text(link, "MaDonViNhan").strip(),
            sent=_time(link, "NgayGui", code, within="LienThong"),
            due=_time(link, "NgayHenTra", code, within="LienThong"),
            finished=_time(link, "NgayKetThucXuLy", code, within="LienThong"),
        )

    supplements_raw = raw.get("DanhSachHoSoBoSung") or []
    if not isinstance(supplements_raw, list):
        raise InvalidDossier(code, "DanhSachHoSoBoSung is not a list")
    supplements = []
    for entry in supplements_raw:
        if not isinstance(entry, Mapping):
            raise InvalidDossier(code, "an entry of DanhSachHoSoBoSung is not an object")
        supplements.append(
            SupplementRequest(
                requested=_time(entry, "NgayBoSung", code, within="DanhSachHoSoBoSung"),
                received=_time(entry, "NgayTiepNhanBoSung", code, within="DanhSachHoSoBoSung"),
            )
        )

    return Dossier(
        code=code,
        agency=agency,
        received=received,
        status=status,
        procedure_code=_text(raw, "MaTTHC"),
        procedure_name=_text(raw, "TenTTHC"),
        field_code=_text(raw, "MaLinhVuc"),
        field_name=_text(raw, "TenLinhVuc"),
        due=_time(raw, "NgayHenTra", code),
        finished=finished,
        handed_back=handed_back,
        channel=_int(raw, "KenhThucHien", code),
        result_by_post=_int(raw, "HinhThuc", code) == RESULT_BY_POST,
        online_level=_int(raw, "MucDo", code),
        interagency=_bool(raw, "LaLienThong"),
        forwarding=forwarding,
        supplements=tuple(supplements),
        fee_bearing=_bool(raw, "CoPhiLePhi"),
        paid_online=_bool(raw, "DuocThanhToanTrucTuyen"),
        digitised=_bool(raw, "HoSoCoThanhPhanSoHoa"),
        updated=_time(raw, "NgayCapNhat", code),
    )
