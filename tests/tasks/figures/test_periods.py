"""Tests of tasks/figures/periods.py: parsing, bounds, labels and neighbours of reporting periods."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from tasks.figures.periods import PERIOD_PATTERN, InvalidPeriod, Period


@pytest.mark.parametrize(
    ("text", "year", "kind", "index"),
    [
        ("2024-05", 2024, "month", 5),
        ("2024-01", 2024, "month", 1),
        ("2024-12", 2024, "month", 12),
        ("2024-Q2", 2024, "quarter", 2),
        ("2024-q4", 2024, "quarter", 4),
        ("2024-H1", 2024, "half", 1),
        ("2024-H2", 2024, "half", 2),
        ("2024", 2024, "year", 1),
        (" 2024-05 ", 2024, "month", 5),
    ],
)
def test_parse_reads_every_kind_of_period(text: str, year: int, kind: str, index: int) -> None:
    assert Period.parse(text) == Period(year, kind, index)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("2024-13", "month number 13"),
        ("2024-00", "month number 0"),
        ("2024-Q5", "quarter number 5"),
        ("2024-Q0", "quarter number 0"),
        ("2024-H3", "half number 3"),
        ("24-05", "is not a month"),
        ("May", "is not a month"),
        ("2024-5", "is not a month"),
        ("2024/05", "is not a month"),
        ("", "is not a month"),
        ("1999-05", "year 1999"),
    ],
)
def test_parse_rejects_what_names_no_period(text: str, named: str) -> None:
    with pytest.raises(InvalidPeriod) as error:
        Period.parse(text)
    assert repr(text) in str(error.value)
    assert named in str(error.value)


def test_invalid_period_is_a_value_error() -> None:
    assert issubclass(InvalidPeriod, ValueError)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024-05", "20240501000000", "20240531235959"),
        ("2024-02", "20240201000000", "20240229235959"),  # leap year
        ("2023-02", "20230201000000", "20230228235959"),
        ("2100-02", "21000201000000", "21000228235959"),  # century, not a leap year
        ("2000-02", "20000201000000", "20000229235959"),  # 400th year, a leap year
        ("2024-04", "20240401000000", "20240430235959"),
        ("2024-12", "20241201000000", "20241231235959"),
        ("2024-Q1", "20240101000000", "20240331235959"),
        ("2024-Q2", "20240401000000", "20240630235959"),
        ("2024-Q4", "20241001000000", "20241231235959"),
        ("2024-H1", "20240101000000", "20240630235959"),
        ("2024-H2", "20240701000000", "20241231235959"),
        ("2024", "20240101000000", "20241231235959"),
    ],
)
def test_start_and_end_stamps_close_the_interval(text: str, start: str, end: str) -> None:
    period = Period.parse(text)
    assert (period.start_stamp, period.end_stamp) == (start, end)


def test_start_and_end_datetimes_match_the_stamps() -> None:
    period = Period.parse("2024-02")
    assert period.start == datetime(2024, 2, 1, 0, 0, 0)
    assert period.end == datetime(2024, 2, 29, 23, 59, 59)
    assert (period.start_date, period.end_date) == (date(2024, 2, 1), date(2024, 2, 29))


@pytest.mark.parametrize(
    ("text", "label", "short_label"),
    [
        ("2024-05", "tháng 5/2024", "tháng 5"),
        ("2024-12", "tháng 12/2024", "tháng 12"),
        ("2024-Q1", "quý I/2024", "quý I"),
        ("2024-Q2", "quý II/2024", "quý II"),
        ("2024-Q3", "quý III/2024", "quý III"),
        ("2024-Q4", "quý IV/2024", "quý IV"),
        ("2024-H1", "6 tháng đầu năm 2024", "6 tháng đầu năm"),
        ("2024-H2", "6 tháng cuối năm 2024", "6 tháng cuối năm"),
        ("2024", "năm 2024", "năm 2024"),
    ],
)
def test_labels_are_as_the_report_writes_them(text: str, label: str, short_label: str) -> None:
    period = Period.parse(text)
    assert period.label == label
    assert period.short_label == short_label


@pytest.mark.parametrize("text", ["2024-05", "2024-Q2", "2024-H1", "2024", "2024-01"])
def test_key_and_str_give_back_the_parsed_text(text: str) -> None:
    period = Period.parse(text)
    assert period.key == text
    assert str(period) == text
    assert Period.parse(period.key) == period


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2024-05", "2024-04"),
        ("2024-01", "2023-12"),
        ("2024-Q1", "2023-Q4"),
        ("2024-Q3", "2024-Q2"),
        ("2024-H1", "2023-H2"),
        ("2024-H2", "2024-H1"),
        ("2024", "2023"),
    ],
)
def test_previous_is_the_period_of_the_same_kind_before(text: str, previous: str) -> None:
    assert Period.parse(text).previous() == Period.parse(previous)


def test_previous_month_ends_the_second_before_this_one_starts() -> None:
    period = Period.parse("2024-03")
    assert period.previous().end_stamp == "20240229235959"


@pytest.mark.parametrize(
    ("day", "month"),
    [
        (date(2024, 6, 1), "2024-05"),
        (date(2024, 6, 30), "2024-05"),
        (date(2024, 1, 3), "2023-12"),
    ],
)
def test_month_before_a_day(day: date, month: str) -> None:
    assert Period.month_before(day) == Period.parse(month)


def test_trailing_months_end_with_the_period_oldest_first() -> None:
    months = Period.parse("2024-05").trailing_months(12)
    assert [m.key for m in months] == [
        "2023-06",
        "2023-07",
        "2023-08",
        "2023-09",
        "2023-10",
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
    ]


@pytest.mark.parametrize(
    ("text", "count", "keys"),
    [
        ("2024-Q2", 3, ["2024-04", "2024-05", "2024-06"]),
        ("2024-H1", 2, ["2024-05", "2024-06"]),
        ("2024", 2, ["2024-11", "2024-12"]),
        ("2024-02", 3, ["2023-12", "2024-01", "2024-02"]),
        ("2024-05", 1, ["2024-05"]),
    ],
)
def test_trailing_months_of_longer_periods_end_with_their_last_month(
    text: str, count: int, keys: list[str]
) -> None:
    assert [m.key for m in Period.parse(text).trailing_months(count)] == keys


def test_trailing_months_default_to_a_year() -> None:
    assert len(Period.parse("2024-05").trailing_months()) == 12


@pytest.mark.parametrize(
    "text",
    [
        "2024-05", "2024-12", "2024-13", "2024-00", "04/2024", "2024-5", "2024-Q2", "2024-q4",
        "2024-Q5", "2024-H1", "2024-h2", "2024-H3", "2024", "1999", "2100", "2101", "SKHCN", " ",
    ],
)  # fmt: skip
def test_the_form_pattern_accepts_exactly_what_parse_accepts(text: str) -> None:
    try:
        Period.parse(text)
        parsed = True
    except InvalidPeriod:
        parsed = False

    assert (re.fullmatch(PERIOD_PATTERN, text) is not None) == parsed


def test_the_form_pattern_accepts_an_empty_period() -> None:
    # Empty: the month before the run, the scheduled run's default.
    assert re.fullmatch(PERIOD_PATTERN, "") is not None
