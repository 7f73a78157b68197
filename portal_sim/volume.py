"""Volume agencies: dossier i a pure function of (seed, agency, i), generated only when served."""

from __future__ import annotations

from array import array
from typing import Any

from portal_sim.catalogue import procedures
from portal_sim.rng import MASK64, derive_seed, mix64
from portal_sim.scenario import AgencySpec, Scenario
from portal_sim.windows import IndexWindow
from portal_sim.worktime import CLOCK, DUE_TIME, WORKDAY, Calendar


class VolumeAgency:
    """Dossier i of a volume agency, a pure function of (seed, agency, i), never materialised."""

    def __init__(
        self, scenario: Scenario, spec: AgencySpec, cal: Calendar, now: int, seed: int
    ) -> None:
        assert spec.dossiers is not None
        self.spec = spec
        self.cal = cal
        self.now = now
        self.n = spec.dossiers
        self.vpubnd = scenario.vpubnd_agency
        self.s0 = cal.day_start(spec.months[0].start_date.toordinal())
        last = cal.day_last(spec.months[-1].end_date.toordinal())
        self.width = last - self.s0 + 1
        if self.n > self.width:
            scenario.fail(spec, None, f"{self.n} dossiers are more than one per working second")
        self.k_time = derive_seed(seed, spec.code, "time") & MASK64
        self.k_rec = derive_seed(seed, spec.code, "record") & MASK64
        rates = spec.rates
        self.dmin = int(rates["min_hours"] * 3600)
        self.dspan = max(1, int(rates["max_days"] * WORKDAY) - self.dmin)
        self.dmax = self.dmin + self.dspan

        def t(rate: float) -> int:
            return int(rate * 65536 + 0.5)

        self.t_online = t(rates["online"])
        self.t_postal = t(rates["online"] + rates["postal"])
        self.t_l34 = t(rates["online_l34"])
        self.t_fee = t(rates["fee_bearing"])
        self.t_paid = t(rates["paid_online"])
        self.t_digit = t(rates["digitised"])
        self.t_post_ret = t(rates["postal_return"])
        self.t_inter = t(rates["interagency"])
        self.t_vp = t(rates["vpubnd"])
        self.t_supp = t(rates["supplement"])
        self.t_w = t(rates["withdrawn"])
        self.t_r = t(rates["withdrawn"] + rates["returned"])
        self.t_late = t(rates["withdrawn"] + rates["returned"] + rates["late"])
        self.t_on = t(rates["withdrawn"] + rates["returned"] + rates["late"] + rates["on_time"])
        procs = procedures(spec.catalogue, scenario.province)
        self.fee_procs = [p for p in procs if p.fee] or procs
        self.free_procs = [p for p in procs if not p.fee] or procs
        per_day = -(-self.n * WORKDAY // self.width) + 1
        self.seq_width = max(4, len(str(per_day)))
        self._day_first: dict[int, int] = {}
        self.last_day = len(cal.day_str) - 1

    def r_pos(self, i: int) -> int:
        """Return the working-time position at which dossier i is received."""
        return self.s0 + (i * self.width + mix64(self.k_time ^ i) % self.width) // self.n

    def c_pos(self, i: int) -> int:
        """Return the position at which dossier i closes (open while after `now`)."""
        u = mix64(self.k_rec ^ i) & 0xFFFF
        return self.r_pos(i) + self.dmin + ((u * u * self.dspan) >> 32)

    def first_at(self, pos: int) -> int:
        """The first index received at `pos` or later (n if none)."""
        low, high = 0, self.n
        while low < high:
            mid = (low + high) // 2
            if self.r_pos(mid) >= pos:
                high = mid
            else:
                low = mid + 1
        return low

    def window(self, from_stamp: str, to_stamp: str) -> IndexWindow:
        """Return the window of the dossiers open at some moment of [from, to]."""
        cal = self.cal
        q_from = cal.ceil_pos(from_stamp)
        p_to = cal.floor_pos(to_stamp)
        hi = self.first_at(p_to + 1)
        mid = min(self.first_at(q_from), hi)
        lo = min(self.first_at(min(q_from, self.now + 1) - self.dmax), mid)
        now = self.now
        head = array("I")
        for i in range(lo, mid):
            c = self.c_pos(i)
            if c >= q_from or c > now:
                head.append(i)
        return IndexWindow(self.record, head, mid, hi)

    def record(self, i: int) -> dict[str, Any]:
        """Return dossier i as the portal serves it."""
        cal = self.cal
        day_str = cal.day_str
        hms = CLOCK
        now = self.now
        r = self.r_pos(i)
        h1 = mix64(self.k_rec ^ i)
        u = h1 & 0xFFFF
        c = r + self.dmin + ((u * u * self.dspan) >> 32)
        h2 = mix64(h1)
        h3 = mix64(h2)
        rd = r // WORKDAY
        received = day_str[rd] + hms[r - rd * WORKDAY]
        first = self._day_first.get(rd)
        if first is None:
            first = self._day_first[rd] = self.first_at(rd * WORKDAY)
        code = f"{self.spec.prefix}-{day_str[rd][2:]}-{i - first + 1:0{self.seq_width}d}"

        bits = (h1 >> 32) & 0xFFFF
        channel = 2 if bits < self.t_online else 3 if bits < self.t_postal else 1
        fee = (h2 & 0xFFFF) < self.t_fee
        paid = fee and ((h2 >> 16) & 0xFFFF) < self.t_paid
        procs = self.fee_procs if fee else self.free_procs
        proc = procs[(h3 >> 48) % len(procs)]
        if channel == 2:
            level = max(3, proc.level) if ((h1 >> 48) & 0xFFFF) < self.t_l34 else 2
        else:
            level = proc.level
        inter = (h3 & 0xFFFF) < self.t_inter
        last_event = r
        finished = handed = ""
        if c <= now:
            cd = c // WORKDAY
            closing = day_str[cd] + hms[c - cd * WORKDAY]
            last_event = c
            outcome = (h1 >> 16) & 0xFFFF
            if outcome < self.t_w:
                status, handed, due_day = 7, closing, rd + proc.days
            elif outcome < self.t_r:
                status, finished, handed, due_day = 8, closing, closing, rd + proc.days
            else:
                finished = closing
                if outcome < self.t_late and cd > rd:
                    due_day = max(rd, cd - 1 - ((h3 >> 16) & 3))
                elif outcome < self.t_on or outcome < self.t_late:
                    due_day = cd
                else:
                    due_day = cd + 1 + ((h3 >> 16) & 3)
                if c > now - WORKDAY and (h3 >> 18) & 1:
                    status = 9
                else:
                    status = 10
                    back = min(now, c + ((h3 >> 20) & 0x3FFF))
                    handed = day_str[back // WORKDAY] + hms[back % WORKDAY]
                    last_event = back
        else:
            status = 4 if r <= now - WORKDAY else 2
            due_day = rd + proc.days
        closed = c <= now
        end = c if closed else now
        supplements = []
        if ((h3 >> 32) & 0xFFFF) < self.t_supp and end - r >= 7200:
            asked = r + (end - r) // 3
            answered = r + 2 * (end - r) // 3
            answer = ""
            if status != 8 and (closed or (h3 >> 19) & 1):
                answer = day_str[answered // WORKDAY] + hms[answered % WORKDAY]
                last_event = max(last_event, answered)
            elif not closed:
                status = 5
            supplements.append(
                {
                    "NgayBoSung": day_str[asked // WORKDAY] + hms[asked % WORKDAY],
                    "NgayTiepNhanBoSung": answer,
                }
            )
        link = None
        h4 = mix64(h3) if inter else 0
        if inter and (h4 & 0xFFFF) < self.t_vp:
            sent = r + max(1, (end - r) // 5)
            fin = r + 4 * (end - r) // 5
            link = {
                "MaDonViNhan": self.vpubnd,
                "NgayGui": day_str[sent // WORKDAY] + hms[sent % WORKDAY],
                "NgayHenTra": day_str[min(sent // WORKDAY + 5 + (h4 >> 16) % 5, self.last_day)]
                + DUE_TIME,
                "NgayKetThucXuLy": day_str[fin // WORKDAY] + hms[fin % WORKDAY] if closed else "",
            }
            last_event = max(last_event, fin if closed else sent)
        updated = min(now, last_event + 300)
        return {
            "MaHoSo": code,
            "MaTTHC": proc.code,
            "TenTTHC": proc.name,
            "MaLinhVuc": proc.field_code,
            "TenLinhVuc": proc.field_name,
            "MaDonVi": self.spec.code,
            "NgayTiepNhan": received,
            "NgayHenTra": day_str[min(due_day, self.last_day)] + DUE_TIME,
            "NgayKetThucXuLy": finished,
            "NgayTra": handed,
            "TrangThaiHoSo": status,
            "KenhThucHien": channel,
            "HinhThuc": 1 if ((h2 >> 48) & 0xFFFF) < self.t_post_ret else 0,
            "MucDo": level,
            "LaLienThong": inter,
            "LienThong": link,
            "DanhSachHoSoBoSung": supplements,
            "CoPhiLePhi": fee,
            "DuocThanhToanTrucTuyen": paid,
            "HoSoCoThanhPhanSoHoa": ((h2 >> 32) & 0xFFFF) < self.t_digit,
            "NgayCapNhat": day_str[updated // WORKDAY] + hms[updated % WORKDAY],
        }
