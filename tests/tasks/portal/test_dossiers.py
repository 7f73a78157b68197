"""Tests of tasks/portal/dossiers.py: reading portal records into Dossier values, or naming why not."""

from __future__ import annotations

import pickle
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.portal.dossiers import (
    Dossier,
    Forwarding,
    InvalidDossier,
    SupplementRequest,
    is_portal_time,
    parse_dossier,
)
from tests.builders import AGENCY, VPUBND, raw_dossier, raw_from_dossier


def test_parse_reads_a_valid_record_field_by_field() -> None:
    raw = raw_dossier(
        "000.15.35.H99-240510-0001",
        TrangThaiHoSo=10,
        NgayKetThucXuLy="20240515103000",
        NgayTra="20240516080000",
        KenhThucHien=2,
        HinhThuc=1,
        MucDo=3,
        LaLienThong=True,
        LienThong={
            "MaDonViNhan": VPUBND,
            "NgayGui": "20240511090000",
            "NgayHenTra": "20240514170000",
            "NgayKetThucXuLy": "20240514100000",
        },
        DanhSachHoSoBoSung=[{"NgayBoSung": "20240512090000", "NgayTiepNhanBoSung": ""}],
        CoPhiLePhi=True,
        DuocThanhToanTrucTuyen=True,
        HoSoCoThanhPhanSoHoa=True,
        UnknownField="ignored",
    )
    assert parse_dossier(raw) == Dossier(
        code="000.15.35.H99-240510-0001",
        agency=AGENCY,
        received="20240510080000",
        status=10,
        procedure_code="1.004469",
        procedure_name="Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
        field_code="LV01",
        field_name="Hoạt động khoa học và công nghệ",
        due="20240520170000",
        finished="20240515103000",
        handed_back="20240516080000",
        channel=2,
        result_form=1,
        online_level=3,
        interagency=True,
        forwarding=Forwarding(VPUBND, "20240511090000", "20240514170000", "20240514100000"),
        supplements=(SupplementRequest("20240512090000", ""),),
        fee_bearing=True,
        paid_online=True,
        digitised=True,
        updated="20240510080000",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"NgayHenTra": None}, "due", ""),
        ({"NgayHenTra": ""}, "due", ""),
        ({"MaHoSo": "  HS-0001  "}, "code", "HS-0001"),
        ({"TrangThaiHoSo": "4"}, "status", 4),
        ({"KenhThucHien": None}, "channel", 0),
        ({"KenhThucHien": "3"}, "channel", 3),
        ({"HinhThuc": 0}, "result_by_post", False),
        ({"HinhThuc": 1}, "result_by_post", True),
        ({"HinhThuc": "1"}, "result_by_post", True),
        ({"HinhThuc": 2}, "result_by_post", False),
        ({"LaLienThong": "true"}, "interagency", True),
        ({"LaLienThong": "false"}, "interagency", False),
        ({"LaLienThong": None}, "interagency", False),
        ({"CoPhiLePhi": 1}, "fee_bearing", True),
        ({"LienThong": None}, "forwarding", None),
        ({"DanhSachHoSoBoSung": None}, "supplements", ()),
        ({"MaLinhVuc": None}, "field_code", ""),
    ],
)
def test_parse_reads_loose_but_meaningful_values(
    overrides: dict[str, Any], field: str, value: object
) -> None:
    assert getattr(parse_dossier(raw_dossier(**overrides)), field) == value


@pytest.mark.parametrize(
    ("status", "times"),
    [
        (9, {"NgayKetThucXuLy": "20240515100000"}),
        (10, {"NgayKetThucXuLy": "20240515100000"}),
        (7, {"NgayTra": "20240515100000"}),
        (7, {"NgayKetThucXuLy": "20240515100000"}),
        (8, {"NgayTra": "20240515100000"}),
        (8, {"NgayKetThucXuLy": "20240515100000"}),
        (1, {}),
        (3, {}),
    ],
)
def test_parse_accepts_each_status_with_its_closing_time(
    status: int, times: dict[str, str]
) -> None:
    assert parse_dossier(raw_dossier(TrangThaiHoSo=status, **times)).status == status


def test_parse_accepts_29_february_of_a_leap_year() -> None:
    assert parse_dossier(raw_dossier(NgayTiepNhan="20240229235959")).received == "20240229235959"


