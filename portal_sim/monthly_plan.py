"""A planned dossier of a monthly agency, and what of the agency the record writer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from portal_sim.catalogue import Procedure
from portal_sim.scenario import AgencySpec
from portal_sim.worktime import Calendar


@dataclass(slots=True, eq=False)
class Forwarding:
    """A forwarding (LienThong) of a dossier to another agency."""

    to: str
    host: Plan
    sent: int = -1
    planned: int = 0  # planned due date (ordinal)
    due_min: int = 0
    due_max: int | None = None
    fin: int | None = None
    role: str = ""


@dataclass(slots=True, eq=False)
class Plan:
    """One dossier as planned: receipt, attributes, and the bounds of its due date."""

    serial: int
    r: int
    due_min: int
    proc: Procedure | None = None
    channel: int = 1
    level: int = 3
    postal_return: bool = False
    fee: bool = False
    paid: bool = False
    digitised: bool = False
    interagency: bool = False
    due_max: int | None = None
    close: int | None = None
    kind: str = ""  # E O L W R once closed
    supplements: list[list[int | None]] = field(default_factory=list)
    fwd: Forwarding | None = None
    partner: str = ""
    role: str = ""
    must_ip: bool = False
    host_fin: bool = False
    new: bool = False


class AgencyState(Protocol):
    """The parts of a monthly agency (portal_sim.monthly.MonthlyAgency) its records are made of."""

    spec: AgencySpec
    cal: Calendar
    now: int
    serial: int
    procs: list[Procedure]
    plans: list[Plan]
    raw_extras: list[tuple[int, int, dict[str, Any], str, str]]
    extras: dict[str, dict[str, int]]
