"""Monthly agencies' records: planned dossiers and stated extras as the portal serves them."""

from __future__ import annotations

from typing import Any

from portal_sim.monthly_plan import AgencyState, Plan
from portal_sim.rng import Rng
from portal_sim.scenario import EXTRA_KEYS
from portal_sim.worktime import OPEN_END, WORKDAY
from tasks.figures.periods import Period


def add_extras(agency: AgencyState, month: Period, start: int, end: int, rng: Rng) -> None:
    """Add the month's extra records (status 1 and 3, malformed ones) the scenario states."""
    counts = agency.spec.extra.get(month.key)
    if not counts:
        return
    agency.extras[month.key] = dict(counts)
    cal = agency.cal
    month_lo = month.start_stamp
    month_hi = month.end_stamp
    for kind in EXTRA_KEYS:
        for _ in range(counts[kind]):
            r = rng.randint(start, end)
            proc = agency.procs[rng.below(len(agency.procs))]
            agency.serial += 1
            received = cal.stamp(r)
            rec: dict[str, Any] = {
                "MaTTHC": proc.code,
                "TenTTHC": proc.name,
                "MaLinhVuc": proc.field_code,
                "TenLinhVuc": proc.field_name,
                "MaDonVi": agency.spec.code,
                "NgayTiepNhan": received,
                "NgayHenTra": "",
                "NgayKetThucXuLy": "",
                "NgayTra": "",
                "TrangThaiHoSo": 1,
                "KenhThucHien": 2,
                "HinhThuc": 0,
                "MucDo": max(3, proc.level),
                "LaLienThong": False,
                "LienThong": None,
                "DanhSachHoSoBoSung": [],
                "CoPhiLePhi": proc.fee,
                "DuocThanhToanTrucTuyen": False,
                "HoSoCoThanhPhanSoHoa": False,
                "NgayCapNhat": received,
            }
            low, high = received, OPEN_END
            if kind == "status_3":
                back = cal.stamp(min(r + 3600, end))
                rec.update(TrangThaiHoSo=3, KenhThucHien=1, NgayTra=back, NgayCapNhat=back)
                high = back
            elif kind == "missing_received":
                rec.update(NgayTiepNhan="", TrangThaiHoSo=4)
                low, high = month_lo, month_hi
            elif kind == "bad_time":
                rec.update(
                    NgayTiepNhan=f"{received[6:8]}/{received[4:6]}/{received[:4]} "
                    f"{received[8:10]}:{received[10:12]}",
                    TrangThaiHoSo=4,
                )
                low, high = month_lo, month_hi
            elif kind == "unknown_status":
                back = cal.stamp(min(r + 2 * 3600, end))
                rec.update(TrangThaiHoSo=12, NgayTra=back, NgayCapNhat=back)
                high = back
            agency.raw_extras.append((r, agency.serial, rec, low, high))


