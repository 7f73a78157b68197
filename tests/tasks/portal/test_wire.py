"""Typed decoding (tasks/portal/wire.py) reads every record as the reference reader does:
the same dossiers, the same rejections with the same reasons, the same cleaned texts."""

from __future__ import annotations

import unicodedata
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from tasks.portal.dossiers import Dossier, RejectedRecord
from tasks.portal.paging import check_record
from tasks.portal.wire import (
    WireDossier,
    decode_body,
    decode_wire_page,
    dossier_of_wire,
    wire_as_dict,
)
from tests.builders import AGENCY, raw_dossier, raw_from_dossier
from tests.tasks.portal.test_dossiers import MALFORMED, _dossiers


def served(*records: Any) -> bytes:
    """Return a LayDanhSachHoSo body carrying `records`."""
    return orjson.dumps(
        {
            "error_code": "00",
            "message": "",
            "total": len(records),
            "pageIndex": 1,
            "pageSize": 50,
            "data": list(records),
        }
    )


def both_ways(
    *records: Any, agency: str = AGENCY
) -> tuple[list[Dossier | RejectedRecord], list[Any]]:
    """Read `records` through the typed decoder and through plain dicts; return both readings."""
    typed = decode_body(served(*records))["data"]
    plain = orjson.loads(served(*records))["data"]
    return [check_record(record, agency) for record in typed], [
        check_record(record, agency) for record in plain
    ]


# Records whose every field has its valid JSON type: the typed decoder takes them, and only
# the checks after it (times, status, rules) reject them.
TYPED = {
    "no MaHoSo",
    "empty MaHoSo",
    "no MaDonVi",
    "no NgayTiepNhan",
    "null NgayTiepNhan",
    "ISO date",
    "month 13",
    "day 32",
    "31 April",
    "hour 24",
    "13 digits",
    "due ISO",
    "status 0",
    "status 11",
    "no status",
    "resolved without NgayKetThucXuLy",
    "result returned without NgayKetThucXuLy",
    "withdrawn with no time",
    "returned with no time",
    "LienThong text",
    "LienThong list",
    "LienThong.NgayGui malformed",
    "supplements not a list",
    "supplement entry not an object",
    "NgayBoSung malformed",
}


@pytest.mark.parametrize(("raw", "code", "field"), MALFORMED)
def test_rejects_what_the_reference_rejects_with_the_same_reason(
    request: pytest.FixtureRequest, raw: Any, code: str, field: str
) -> None:
    typed, plain = both_ways(raw)

    assert typed == plain
    assert isinstance(typed[0], RejectedRecord)
    assert typed[0].code == code
    assert field in typed[0].reason
    case = request.node.callspec.id.split("-", 1)[0]
    decoded = decode_body(served(raw))["data"][0]
    assert (type(decoded) is WireDossier) == (case in TYPED)


def test_a_rejected_record_leaves_the_rest_of_its_page_alone() -> None:
    page = [
        raw_dossier("HS-1"),
        raw_dossier("HS-2", NgayTiepNhan="20241301080000"),
        raw_dossier("HS-3"),
    ]

    typed, plain = both_ways(*page)

    assert typed == plain
    assert [type(item) for item in typed] == [Dossier, RejectedRecord, Dossier]


@pytest.mark.parametrize(
    "overrides",
    [
        {"MaHoSo": "  HS-0001  "},
        {"NgayHenTra": None},
        {"NgayHenTra": ""},
        {"TrangThaiHoSo": "4"},
        {"KenhThucHien": None},
        {"KenhThucHien": "3"},
        {"HinhThuc": 1},
        {"HinhThuc": "1"},
        {"LaLienThong": "true"},
        {"LaLienThong": None},
        {"CoPhiLePhi": 1},
        {"LienThong": None},
        {"LienThong": {}},
        {"LienThong": {"MaDonViNhan": ""}},
        {"LienThong": {"MaDonViNhan": "000.00.01.H99", "NgayGui": "20240511090000"}},
        {"DanhSachHoSoBoSung": None},
        {"DanhSachHoSoBoSung": [{"NgayBoSung": "20240512090000"}]},
        {"MaLinhVuc": None},
        {"TenTTHC": unicodedata.normalize("NFD", "Cấp phép")},
        {"TenLinhVuc": "Luật\x00 sư"},
        {"MaHoSo": unicodedata.normalize("NFD", "HS-Đ-1")},
        {"NgayTiepNhan": "20240229080000"},
        {"TrangThaiHoSo": 9, "NgayKetThucXuLy": "20240515100000"},
        {"TrangThaiHoSo": 7, "NgayTra": "20240515100000"},
        {"UnknownField": {"nested": [1, 2]}},
    ],
)
def test_reads_loose_and_unusual_values_as_the_reference(overrides: dict[str, Any]) -> None:
    typed, plain = both_ways(raw_dossier(**overrides))

    assert typed == plain
    assert isinstance(typed[0], Dossier)
    assert typed[0].text_cleaned == plain[0].text_cleaned


def test_a_valid_page_decodes_straight_into_dossiers() -> None:
    raw = raw_dossier("HS-1", TrangThaiHoSo=10, NgayKetThucXuLy="20240515100000")

    decoded = decode_body(served(raw))["data"][0]

    assert type(decoded) is Dossier
    assert decoded == check_record(raw, AGENCY)


