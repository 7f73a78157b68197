"""Monthly agencies: plan dossiers month by month so that their records give the stated figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from portal_sim.catalogue import Procedure, procedures
from portal_sim.month_figures import resolve_month
from portal_sim.monthly_plan import Forwarding, Plan
from portal_sim.monthly_records import add_extras, agency_records
from portal_sim.rng import Rng, derive_seed
from portal_sim.scenario import AgencySpec, Scenario
from portal_sim.worktime import WORKDAY, Calendar
from tasks.figures.periods import Period

_ROLE_NAMES = {
    "E": "resolved early",
    "O": "resolved on time",
    "L": "resolved late",
    "W": "withdrawn",
    "R": "returned",
    "N": "in progress, not due",
    "V": "in progress, overdue",
}


class MonthlyAgency:
    """Generates the records of one monthly agency, month after month."""

    def __init__(self, scenario: Scenario, spec: AgencySpec, cal: Calendar, now: int, seed: int):
        self.scenario = scenario
        self.spec = spec
        self.cal = cal
        self.now = now
        self.seed = seed
        self.procs = procedures(spec.catalogue, scenario.province)
        self.plans: list[Plan] = []
        self.open: list[Plan] = []
        self.raw_extras: list[tuple[int, int, dict[str, Any], str, str]] = []
        self.figures: dict[str, dict[str, int]] = {}
        self.extras: dict[str, dict[str, int]] = {}
        self.serial = 0

    # -- helpers
    def fail(self, month: str | None, message: str) -> NoReturn:
        """Raise ScenarioError naming the agency and the month."""
        self.scenario.fail(self.spec, month, message)

    def plan(self, r: int) -> Plan:
        """Plan a new dossier received at position r."""
        self.serial += 1
        return Plan(serial=self.serial, r=r, due_min=self.cal.ordinal_of(r))

    def pick_proc(self, rng: Rng, fee: bool, level_class: str) -> Procedure:
        """Pick a procedure with the fee and, as far as the catalogue allows, the level."""

        def fits(p: Procedure) -> bool:
            if level_class == "l34":
                return p.level >= 3
            if level_class == "l2":
                return p.level == 2
            return True

        for candidates in (
            [p for p in self.procs if p.fee == fee and fits(p)],
            [p for p in self.procs if p.fee == fee],
            self.procs,
        ):
            if candidates:
                return candidates[rng.below(len(candidates))]
        raise AssertionError("a catalogue has procedures")

    # -- the whole run
    def generate(self) -> None:
        """Plan every month of the agency, from the dossiers carried over into the first."""
        spec = self.spec
        first = spec.months[0]
        initial = spec.carried_over
        if initial is None:
            initial = spec.stated[first.key].get("carried_over", 0)
        if spec.carried_over_overdue > initial:
            self.fail(
                first.key,
                f"carried_over_overdue {spec.carried_over_overdue} is more "
                f"than carried_over {initial}",
            )
        self.prehistory(first, initial, spec.carried_over_overdue)
        for month in spec.months:
            self.month(month)

    def prehistory(self, first: Period, count: int, overdue: int) -> None:
        """Plan the dossiers in progress before the first month (`overdue` of them overdue)."""
        if not count:
            return
        rng = Rng(derive_seed(self.seed, self.spec.code, "before", first.key))
        cal = self.cal
        first_ord = first.start_date.toordinal()
        end = cal.day_start(first_ord) - 1
        start = max(0, end - 10 * WORKDAY)
        for k in range(count):
            d = self.plan(start + ((k * (end - start + 1)) + rng.below(end - start + 1)) // count)
            d.channel = 2
            d.proc = self.pick_proc(rng, rng.chance(self.spec.rates["fee_bearing"]), "l34")
            d.fee = d.proc.fee
            d.level = max(3, d.proc.level)
            d.digitised = rng.chance(self.spec.rates["digitised"])
            if k < overdue:
                d.due_max = first_ord - 1
            else:
                d.due_min = first_ord
            self.plans.append(d)
            self.open.append(d)

    def month(self, month: Period) -> None:
        """Plan one month: its figures, new dossiers, forwardings and outcomes."""
        spec, cal = self.spec, self.cal
        key = month.key
        rng = Rng(derive_seed(self.seed, spec.code, key))
        s_ord, e_ord = month.start_date.toordinal(), month.end_date.toordinal()
        start, end = cal.day_start(s_ord), cal.day_last(e_ord)

        def fail(message: str) -> NoReturn:
            """Raise ScenarioError naming the agency and the month."""
            self.fail(key, message)

        pool = self.open
        pending = [d.fwd for d in pool if d.fwd is not None and d.fwd.fin is None]
        fig = resolve_month(
            spec.stated[key],
            spec.rates,
            len(pool),
            sum(1 for d in pool if d.due_max is not None),
            len(pending),
            sum(1 for f in pending if f.due_max is not None),
            fail,
        )
        self.figures[key] = fig

        # new dossiers, received on working days in order
        count = fig["received_new"]
        span = end - start + 1
        new = [self.plan(start + (i * span + rng.below(span)) // count) for i in range(count)]
        for d in new:
            d.new = True
        self.attributes(new, fig, end, rng)

        # forwardings to VP UBND: the month's new ones go with new inter-agency dossiers
        fresh = [d.fwd for d in new if d.fwd is not None]
        self.forwarding_roles(pending, fresh, fig, rng, fail)
        for f in (*pending, *fresh):
            if f.role in ("N", "V"):
                f.host.must_ip = True
            else:
                f.host.host_fin = True
        self.forwarding_times(pending, fresh, start, end, rng, fail)

        members = [*pool, *new]
        self.roles(members, fig, rng, fail)
        self.closing_times(members, start, end, rng, fail)
        self.supplements(members, fig["supplement_requested"], start, end, rng, fail)

        # the month's end: what stays open carries over
        still_open: list[Plan] = []
        for d in members:
            if d.role == "N":
                d.due_min = max(d.due_min, e_ord + 1)
                still_open.append(d)
            elif d.role == "V":
                if d.due_max is None:
                    d.due_max = e_ord
                still_open.append(d)
            d.role, d.must_ip, d.host_fin, d.new = "", False, False, False
        for f in (*pending, *fresh):
            if f.role == "N":
                f.due_min = max(f.due_min, e_ord + 1)
            elif f.role == "V" and f.due_max is None:
                f.due_max = e_ord
            f.role = ""
        self.plans.extend(new)
        self.open = still_open
        add_extras(self, month, start, end, rng)

    def attributes(self, new: list[Plan], fig: Mapping[str, int], end: int, rng: Rng) -> None:
        """Give the month's new dossiers channel, level, fee, payment and links."""
        n = len(new)
        order = list(range(n))
        rng.shuffle(order)
        online, postal = fig["received_online"], fig["received_postal"]
        for k, i in enumerate(order):
            new[i].channel = 2 if k < online else 3 if k < online + postal else 1

        def pick(k: int, preferred: list[int], others: list[int]) -> set[int]:
            rng.shuffle(preferred)
            rng.shuffle(others)
            return set((preferred + others)[:k])

        everyone = list(range(n))
        online_idx = [i for i in everyone if new[i].channel == 2]
        l34 = pick(fig["online_l34"], online_idx, [])
        postal_idx = [i for i in everyone if new[i].channel == 3]
        posted = pick(
            fig["postal_return"], postal_idx, [i for i in everyone if new[i].channel != 3]
        )
        fee = pick(fig["fee_bearing"], [], list(everyone))
        paid = pick(
            fig["paid_online"],
            [i for i in sorted(fee) if new[i].channel == 2],
            [i for i in sorted(fee) if new[i].channel != 2],
        )
        digitised = pick(fig["digitised"], [], list(everyone))
        # the dossiers sent to VP UBND: inter-agency ones, received early enough (preferably)
        # for VP UBND to decide within the month
        roomy = [i for i in everyone if new[i].r <= end - 3 * WORKDAY]
        hosts = pick(
            fig["vpubnd_sent"], roomy, [i for i in everyone if new[i].r > end - 3 * WORKDAY]
        )
        inter = hosts | pick(
            fig["interagency_new"] - len(hosts), [], [i for i in everyone if i not in hosts]
        )
        partners = self.scenario.partners
        for i, d in enumerate(new):
            d.fee, d.paid, d.digitised = i in fee, i in paid, i in digitised
            d.postal_return, d.interagency = i in posted, i in inter
            level_class = ("l34" if i in l34 else "l2") if d.channel == 2 else "any"
            d.proc = self.pick_proc(rng, d.fee, level_class)
            if d.channel == 2:
                d.level = max(3, d.proc.level) if i in l34 else 2
            else:
                d.level = d.proc.level
            if i in hosts:
                d.fwd = Forwarding(to=self.scenario.vpubnd_agency, host=d)
            elif d.interagency and partners and rng.chance(0.5):
                d.partner = partners[rng.below(len(partners))]

    def forwarding_roles(
        self,
        pending: list[Forwarding],
        fresh: list[Forwarding],
        fig: Mapping[str, int],
        rng: Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        """Give each forwarding to VP UBND its outcome in the month."""
        need = {
            "E": fig["vpubnd_early"],
            "O": fig["vpubnd_on_time"],
            "L": fig["vpubnd_late"],
            "N": fig["vpubnd_not_due"],
            "V": fig["vpubnd_overdue"],
        }
        pending = sorted(pending, key=lambda f: f.sent)
        for f in pending:
            if f.due_max is None:
                continue
            for role in ("L", "V"):
                if need[role]:
                    f.role = role
                    need[role] -= 1
                    break
            else:
                fail(
                    "forwardings pending at VP UBND already overdue can only finish late or "
                    "stay overdue"
                )
        rest = [f for f in pending if not f.role] + fresh
        middle = ["E"] * need["E"] + ["O"] * need["O"]
        rng.shuffle(middle)
        roles = ["L"] * need["L"] + ["V"] * need["V"] + middle + ["N"] * need["N"]
        if len(roles) != len(rest):  # resolve_month makes them equal
            fail(f"{len(rest)} forwardings but {len(roles)} outcomes")
        for f, role in zip(rest, roles, strict=True):
            f.role = role

    def forwarding_times(
        self,
        pending: list[Forwarding],
        fresh: list[Forwarding],
        start: int,
        end: int,
        rng: Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        """Time the month's forwardings: sent, and finished for those that finish."""
        cal = self.cal
        for f in fresh:
            low = f.host.r + 1800
            margin = {"L": WORKDAY + 3600, "E": 3600, "O": 3600}.get(f.role, 0)
            high = max(low, min(f.host.r + 2 * WORKDAY, end - margin))
            f.sent = rng.randint(low, high)
            if f.sent > end:
                fail(
                    f"a dossier received {cal.stamp(f.host.r)} is too late in the month to be "
                    "sent to VP UBND"
                )
            f.due_min = cal.ordinal_of(f.sent)
            f.planned = cal.workday(f.due_min, 5 + rng.below(6))
        for f in (*pending, *fresh):
            if f.role not in ("E", "O", "L"):
                continue
            low = max(f.sent + 1800, start)
            if f.role == "L" and f.due_max is None:
                low = max(low, cal.day_start(f.due_min + 1))
            high = min(low + 5 * WORKDAY, end - 1800)
            if low > high:
                fail(
                    f"no time left in the month for VP UBND to finish ({_ROLE_NAMES[f.role]}) "
                    f"a forwarding sent {cal.stamp(f.sent)}"
                )
            f.fin = rng.randint(low, high)
            day = cal.ordinal_of(f.fin)
            if f.role == "E":
                f.due_min = max(f.due_min, day + 1)
            elif f.role == "O":
                f.due_min, f.due_max = day, day
            elif f.due_max is None:
                f.due_max = day - 1

    def roles(
        self,
        members: list[Plan],
        fig: Mapping[str, int],
        rng: Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        """Give each dossier open in the month its outcome (E O L W R N V)."""
        need = {
            "E": fig["resolved_early"],
            "O": fig["resolved_on_time"],
            "L": fig["resolved_late"],
            "W": fig["withdrawn"],
            "R": fig["returned"],
            "N": fig["in_progress_not_due"],
            "V": fig["in_progress_overdue"],
        }

        def take(d: Plan, choices: Sequence[str]) -> bool:
            for role in choices:
                if need[role] > 0 and not (d.host_fin and role in ("W", "R")):
                    d.role = role
                    need[role] -= 1
                    return True
            return False

        overdue = [d for d in members if d.due_max is not None]
        for d in sorted(overdue, key=lambda d: not d.must_ip):
            if not take(d, ("V",) if d.must_ip else ("L", "V", "R", "W")):
                fail(
                    "the dossiers carried over already overdue can only be resolved late, "
                    "returned, withdrawn or stay overdue (and those pending at VP UBND must stay "
                    "in progress): not enough such outcomes in the month"
                )
        for d in members:
            if not d.role and d.must_ip and not take(d, ("N", "V")):
                fail(
                    f"{sum(1 for m in members if m.must_ip)} dossiers are pending at VP UBND at "
                    f"the month's end, so in progress, but in_progress is only "
                    f"{fig['in_progress']}"
                )
        rest = [d for d in members if not d.role]
        middle = ["E"] * need["E"] + ["O"] * need["O"] + ["R"] * need["R"] + ["W"] * need["W"]
        rng.shuffle(middle)
        roles = ["L"] * need["L"] + ["V"] * need["V"] + middle + ["N"] * need["N"]
        if len(roles) != len(rest):  # resolve_month makes them equal
            fail(f"{len(rest)} dossiers but {len(roles)} outcomes")
        for d, role in zip(rest, roles, strict=True):
            d.role = role
        # a dossier whose forwarding finishes this month cannot be withdrawn or returned
        for d in rest:
            if d.host_fin and d.role in ("W", "R"):
                swap = next((o for o in rest if o.role in ("E", "O") and not o.host_fin), None)
                if swap is None:
                    fail(
                        "dossiers forwarded to VP UBND cannot be withdrawn or returned while "
                        "VP UBND is deciding: not enough other outcomes in the month"
                    )
                d.role, swap.role = swap.role, d.role

    def closing_times(
        self,
        members: list[Plan],
        start: int,
        end: int,
        rng: Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        """Time the closing of the dossiers that close in the month."""
        cal = self.cal
        for d in members:
            if d.role in ("N", "V"):
                continue
            low = max(d.r + 1800, start)
            if d.fwd is not None and d.fwd.fin is not None and d.host_fin:
                low = max(low, d.fwd.fin + 1800)
            if d.role == "L" and d.due_max is None:
                low = max(low, cal.day_start(d.due_min + 1))
            if low > end:
                fail(
                    f"no time left in the month to close a dossier received "
                    f"{cal.stamp(d.r)} as {_ROLE_NAMES[d.role]}"
                )
            days = d.proc.days if d.proc is not None else 10
            reach = max(WORKDAY // 2, days * WORKDAY) if d.new else 8 * WORKDAY
            d.close = rng.randint(low, min(end, low + reach))
            d.kind = d.role
            day = cal.ordinal_of(d.close)
            if d.role == "E":
                d.due_min = max(d.due_min, day + 1)
            elif d.role == "O":
                d.due_min, d.due_max = day, day
            elif d.role == "L" and d.due_max is None:
                d.due_max = day - 1

    def supplements(
        self,
        members: list[Plan],
        wanted: int,
        start: int,
        end: int,
        rng: Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        """Plan the month's supplement requests on dossiers open long enough."""
        if not wanted:
            return
        preference = {"R": 0, "L": 1, "V": 2, "N": 3, "W": 4, "O": 5, "E": 6}
        candidates: list[tuple[int, int, Plan, int, int]] = []
        for d in members:
            low = max(d.r, start) + 600
            closes = d.role not in ("N", "V")
            high = (d.close if closes and d.close is not None else end) - 600
            if low <= high:
                candidates.append((preference[d.role], rng.next64(), d, low, high))
        if len(candidates) < wanted:
            fail(
                f"supplement_requested {wanted}: only {len(candidates)} dossiers are open long "
                "enough in the month for a supplement request"
            )
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, d, low, high in candidates[:wanted]:
            asked = rng.randint(low, high)
            answered: int | None = None
            if d.role in ("E", "O", "L", "W") and d.close is not None:
                answered = rng.randint(asked + 1, d.close)
            d.supplements.append([asked, answered])

    def records(self, rng: Rng) -> list[tuple[dict[str, Any], str, str]]:
        """Return every record with its window bounds (first, last moment served), by MaHoSo."""
        return agency_records(self, rng)
