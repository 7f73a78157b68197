"""Tests of department keys: safe in file names, and never a key the Centre's summary uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.settings.keys import CENTRE_KEY, RESERVED_KEYS, is_reserved
from tasks.settings.loading import ConfigError, check_config, load_config
from tests.tasks.settings.demo import edit

REASON = "is reserved for the Centre's summary"


def test_the_centre_key_is_reserved() -> None:
    assert CENTRE_KEY == "CENTRE"
    assert frozenset({CENTRE_KEY}) == RESERVED_KEYS


@pytest.mark.parametrize(
    ("key", "reserved"),
    [
        ("CENTRE", True),
        ("centre", True),
        ("Centre", True),
        ("cEnTrE", True),
        ("CENTRES", False),
        ("CENTER", False),
        ("SKHCN", False),
    ],
)
def test_is_reserved_ignores_case(key: str, reserved: bool) -> None:
    assert is_reserved(key) is reserved


@dataclass(frozen=True)
class Reserved:
    """Edits of the demo files that use a reserved key, and the problem lines expected."""

    edits: tuple[tuple[str, str, str], ...]  # (file, old, new)
    expected: tuple[str, ...]


_SGDDT_RECIPIENTS = "  SGDDT:\n    to:\n      - vanthu.sgddt@demo.gov.vn\n"

RESERVED = {
    f"departments.yaml key {key}": Reserved(
        (
            ("departments.yaml", "key: SGDDT", f"key: {key}"),
            ("recipients.yaml", "  SGDDT:\n", f"  {key}:\n"),
        ),
        (
            f"config/departments.yaml: departments[3].key: department key {key!r} {REASON}",
            f"config/recipients.yaml: departments.{key}: department key {key!r} {REASON}",
        ),
    )
    for key in ("CENTRE", "centre", "Centre")
} | {
    f"recipients.yaml key {key} only": Reserved(
        (("recipients.yaml", _SGDDT_RECIPIENTS, f"{_SGDDT_RECIPIENTS}  {key}:\n    to: []\n"),),
        (f"config/recipients.yaml: departments.{key}: department key {key!r} {REASON}",),
    )
    for key in ("CENTRE", "centre", "Centre")
}


@pytest.mark.parametrize("case", RESERVED.values(), ids=RESERVED.keys())
def test_reserved_department_key_is_refused_once_per_file(config_dir: Path, case: Reserved) -> None:
    for file_name, old, new in case.edits:
        edit(config_dir / file_name, old, new)

    problems = check_config(config_dir, {}, cwd=config_dir.parent)

    # One line per file naming the entry and why; no echo of it as an unknown or
    # recipient-less department.
    assert len(problems) == len(case.expected), "\n".join(problems)
    for problem, expected in zip(problems, case.expected, strict=True):
        assert problem.startswith(expected), problem


def test_reserved_department_key_stops_loading(config_dir: Path) -> None:
    edit(config_dir / "departments.yaml", "key: SGDDT", "key: centre")

    with pytest.raises(ConfigError) as raised:
        load_config(config_dir, {}, cwd=config_dir.parent)

    assert f"config/departments.yaml: departments[3].key: department key 'centre' {REASON}" in str(
        raised.value
    )


def test_a_key_that_only_contains_the_reserved_word_is_allowed(config_dir: Path) -> None:
    edit(config_dir / "departments.yaml", "key: SGDDT", "key: CENTRE-SGDDT")
    edit(config_dir / "recipients.yaml", "  SGDDT:\n", "  CENTRE-SGDDT:\n")

    assert check_config(config_dir, {}, cwd=config_dir.parent) == []