def test_a_valid_record_is_read_without_the_reference() -> None:
    # The careful path, record by record, which a page with anything unusual takes.
    record = decode_wire_page(
        served(raw_dossier("HS-1", TrangThaiHoSo=10, NgayKetThucXuLy="20240515100000"))
    )
    assert record is not None
    wire = record["data"][0]

    assert type(wire) is WireDossier
    assert dossier_of_wire(wire) == check_record(
        raw_dossier("HS-1", TrangThaiHoSo=10, NgayKetThucXuLy="20240515100000"), AGENCY
    )
    assert wire_as_dict(wire)["MaHoSo"] == "HS-1"


@pytest.mark.parametrize(
    "body",
    [
        b'{"error_code": "01", "message": "Thi\xe1\xba\xbfu tham s\xe1\xbb\x91"}',
        b'{"error_code": "00", "data": null}',
        b'{"error_code": "00", "data": {"MaHoSo": "HS-1"}}',
        b'{"error_code": 0, "total": "3", "data": []}',
        b'{"message": "no code"}',
    ],
)
def test_the_envelope_reads_as_plain_json(body: bytes) -> None:
    assert decode_body(body) == orjson.loads(body)


def test_a_body_that_is_not_json_raises_as_orjson_does() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        decode_body(b"<html>502 Bad Gateway</html>")


@settings(max_examples=200, deadline=None)
@given(_dossiers())
def test_reads_back_every_valid_record_unchanged(value: Dossier) -> None:
    typed, plain = both_ways(raw_from_dossier(value), agency=value.agency)

    assert typed == plain == [value]


# Which way a page is read: straight into Dossier values (the fast path) only when every
# record would come out of the reference reader unchanged; any other page record by record.
# Either way the same dossiers, rejections and cleaned texts as the reference.
@pytest.mark.parametrize(
    ("overrides", "fast"),
    [
        ({}, True),
        ({"TrangThaiHoSo": 10, "NgayKetThucXuLy": "20240515100000"}, True),
        ({"TrangThaiHoSo": 7, "NgayTra": "20240515100000"}, True),
        ({"HinhThuc": 1}, True),
        ({"HinhThuc": 2}, True),
        ({"NgayTiepNhan": "20240229080000"}, True),
        ({"LienThong": {"MaDonViNhan": "000.00.01.H99", "NgayGui": "20240511090000"}}, True),
        ({"LienThong": {"NgayGui": "20240511090000"}}, True),
        ({"DanhSachHoSoBoSung": [{"NgayBoSung": "20240512090000"}]}, True),
        ({"DanhSachHoSoBoSung": [{}]}, True),
        ({"UnknownField": {"nested": [1, 2]}}, True),
        # Not read as is: stripped, cleaned, lenient or rejected by the reference reader.
        ({"MaHoSo": " HS-0001"}, False),
        ({"MaHoSo": "HS-0001\t"}, False),
        ({"MaDonVi": AGENCY + " "}, False),
        ({"MaHoSo": unicodedata.normalize("NFD", "HS-Đ-1")}, False),
        ({"MaTTHC": "1.004\x00469"}, False),
        ({"TenTTHC": unicodedata.normalize("NFD", "Cấp phép")}, False),
        ({"TenLinhVuc": "Luật\x00 sư"}, False),
        ({"TenLinhVuc": "Luật\ufffe sư"}, False),
        ({"LienThong": {}}, False),
        ({"LienThong": {"MaDonViNhan": ""}}, False),
        ({"LienThong": {"Other": "x"}}, False),
        ({"LienThong": {"MaDonViNhan": " 000.00.01.H99"}}, False),
        ({"LienThong": {"MaDonViNhan": "Sở Tư pháp"}}, False),
        ({"LienThong": {"NgayGui": "2024-05-11"}}, False),
        ({"LienThong": {"NgayGui": None}}, False),
        ({"DanhSachHoSoBoSung": None}, False),
        ({"DanhSachHoSoBoSung": [{"NgayBoSung": "20241301090000"}]}, False),
        ({"NgayHenTra": None}, False),
        ({"NgayHenTra": "20240520170060"}, False),
        ({"NgayCapNhat": "2024052017000"}, False),
        ({"NgayTra": "20240230170000"}, False),
        ({"NgayTiepNhan": "20230229080000"}, False),
        ({"TrangThaiHoSo": 0}, False),
        ({"TrangThaiHoSo": 9}, False),
        ({"TrangThaiHoSo": 8}, False),
        ({"TrangThaiHoSo": "4"}, False),
        ({"TrangThaiHoSo": True}, False),
        ({"KenhThucHien": None}, False),
        ({"LaLienThong": 1}, False),
        ({"text_cleaned": 3}, False),
    ],
)
def test_a_page_is_read_straight_into_dossiers_only_when_nothing_needs_doing(
    overrides: dict[str, Any], fast: bool
) -> None:
    page = [raw_dossier("HS-0001"), raw_dossier("HS-0002", **overrides), raw_dossier("HS-0003")]

    decoded = decode_body(served(*page))["data"]
    typed, plain = both_ways(*page)

    kinds = {type(record) for record in decoded}
    assert kinds == {Dossier} if fast else kinds in ({WireDossier}, {dict})
    assert typed == plain
    assert [record.text_cleaned for record in typed if isinstance(record, Dossier)] == [
        record.text_cleaned for record in plain if isinstance(record, Dossier)
    ]
