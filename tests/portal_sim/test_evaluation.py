"""The evaluation API simulator with raw HTTP requests: shapes, statuses, periods, faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from portal_sim.evaluation import EvaluationSimulator, served, unit_code, unit_id
from portal_sim.store import open_scenario
from tasks.settings.loading import PROJECT_ROOT

DEMO = PROJECT_ROOT / "portal_sim" / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def simulator() -> Iterator[EvaluationSimulator]:
    with EvaluationSimulator(open_scenario(DEMO)) as running:
        yield running


def post(simulator: EvaluationSimulator, endpoint: str, **body: Any) -> requests.Response:
    payload = {"timeType": "month", "year": 2024, "month": 5, "pageSize": 300, "currentPage": 1}
    payload["rootDepartmentId"] = simulator.root_id
    payload.update(body)
    return requests.post(f"{simulator.url}/{endpoint}", json=payload, timeout=10)


def test_service_results_answers_201_with_the_envelope_and_groups(
    simulator: EvaluationSimulator,
) -> None:
    response = post(simulator, "service-results")

    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["message"]) == ("OK", "OK")
    units = body["data"]["evaluation"]
    assert {u["childGroup"] for u in units} == {"AGENCY", "COMMUNE"}
    scores = [u["totalScore"] for u in units]
    assert scores == sorted(scores, reverse=True)
    skhcn = next(u for u in units if u["departmentCode"] == "H99.15")
    assert skhcn["departmentId"] == unit_id("H99.15")
    assert skhcn["departmentName"] == "Sở Khoa học và Công nghệ - tỉnh Demo"
    assert skhcn["scoreDelta"] is None
    assert body["data"]["overview"]["departmentCode"] == "H99"


def test_the_progress_tree_counts_the_scenario_s_dossiers(simulator: EvaluationSimulator) -> None:
    children = post(simulator, "dvc-progress-tree").json()["data"]["children"]

    skhcn = next(c for c in children if c["departmentCode"] == "H99.15")
    # The seed report: 54 resolved, 49 early + 5 on time, none late.
    assert (skhcn["totalReceived"], skhcn["totalOnTime"], skhcn["totalOverdue"]) == (54, 54, 0)
    assert skhcn["score"] == 20 and type(skhcn["score"]) is int
    assert skhcn["level"] == "PROVINCE"
    codes = [c["departmentCode"] for c in children]
    assert codes == sorted(codes)  # listed by code as a string, as the portal does


def test_list_endpoints_carry_pagination_and_no_code_where_the_portal_has_none(
    simulator: EvaluationSimulator,
) -> None:
    data = post(simulator, "handling-satisfaction").json()["data"]

    assert data["pagination"]["totalPages"] == 1
    assert all(item["totalMaxScore"] == 18 for item in data["evaluation"])


def test_a_period_after_the_scenario_is_not_published(simulator: EvaluationSimulator) -> None:
    response = post(simulator, "service-results", month=11)

    assert response.status_code == 201
    assert response.json()["data"]["evaluation"] == []


def test_another_root_lists_nothing(simulator: EvaluationSimulator) -> None:
    assert (
        post(simulator, "service-results", rootDepartmentId="x").json()["data"]["evaluation"] == []
    )


def test_failing_endpoints_unknown_paths_and_bad_bodies(simulator: EvaluationSimulator) -> None:
    simulator.failing = {"transparency"}
    try:
        assert post(simulator, "transparency").status_code == 503
    finally:
        simulator.failing = set()
    assert post(simulator, "formalities").status_code == 404
    assert post(simulator, "service-results", timeType="week").status_code == 400
    assert simulator.stats["transparency"] >= 1


def test_quarter_and_year_bodies_are_answered(simulator: EvaluationSimulator) -> None:
    quarter = post(simulator, "service-results", timeType="quarter", quarter=2, month=None)
    year = post(simulator, "service-results", timeType="year", month=None)

    assert quarter.json()["data"]["evaluation"]
    assert year.json()["data"]["evaluation"]


def test_identities_and_numbers() -> None:
    assert unit_code("000.00.15.H99", "H99") == "H99.15"
    assert unit_code("xa-123", "H99") == "H99.123"
    assert unit_id("H99.15") == unit_id("H99.15") != unit_id("H99.09")
    assert (served(16.0), served(19.567), served(None)) == (16, 19.57, 0)
