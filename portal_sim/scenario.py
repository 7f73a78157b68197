"""Scenario files: read, check and model the agencies and the figures a scenario states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from portal_sim.catalogue import catalogue_keys
from tasks.figures.engine import FIGURE_KEYS
from tasks.figures.periods import InvalidPeriod, Period

DEFAULT_RATES: dict[str, float] = {
    # received side: shares of received_new unless said otherwise
    "online": 0.75,  # KenhThucHien 2
    "postal": 0.03,  # KenhThucHien 3 (direct takes the rest)
    "online_l34": 1.0,  # share of the online dossiers at MucDo 3/4
    "postal_return": 0.25,  # HinhThuc 1
    "interagency": 0.0,  # LaLienThong
    "vpubnd": 0.5,  # share of the inter-agency dossiers sent to VP UBND
    "supplement": 0.04,  # dossiers with a supplement request
    "fee_bearing": 0.4,
    "paid_online": 0.5,  # share of fee_bearing
    "digitised": 0.6,
    # outcomes
    "withdrawn": 0.01,
    "returned": 0.01,
    "in_progress": 0.12,  # monthly: in progress at the month's end, share of received_new
    "in_progress_overdue": 0.0,  # share of in_progress
    "late": 0.0,  # share of resolved
    "on_time": 0.08,  # share of resolved
    "vpubnd_in_progress": 0.3,  # share of vpubnd_sent
    "vpubnd_overdue": 0.0,  # share of vpubnd_in_progress
    "vpubnd_late": 0.0,  # share of the forwardings finished
    "vpubnd_on_time": 0.2,
    # volume agencies: a dossier closes min_hours .. max_days (working time) after receipt
    "min_hours": 1.0,
    "max_days": 20.0,
}

_FIGURES = frozenset(FIGURE_KEYS)
EXTRA_KEYS = ("status_1", "status_3", "missing_received", "bad_time", "unknown_status")
_AGENCY_KEYS = frozenset(
    {
        "code",
        "name",
        "level",
        "parent",
        "catalogue",
        "prefix",
        "months",
        "rates",
        "carried_over",
        "carried_over_overdue",
        "series",
        "figures",
        "extra",
        "dossiers",
    }
)
_TOP_KEYS = frozenset(
    {
        "scenario",
        "title",
        "description",
        "province",
        "vpubnd_agency",
        "months",
        "now",
        "rates",
        "interagency_partners",
        "agencies",
        "agency_groups",
    }
)

_PLACE_FIRST = ("Tân", "Phú", "Bình", "An", "Hòa", "Long", "Vĩnh", "Phước", "Mỹ", "Thạnh")
_PLACE_SECOND = ("Lợi", "Hưng", "Thành", "Thuận", "Lộc", "Hiệp", "Khánh", "Điền", "Sơn", "Xuân")


def _place_name(k: int) -> str:
    """Return the k-th generated place name (Tân Lợi, Phú Lợi, ...)."""
    first = _PLACE_FIRST[k % len(_PLACE_FIRST)]
    second = _PLACE_SECOND[k // len(_PLACE_FIRST) % len(_PLACE_SECOND)]
    rounds = k // (len(_PLACE_FIRST) * len(_PLACE_SECOND))
    return f"{first} {second}" + (f" {rounds + 1}" if rounds else "")


class ScenarioError(ValueError):
    """A scenario that cannot be generated; the message names the file, agency and month."""


@dataclass
class AgencySpec:
    """One agency of a scenario, read and checked."""

    code: str
    name: str
    level: int
    parent: str
    catalogue: str
    prefix: str
    months: list[Period]
    rates: dict[str, float]
    stated: dict[str, dict[str, int]] = field(default_factory=dict)
    extra: dict[str, dict[str, int]] = field(default_factory=dict)
    carried_over: int | None = None
    carried_over_overdue: int = 0
    dossiers: int | None = None  # a volume agency

    @property
    def row(self) -> dict[str, Any]:
        """Return the agency's row of LayDanhSachDonVi."""
        return {
            "MaDonVi": self.code,
            "TenDonVi": self.name,
            "CapDonVi": self.level,
            "MaDonViCha": self.parent,
        }


@dataclass
class Scenario:
    """A scenario file, read and checked (the figures themselves are checked while generating)."""

    source: str
    name: str
    province: str
    vpubnd_agency: str
    partners: list[str]
    agencies: list[AgencySpec]
    now: str | None

    def fail(self, agency: AgencySpec | None, month: str | None, message: str) -> NoReturn:
        """Raise ScenarioError naming the file and, when given, the agency and month."""
        where = self.source
        if agency is not None:
            where += f": agency {agency.code} ({agency.name})"
        if month is not None:
            where += f", month {month}"
        raise ScenarioError(f"{where}: {message}")


def _fail(source: str, message: str) -> NoReturn:
    """Raise ScenarioError naming the file."""
    raise ScenarioError(f"{source}: {message}")


