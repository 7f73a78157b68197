"""Parsing, joining and ranking the national index, on the real recorded answers (no IO)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasks.figures.periods import Period
from tasks.national_index.model import (
    COMPONENT_BY_CODE,
    COMPONENTS,
    HalfYearRefused,
    IndexResponseError,
    NationalIndex,
    build_index,
    competition_ranks,
    envelope_data,
    read_component,
    read_units,
    request_body,
    total_pages,
)
from tests.national_index_replay import GIA_LAI_ROOT, SAMPLES, sample

MONTH = "service-results.month-2026-02.gia-lai.json"
PROGRESS = "dvc-progress-tree.year-2026.snapshot-2026-10-01.gia-lai.json"
SATISFACTION = "handling-satisfaction.year-2026.gia-lai.json"
FEBRUARY = Period.month(2026, 2)
SKHCN_GIA_LAI = "019d2be3-6a85-74ec-a346-d06e915fa069"


def data(name: str) -> dict[str, Any]:
    return envelope_data(sample(name), name)


def test_every_sample_file_is_parsed() -> None:
    names = sorted(path.name for path in SAMPLES.glob("*.json"))
    assert names == sorted([MONTH, PROGRESS, SATISFACTION])
    _root, units = read_units(data(MONTH))
    assert len(units) == 24
    assert len(read_component(COMPONENT_BY_CODE["TDGQ"], data(PROGRESS))) == 17
    assert len(read_component(COMPONENT_BY_CODE["MDHL"], data(SATISFACTION))) == 6


def test_service_results_gives_the_root_and_the_units_as_served() -> None:
    root, units = read_units(data(MONTH))

    assert root is not None
    assert (root.code, root.name, root.total_score) == ("H21", "UBND tỉnh Gia Lai", 34.19)
    by_code = {unit.code: unit for unit in units}
    # A whole value is served as an integer, and stays one.
    assert by_code["H21.09"].total_score == 16
    assert type(by_code["H21.09"].total_score) is int
    assert type(by_code["H21.24"].total_score) is float
    assert by_code["H21.24"].total_score == 35.22
    assert by_code["H21.09"].group == "AGENCY"
    assert by_code["H21.106"].group == "COMMUNE"
    assert by_code["H21.09"].name == "Sở Khoa học và Công nghệ - tỉnh Gia Lai"


def test_february_ranks_ties_by_competition_per_group() -> None:
    index = build_index(FEBRUARY, GIA_LAI_ROOT, data(MONTH), {})

    agencies = [u for u in index.units if u.group == "AGENCY"]
    communes = [u for u in index.units if u.group == "COMMUNE"]
    assert [(u.code, u.rank) for u in agencies[:3]] == [("H21.24", 1), ("H21.19", 2), ("H21.02", 3)]
    # Twelve agencies share 16 points: all third, shown in name order.
    tied = [u for u in agencies if u.total_score == 16]
    assert len(tied) == 12
    assert {u.rank for u in tied} == {3}
    assert [u.name for u in tied] == sorted(u.name for u in tied)
    assert [u.rank for u in communes] == [1, 2, 3, 4, 4, 4, 4, 4, 9, 10]
    assert index.group_size("AGENCY") == 14


def test_progress_tree_counts_scores_and_zeros() -> None:
    scores = read_component(COMPONENT_BY_CODE["TDGQ"], data(PROGRESS))

    skhcn = scores[SKHCN_GIA_LAI]
    assert (skhcn.score, skhcn.received, skhcn.on_time, skhcn.overdue) == (19.57, 698, 683, 15)
    dan_toc = scores["019d2be3-6a85-74ec-a346-6a14f82c73b2"]
    assert dan_toc.score == 20 and type(dan_toc.score) is int
    for value in scores.values():
        assert value.received == (value.on_time or 0) + (value.overdue or 0)


def test_satisfaction_has_no_code_joins_by_id_and_tolerates_nulls() -> None:
    raw = data(SATISFACTION)
    assert all("departmentCode" not in item for item in raw["evaluation"])
    assert total_pages(raw) == 1
    scores = read_component(COMPONENT_BY_CODE["MDHL"], raw)

    assert scores["019d2be3-6a85-74ec-a346-6a14f82c73b2"].score == 18
    assert scores["019d2be3-6a85-74ec-a347-aeff8ea15438"].score == 4.59
    for item in raw["evaluation"]:
        metrics = [m["score"] for m in item["metrics"] if m["score"] is not None]
        assert round(sum(metrics), 2) == item["totalScore"]
        assert item["averageScore"] is None


def test_components_join_on_department_id_and_missing_ones_are_absent() -> None:
    index = build_index(
        FEBRUARY,
        GIA_LAI_ROOT,
        data(MONTH),
        {"TDGQ": data(PROGRESS), "MDHL": data(SATISFACTION)},
        {"CKMB": "HTTP 404"},
    )

    skhcn = index.unit("H21.09")
    assert skhcn is not None
    assert skhcn.components["TDGQ"].to_json() == {
        "score": 19.57,
        "received": 698,
        "on_time": 683,
        "overdue": 15,
    }
    assert set(skhcn.components) == {"TDGQ"}  # not in the trimmed satisfaction sample
    dan_toc = index.unit("H21.01")
    assert dan_toc is not None
    assert set(dan_toc.components) == {"TDGQ", "MDHL"}
    assert dan_toc.components["MDHL"].to_json() == {"score": 18}
    assert index.missing == {"CKMB": "HTTP 404"}
    assert index.root.id == GIA_LAI_ROOT


def test_the_printed_index_has_the_issue_s_shape_and_reads_back() -> None:
    index = build_index(FEBRUARY, GIA_LAI_ROOT, data(MONTH), {"TDGQ": data(PROGRESS)})

    printed = json.loads(json.dumps(index.to_json()))
    assert set(printed) == {"period", "root", "units"}
    assert printed["period"] == "2026-02"
    assert printed["root"] == {
        "id": GIA_LAI_ROOT,
        "code": "H21",
        "name": "UBND tỉnh Gia Lai",
        "total_score": 34.19,
    }
    unit = printed["units"][0]
    assert set(unit) == {"id", "code", "name", "group", "total_score", "rank", "components"}
    assert NationalIndex.from_json(index.to_record()) == index


def test_request_bodies_follow_the_portal_s_key_order() -> None:
    body = request_body(Period.parse("2026-03"), GIA_LAI_ROOT)
    assert json.dumps(body, separators=(",", ":")) == (
        '{"timeType":"month","year":2026,"pageSize":300,"currentPage":1,'
        f'"rootDepartmentId":"{GIA_LAI_ROOT}","month":3}}'
    )
    assert request_body(Period.parse("2026-Q1"), "r")["quarter"] == 1
    year = request_body(Period.parse("2026"), "r")
    assert year["timeType"] == "year" and "month" not in year
    with pytest.raises(HalfYearRefused, match="half-year"):
        request_body(Period.parse("2026-H1"), "r")


@pytest.mark.parametrize(
    ("scores", "ranks"),
    [
        ([60, 50, 50, 40], [1, 2, 2, 4]),
        ([16, 16, 16], [1, 1, 1]),
        ([None, 10, 10.0, 9.99], [None, 1, 1, 3]),
        ([], []),
    ],
)
def test_competition_ranks(scores: list[float | None], ranks: list[int | None]) -> None:
    assert competition_ranks(scores) == ranks


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the answer is not a JSON object"),
        ({"code": "ERROR", "message": "Lỗi"}, "code 'ERROR' is not 'OK' \\(Lỗi\\)"),
        ({"code": "OK", "data": None}, "the answer has no data object"),
        ({"code": "OK", "data": {"evaluation": {}}}, "data.evaluation is not a list"),
    ],
)
def test_a_bad_envelope_is_refused_naming_the_endpoint(body: Any, message: str) -> None:
    with pytest.raises(IndexResponseError, match=f"service-results: {message}"):
        read_units(envelope_data(body, "service-results"))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"departmentName": "x", "totalScore": 1}, r"evaluation\[1\]: no departmentId"),
        (
            {"departmentId": "a", "totalScore": "16"},
            r"evaluation\[1\].totalScore: '16' is not a number",
        ),
        ({"departmentId": "a", "totalScore": True}, r"totalScore: True is not a number"),
    ],
)
def test_a_bad_unit_is_refused_naming_its_position(item: dict[str, Any], message: str) -> None:
    with pytest.raises(IndexResponseError, match=message):
        read_units({"evaluation": [item]})


def test_a_unit_listed_twice_is_refused() -> None:
    item = {"departmentId": "a", "totalScore": 1}
    with pytest.raises(
        IndexResponseError, match=r"evaluation\[2\]: departmentId a is listed twice"
    ):
        read_units({"evaluation": [item, item]})


def test_the_components_add_up_to_one_hundred() -> None:
    assert sum(component.maximum for component in COMPONENTS) == 100
