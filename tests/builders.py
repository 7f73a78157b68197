"""Terse builders of dossier test data: raw portal records, Dossier values and the seed's month.

Times may be written readably ("2024-05-31 23:59:59", "2024-05-31 23:59", "2024-05-31");
every builder turns them into the portal's `yyyyMMddHHmmss` strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from tasks.figures.engine import FIGURE_KEYS
from tasks.figures.periods import Period
from tasks.portal.dossiers import (
    CHANNEL_ONLINE,
    STATUS_IN_PROGRESS,
    STATUS_RESULT_RETURNED,
    STATUS_WITHDRAWN,
    Dossier,
    Forwarding,
    SupplementRequest,
)

AGENCY = "000.00.15.H99"  # Sở Khoa học và Công nghệ
VPUBND = "000.00.01.H99"  # Văn phòng UBND tỉnh, the configured office code in tests
OTHER_AGENCY = "000.00.20.H99"

FIELD_NAMES = {
    "LV01": "Hoạt động khoa học và công nghệ",
    "LV02": "Tiêu chuẩn, đo lường, chất lượng",
    "LV03": "Sở hữu trí tuệ",
}

SEED_PERIOD = Period.month(2024, 5)

# The figures the seed report states for Sở Khoa học và Công nghệ, 05/2024 (kpi-rules.md, "The
# seed, figure by figure"), every figure sent to the VP UBND tỉnh among them (all 0).
SEED_STATED_FIGURES: dict[str, int] = {
    "carried_over": 3,
    "received_new": 60,
    "received_total": 63,
    "resolved": 54,
    "resolved_early": 49,
    "resolved_on_time": 5,
    "resolved_late": 0,
    "in_progress": 5,
    "in_progress_not_due": 5,
    "in_progress_overdue": 0,
    "supplement_requested": 0,
    "returned": 0,
    "withdrawn": 4,
    "interagency_new": 0,
    "online_l34": 60,
    "postal_return": 40,
    **{key: 0 for key in FIGURE_KEYS if key.startswith("vpubnd_")},
}
SEED_PREVIOUS_PERIOD = Period.month(2024, 4)

_FORMAT = "%Y%m%d%H%M%S"


def stamp(text: str) -> str:
    """Return the portal time of "2024-05-31 23:59:59", "2024-05-31 23:59" or "2024-05-31".

    A 14-digit portal time and "" (not set) come back unchanged.
    """
    if text == "" or (len(text) == 14 and text.isdigit()):
        return text
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) not in (8, 12, 14):
        raise ValueError(f"cannot read {text!r} as a time (use 'YYYY-MM-DD[ HH:MM[:SS]]')")
    return digits.ljust(14, "0")


def shift(text: str, *, days: int = 0, seconds: int = 0) -> str:
    """Return the portal time `days` and `seconds` after `text`."""
    moment = datetime.strptime(stamp(text), _FORMAT) + timedelta(days=days, seconds=seconds)
    return moment.strftime(_FORMAT)


def forwarded(sent: str, *, due: str = "", finished: str = "", to: str = VPUBND) -> Forwarding:
    """Return a LienThong to `to` (the provincial office by default)."""
    return Forwarding(to_agency=to, sent=stamp(sent), due=stamp(due), finished=stamp(finished))


def dossier(
    code: str = "HS-0001",
    received: str = "2024-05-10 08:00",
    status: int = STATUS_IN_PROGRESS,
    *,
    due: str | None = None,
    finished: str = "",
    handed_back: str = "",
    updated: str = "",
    supplements: Iterable[str | SupplementRequest] = (),
    **fields: Any,
) -> Dossier:
    """Return a Dossier of AGENCY received online (MucDo 4) in field LV01.

    `due` defaults to ten days after `received` ("" means no NgayHenTra); `supplements`
    takes NgayBoSung times or SupplementRequest values; `fields` sets any other Dossier field.
    """
    received_at = stamp(received)
    values: dict[str, Any] = {
        "agency": AGENCY,
        "field_code": "LV01",
        "channel": CHANNEL_ONLINE,
        "online_level": 4,
        **fields,
    }
    values.setdefault("field_name", FIELD_NAMES.get(values["field_code"], ""))
    return Dossier(
        code=code,
        received=received_at,
        status=status,
        due=shift(received_at, days=10) if due is None else stamp(due),
        finished=stamp(finished),
        handed_back=stamp(handed_back),
        updated=stamp(updated),
        supplements=tuple(
            s if isinstance(s, SupplementRequest) else SupplementRequest(stamp(s), "")
            for s in supplements
        ),
        **values,
    )


def raw_dossier(
    code: str | None = "HS-0001", *, without: Iterable[str] = (), **fields: Any
) -> dict[str, Any]:
    """Return a valid LayDanhSachHoSo record (an open online dossier of AGENCY).

    `fields` override portal keys as given (no time conversion, so malformed values pass
    through); `without` removes keys. `code=None` leaves MaHoSo out.
    """
    record: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.004469",
        "TenTTHC": "Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
        "MaLinhVuc": "LV01",
        "TenLinhVuc": FIELD_NAMES["LV01"],
        "MaDonVi": AGENCY,
        "NgayTiepNhan": "20240510080000",
        "NgayHenTra": "20240520170000",
        "NgayKetThucXuLy": "",
        "NgayTra": "",
        "TrangThaiHoSo": STATUS_IN_PROGRESS,
        "KenhThucHien": CHANNEL_ONLINE,
        "HinhThuc": 0,
        "MucDo": 4,
        "LaLienThong": False,
        "LienThong": None,
        "DanhSachHoSoBoSung": [],
        "CoPhiLePhi": False,
        "DuocThanhToanTrucTuyen": False,
        "HoSoCoThanhPhanSoHoa": False,
        "NgayCapNhat": "20240510080000",
    }
    if code is None:
        del record["MaHoSo"]
    record.update(fields)
    for key in without:
        record.pop(key, None)
    return record


def raw_from_dossier(value: Dossier) -> dict[str, Any]:
    """Return the portal record that parse_dossier reads back as `value`."""
    link = value.forwarding
    return {
        "MaHoSo": value.code,
        "MaTTHC": value.procedure_code,
        "TenTTHC": value.procedure_name,
        "MaLinhVuc": value.field_code,
        "TenLinhVuc": value.field_name,
        "MaDonVi": value.agency,
        "NgayTiepNhan": value.received,
        "NgayHenTra": value.due,
        "NgayKetThucXuLy": value.finished,
        "NgayTra": value.handed_back,
        "TrangThaiHoSo": value.status,
        "KenhThucHien": value.channel,
        "HinhThuc": value.result_form,
        "MucDo": value.online_level,
        "LaLienThong": value.interagency,
        "LienThong": None
        if link is None
        else {
            "MaDonViNhan": link.to_agency,
            "NgayGui": link.sent,
            "NgayHenTra": link.due,
            "NgayKetThucXuLy": link.finished,
        },
        "DanhSachHoSoBoSung": [
            {"NgayBoSung": s.requested, "NgayTiepNhanBoSung": s.received} for s in value.supplements
        ],
        "CoPhiLePhi": value.fee_bearing,
        "DuocThanhToanTrucTuyen": value.paid_online,
        "HoSoCoThanhPhanSoHoa": value.digitised,
        "NgayCapNhat": value.updated,
    }


def _seed_carried_over() -> list[Dossier]:
    """The three dossiers received in April 2024 and resolved early in May."""
    return [
        dossier(
            f"H99.15-2404-{n:04d}",
            f"2024-04-{24 + n} 09:00",
            STATUS_RESULT_RETURNED,
            due=f"2024-05-{6 + n:02d} 17:00",
            finished=f"2024-05-0{n} 10:00",
            field_code="LV01",
            online_level=4,
        )
        for n in (1, 2, 3)
    ]


def seed_may_2024() -> list[Dossier]:
    """Return dossiers that reproduce the seed report (Sở KH&CN, 05/2024) figure by figure.

    63 received (3 carried over + 60 new, all online at MucDo 3/4), 54 resolved (49 early,
    5 on time), 5 in progress and not yet due, 4 withdrawn; 40 of the 60 return by post.
    """
    new: list[Dossier] = []

    def add(received: str, status: int, **kwargs: Any) -> None:
        n = len(new) + 1
        new.append(
            dossier(
                f"H99.15-2405-{n:04d}",
                received,
                status,
                field_code="LV01" if n % 3 else "LV02",
                online_level=3 if n % 2 else 4,
                result_form=1 if n <= 40 else 0,
                **kwargs,
            )
        )

    for n in range(46):  # resolved early: two days after reception, due after ten
        received = f"2024-05-{1 + n % 25:02d} {8 + n % 9:02d}:15"
        add(received, STATUS_RESULT_RETURNED, finished=shift(received, days=2))
    for n in range(5):  # resolved on the due date, later in the day than the due time
        day = f"2024-05-{20 + n}"
        add(
            f"2024-05-{6 + n:02d} 09:00",
            STATUS_RESULT_RETURNED,
            due=f"{day} 08:00",
            finished=f"{day} 16:30",
        )
    for n in range(5):  # still in progress, due in June
        add(f"2024-05-{27 + n} 10:00", STATUS_IN_PROGRESS)
    for n in range(4):  # withdrawn by the applicant
        add(
            f"2024-05-{3 + n:02d} 14:00", STATUS_WITHDRAWN, handed_back=f"2024-05-{8 + n:02d} 09:30"
        )
    return _seed_carried_over() + new


def seed_april_2024() -> list[Dossier]:
    """Return April 2024's dossiers: 25 received, 7 returned by post (postal_rate 28%).

    The three still open at the end of April are the ones seed_may_2024() carries over.
    """
    resolved = [
        dossier(
            f"H99.15-2404-{n:04d}",
            f"2024-04-{n - 2:02d} 08:30",
            STATUS_RESULT_RETURNED,
            finished=f"2024-04-{n + 1:02d} 15:00",
            result_form=1 if n <= 10 else 0,
        )
        for n in range(4, 26)
    ]
    return _seed_carried_over() + resolved