MALFORMED: list[Any] = [
    pytest.param(raw_dossier(None), "", "MaHoSo", id="no MaHoSo"),
    pytest.param(raw_dossier(""), "", "MaHoSo", id="empty MaHoSo"),
    pytest.param(raw_dossier(None, MaHoSo=123), "", "MaHoSo", id="MaHoSo not text"),
    pytest.param(raw_dossier("HS-1", without=["MaDonVi"]), "HS-1", "MaDonVi", id="no MaDonVi"),
    pytest.param(
        raw_dossier("HS-2", without=["NgayTiepNhan"]), "HS-2", "NgayTiepNhan", id="no NgayTiepNhan"
    ),
    pytest.param(
        raw_dossier("HS-3", NgayTiepNhan=None), "HS-3", "NgayTiepNhan", id="null NgayTiepNhan"
    ),
    pytest.param(
        raw_dossier("HS-4", NgayTiepNhan="2024-05-01"), "HS-4", "NgayTiepNhan", id="ISO date"
    ),
    pytest.param(
        raw_dossier("HS-5", NgayTiepNhan="20241301080000"), "HS-5", "NgayTiepNhan", id="month 13"
    ),
    pytest.param(
        raw_dossier("HS-6", NgayTiepNhan="20240532080000"), "HS-6", "NgayTiepNhan", id="day 32"
    ),
    pytest.param(
        raw_dossier("HS-7", NgayTiepNhan="20240431080000"), "HS-7", "NgayTiepNhan", id="31 April"
    ),
    pytest.param(
        raw_dossier("HS-8", NgayTiepNhan="20240510240000"), "HS-8", "NgayTiepNhan", id="hour 24"
    ),
    pytest.param(
        raw_dossier("HS-9", NgayTiepNhan="2024051008000"), "HS-9", "NgayTiepNhan", id="13 digits"
    ),
    pytest.param(
        raw_dossier("HS-10", NgayTiepNhan=20240510080000), "HS-10", "NgayTiepNhan", id="number"
    ),
    pytest.param(
        raw_dossier("HS-11", NgayHenTra="2024-05-20T17:00:00"), "HS-11", "NgayHenTra", id="due ISO"
    ),
    pytest.param(raw_dossier("HS-12", TrangThaiHoSo=0), "HS-12", "TrangThaiHoSo", id="status 0"),
    pytest.param(raw_dossier("HS-13", TrangThaiHoSo=11), "HS-13", "TrangThaiHoSo", id="status 11"),
    pytest.param(raw_dossier("HS-14", TrangThaiHoSo="x"), "HS-14", "TrangThaiHoSo", id="status x"),
    pytest.param(
        raw_dossier("HS-15", TrangThaiHoSo=True), "HS-15", "TrangThaiHoSo", id="status bool"
    ),
    pytest.param(
        raw_dossier("HS-16", without=["TrangThaiHoSo"]), "HS-16", "TrangThaiHoSo", id="no status"
    ),
    pytest.param(
        raw_dossier("HS-17", TrangThaiHoSo=9, NgayKetThucXuLy=""),
        "HS-17",
        "NgayKetThucXuLy",
        id="resolved without NgayKetThucXuLy",
    ),
    pytest.param(
        raw_dossier("HS-18", TrangThaiHoSo=10, NgayTra="20240515100000"),
        "HS-18",
        "NgayKetThucXuLy",
        id="result returned without NgayKetThucXuLy",
    ),
    pytest.param(
        raw_dossier("HS-19", TrangThaiHoSo=7), "HS-19", "NgayTra", id="withdrawn with no time"
    ),
    pytest.param(
        raw_dossier("HS-20", TrangThaiHoSo=8), "HS-20", "NgayTra", id="returned with no time"
    ),
    pytest.param(
        raw_dossier("HS-21", LienThong="000.00.01.H99"), "HS-21", "LienThong", id="LienThong text"
    ),
    pytest.param(raw_dossier("HS-22", LienThong=[1]), "HS-22", "LienThong", id="LienThong list"),
    pytest.param(
        raw_dossier("HS-23", LienThong={"MaDonViNhan": VPUBND, "NgayGui": "2024-05-11"}),
        "HS-23",
        "NgayGui",
        id="LienThong.NgayGui malformed",
    ),
    pytest.param(
        raw_dossier("HS-24", DanhSachHoSoBoSung={"NgayBoSung": "20240512090000"}),
        "HS-24",
        "DanhSachHoSoBoSung",
        id="supplements not a list",
    ),
    pytest.param(
        raw_dossier("HS-25", DanhSachHoSoBoSung=["20240512090000"]),
        "HS-25",
        "DanhSachHoSoBoSung",
        id="supplement entry not an object",
    ),
    pytest.param(
        raw_dossier("HS-26", DanhSachHoSoBoSung=[{"NgayBoSung": "12/05/2024"}]),
        "HS-26",
        "NgayBoSung",
        id="NgayBoSung malformed",
    ),
    pytest.param(raw_dossier("HS-27", KenhThucHien="web"), "HS-27", "KenhThucHien", id="channel"),
    pytest.param(raw_dossier("HS-28", MucDo=3.5), "HS-28", "MucDo", id="MucDo float"),
    pytest.param(["HS-29"], "", "not an object", id="record is a list"),
    pytest.param(None, "", "not an object", id="record is null"),
]