def _parse_months(value: Any, source: str, what: str) -> list[Period]:
    """Read a month range ("A..B") or a list of months."""
    try:
        if isinstance(value, str) and ".." in value:
            first_text, last_text = value.split("..", 1)
            first, last = Period.parse(first_text), Period.parse(last_text)
            if first.kind != "month" or last.kind != "month" or last < first:
                _fail(source, f"{what}: {value!r} is not a range of months YYYY-MM..YYYY-MM")
            months = [first]
            while months[-1] != last:
                current = months[-1]
                months.append(
                    Period.month(current.year + current.index // 12, current.index % 12 + 1)
                )
            return months
        if isinstance(value, list) and value:
            months = [Period.parse(str(item)) for item in value]
            if any(m.kind != "month" for m in months) or months != sorted(set(months)):
                _fail(source, f"{what}: months must be distinct YYYY-MM in order")
            return months
    except InvalidPeriod as error:
        _fail(source, f"{what}: {error}")
    _fail(source, f"{what}: {value!r} is not a range of months YYYY-MM..YYYY-MM")


def _rates(base: Mapping[str, float], extra: Any, source: str, what: str) -> dict[str, float]:
    """Return `base` with the rates of `extra` checked and applied."""
    rates = dict(base)
    if extra is None:
        return rates
    if not isinstance(extra, Mapping):
        _fail(source, f"{what}: rates must be a mapping")
    for key, value in extra.items():
        if key not in DEFAULT_RATES:
            _fail(source, f"{what}: unknown rate {key!r} (known: {', '.join(DEFAULT_RATES)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            _fail(source, f"{what}: rate {key} = {value!r} is not a number >= 0")
        if key not in ("min_hours", "max_days") and value > 1:
            _fail(source, f"{what}: rate {key} = {value!r} is more than 1")
        rates[key] = float(value)
    return rates


def _count(value: Any, source: str, what: str) -> int:
    """Return `value` if it is a count (an integer >= 0), else fail."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(source, f"{what}: {value!r} is not a count (an integer >= 0)")
    return value


def _default_prefix(code: str, province: str) -> str:
    """Derive the MaHoSo prefix from an agency code (000.00.15.H99: H99.15)."""
    parts = code.split(".")
    if len(parts) == 4:
        inner = list(parts[:3])
        while inner and set(inner[0]) == {"0"}:
            inner.pop(0)
        return ".".join([parts[3], *inner]) if inner else parts[3]
    return code.replace(".", "")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        _fail(source, f"cannot read the scenario: {error}")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        _fail(source, f"not valid YAML: {error}")
    return scenario_from_dict(data, source)


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Check a scenario given as a mapping (the parsed YAML)."""
    if not isinstance(data, Mapping):
        _fail(source, "a scenario is a mapping (see portal_sim/generator.py)")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        _fail(source, f"unknown keys {sorted(unknown)} (known: {sorted(_TOP_KEYS)})")
    province_info = data.get("province") or {}
    province = (
        str(province_info.get("code", "H99")) if isinstance(province_info, Mapping) else "H99"
    )
    vpubnd = str(data.get("vpubnd_agency") or f"000.00.01.{province}")
    default_months = _parse_months(data["months"], source, "months") if "months" in data else None
    base_rates = _rates(DEFAULT_RATES, data.get("rates"), source, "rates")
    partners = [str(p) for p in data.get("interagency_partners") or []]
    now = data.get("now")
    if now is not None:
        now = str(now)
        if len(now) != 14 or not now.isdigit():
            _fail(source, f"now: {now!r} is not a time yyyyMMddHHmmss")

    raw_agencies: list[Mapping[str, Any]] = []
    for entry in data.get("agencies") or []:
        if not isinstance(entry, Mapping):
            _fail(source, f"an agency is a mapping, not {entry!r}")
        raw_agencies.append(entry)
    place = 0
    for group in data.get("agency_groups") or []:
        if not isinstance(group, Mapping):
            _fail(source, f"an agency group is a mapping, not {group!r}")
        count = _count(group.get("count"), source, "agency_groups count")
        template = {k: v for k, v in group.items() if k != "count"}
        for n in range(1, count + 1):
            names = {"n": n, "place": _place_name(place)}
            place += 1
            entry = dict(template)
            for key in ("code", "name", "prefix"):
                if isinstance(entry.get(key), str):
                    try:
                        entry[key] = entry[key].format(**names)
                    except (KeyError, ValueError, IndexError) as error:
                        _fail(source, f"agency_groups {key} {template[key]!r}: {error}")
            raw_agencies.append(entry)
    if not raw_agencies:
        _fail(source, "no agencies")

    agencies: list[AgencySpec] = []
    seen: set[str] = set()
    for entry in raw_agencies:
        agencies.append(_agency(entry, source, province, default_months, base_rates, seen))
    return Scenario(
        source=source,
        name=str(data.get("scenario") or Path(source).stem),
        province=province,
        vpubnd_agency=vpubnd,
        partners=partners,
        agencies=agencies,
        now=now,
    )


def _agency(
    entry: Mapping[str, Any],
    source: str,
    province: str,
    default_months: list[Period] | None,
    base_rates: dict[str, float],
    seen: set[str],
) -> AgencySpec:
    """Read and check one agency entry."""
    code = str(entry.get("code") or "").strip()
    name = str(entry.get("name") or "").strip()
    if not code or not name:
        _fail(source, f"an agency needs a code and a name: {dict(entry)!r:.120}")
    what = f"agency {code} ({name})"
    unknown = set(entry) - _AGENCY_KEYS
    if unknown:
        _fail(source, f"{what}: unknown keys {sorted(unknown)} (known: {sorted(_AGENCY_KEYS)})")
    if code in seen:
        _fail(source, f"{what}: the code is listed twice")
    seen.add(code)
    catalogue = str(entry.get("catalogue") or "skhcn")
    known = catalogue_keys()
    if catalogue not in known:
        _fail(source, f"{what}: unknown catalogue {catalogue!r} (known: {', '.join(known)})")
    if "months" in entry:
        months = _parse_months(entry["months"], source, f"{what} months")
    elif default_months is not None:
        months = default_months
    else:
        _fail(source, f"{what}: no months (give months for the scenario or the agency)")
    spec = AgencySpec(
        code=code,
        name=name,
        level=_count(entry.get("level", 1), source, f"{what} level"),
        parent=str(entry.get("parent") or f"000.00.00.{province}"),
        catalogue=catalogue,
        prefix=str(entry.get("prefix") or _default_prefix(code, province)),
        months=months,
        rates=_rates(base_rates, entry.get("rates"), source, what),
    )
    keys = {m.key for m in months}
    if entry.get("dossiers") is not None:
        spec.dossiers = _count(entry["dossiers"], source, f"{what} dossiers")
        for key in ("series", "figures", "extra", "carried_over", "carried_over_overdue"):
            if key in entry:
                _fail(source, f"{what}: {key} is for monthly agencies, not with dossiers")
        return spec

    stated: dict[str, dict[str, int]] = {m.key: {} for m in months}
    series = entry.get("series") or {}
    if not isinstance(series, Mapping):
        _fail(source, f"{what}: series must map figures to lists")
    for figure, values in series.items():
        if figure not in _FIGURES:
            _fail(source, f"{what}: series {figure!r} is not a figure")
        if not isinstance(values, list) or len(values) != len(months):
            _fail(
                source,
                f"{what}: series {figure} must list {len(months)} values, one per month "
                f"{months[0].key}..{months[-1].key}",
            )
        for month, value in zip(months, values, strict=True):
            if value is not None:
                stated[month.key][figure] = _count(
                    value, source, f"{what}, month {month.key}: {figure}"
                )
    figures = entry.get("figures") or {}
    if not isinstance(figures, Mapping):
        _fail(source, f"{what}: figures must map months to figures")
    for month_key, values in figures.items():
        month_text = str(month_key)
        if month_text not in keys:
            _fail(source, f"{what}: figures for {month_text}, a month outside its range")
        if not isinstance(values, Mapping):
            _fail(source, f"{what}, month {month_text}: figures must be a mapping")
        for figure, value in values.items():
            if figure not in _FIGURES:
                _fail(source, f"{what}, month {month_text}: {figure!r} is not a figure")
            number = _count(value, source, f"{what}, month {month_text}: {figure}")
            previous = stated[month_text].get(figure)
            if previous is not None and previous != number:
                _fail(
                    source,
                    f"{what}, month {month_text}: {figure} is {previous} in series "
                    f"but {number} in figures",
                )
            stated[month_text][figure] = number
    for month in months:
        if "received_new" not in stated[month.key]:
            _fail(source, f"{what}, month {month.key}: received_new is not stated")
    spec.stated = stated

    extra = entry.get("extra") or {}
    if not isinstance(extra, Mapping):
        _fail(source, f"{what}: extra must map months to counts")
    for month_key, values in extra.items():
        month_text = str(month_key)
        if month_text not in keys or not isinstance(values, Mapping):
            _fail(source, f"{what}: extra for {month_text}: not a month of the agency")
        for kind in values:
            if kind not in EXTRA_KEYS:
                _fail(
                    source,
                    f"{what}, month {month_text}: extra {kind!r} is not one of {EXTRA_KEYS}",
                )
        spec.extra[month_text] = {
            kind: _count(values.get(kind, 0), source, f"{what}, month {month_text}: {kind}")
            for kind in EXTRA_KEYS
        }
    if entry.get("carried_over") is not None:
        spec.carried_over = _count(entry["carried_over"], source, f"{what} carried_over")
    spec.carried_over_overdue = _count(
        entry.get("carried_over_overdue", 0), source, f"{what} carried_over_overdue"
    )
    return spec
