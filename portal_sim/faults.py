"""The simulator's faults: what it does wrong on demand, and the records it breaks on purpose."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tasks.portal.dossiers import is_portal_time

__all__ = ["COUNTED_FAULTS", "Faults", "broken_records", "parse_faults", "touched"]

STAMP_FORMAT = "%Y%m%d%H%M%S"


@dataclass
class Faults:
    """What the simulator does wrong, changeable while it runs.

    Counted faults (`unavailable_burst`, `throttle_burst`, `cut_bodies`, `truncated_bodies`,
    `html_bodies`, `connection_resets`) hit the next N requests, counting down; `ALWAYS` (-1)
    hits every request. They apply to the requests `only` names (AUTH or a service name),
    every request when `only` is empty. When several are due, the first in field order wins.
    """

    ALWAYS: ClassVar[int] = -1

    latency_seconds: float = 0.0  # added before every answer
    unavailable_share: float = 0.0  # share of requests answered 503, drawn from `seed`
    seed: int = 0
    unavailable_burst: int = 0  # next N requests answer 503
    throttle_burst: int = 0  # next N requests answer 429 with Retry-After
    retry_after_seconds: int = 1
    throttle_after: int = 0  # the 429 burst starts once this many requests were answered
    connection_resets: int = 0  # next N requests: connection closed without an answer
    cut_bodies: int = 0  # next N answers declare their full length, send half, then hang up
    truncated_bodies: int = 0  # next N answers are 200 with JSON cut short (length consistent)
    html_bodies: int = 0  # next N answers are 200 with an HTML error page
    session_calls: int = 0  # a session serves N api calls, then answers "401" (0: no limit)
    repeat_across_pages: bool = False  # page k+1 starts with the last record of page k
    repeat_update_seconds: int = 60  # how much newer the repeated copy's NgayCapNhat is
    failing_agencies: set[str] = field(default_factory=set)  # LayDanhSachHoSo service error
    malformed_records: int = 0  # every non-empty page of dossiers also carries N broken records
    only: set[str] = field(default_factory=set)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def applies_to(self, endpoint: str) -> bool:
        """Tell whether the counted and random faults concern `endpoint` (AUTH or a service)."""
        return not self.only or endpoint in self.only

    def take(self, name: str) -> bool:
        """Consume one occurrence of the counted fault `name`; tell whether it is due now."""
        remaining: int = getattr(self, name)
        if remaining == 0:
            return False
        if remaining > 0:
            setattr(self, name, remaining - 1)
        return True

    def draw_unavailable(self) -> bool:
        """Draw whether this request is one of the random share of 503s."""
        return self.unavailable_share > 0 and self._rng.random() < self.unavailable_share


# The counted faults in the order they win when several are due, with the stat each adds to.
COUNTED_FAULTS: dict[str, str] = {
    "unavailable_burst": "fault:503",
    "throttle_burst": "fault:429",
    "connection_resets": "fault:reset",
    "cut_bodies": "fault:cut",
    "truncated_bodies": "fault:truncated",
    "html_bodies": "fault:html",
}


def parse_faults(text: str) -> Faults:
    """Read faults from "key=value,key=value" (the command line's --faults option).

    Sets take agency codes separated by "|": "failing_agencies=000.00.15.H99|000.00.16.H99".
    """
    types = {f.name: f.type for f in dataclasses.fields(Faults) if not f.name.startswith("_")}
    values: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in types:
            known = ", ".join(sorted(types))
            raise ValueError(f"fault {item!r}: expected key=value with a key among {known}")
        kind = str(types[key])
        value = value.strip()
        try:
            if kind.startswith("set"):
                values[key] = {v.strip() for v in value.split("|") if v.strip()}
            elif kind == "bool":
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                values[key] = value.lower() in ("true", "1", "yes")
            elif kind == "float":
                values[key] = float(value)
            else:
                values[key] = Faults.ALWAYS if value.lower() == "always" else int(value)
        except ValueError:
            raise ValueError(f"fault {item!r}: {value!r} is not a valid {kind}") from None
    return Faults(**values)


def broken_records(agency: str, page_index: int, stamp: str, count: int) -> list[Any]:
    """Return `count` records of `agency` that validation must reject, each broken its own way."""
    records: list[Any] = []
    for number in range(count):
        code = f"~LOI-{agency}-{page_index:04d}-{number:03d}"  # "~" sorts after every real code
        kind = number % 4
        if kind == 0:
            records.append({"MaHoSo": code, "MaDonVi": agency, "TrangThaiHoSo": 4})
        elif kind == 1:
            records.append(
                {
                    "MaHoSo": code,
                    "MaDonVi": agency,
                    "NgayTiepNhan": "31/05/2024",
                    "TrangThaiHoSo": 4,
                }
            )
        elif kind == 2:
            records.append(
                {"MaHoSo": code, "MaDonVi": agency, "NgayTiepNhan": stamp, "TrangThaiHoSo": 12}
            )
        else:
            records.append(f"{code}: not a record")
    return records


def touched(record: Any, seconds: int) -> Any:
    """Return a copy of `record` whose NgayCapNhat is `seconds` later (unchanged if unreadable)."""
    if not isinstance(record, dict):
        return record
    stamp = record.get("NgayCapNhat")
    if not isinstance(stamp, str) or not is_portal_time(stamp):
        return record
    later = datetime.strptime(stamp, STAMP_FORMAT) + timedelta(seconds=seconds)
    return {**record, "NgayCapNhat": later.strftime(STAMP_FORMAT)}
