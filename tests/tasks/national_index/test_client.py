"""The evaluation API's client over real HTTP: the simulator (contract) and the recorded answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal_sim.evaluation import EvaluationSimulator
from portal_sim.store import open_scenario
from tasks.figures.engine import compute_figures
from tasks.figures.periods import Period
from tasks.national_index.client import EvaluationClient, IndexUnavailable
from tasks.national_index.model import COMPONENTS
from tasks.portal.client import check_record
from tasks.settings.loading import PROJECT_ROOT
from tests.national_index_replay import GIA_LAI_ROOT, Replay, replay_server

MAY = Period.month(2024, 5)
DEMO = PROJECT_ROOT / "portal_sim" / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def evaluation() -> Iterator[EvaluationSimulator]:
    with EvaluationSimulator(open_scenario(DEMO)) as simulator:
        yield simulator


@pytest.fixture
def replay() -> Iterator[Replay]:
    with replay_server() as served:
        yield served


def client(url: str, sleeps: list[float] | None = None, **options: float) -> EvaluationClient:
    """Return a client that records its waits instead of sleeping."""
    recorded = sleeps if sleeps is not None else []
    return EvaluationClient(url, sleep=recorded.append, **options)  # type: ignore[arg-type]


# -- contract: the client against the simulator -----------------------------------------


def test_the_client_reads_every_endpoint_of_the_simulator(
    evaluation: EvaluationSimulator,
) -> None:
    evaluation.failing = set()
    with client(evaluation.url) as reader:
        index = reader.fetch(MAY, evaluation.root_id)

    assert index.missing == {}
    assert index.root.code == "H99"
    skhcn = index.unit("H99.15")
    assert skhcn is not None
    assert skhcn.group == "AGENCY"
    assert set(skhcn.components) == {c.code for c in COMPONENTS}
    total = sum(score.score or 0 for score in skhcn.components.values())
    assert skhcn.total_score == pytest.approx(total, abs=0.01)
    # The progress counts come from the same dossiers as the report's figures.
    store = evaluation.store
    window = store.window("000.00.15.H99", MAY.start_stamp, MAY.end_stamp)
    records = (check_record(raw, "000.00.15.H99") for raw in window.page(0, window.total))
    figures = compute_figures(records, MAY, "000.00.15.H99", "000.00.01.H99").figures
    progress = skhcn.components["TDGQ"]
    assert (progress.received, progress.on_time, progress.overdue) == (
        figures["resolved"],
        figures["resolved_early"] + figures["resolved_on_time"],
        figures["resolved_late"],
    )
    assert (progress.received, progress.overdue) == (54, 0)
    agencies = [u for u in index.units if u.group == "AGENCY"]
    assert [u.rank for u in agencies] == sorted(u.rank or 0 for u in agencies)


def test_a_component_that_fails_is_left_out_and_named(evaluation: EvaluationSimulator) -> None:
    evaluation.failing = {"handling-satisfaction"}
    sleeps: list[float] = []
    try:
        with client(evaluation.url, sleeps, max_attempts=2, pause_min=0, pause_max=0) as reader:
            index = reader.fetch(MAY, evaluation.root_id)
    finally:
        evaluation.failing = set()

    assert index.missing == {"MDHL": "HTTP 503 after 2 attempt(s)"}
    assert all("MDHL" not in unit.components for unit in index.units)
    assert len(sleeps) == 1  # one backoff between the two attempts


def test_the_index_is_unavailable_when_service_results_fails(
    evaluation: EvaluationSimulator,
) -> None:
    evaluation.failing = {"service-results"}
    try:
        with (
            client(evaluation.url, max_attempts=3, pause_min=0, pause_max=0) as reader,
            pytest.raises(IndexUnavailable, match="service-results: HTTP 503 after 3 attempt"),
        ):
            reader.fetch(MAY, evaluation.root_id)
    finally:
        evaluation.failing = set()


def test_a_period_not_published_yet_is_unavailable(evaluation: EvaluationSimulator) -> None:
    with (
        client(evaluation.url) as reader,
        pytest.raises(IndexUnavailable, match="no unit listed for 2024-10: not published yet"),
    ):
        reader.fetch(Period.month(2024, 10), evaluation.root_id)


# -- the recorded answers ---------------------------------------------------------------


def test_the_recorded_month_is_read_with_its_ties_and_absent_components(replay: Replay) -> None:
    with client(replay.url) as reader:
        index = reader.fetch(Period.month(2026, 2), GIA_LAI_ROOT)

    assert index.root.total_score == 34.19
    assert len(index.units) == 24
    # Not recorded: 404, left out and named. Recorded for the year only: an empty list for the
    # month, so no unit has that component either (absent, never zero).
    assert set(index.missing) == {"CKMB", "ONLINE", "TTTT", "MDSH"}
    assert index.missing["CKMB"] == "HTTP 404"
    assert all(unit.components == {} for unit in index.units)
    assert [endpoint for endpoint, _ in replay.bodies] == [
        "service-results",
        *(c.endpoint for c in COMPONENTS),
    ]
    assert all(body["month"] == 2 and body["pageSize"] == 300 for _, body in replay.bodies)


def test_slow_downs_are_retried_with_growing_waits_and_pauses_between_calls(
    replay: Replay,
) -> None:
    replay.script = [403, 429, 503]
    sleeps: list[float] = []
    with client(replay.url, sleeps, backoff_base=3.0, pause_min=1.0, pause_max=2.5) as reader:
        index = reader.fetch(Period.month(2026, 2), GIA_LAI_ROOT)

    assert len(index.units) == 24
    # A pause of 1.0..2.5 s before every request but the first (retries too), and three
    # backoffs of 3 × 1.4^(n-1) plus up to half as much.
    backoffs = [sleeps[0], sleeps[2], sleeps[4]]
    pauses = [sleeps[1], sleeps[3], *sleeps[5:]]
    for attempt, wait in enumerate(backoffs, 1):
        base = 3.0 * 1.4 ** (attempt - 1)
        assert base <= wait <= base * 1.5
    assert len(pauses) == len(replay.bodies) - 1
    assert all(1.0 <= pause <= 2.5 for pause in pauses)


def test_every_fetch_has_a_total_deadline(replay: Replay) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0
        return now[0]

    reader = EvaluationClient(
        replay.url, sleep=lambda _: None, clock=clock, deadline=5.0, pause_min=0, pause_max=0
    )
    with (
        reader,
        pytest.raises(
            IndexUnavailable, match="service-results: no answer within the deadline of 5s"
        ),
    ):
        reader.fetch(Period.month(2026, 2), GIA_LAI_ROOT)


def test_a_root_must_be_given() -> None:
    with pytest.raises(ValueError, match="root_department_id"):
        EvaluationClient("http://127.0.0.1:9").fetch(Period.month(2026, 2), " ")


def test_an_address_that_refuses_connections_is_unavailable_after_its_attempts() -> None:
    sleeps: list[float] = []
    reader = client("http://127.0.0.1:9/api/v1/reporting/evaluation", sleeps, max_attempts=2)
    with reader, pytest.raises(IndexUnavailable, match=r"ConnectionError.*after 2 attempt"):
        reader.fetch(Period.month(2026, 2), GIA_LAI_ROOT)
