"""Figures and rates are typed: a misspelt figure name fails mypy, not a report at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[3]


def _mypy(tmp_path: Path, body: str) -> tuple[str, int]:
    module = tmp_path / "uses_figures.py"
    module.write_text(
        "from tasks.figures.engine import FigureName, Figures, RateName, Rates\n\n\n" + body,
        encoding="utf-8",
    )
    stdout, _stderr, status = api.run(
        ["--no-incremental", "--cache-dir=/dev/null", "--follow-imports=silent", str(module)]
    )
    return stdout, status


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("def f(figures: Figures) -> int:\n    return figures['resolvd']\n", '"resolvd"'),
        ("def f(rates: Rates) -> float | None:\n    return rates['early']\n", '"early"'),
        ("def f(figures: Figures) -> str:\n    return figures['resolved']\n", "return value"),
        ("KEYS: tuple[FigureName, ...] = ('resolved', 'in_progres')\n", "Incompatible types"),
        ("RULE: dict[RateName, str] = {'early_rates': 'x'}\n", "Dict entry 0"),
    ],
)
def test_mypy_refuses_a_misspelt_or_mistyped_figure(tmp_path: Path, body: str, error: str) -> None:
    stdout, status = _mypy(tmp_path, body)

    assert status == 1, stdout
    assert error in stdout


def test_mypy_accepts_a_figure_by_its_name(tmp_path: Path) -> None:
    stdout, status = _mypy(
        tmp_path, "def f(figures: Figures) -> int:\n    return figures['resolved']\n"
    )

    assert status == 0, stdout


def test_the_names_are_the_keys_of_the_typed_figures() -> None:
    from typing import get_args

    from tasks.figures.engine import FigureName, Figures, RateName, Rates

    assert list(get_args(FigureName)) == list(Figures.__annotations__)
    assert list(get_args(RateName)) == list(Rates.__annotations__)