def agency_records(agency: AgencyState, rng: Rng) -> list[tuple[dict[str, Any], str, str]]:
    """Every record with its window bounds (first, last moment served), ordered by MaHoSo."""
    cal = agency.cal
    rows: list[tuple[int, int, dict[str, Any], str, str]] = []
    for d in agency.plans:
        rec = _record(agency, d, rng)
        closed = rec["NgayKetThucXuLy"] or rec["NgayTra"]
        rows.append((d.r, d.serial, rec, rec["NgayTiepNhan"], closed or OPEN_END))
    rows.extend(agency.raw_extras)
    rows.sort(key=lambda row: (row[0], row[1]))
    busiest: dict[int, int] = {}
    for row in rows:
        busiest[row[0] // WORKDAY] = busiest.get(row[0] // WORKDAY, 0) + 1
    width = max(4, len(str(max(busiest.values(), default=0))))
    sequence: dict[int, int] = {}
    out: list[tuple[dict[str, Any], str, str]] = []
    for r, _, rec, low, high in rows:
        day = r // WORKDAY
        sequence[day] = sequence.get(day, 0) + 1
        code = f"{agency.spec.prefix}-{cal.day_str[day][2:]}-{sequence[day]:0{width}d}"
        out.append(({"MaHoSo": code, **rec}, low, high))
    return out


def _record(agency: AgencyState, d: Plan, rng: Rng) -> dict[str, Any]:
    """Return the record of a planned dossier, MaHoSo aside."""
    cal, now = agency.cal, agency.now
    proc = d.proc
    assert proc is not None
    events = [d.r]
    # due date within its bounds, near the procedure's time limit
    planned = cal.workday(cal.ordinal_of(d.r), proc.days)
    due = max(planned, d.due_min)
    if d.due_max is not None:
        due = min(due, d.due_max)
    due = cal.nearest_workday(due, d.due_min, d.due_max)
    finished = handed = ""
    if d.close is not None:
        close_stamp = cal.stamp(d.close)
        events.append(d.close)
        if d.kind == "W":
            status, handed = 7, close_stamp
        elif d.kind == "R":
            status, finished, handed = 8, close_stamp, close_stamp
        else:
            finished = close_stamp
            if d.close > now - 2 * WORKDAY and rng.chance(0.5):
                status = 9
            else:
                status = 10
                back = min(now, d.close + rng.randint(600, WORKDAY))
                handed = cal.stamp(back)
                events.append(back)
    else:
        status = 4
    supplements = []
    pending_supplement = False
    for asked, answered in d.supplements:
        assert asked is not None
        if answered is None and d.close is None and asked < now and rng.chance(0.5):
            answered = rng.randint(asked + 1, now)
        if answered is None and d.close is not None and d.kind != "R":
            answered = rng.randint(asked + 1, max(asked + 1, d.close))
        pending_supplement = answered is None
        events.append(asked)
        if answered is not None:
            events.append(answered)
        supplements.append(
            {
                "NgayBoSung": cal.stamp(asked),
                "NgayTiepNhanBoSung": cal.stamp(answered) if answered is not None else "",
            }
        )
    if d.close is None:
        if pending_supplement:
            status = 5
        elif d.fee and not d.paid and rng.chance(0.15):
            status = 6
        elif d.r > now - WORKDAY:
            status = 2
    link: dict[str, Any] | None = None
    f = d.fwd
    if f is not None:
        f_due = max(f.planned, f.due_min)
        if f.due_max is not None:
            f_due = min(f_due, f.due_max)
        f_due = cal.nearest_workday(f_due, f.due_min, f.due_max)
        link = {
            "MaDonViNhan": f.to,
            "NgayGui": cal.stamp(f.sent),
            "NgayHenTra": cal.due_stamp(f_due),
            "NgayKetThucXuLy": cal.stamp(f.fin) if f.fin is not None else "",
        }
        events.append(f.sent)
        if f.fin is not None:
            events.append(f.fin)
    elif d.partner:
        end = d.close if d.close is not None else now
        sent = d.r + max(1, (end - d.r) // 5)
        fin = d.r + 4 * (end - d.r) // 5 if d.close is not None else None
        link = {
            "MaDonViNhan": d.partner,
            "NgayGui": cal.stamp(sent),
            "NgayHenTra": cal.due_stamp(cal.workday(cal.ordinal_of(sent), 5)),
            "NgayKetThucXuLy": cal.stamp(fin) if fin is not None else "",
        }
    updated = min(now, max(events) + rng.randint(60, 1800))
    return {
        "MaTTHC": proc.code,
        "TenTTHC": proc.name,
        "MaLinhVuc": proc.field_code,
        "TenLinhVuc": proc.field_name,
        "MaDonVi": agency.spec.code,
        "NgayTiepNhan": cal.stamp(d.r),
        "NgayHenTra": cal.due_stamp(due),
        "NgayKetThucXuLy": finished,
        "NgayTra": handed,
        "TrangThaiHoSo": status,
        "KenhThucHien": d.channel,
        "HinhThuc": 1 if d.postal_return else 0,
        "MucDo": d.level,
        "LaLienThong": d.interagency,
        "LienThong": link,
        "DanhSachHoSoBoSung": supplements,
        "CoPhiLePhi": d.fee,
        "DuocThanhToanTrucTuyen": d.paid,
        "HoSoCoThanhPhanSoHoa": d.digitised,
        "NgayCapNhat": cal.stamp(max(updated, d.r)),
    }
