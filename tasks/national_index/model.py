"""The national evaluation API's answers read into typed values, joined and ranked (no IO).

The contract is docs/national-index-api.md (observed, not documented by the portal). Every
endpoint answers the same request body for a period and a root unit (the province); units are
joined on `departmentId`, the one key every item carries. `service-results` lists the units and
their totals; the six component endpoints give each unit's score in one group of Decision 766.
Numbers are kept as served: an integer stays an integer (`16`), a decimal a float (`19.6`).
The API returns no rank: `rank_units` computes competition ranks (1, 2, 2, 4) per group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tasks.figures.periods import Period

Number = int | float

SERVICE_RESULTS = "service-results"
AGENCY = "AGENCY"
COMMUNE = "COMMUNE"
GROUPS: tuple[str, ...] = (AGENCY, COMMUNE)
TOTAL_MAX = 100
DEFAULT_PAGE_SIZE = 300


@dataclass(frozen=True)
class Component:
    """One group of Decision 766 and the endpoint that scores it."""

    code: str
    endpoint: str
    name: str
    maximum: int
    list_key: str  # where the endpoint lists its units under `data`
    score_key: str  # the unit's score field


# In the order of Decision 766's list; codes as the issue's JSON names them.
COMPONENTS: tuple[Component, ...] = (
    Component("CKMB", "transparency", "Công khai, minh bạch", 18, "evaluation", "totalScore"),
    Component("TDGQ", "dvc-progress-tree", "Tiến độ giải quyết", 20, "children", "score"),
    Component("ONLINE", "provide-online-tree", "Dịch vụ trực tuyến", 12, "children", "totalScore"),
    Component(
        "TTTT",
        "formality-online-payment-tree",
        "Thanh toán trực tuyến",
        10,
        "children",
        "totalScore",
    ),
    Component("MDSH", "dossier-digitized", "Số hóa hồ sơ", 22, "evaluation", "totalScore"),
    Component("MDHL", "handling-satisfaction", "Mức độ hài lòng", 18, "evaluation", "totalScore"),
)
COMPONENT_BY_CODE: dict[str, Component] = {c.code: c for c in COMPONENTS}
PROGRESS = "TDGQ"


class IndexResponseError(ValueError):
    """An answer of the evaluation API that the contract does not allow; names endpoint and item."""


class HalfYearRefused(ValueError):
    """The evaluation API has month, quarter and year periods, no half-year."""


def request_body(
    period: Period, root_id: str, page_size: int = DEFAULT_PAGE_SIZE
) -> dict[str, Any]:
    """Return the body every endpoint is asked with, in the key order the portal's page sends."""
    if period.kind == "half":
        raise HalfYearRefused(
            f"period {period.key}: the national index is published per month, quarter or year, "
            "not per half-year (ask for 2026-Q1 and 2026-Q2, or the year)"
        )
    body: dict[str, Any] = {
        "timeType": period.kind,
        "year": period.year,
        "pageSize": page_size,
        "currentPage": 1,
        "rootDepartmentId": root_id,
    }
    if period.kind in ("month", "quarter"):
        body[period.kind] = period.index
    return body


@dataclass(frozen=True)
class ComponentScore:
    """A unit's score in one component; the progress component adds its dossier counts."""

    score: Number | None
    received: Number | None = None
    on_time: Number | None = None
    overdue: Number | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the component as the `index --json` command prints it."""
        shown: dict[str, Any] = {"score": self.score}
        if self.received is not None or self.on_time is not None or self.overdue is not None:
            shown.update(received=self.received, on_time=self.on_time, overdue=self.overdue)
        return shown


@dataclass(frozen=True)
class UnitScore:
    """One unit under the root: identity, group, total, rank within its group, components."""

    id: str
    code: str | None
    name: str
    group: str
    total_score: Number | None
    rank: int | None = None
    components: dict[str, ComponentScore] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the unit as the `index --json` command prints it."""
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "group": self.group,
            "total_score": self.total_score,
            "rank": self.rank,
            "components": {code: score.to_json() for code, score in self.components.items()},
        }


@dataclass(frozen=True)
class Root:
    """The root unit (the province) and its total."""

    id: str
    code: str | None
    name: str
    total_score: Number | None


