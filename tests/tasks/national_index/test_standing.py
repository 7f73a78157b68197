"""A department's standing in the national index, and the progress counts checked against ours."""

from __future__ import annotations

from datetime import datetime

from tasks.figures.engine import FIGURE_KEYS, Figures, figures_from_mapping
from tasks.figures.periods import Period
from tasks.national_index.model import ComponentScore, NationalIndex, Root, UnitScore, rank_units
from tasks.national_index.standing import IndexFetch, index_notes, standing_of

MAY = Period.month(2024, 5)


def unit(code: str, total: float, group: str = "AGENCY", **progress: int) -> UnitScore:
    components = {"CKMB": ComponentScore(11.79)}
    if progress:
        components["TDGQ"] = ComponentScore(
            19.6, progress["received"], progress["on_time"], progress["overdue"]
        )
    return UnitScore(f"id-{code}", code, f"Đơn vị {code}", group, total, None, components)


def fetched(*units: UnitScore, missing: dict[str, str] | None = None) -> IndexFetch:
    index = NationalIndex(
        MAY.key, Root("root", "H99", "UBND tỉnh Demo", 70), tuple(rank_units(units)), missing or {}
    )
    return IndexFetch(MAY.key, index, datetime(2024, 6, 1, 1, 0))


def figures(resolved: int, early: int, on_time: int, late: int) -> Figures:
    return figures_from_mapping(
        {
            **dict.fromkeys(FIGURE_KEYS, 0),
            "resolved": resolved,
            "resolved_early": early,
            "resolved_on_time": on_time,
            "resolved_late": late,
        }
    )


def test_standing_counts_the_agencies_and_the_ties() -> None:
    fetch = fetched(
        unit("H99.15", 80),
        unit("H99.09", 80),
        unit("H99.17", 90),
        unit("H99.100", 95, "COMMUNE"),
    )

    standing = standing_of(fetch, "H99.15")

    assert standing is not None and standing.unit is not None
    assert (standing.unit.rank, standing.agencies, standing.tied) == (2, 3, 1)


def test_no_section_without_a_code_or_with_the_index_off() -> None:
    assert standing_of(fetched(unit("H99.15", 80)), None) is None
    assert standing_of(IndexFetch(MAY.key, enabled=False), "H99.15") is None
    assert standing_of(None, "H99.15") is None


def test_an_unavailable_index_or_an_unlisted_code_says_not_available() -> None:
    unavailable = standing_of(IndexFetch(MAY.key, problem="HTTP 503"), "H99.15")
    unlisted = standing_of(fetched(unit("H99.09", 80)), "H99.15")

    assert unavailable is not None and unavailable.unit is None
    assert unlisted is not None and unlisted.unit is None


def test_counts_within_the_tolerance_are_not_told() -> None:
    fetch = fetched(unit("H99.15", 80, received=54, on_time=53, overdue=1))

    notes, checks = index_notes(fetch, {"SKHCN": ("H99.15", figures(54, 49, 5, 0))}, 1)

    assert notes == []
    [check] = checks
    assert (check.index_counts, check.our_counts, check.differs) == (
        (54, 53, 1),
        (54, 54, 0),
        False,
    )


def test_counts_beyond_the_tolerance_are_told_with_both_sides() -> None:
    fetch = fetched(unit("H99.15", 80, received=741, on_time=726, overdue=15))

    notes, checks = index_notes(fetch, {"SKHCN": ("H99.15", figures(54, 49, 5, 0))}, 0)

    assert notes == [
        "SKHCN (H99.15): Bộ chỉ số 766 741/726/15, hệ thống 54/54/0 (hồ sơ đã giải quyết/"
        "đúng hạn và trước hạn/quá hạn); chênh lệch vượt ngưỡng 0"
    ]
    assert checks[0].differs


def test_the_operators_hear_of_an_unavailable_index_missing_parts_and_unlisted_codes() -> None:
    down = index_notes(
        IndexFetch(MAY.key, problem="national index service-results: HTTP 503"), {}, 0
    )
    assert down == (
        ["Bộ chỉ số 766 kỳ 2024-05 chưa lấy được: national index service-results: HTTP 503"],
        [],
    )

    fetch = fetched(unit("H99.09", 80), missing={"TDGQ": "HTTP 404"})
    notes, checks = index_notes(
        fetch,
        {
            "SKHCN": ("H99.15", figures(54, 49, 5, 0)),
            "STP": ("H99.09", figures(1, 1, 0, 0)),
            "SYT": (None, figures(1, 1, 0, 0)),
        },
        0,
    )
    assert notes == [
        "Bộ chỉ số 766 kỳ 2024-05: nhóm TDGQ không lấy được (HTTP 404)",
        "SKHCN: mã H99.15 (national_index_code) không có trong Bộ chỉ số 766 kỳ 2024-05",
    ]
    assert checks == []  # the progress component is missing: told once, above


def test_nothing_is_said_when_the_index_is_off() -> None:
    assert index_notes(IndexFetch(MAY.key, enabled=False), {"SKHCN": ("H99.15", None)}, 0) == (
        [],
        [],
    )
