"""`tthc-report index`: the recorded answers replayed from a loopback server, and the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.settings.loading import DEFAULT_CONFIG_DIR
from tests.national_index_replay import GIA_LAI_ROOT, Replay, replay_server


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TTHC_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("COLUMNS", "240")  # rich wraps tables and errors to the width
    return CliRunner()


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    with replay_server() as served:
        monkeypatch.setenv("TTHC_NATIONAL_INDEX__BASE_URL", served.url)
        monkeypatch.setenv("TTHC_NATIONAL_INDEX__ROOT_DEPARTMENT_ID", GIA_LAI_ROOT)
        monkeypatch.setenv("TTHC_NATIONAL_INDEX__PAUSE_MIN_SECONDS", "0")
        monkeypatch.setenv("TTHC_NATIONAL_INDEX__PAUSE_MAX_SECONDS", "0")
        yield served


def index(runner: CliRunner, *arguments: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(DEFAULT_CONFIG_DIR), "index", *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_index_json_prints_the_served_units_with_totals_and_ranks(
    runner: CliRunner, replay: Replay
) -> None:
    # The recorded answers cover service-results of February 2026 (not March): replayed here.
    code, out, err = index(runner, "--period", "2026-02", "--json")

    assert code == 0, err
    printed = json.loads(out)
    assert printed["period"] == "2026-02"
    assert printed["root"] == {
        "id": GIA_LAI_ROOT,
        "code": "H21",
        "name": "UBND tỉnh Gia Lai",
        "total_score": 34.19,
    }
    units = {unit["code"]: unit for unit in printed["units"]}
    assert len(units) == 24
    assert units["H21.24"] | {"id": ""} == {
        "id": "",
        "code": "H21.24",
        "name": "Sở Nông nghiệp và Môi trường - tỉnh Gia Lai",
        "group": "AGENCY",
        "total_score": 35.22,
        "rank": 1,
        "components": {},  # no component endpoint answered for the month: absent, not zero
    }
    assert (units["H21.19"]["total_score"], units["H21.19"]["rank"]) == (30, 2)
    # Twelve agencies tied at 16, all third; the score printed as served, an integer.
    tied = [u for u in printed["units"] if u["group"] == "AGENCY" and u["total_score"] == 16]
    assert len(tied) == 12 and {u["rank"] for u in tied} == {3}
    assert '"total_score": 16,' in out
    communes = [u for u in printed["units"] if u["group"] == "COMMUNE"]
    assert [(u["code"], u["rank"]) for u in communes[:2]] == [("H21.106", 1), ("H21.203", 2)]
    assert [u["rank"] for u in communes] == [1, 2, 3, 4, 4, 4, 4, 4, 9, 10]
    assert "national index: CKMB left out: HTTP 404" in err
    assert replay.bodies[0] == (
        "service-results",
        {
            "timeType": "month",
            "year": 2026,
            "pageSize": 300,
            "currentPage": 1,
            "rootDepartmentId": GIA_LAI_ROOT,
            "month": 2,
        },
    )


def test_a_month_the_recordings_do_not_hold_reads_as_not_published(
    runner: CliRunner, replay: Replay
) -> None:
    code, out, err = index(runner, "--period", "2026-03", "--json")

    assert code == 1
    assert out == ""
    assert "no unit listed for 2026-03: not published yet" in err


def test_a_half_year_is_refused_with_a_clear_message(runner: CliRunner) -> None:
    code, _, err = index(runner, "--period", "2026-H1")

    assert code == 2
    assert "published per month, quarter or year, not per half-year" in err


def test_the_table_shows_the_embedded_simulator_s_agencies(runner: CliRunner) -> None:
    code, out, err = index(runner, "--period", "2024-05")

    assert code == 0, err
    assert "Bộ chỉ số 766" in out
    assert "H99.15" in out
    assert "Sở Khoa học và Công nghệ - tỉnh Demo" in out


def test_an_index_turned_off_is_said(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_NATIONAL_INDEX__BASE_URL", "off")

    code, _, err = index(runner, "--period", "2024-05", "--json")

    assert code == 1
    assert "national_index.base_url is 'off'" in err