@dataclass(frozen=True)
class NationalIndex:
    """The index of one period under one root: every unit, ranked, with what was missing."""

    period_key: str
    root: Root
    units: tuple[UnitScore, ...]
    # Components whose endpoint did not answer, by code: why (their scores are absent).
    missing: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the index as the `index --json` command prints it."""
        return {
            "period": self.period_key,
            "root": {
                "id": self.root.id,
                "code": self.root.code,
                "name": self.root.name,
                "total_score": self.root.total_score,
            },
            "units": [unit.to_json() for unit in self.units],
        }

    def to_record(self) -> dict[str, Any]:
        """Return what the run database keeps: the printed index and the components missing."""
        return {**self.to_json(), "missing_components": dict(self.missing)}

    def unit(self, code: str) -> UnitScore | None:
        """Return the unit whose departmentCode is `code`, None when the index does not list it."""
        wanted = code.strip().upper()
        for unit in self.units:
            if unit.code is not None and unit.code.upper() == wanted:
                return unit
        return None

    def group_size(self, group: str) -> int:
        """Return how many units of `group` the index lists."""
        return sum(1 for unit in self.units if unit.group == group)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NationalIndex:
        """Read back what `to_json` or `to_record` wrote."""
        root = data["root"]
        units = tuple(
            UnitScore(
                id=str(unit["id"]),
                code=unit.get("code"),
                name=str(unit["name"]),
                group=str(unit["group"]),
                total_score=unit.get("total_score"),
                rank=unit.get("rank"),
                components={
                    code: ComponentScore(
                        score=value.get("score"),
                        received=value.get("received"),
                        on_time=value.get("on_time"),
                        overdue=value.get("overdue"),
                    )
                    for code, value in unit.get("components", {}).items()
                },
            )
            for unit in data["units"]
        )
        return cls(
            period_key=str(data["period"]),
            root=Root(
                str(root["id"]), root.get("code"), str(root["name"]), root.get("total_score")
            ),
            units=units,
            missing=dict(data.get("missing_components", {})),
        )


# -- reading the answers ----------------------------------------------------------------


def number(value: Any, where: str) -> Number | None:
    """Return a JSON number as served (int or float), None for null; refuse anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IndexResponseError(f"{where}: {value!r} is not a number")
    return value


def envelope_data(body: Any, endpoint: str) -> dict[str, Any]:
    """Return `data` of an answer `{"code": "OK", "data": {...}}`; refuse any other envelope."""
    if not isinstance(body, Mapping):
        raise IndexResponseError(f"{endpoint}: the answer is not a JSON object")
    if body.get("code") != "OK":
        message = body.get("message")
        raise IndexResponseError(
            f"{endpoint}: code {body.get('code')!r} is not 'OK'"
            + (f" ({str(message)[:200]})" if message else "")
        )
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise IndexResponseError(f"{endpoint}: the answer has no data object")
    return dict(data)


