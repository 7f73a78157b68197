"""Deterministic scenario generator: dossier records that yield exactly the figures a scenario states.

A scenario file (YAML) names agencies and, per agency, either the figures of every month
("monthly" agency) or a number of dossiers over a range of months with rates ("volume" agency).
`ScenarioStore.from_file(path, seed=0)` reads it and serves the records through the
`portal_sim.store.DossierStore` protocol. The same file and seed always give byte-identical
records (no use of `hash()`, of the clock or of `random`: a SplitMix64 generator seeded by
SHA-256 of the seed, the agency and the month).

Schema (every key optional unless marked required)::

    scenario: demo                      # a name
    province: {code: H99, name: Tỉnh Demo}
    vpubnd_agency: 000.00.01.H99        # MaDonVi of the provincial People's Committee Office:
                                        # LienThong to it makes the vpubnd_* figures
    months: 2023-05..2024-08            # default month range ("A..B" or a list of "YYYY-MM")
    now: "20240831170000"               # when the portal is read (default: 17:00 of the last
                                        # working day of the latest month); records are final
                                        # states at that moment
    rates: {online: 0.8, ...}           # default rates of every agency (keys: DEFAULT_RATES)
    interagency_partners: [000.00.05.H99]   # other agencies inter-agency dossiers may go to
    agencies:                           # required (or agency_groups)
      - code: 000.00.15.H99             # required: MaDonVi
        name: Sở Khoa học và Công nghệ  # required: TenDonVi
        level: 1                        # CapDonVi: 1 department, 2 district, 3 commune
        parent: 000.00.00.H99           # MaDonViCha
        catalogue: skhcn                # fields and procedures: portal_sim/catalogue.yaml
        prefix: H99.15                  # MaHoSo prefix (default from the code)
        months: 2024-01..2024-08        # overrides the scenario's range
        rates: {...}                    # overrides the scenario's rates
        # -- a monthly agency (the default) --
        carried_over: 3                 # dossiers in progress before the first month (default
        carried_over_overdue: 0         #   the first month's stated carried_over, else 0)
        series:                         # per figure, one value per month (null: unstated)
          received_new: [50, 60, ...]
        figures:                        # per month, figures stated exactly
          "2024-05": {received_new: 60, resolved_early: 49, ...}
        extra:                          # per month, records for data-quality tests
          "2024-05": {status_1: 2, status_3: 1, missing_received: 1, bad_time: 1,
                      unknown_status: 1}
        # -- or a volume agency --
        dossiers: 1000000               # generated lazily, record i a pure function of
                                        # (seed, agency, i)
    agency_groups:                      # many similar agencies (volume scenarios)
      - count: 50                       # required
        code: "000.31.{n:02d}.H99"      # format fields: n = 1..count, place = a place name
        name: "UBND xã {place}"
        ...                             # any agency key, the same for every agency

Monthly figures. The keys are tasks.figures.FIGURE_KEYS; a month states any subset, and
`received_new` is required (in `series` or `figures`). The generator completes the month:
- carried_over is the previous month's in_progress (the first month: the agency's
  carried_over); stating it, or received_total, only checks it;
- withdrawn, returned, in_progress default to rates of received_new; resolved takes the rest
  of carried_over + received_new (or, when resolved is stated, in_progress does);
- in_progress_overdue defaults to a rate of in_progress, not_due takes the rest; resolved_late
  and resolved_on_time default to rates of resolved (late at least what the overdue dossiers
  carried over need), resolved_early takes the rest;
- received_online and received_postal default to rates of received_new, received_direct takes
  the rest; online_l34 a rate of received_online; postal_return, interagency_new,
  supplement_requested, fee_bearing, digitised rates of received_new; paid_online a rate of
  fee_bearing;
- vpubnd_sent defaults to a rate of interagency_new (every dossier sent to VP UBND is one of the
  sending month's inter-agency dossiers); forwardings pending at VP UBND carry over like
  dossiers; vpubnd_in_progress, _overdue, _late, _on_time default to rates, vpubnd_early and
  vpubnd_not_due take the rest.
Inconsistent figures raise ScenarioError naming the file, the agency and the month, e.g. parts
that do not add up, a subset larger than its whole, or dossiers carried over already overdue
that the month cannot absorb (an overdue dossier can only be resolved late, returned,
withdrawn or stay overdue).

How records realise the figures: dossiers are received on working days (Mon-Fri, 07:30-17:00,
Vietnamese public holidays off); each month the open dossiers (carried over, oldest first, then
the new ones in order of receipt) take the month's outcomes; a due time (NgayHenTra, 17:00) is
chosen last, within the bounds every month's classification imposes (not due at a month end:
due after it; overdue: due before it; early/on time/late: the date compared with closing).
Statuses: 10 (or 9) resolved, 7 withdrawn (NgayTra), 8 returned, and 2/4/5/6 still open.

Volume agencies: record i is received at a working-time position monotonic in i (so a window
maps to an index range by bisection) and closes within `max_days` working days (open when that
is after `now`); outcomes and attributes follow the rates per record. A window keeps only an
array('I') of the indices received before its start that are still open in it.

Extras (monthly agencies): status_1 (newly submitted, never accepted: stays open, so it is
served in every later window too, as the portal would), status_3 (refused at reception, handed
back the same day), and malformed records, served in the windows that overlap their month:
missing_received (no NgayTiepNhan), bad_time (NgayTiepNhan not yyyyMMddHHmmss),
unknown_status (TrangThaiHoSo 12).

Modules: `scenario` reads and checks the file, `month_figures` completes a month's figures,
`monthly` plans a monthly agency's dossiers and `monthly_records` writes their records,
`volume` makes a volume agency's records, `windows` serves them page by page; `catalogue`
reads the procedures (portal_sim/catalogue.yaml), `worktime` and `rng` are the calendar and
the randomness every part shares.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from portal_sim.monthly import MonthlyAgency
from portal_sim.rng import Rng, derive_seed
from portal_sim.scenario import (
    DEFAULT_RATES,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
)
from portal_sim.volume import VolumeAgency
from portal_sim.windows import EmptyWindow, IndexWindow, ListAgency
from portal_sim.worktime import Calendar

__all__ = [
    "DEFAULT_RATES",
    "Scenario",
    "ScenarioError",
    "ScenarioStore",
    "load_scenario",
    "scenario_from_dict",
]


class ScenarioStore:
    """A DossierStore over a scenario: monthly agencies materialised, volume agencies lazy."""

    def __init__(self, scenario: Scenario, seed: int = 0, cache_size: int = 64) -> None:
        self.scenario = scenario
        self.seed = seed
        self.vpubnd_agency = scenario.vpubnd_agency
        first = min(spec.months[0] for spec in scenario.agencies)
        last = max(spec.months[-1] for spec in scenario.agencies)
        cal = Calendar(first.start_date - timedelta(days=62), last.end_date + timedelta(days=250))
        self.calendar = cal
        last_moment = cal.day_last(last.end_date.toordinal())
        now = cal.floor_pos(scenario.now) if scenario.now is not None else last_moment
        if now < last_moment:
            scenario.fail(
                None, None, f"now {scenario.now} is before the last working moment of {last.key}"
            )
        self.now_stamp = cal.stamp(now)
        self._rows = [spec.row for spec in scenario.agencies]
        self._agencies: dict[str, ListAgency | VolumeAgency] = {}
        self._monthly: dict[str, MonthlyAgency] = {}
        for spec in scenario.agencies:
            if spec.dossiers is not None:
                self._agencies[spec.code] = VolumeAgency(scenario, spec, cal, now, seed)
            else:
                monthly = MonthlyAgency(scenario, spec, cal, now, seed)
                monthly.generate()
                rows = monthly.records(Rng(derive_seed(seed, spec.code, "records")))
                self._monthly[spec.code] = monthly
                self._agencies[spec.code] = ListAgency(rows)
        self._cache: OrderedDict[tuple[str, str, str], IndexWindow] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, seed: int = 0) -> ScenarioStore:
        """Read, check and generate a scenario file."""
        return cls(load_scenario(path), seed=seed)

    @classmethod
    def from_dict(cls, data: Any, seed: int = 0, source: str = "<scenario>") -> ScenarioStore:
        """Check and generate a scenario given as a mapping."""
        return cls(scenario_from_dict(data, source), seed=seed)

    # -- DossierStore
    def agencies(self) -> list[dict[str, Any]]:
        """Return the rows of LayDanhSachDonVi."""
        return [dict(row) for row in self._rows]

    def window(self, agency: str, from_stamp: str, to_stamp: str) -> IndexWindow | EmptyWindow:
        """Return the records of `agency` open at some moment of [from_stamp, to_stamp]."""
        source = self._agencies.get(agency.strip())
        if source is None:
            return EmptyWindow()
        key = (agency.strip(), from_stamp, to_stamp)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        window = source.window(from_stamp, to_stamp)
        with self._lock:
            self._cache[key] = window
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return window

    # -- what the scenario says, for tests and benchmarks
    def months(self, agency: str) -> list[str]:
        """The months a monthly agency states figures for."""
        monthly = self._monthly.get(agency)
        return list(monthly.figures) if monthly is not None else []

    def planned_figures(self, agency: str, month: str) -> dict[str, int]:
        """Every figure (FIGURE_KEYS) the records of `agency` must give for `month`."""
        return dict(self._monthly[agency].figures[month])

    def planned_extras(self, agency: str, month: str) -> dict[str, int]:
        """The extra records stated for the month (status_1, status_3, malformed kinds)."""
        return dict(self._monthly[agency].extras.get(month, {}))

    def dossier_count(self, agency: str) -> int:
        """How many records the agency has in all (volume agencies: without generating them)."""
        source = self._agencies[agency]
        if isinstance(source, VolumeAgency):
            return source.n
        return len(source.records)

    def records(self, agency: str) -> Iterator[dict[str, Any]]:
        """Every record of an agency in MaHoSo order (volume agencies: generated one by one)."""
        source = self._agencies[agency]
        if isinstance(source, VolumeAgency):
            for i in range(source.n):
                yield source.record(i)
        else:
            for k in range(len(source.records)):
                yield source.make(k)