@pytest.mark.parametrize(("raw", "code", "field"), MALFORMED)
def test_parse_rejects_a_malformed_record_naming_code_and_field(
    raw: Any, code: str, field: str
) -> None:
    with pytest.raises(InvalidDossier) as error:
        parse_dossier(raw)
    assert error.value.code == code
    assert field in error.value.reason
    message = str(error.value)
    assert (code or "<no MaHoSo>") in message
    assert field in message


def test_a_malformed_forwarding_time_names_lien_thong() -> None:
    """LienThong.NgayHenTra must not read as the record's own NgayHenTra, which is fine."""
    raw = raw_dossier(
        "HS-31", LienThong={"MaDonViNhan": VPUBND, "NgayGui": "", "NgayHenTra": "14/05/2024"}
    )
    with pytest.raises(InvalidDossier) as error:
        parse_dossier(raw)
    assert "LienThong" in error.value.reason
    assert "NgayHenTra" in error.value.reason


def test_invalid_dossier_is_a_value_error() -> None:
    assert isinstance(InvalidDossier("HS-1", "why"), ValueError)


def test_parse_rejects_29_february_of_a_common_year() -> None:
    """2023-02-29 does not exist: the portal spec calls that an unparsable time."""
    with pytest.raises(InvalidDossier) as error:
        parse_dossier(raw_dossier("HS-30", NgayTiepNhan="20230229080000"))
    assert "NgayTiepNhan" in error.value.reason


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("20240531235959", True),
        ("20240101000000", True),
        ("20240229120000", True),
        ("20240230120000", False),
        ("20241231235960", False),
        ("20241231236000", False),
        ("20240001000000", False),
        ("20240100000000", False),
        ("2024053123595", False),
        ("202405312359590", False),
        ("2024-05-31 23:5", False),
        ("", False),
    ],
)
def test_is_portal_time(value: str, valid: bool) -> None:
    assert is_portal_time(value) is valid


_TIMES = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31, 23, 59, 59)
).map(lambda moment: moment.strftime("%Y%m%d%H%M%S"))
_OPTIONAL_TIMES = st.one_of(st.just(""), _TIMES)
_TEXT = st.text(alphabet="ABCHSĐơư.-0123456789 ", max_size=12)


@st.composite
def _dossiers(draw: st.DrawFn) -> Dossier:
    status = draw(st.integers(1, 10))
    finished = draw(_TIMES if status in (9, 10) else _OPTIONAL_TIMES)
    handed_back = draw(_OPTIONAL_TIMES)
    if status in (7, 8) and not (finished or handed_back):
        handed_back = draw(_TIMES)
    forwarding = draw(
        st.one_of(
            st.none(),
            st.builds(
                Forwarding,
                to_agency=st.sampled_from([VPUBND, AGENCY, ""]),
                sent=_OPTIONAL_TIMES,
                due=_OPTIONAL_TIMES,
                finished=_OPTIONAL_TIMES,
            ),
        )
    )
    return Dossier(
        code=draw(st.from_regex(r"\AHS-[0-9]{1,6}\Z")),
        agency=draw(st.sampled_from([AGENCY, VPUBND])),
        received=draw(_TIMES),
        status=status,
        procedure_code=draw(_TEXT),
        procedure_name=draw(_TEXT),
        field_code=draw(_TEXT),
        field_name=draw(_TEXT),
        due=draw(_OPTIONAL_TIMES),
        finished=finished,
        handed_back=handed_back,
        channel=draw(st.integers(0, 3)),
        result_form=draw(st.sampled_from([0, 1, 2])),
        online_level=draw(st.sampled_from([0, 2, 3, 4])),
        interagency=draw(st.booleans()),
        forwarding=forwarding,
        supplements=tuple(
            draw(
                st.lists(
                    st.builds(
                        SupplementRequest, requested=_OPTIONAL_TIMES, received=_OPTIONAL_TIMES
                    ),
                    max_size=3,
                )
            )
        ),
        fee_bearing=draw(st.booleans()),
        paid_online=draw(st.booleans()),
        digitised=draw(st.booleans()),
        updated=draw(_OPTIONAL_TIMES),
    )


@settings(max_examples=200, deadline=None)
@given(_dossiers())
def test_parse_reads_back_every_valid_record_unchanged(value: Dossier) -> None:
    assert parse_dossier(raw_from_dossier(value)) == value


def test_invalid_dossier_survives_pickling_for_dask_workers() -> None:
    error = InvalidDossier("HS-0001", "NgayTiepNhan is missing")

    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), copy.code, copy.reason, str(copy)) == (
        InvalidDossier,
        "HS-0001",
        "NgayTiepNhan is missing",
        str(error),
    )