def unit_items(data: Mapping[str, Any], list_key: str, endpoint: str) -> list[Mapping[str, Any]]:
    """Return the per-unit items listed under `data[list_key]` (an absent or null list is empty)."""
    items = data.get(list_key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise IndexResponseError(f"{endpoint}: data.{list_key} is not a list")
    for position, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise IndexResponseError(f"{endpoint}: data.{list_key}[{position}] is not an object")
    return items


def total_pages(data: Mapping[str, Any]) -> int:
    """Return `pagination.totalPages` (1 when the endpoint sends no pagination, as four do)."""
    pagination = data.get("pagination")
    if not isinstance(pagination, Mapping):
        return 1
    pages = pagination.get("totalPages")
    if isinstance(pages, int) and not isinstance(pages, bool) and pages >= 1:
        return pages
    return 1


def _department_id(item: Mapping[str, Any], where: str) -> str:
    value = item.get("departmentId")
    if not isinstance(value, str) or not value.strip():
        raise IndexResponseError(f"{where}: no departmentId")
    return value.strip()


def _text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def read_units(data: Mapping[str, Any]) -> tuple[Root | None, list[UnitScore]]:
    """Read service-results: the root's overview (None when absent) and the units, unranked."""
    overview = data.get("overview")
    root: Root | None = None
    if isinstance(overview, Mapping):
        root = Root(
            id="",
            code=_text(overview, "departmentCode"),
            name=_text(overview, "departmentName") or "",
            total_score=number(
                overview.get("totalScore"), f"{SERVICE_RESULTS}: overview.totalScore"
            ),
        )
    units: list[UnitScore] = []
    seen: set[str] = set()
    for position, item in enumerate(unit_items(data, "evaluation", SERVICE_RESULTS), 1):
        where = f"{SERVICE_RESULTS}: evaluation[{position}]"
        unit_id = _department_id(item, where)
        if unit_id in seen:
            raise IndexResponseError(f"{where}: departmentId {unit_id} is listed twice")
        seen.add(unit_id)
        units.append(
            UnitScore(
                id=unit_id,
                code=_text(item, "departmentCode"),
                name=_text(item, "departmentName") or "",
                group=_text(item, "childGroup") or "",
                total_score=number(item.get("totalScore"), f"{where}.totalScore"),
            )
        )
    return root, units


def read_component(component: Component, data: Mapping[str, Any]) -> dict[str, ComponentScore]:
    """Read one component endpoint's answer: each unit's score by departmentId."""
    scores: dict[str, ComponentScore] = {}
    for position, item in enumerate(unit_items(data, component.list_key, component.endpoint), 1):
        where = f"{component.endpoint}: data.{component.list_key}[{position}]"
        unit_id = _department_id(item, where)
        score = number(item.get(component.score_key), f"{where}.{component.score_key}")
        if component.code == PROGRESS:
            scores[unit_id] = ComponentScore(
                score=score,
                received=number(item.get("totalReceived"), f"{where}.totalReceived"),
                on_time=number(item.get("totalOnTime"), f"{where}.totalOnTime"),
                overdue=number(item.get("totalOverdue"), f"{where}.totalOverdue"),
            )
        else:
            scores[unit_id] = ComponentScore(score=score)
    return scores


# -- joining and ranking ------------------------------------------------------------------


def competition_ranks(scores: Iterable[Number | None]) -> list[int | None]:
    """Return 1 + the number of strictly higher scores for each score; None stays unranked."""
    values = list(scores)
    known = sorted((s for s in values if s is not None), reverse=True)
    first: dict[Number, int] = {}
    for position, score in enumerate(known, 1):
        first.setdefault(score, position)
    return [None if s is None else first[s] for s in values]


def rank_units(units: Iterable[UnitScore]) -> list[UnitScore]:
    """Rank each unit within its group; order agencies, communes, then others, by rank and name."""
    listed = list(units)
    ranked: list[UnitScore] = []
    groups = [*GROUPS, *sorted({u.group for u in listed} - set(GROUPS))]
    for group in groups:
        members = [u for u in listed if u.group == group]
        ranks = competition_ranks(u.total_score for u in members)
        members = [replace(u, rank=r) for u, r in zip(members, ranks, strict=True)]
        # Unranked (no total) last; equal ranks in name order, as the spec's §7 advises.
        members.sort(key=lambda u: (u.rank is None, u.rank or 0, u.name))
        ranked.extend(members)
    return ranked


def build_index(
    period: Period,
    root_id: str,
    service_results: Mapping[str, Any],
    components: Mapping[str, Mapping[str, Any]],
    missing: Mapping[str, str] | None = None,
) -> NationalIndex:
    """Join service-results with the component answers (`data` by component code) and rank.

    A component absent from `components` is absent from every unit (never zero); `missing`
    says why, by code.
    """
    root, units = read_units(service_results)
    scores = {
        code: read_component(COMPONENT_BY_CODE[code], data) for code, data in components.items()
    }
    joined = [
        replace(
            unit,
            components={
                c.code: scores[c.code][unit.id]
                for c in COMPONENTS
                if c.code in scores and unit.id in scores[c.code]
            },
        )
        for unit in units
    ]
    root = root or Root("", None, "", None)
    return NationalIndex(
        period_key=period.key,
        root=Root(root_id, root.code, root.name, root.total_score),
        units=tuple(rank_units(joined)),
        missing=dict(missing or {}),
    )
