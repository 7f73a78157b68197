"""The procedure catalogue file: the bundled one reads, a malformed one is refused by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from portal_sim.catalogue import (
    CATALOGUE_FILE,
    CatalogueError,
    bundled,
    catalogue_keys,
    load_catalogues,
    procedures,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "portal_sim" / "scenarios"

GOOD_FIELD = """\
  - code: KHCN01
    name: Hoạt động khoa học và công nghệ
    procedures:
      - {name: "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", level: 3, fee: false, days: 7}
"""


def test_the_bundled_catalogue_serves_every_catalogue_the_scenarios_name() -> None:
    named = {
        agency["catalogue"]
        for path in SCENARIOS.glob("*.yaml")
        for key in ("agencies", "agency_groups")
        for agency in yaml.safe_load(path.read_text(encoding="utf-8")).get(key) or []
    }
    assert named and named <= set(catalogue_keys())
    assert bundled() is bundled()  # read once
    for key in catalogue_keys():
        procs = procedures(key, "H99")
        assert procs, key
        assert all(re.fullmatch(r"[12]\.00\d{4}\.000\.00\.00\.H99", p.code) for p in procs), key
        assert len({p.code for p in procs}) == len(procs), key


def test_procedure_codes_and_fields_are_stable() -> None:
    first = procedures("skhcn", "H99")[0]
    assert first.code == "2.007373.000.00.00.H99"
    assert first.name.startswith("Cấp Giấy chứng nhận đăng ký hoạt động lần đầu")
    assert (first.field_code, first.field_name) == ("KHCN01", "Hoạt động khoa học và công nghệ")
    assert (first.level, first.fee, first.days) == (4, True, 15)
    assert procedures("stp", "H12")[-1].code == "1.005255.000.00.00.H12"


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            GOOD_FIELD.replace("level: 3", "level: 5"),
            ["catalogue skhcn, field 1 (KHCN01), procedure 1 (Cấp Giấy", "level:", "(found 5)"],
        ),
        (
            GOOD_FIELD.replace("days: 7", "days: 7.5"),
            ["procedure 1 (Cấp Giấy", "days: Input should be a valid integer (found 7.5)"],
        ),
        (GOOD_FIELD.replace("days: 7}", "days: 7, colour: red}"), ["colour: Extra inputs"]),
        (GOOD_FIELD.replace("    procedures:\n      - ", "    procedures: []\n#"), ["procedures:"]),
        (GOOD_FIELD + GOOD_FIELD, ["catalogue skhcn:", "listed twice: field code 'KHCN01'"]),
        (GOOD_FIELD + "skhcn:\n" + GOOD_FIELD, ["found the key 'skhcn' twice", "line 6"]),
        (GOOD_FIELD.replace("name: Hoạt", "name: [Hoạt"), ["not valid YAML"]),
    ],
)
def test_a_malformed_catalogue_is_refused_naming_file_and_entry(
    tmp_path: Path, text: str, messages: list[str]
) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text("skhcn:\n" + text, encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogues(path)
    assert str(raised.value).startswith(str(path)), raised.value
    for message in messages:
        assert message in str(raised.value), (message, str(raised.value))


def test_a_well_formed_catalogue_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text("skhcn:\n" + GOOD_FIELD, encoding="utf-8")
    catalogues = load_catalogues(path)
    assert catalogues.keys() == ["skhcn"]
    (only,) = catalogues.procedures("skhcn", "H01")
    assert only.code.endswith(".H01") and only.days == 7
    assert load_catalogues(CATALOGUE_FILE).keys() == catalogue_keys()


def test_a_missing_catalogue_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read the catalogue"):
        load_catalogues(tmp_path / "nowhere.yaml")
