"""Complete a month's figures: stated ones kept, the others from rates, parts that add up."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from tasks.figures.engine import FIGURE_KEYS


def _round_half_up(value: float) -> int:
    """Round half up (never banker's rounding): the defaults do not depend on parity."""
    return int(value + 0.5)


def _split(
    total: int,
    names: Sequence[str],
    stated: Mapping[str, int | None],
    defaults: Mapping[str, int],
    prefer: Sequence[str],
    whole: str,
    fail: Callable[[str], NoReturn],
) -> dict[str, int]:
    """Split `total` into `names`: stated parts kept, defaults for the others, one balances."""
    values: dict[str, int] = {}
    unstated = [n for n in names if stated.get(n) is None]
    known = sum(stated[n] or 0 for n in names if stated.get(n) is not None)
    if not unstated:
        if known != total:
            parts = " + ".join(f"{n} {stated[n]}" for n in names)
            fail(f"{parts} = {known}, but {whole} is {total}")
        return {n: int(stated[n] or 0) for n in names}
    if known > total:
        parts = " + ".join(f"{n} {stated[n]}" for n in names if stated.get(n) is not None)
        fail(f"{parts} = {known}, more than {whole} {total}")
    balancer = next(n for n in prefer if stated.get(n) is None)
    remaining = total - known
    for name in names:
        if stated.get(name) is not None:
            values[name] = int(stated[name] or 0)
    for name in defaults:
        if name in unstated and name != balancer:
            values[name] = min(max(defaults[name], 0), remaining)
            remaining -= values[name]
    for name in unstated:
        if name != balancer and name not in values:
            values[name] = 0
    values[balancer] = remaining
    return {n: values[n] for n in names}


def resolve_month(
    stated: Mapping[str, int],
    rates: Mapping[str, float],
    carried: int,
    carried_overdue: int,
    pending: int,
    pending_overdue: int,
    fail: Callable[[str], NoReturn],
) -> dict[str, int]:
    """Every figure of one month, from the stated ones, the rates and what was carried over."""
    s: dict[str, int | None] = {key: stated.get(key) for key in FIGURE_KEYS}
    new = int(stated["received_new"])
    pool = carried + new
    if s["carried_over"] is not None and s["carried_over"] != carried:
        fail(
            f"carried_over is stated as {s['carried_over']}, but the months before leave "
            f"{carried} dossiers in progress"
        )
    if s["received_total"] is not None and s["received_total"] != pool:
        fail(
            f"received_total is stated as {s['received_total']}, but carried_over + "
            f"received_new = {carried} + {new} = {pool}"
        )
    f: dict[str, int] = {"carried_over": carried, "received_new": new, "received_total": pool}

    # outcomes: resolved + returned + withdrawn + in_progress = carried_over + received_new
    in_progress_stated = s["in_progress"]
    if (
        in_progress_stated is None
        and s["in_progress_not_due"] is not None
        and s["in_progress_overdue"] is not None
    ):
        in_progress_stated = s["in_progress_not_due"] + s["in_progress_overdue"]
    resolved_stated = s["resolved"]
    parts = (s["resolved_early"], s["resolved_on_time"], s["resolved_late"])
    if resolved_stated is None and all(p is not None for p in parts):
        resolved_stated = sum(p or 0 for p in parts)
    ip_default = max(
        _round_half_up(new * rates["in_progress"]),
        (s["in_progress_not_due"] or 0) + (s["in_progress_overdue"] or 0),
    )
    outcome = _split(
        pool,
        ("withdrawn", "returned", "in_progress", "resolved"),
        {
            "withdrawn": s["withdrawn"],
            "returned": s["returned"],
            "in_progress": in_progress_stated,
            "resolved": resolved_stated,
        },
        {
            "withdrawn": _round_half_up(new * rates["withdrawn"]),
            "returned": _round_half_up(new * rates["returned"]),
            "in_progress": ip_default,
        },
        ("resolved", "in_progress", "withdrawn", "returned"),
        "carried_over + received_new",
        fail,
    )
    f.update(outcome)
    in_progress = outcome["in_progress"]
    f.update(
        _split(
            in_progress,
            ("in_progress_not_due", "in_progress_overdue"),
            s,
            {"in_progress_overdue": _round_half_up(in_progress * rates["in_progress_overdue"])},
            ("in_progress_not_due", "in_progress_overdue"),
            "in_progress",
            fail,
        )
    )
    resolved = outcome["resolved"]
    late_needed = carried_overdue - f["withdrawn"] - f["returned"] - f["in_progress_overdue"]
    f.update(
        _split(
            resolved,
            ("resolved_early", "resolved_on_time", "resolved_late"),
            s,
            {
                "resolved_late": max(_round_half_up(resolved * rates["late"]), late_needed),
                "resolved_on_time": _round_half_up(resolved * rates["on_time"]),
            },
            ("resolved_early", "resolved_on_time", "resolved_late"),
            "resolved",
            fail,
        )
    )
    absorbing = f["resolved_late"] + f["returned"] + f["withdrawn"] + f["in_progress_overdue"]
    if carried_overdue > absorbing:
        fail(
            f"{carried_overdue} dossiers carried over are already overdue: they can only be "
            f"resolved late, returned, withdrawn or stay overdue, but the month has only "
            f"resolved_late {f['resolved_late']} + returned {f['returned']} + withdrawn "
            f"{f['withdrawn']} + in_progress_overdue {f['in_progress_overdue']} = {absorbing}"
        )

    # received side
    f.update(
        _split(
            new,
            ("received_online", "received_direct", "received_postal"),
            s,
            {
                "received_online": _round_half_up(new * rates["online"]),
                "received_postal": _round_half_up(new * rates["postal"]),
            },
            ("received_direct", "received_online", "received_postal"),
            "received_new",
            fail,
        )
    )

    def subset(key: str, default: int, whole_key: str, whole: int) -> int:
        value = s[key]
        if value is None:
            return min(default, whole)
        if value > whole:
            fail(f"{key} {value} is more than {whole_key} {whole}")
        return value

    online = f["received_online"]
    f["online_l34"] = subset(
        "online_l34", _round_half_up(online * rates["online_l34"]), "received_online", online
    )
    f["postal_return"] = subset(
        "postal_return", _round_half_up(new * rates["postal_return"]), "received_new", new
    )
    f["interagency_new"] = subset(
        "interagency_new", _round_half_up(new * rates["interagency"]), "received_new", new
    )
    f["supplement_requested"] = subset(
        "supplement_requested", _round_half_up(new * rates["supplement"]), "received_total", pool
    )
    f["fee_bearing"] = subset(
        "fee_bearing", _round_half_up(new * rates["fee_bearing"]), "received_new", new
    )
    fee = f["fee_bearing"]
    f["paid_online"] = subset(
        "paid_online", _round_half_up(fee * rates["paid_online"]), "fee_bearing", fee
    )
    f["digitised"] = subset(
        "digitised", _round_half_up(new * rates["digitised"]), "received_new", new
    )

    # forwardings to VP UBND
    inter = f["interagency_new"]
    sent = s["vpubnd_sent"]
    if sent is None:
        sent = min(_round_half_up(inter * rates["vpubnd"]), inter)
    elif sent > inter:
        fail(
            f"vpubnd_sent {sent} is more than interagency_new {inter}: every dossier sent to "
            "VP UBND in a month is one of that month's inter-agency dossiers"
        )
    f["vpubnd_sent"] = sent
    pool_v = pending + sent
    vp_parts = (s["vpubnd_early"], s["vpubnd_on_time"], s["vpubnd_late"])
    vp_finished_stated = (
        sum(p or 0 for p in vp_parts) if all(p is not None for p in vp_parts) else None
    )
    vp_ip_stated = s["vpubnd_in_progress"]
    if vp_ip_stated is None and s["vpubnd_not_due"] is not None and s["vpubnd_overdue"] is not None:
        vp_ip_stated = s["vpubnd_not_due"] + s["vpubnd_overdue"]
    vp = _split(
        pool_v,
        ("finished", "vpubnd_in_progress"),
        {"finished": vp_finished_stated, "vpubnd_in_progress": vp_ip_stated},
        {
            "vpubnd_in_progress": max(
                _round_half_up(sent * rates["vpubnd_in_progress"]),
                (s["vpubnd_not_due"] or 0) + (s["vpubnd_overdue"] or 0),
            )
        },
        ("finished", "vpubnd_in_progress"),
        "forwardings pending from before + vpubnd_sent",
        fail,
    )
    vp_ip = vp["vpubnd_in_progress"]
    f["vpubnd_in_progress"] = vp_ip
    f.update(
        _split(
            vp_ip,
            ("vpubnd_not_due", "vpubnd_overdue"),
            s,
            {"vpubnd_overdue": _round_half_up(vp_ip * rates["vpubnd_overdue"])},
            ("vpubnd_not_due", "vpubnd_overdue"),
            "vpubnd_in_progress",
            fail,
        )
    )
    finished = vp["finished"]
    f.update(
        _split(
            finished,
            ("vpubnd_early", "vpubnd_on_time", "vpubnd_late"),
            s,
            {
                "vpubnd_late": max(
                    _round_half_up(finished * rates["vpubnd_late"]),
                    pending_overdue - f["vpubnd_overdue"],
                ),
                "vpubnd_on_time": _round_half_up(finished * rates["vpubnd_on_time"]),
            },
            ("vpubnd_early", "vpubnd_on_time", "vpubnd_late"),
            "forwardings finished (pending + sent - vpubnd_in_progress)",
            fail,
        )
    )
    if pending_overdue > f["vpubnd_late"] + f["vpubnd_overdue"]:
        fail(
            f"{pending_overdue} forwardings pending at VP UBND are already overdue: they can "
            f"only finish late or stay overdue, but the month has vpubnd_late "
            f"{f['vpubnd_late']} + vpubnd_overdue {f['vpubnd_overdue']}"
        )
    return {key: f[key] for key in FIGURE_KEYS}
