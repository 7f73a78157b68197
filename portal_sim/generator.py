"""Deterministic scenario generator: dossier records that yield exactly the figures a scenario states.

A scenario file (YAML) names agencies and, per agency, either the figures of every month
("monthly" agency) or a number of dossiers over a range of months with rates ("volume" agency).
`ScenarioStore.from_file(path, seed=0)` reads it and serves the records through the
`portal_sim.store.DossierStore` protocol. The same file and seed always give byte-identical
records (no use of `hash()`, of the clock or of `random`: a SplitMix64 generator seeded by
SHA-256 of the seed, the agency and the month).

Schema (every key optional unless marked required)::

    scenario: demo                      # a name
    province: {code: H99, name: Tỉnh Demo}
    vpubnd_agency: 000.00.01.H99        # MaDonVi of the provincial People's Committee Office:
                                        # LienThong to it makes the vpubnd_* figures
    months: 2023-05..2024-08            # default month range ("A..B" or a list of "YYYY-MM")
    now: "20240831170000"               # when the portal is read (default: 17:00 of the last
                                        # working day of the latest month); records are final
                                        # states at that moment
    rates: {online: 0.8, ...}           # default rates of every agency (keys: DEFAULT_RATES)
    interagency_partners: [000.00.05.H99]   # other agencies inter-agency dossiers may go to
    agencies:                           # required (or agency_groups)
      - code: 000.00.15.H99             # required: MaDonVi
        name: Sở Khoa học và Công nghệ  # required: TenDonVi
        level: 1                        # CapDonVi: 1 department, 2 district, 3 commune
        parent: 000.00.00.H99           # MaDonViCha
        catalogue: skhcn                # fields and procedures: a key of CATALOGUES
        prefix: H99.15                  # MaHoSo prefix (default from the code)
        months: 2024-01..2024-08        # overrides the scenario's range
        rates: {...}                    # overrides the scenario's rates
        # -- a monthly agency (the default) --
        carried_over: 3                 # dossiers in progress before the first month (default
        carried_over_overdue: 0         #   the first month's stated carried_over, else 0)
        series:                         # per figure, one value per month (null: unstated)
          received_new: [50, 60, ...]
        figures:                        # per month, figures stated exactly
          "2024-05": {received_new: 60, resolved_early: 49, ...}
        extra:                          # per month, records for data-quality tests
          "2024-05": {status_1: 2, status_3: 1, missing_received: 1, bad_time: 1,
                      unknown_status: 1}
        # -- or a volume agency --
        dossiers: 1000000               # generated lazily, record i a pure function of
                                        # (seed, agency, i)
    agency_groups:                      # many similar agencies (volume scenarios)
      - count: 50                       # required
        code: "000.31.{n:02d}.H99"      # format fields: n = 1..count, place = a place name
        name: "UBND xã {place}"
        ...                             # any agency key, the same for every agency

Monthly figures. The keys are tasks.figures.FIGURE_KEYS; a month states any subset, and
`received_new` is required (in `series` or `figures`). The generator completes the month:
- carried_over is the previous month's in_progress (the first month: the agency's
  carried_over); stating it, or received_total, only checks it;
- withdrawn, returned, in_progress default to rates of received_new; resolved takes the rest
  of carried_over + received_new (or, when resolved is stated, in_progress does);
- in_progress_overdue defaults to a rate of in_progress, not_due takes the rest; resolved_late
  and resolved_on_time default to rates of resolved (late at least what the overdue dossiers
  carried over need), resolved_early takes the rest;
- received_online and received_postal default to rates of received_new, received_direct takes
  the rest; online_l34 a rate of received_online; postal_return, interagency_new,
  supplement_requested, fee_bearing, digitised rates of received_new; paid_online a rate of
  fee_bearing;
- vpubnd_sent defaults to a rate of interagency_new (every dossier sent to VP UBND is one of the
  sending month's inter-agency dossiers); forwardings pending at VP UBND carry over like
  dossiers; vpubnd_in_progress, _overdue, _late, _on_time default to rates, vpubnd_early and
  vpubnd_not_due take the rest.
Inconsistent figures raise ScenarioError naming the file, the agency and the month, e.g. parts
that do not add up, a subset larger than its whole, or dossiers carried over already overdue
that the month cannot absorb (an overdue dossier can only be resolved late, returned,
withdrawn or stay overdue).

How records realise the figures: dossiers are received on working days (Mon-Fri, 07:30-17:00,
Vietnamese public holidays off); each month the open dossiers (carried over, oldest first, then
the new ones in order of receipt) take the month's outcomes; a due time (NgayHenTra, 17:00) is
chosen last, within the bounds every month's classification imposes (not due at a month end:
due after it; overdue: due before it; early/on time/late: the date compared with closing).
Statuses: 10 (or 9) resolved, 7 withdrawn (NgayTra), 8 returned, and 2/4/5/6 still open.

Volume agencies: record i is received at a working-time position monotonic in i (so a window
maps to an index range by bisection) and closes within `max_days` working days (open when that
is after `now`); outcomes and attributes follow the rates per record. A window keeps only an
array('I') of the indices received before its start that are still open in it.

Extras (monthly agencies): status_1 (newly submitted, never accepted: stays open, so it is
served in every later window too, as the portal would), status_3 (refused at reception, handed
back the same day), and malformed records, served in the windows that overlap their month:
missing_received (no NgayTiepNhan), bad_time (NgayTiepNhan not yyyyMMddHHmmss),
unknown_status (TrangThaiHoSo 12).
"""

from __future__ import annotations

import hashlib
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn

import yaml

from tasks.figures.engine import FIGURE_KEYS
from tasks.figures.periods import InvalidPeriod, Period

__all__ = [
    "CATALOGUES",
    "DEFAULT_RATES",
    "ScenarioError",
    "ScenarioStore",
    "load_scenario",
]

_M64 = (1 << 64) - 1
_DAY_START = 7 * 3600 + 30 * 60  # 07:30:00
_DW = 9 * 3600 + 30 * 60  # working seconds of a day: 07:30:00 .. 16:59:59
_DUE_TIME = "170000"
_OPEN_END = "99999999999999"
_HMS: list[str] = [
    f"{(_DAY_START + k) // 3600:02d}{(_DAY_START + k) // 60 % 60:02d}{(_DAY_START + k) % 60:02d}"
    for k in range(_DW)
]

# Public holidays (days off) of Viet Nam, 2023-2025; weekends are off anyway.
_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(day)
    for day in (
        "2023-01-02",
        "2023-01-20",
        "2023-01-23",
        "2023-01-24",
        "2023-01-25",
        "2023-01-26",
        "2023-05-01",
        "2023-05-02",
        "2023-05-03",
        "2023-09-01",
        "2023-09-04",
        "2024-01-01",
        "2024-02-08",
        "2024-02-09",
        "2024-02-12",
        "2024-02-13",
        "2024-02-14",
        "2024-04-18",
        "2024-04-29",
        "2024-04-30",
        "2024-05-01",
        "2024-09-02",
        "2024-09-03",
        "2025-01-01",
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-04-07",
        "2025-04-30",
        "2025-05-01",
        "2025-05-02",
        "2025-09-01",
        "2025-09-02",
    )
)

DEFAULT_RATES: dict[str, float] = {
    # received side: shares of received_new unless said otherwise
    "online": 0.75,  # KenhThucHien 2
    "postal": 0.03,  # KenhThucHien 3 (direct takes the rest)
    "online_l34": 1.0,  # share of the online dossiers at MucDo 3/4
    "postal_return": 0.25,  # HinhThuc 1
    "interagency": 0.0,  # LaLienThong
    "vpubnd": 0.5,  # share of the inter-agency dossiers sent to VP UBND
    "supplement": 0.04,  # dossiers with a supplement request
    "fee_bearing": 0.4,
    "paid_online": 0.5,  # share of fee_bearing
    "digitised": 0.6,
    # outcomes
    "withdrawn": 0.01,
    "returned": 0.01,
    "in_progress": 0.12,  # monthly: in progress at the month's end, share of received_new
    "in_progress_overdue": 0.0,  # share of in_progress
    "late": 0.0,  # share of resolved
    "on_time": 0.08,  # share of resolved
    "vpubnd_in_progress": 0.3,  # share of vpubnd_sent
    "vpubnd_overdue": 0.0,  # share of vpubnd_in_progress
    "vpubnd_late": 0.0,  # share of the forwardings finished
    "vpubnd_on_time": 0.2,
    # volume agencies: a dossier closes min_hours .. max_days (working time) after receipt
    "min_hours": 1.0,
    "max_days": 20.0,
}

_FIGURES = frozenset(FIGURE_KEYS)
_EXTRA_KEYS = ("status_1", "status_3", "missing_received", "bad_time", "unknown_status")
_AGENCY_KEYS = frozenset(
    {
        "code",
        "name",
        "level",
        "parent",
        "catalogue",
        "prefix",
        "months",
        "rates",
        "carried_over",
        "carried_over_overdue",
        "series",
        "figures",
        "extra",
        "dossiers",
    }
)
_TOP_KEYS = frozenset(
    {
        "scenario",
        "title",
        "description",
        "province",
        "vpubnd_agency",
        "months",
        "now",
        "rates",
        "interagency_partners",
        "agencies",
        "agency_groups",
    }
)


# --------------------------------------------------------------------------- catalogues

# catalogue -> (field-code prefix, ((field name, ((procedure, MucDo, fee, days), ...)), ...))
_Catalogue = tuple[str, tuple[tuple[str, tuple[tuple[str, int, bool, int], ...]], ...]]
CATALOGUES: dict[str, _Catalogue] = {
    "skhcn": (
        "KHCN",
        (
            (
                "Hoạt động khoa học và công nghệ",
                (
                    (
                        "Cấp Giấy chứng nhận đăng ký hoạt động lần đầu cho tổ chức khoa học và công nghệ",
                        4,
                        True,
                        15,
                    ),
                    (
                        "Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ không sử dụng ngân sách nhà nước",
                        4,
                        False,
                        10,
                    ),
                    ("Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", 3, False, 7),
                ),
            ),
            (
                "Tiêu chuẩn, đo lường, chất lượng",
                (
                    (
                        "Đăng ký công bố hợp chuẩn dựa trên kết quả chứng nhận hợp chuẩn của tổ chức chứng nhận",
                        4,
                        True,
                        5,
                    ),
                    (
                        "Đăng ký công bố hợp quy đối với sản phẩm, hàng hóa được quản lý bởi quy chuẩn kỹ thuật địa phương",
                        4,
                        True,
                        5,
                    ),
                    ("Kiểm tra nhà nước về chất lượng hàng hóa nhập khẩu", 4, False, 1),
                ),
            ),
            (
                "An toàn bức xạ và hạt nhân",
                (
                    (
                        "Cấp giấy phép tiến hành công việc bức xạ - sử dụng thiết bị X-quang chẩn đoán trong y tế",
                        4,
                        True,
                        20,
                    ),
                    (
                        "Gia hạn giấy phép tiến hành công việc bức xạ - sử dụng thiết bị X-quang chẩn đoán trong y tế",
                        4,
                        True,
                        15,
                    ),
                    (
                        "Cấp chứng chỉ nhân viên bức xạ (người phụ trách an toàn cơ sở X-quang chẩn đoán trong y tế)",
                        4,
                        True,
                        10,
                    ),
                ),
            ),
            (
                "Sở hữu trí tuệ",
                (
                    (
                        "Cấp Giấy chứng nhận tổ chức đủ điều kiện hoạt động giám định sở hữu công nghiệp",
                        3,
                        True,
                        15,
                    ),
                ),
            ),
            (
                "Chuyển giao công nghệ",
                (("Đăng ký gia hạn, sửa đổi, bổ sung nội dung chuyển giao công nghệ", 3, True, 5),),
            ),
        ),
    ),
    "stp": (
        "TP",
        (
            (
                "Lý lịch tư pháp",
                (
                    (
                        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam",
                        4,
                        True,
                        10,
                    ),
                    (
                        "Cấp Phiếu lý lịch tư pháp cho cơ quan nhà nước, cơ quan tiến hành tố tụng",
                        3,
                        False,
                        10,
                    ),
                ),
            ),
            (
                "Công chứng",
                (
                    ("Đăng ký hành nghề và cấp Thẻ công chứng viên", 3, True, 10),
                    ("Thành lập Văn phòng công chứng", 3, True, 20),
                    ("Đăng ký hoạt động Văn phòng công chứng", 2, True, 10),
                ),
            ),
            ("Luật sư", (("Đăng ký hoạt động của tổ chức hành nghề luật sư", 3, True, 7),)),
            (
                "Quốc tịch",
                (
                    ("Xác nhận có quốc tịch Việt Nam", 3, True, 10),
                    ("Cấp Giấy xác nhận là người gốc Việt Nam", 2, True, 15),
                ),
            ),
            (
                "Đấu giá tài sản",
                (("Đăng ký hoạt động của doanh nghiệp đấu giá tài sản", 3, True, 7),),
            ),
        ),
    ),
    "syt": (
        "YT",
        (
            (
                "Khám bệnh, chữa bệnh",
                (
                    ("Cấp giấy phép hành nghề khám bệnh, chữa bệnh", 4, True, 20),
                    ("Cấp giấy phép hoạt động đối với phòng khám đa khoa", 3, True, 30),
                ),
            ),
            (
                "Dược phẩm",
                (
                    ("Cấp Chứng chỉ hành nghề dược", 4, True, 20),
                    (
                        "Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược cho cơ sở bán lẻ thuốc",
                        3,
                        True,
                        20,
                    ),
                ),
            ),
            (
                "An toàn thực phẩm và dinh dưỡng",
                (
                    (
                        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm đối với cơ sở sản xuất thực phẩm",
                        3,
                        True,
                        20,
                    ),
                    ("Tiếp nhận bản tự công bố sản phẩm thực phẩm", 4, False, 7),
                ),
            ),
            (
                "Trang thiết bị y tế",
                (("Công bố đủ điều kiện mua bán trang thiết bị y tế loại B, C, D", 4, False, 3),),
            ),
            (
                "Mỹ phẩm",
                (
                    (
                        "Cấp số tiếp nhận Phiếu công bố sản phẩm mỹ phẩm sản xuất trong nước",
                        4,
                        True,
                        3,
                    ),
                ),
            ),
        ),
    ),
    "sgddt": (
        "GD",
        (
            (
                "Văn bằng, chứng chỉ",
                (
                    ("Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", 4, False, 2),
                    ("Chỉnh sửa nội dung văn bằng, chứng chỉ", 3, False, 5),
                    (
                        "Công nhận văn bằng tốt nghiệp các cấp học phổ thông do cơ sở nước ngoài cấp",
                        3,
                        False,
                        20,
                    ),
                ),
            ),
            (
                "Giáo dục trung học",
                (
                    ("Cho phép trường trung học phổ thông hoạt động giáo dục", 2, False, 20),
                    ("Chuyển trường đối với học sinh trung học phổ thông", 4, False, 3),
                ),
            ),
            (
                "Giáo dục và đào tạo thuộc hệ thống giáo dục quốc dân",
                (
                    ("Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục", 3, True, 20),
                    ("Cấp giấy phép tổ chức hoạt động dạy thêm, học thêm", 3, False, 10),
                ),
            ),
            (
                "Thi, tuyển sinh",
                (("Phúc khảo bài thi tốt nghiệp trung học phổ thông", 4, False, 15),),
            ),
        ),
    ),
    "stnmt": (
        "TNMT",
        (
            (
                "Đất đai",
                (
                    (
                        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
                        3,
                        True,
                        10,
                    ),
                    (
                        "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
                        3,
                        True,
                        7,
                    ),
                    ("Gia hạn sử dụng đất ngoài khu công nghệ cao, khu kinh tế", 2, False, 15),
                ),
            ),
            (
                "Môi trường",
                (
                    ("Cấp giấy phép môi trường", 3, True, 30),
                    ("Thẩm định báo cáo đánh giá tác động môi trường", 3, True, 30),
                ),
            ),
            (
                "Tài nguyên nước",
                (("Cấp giấy phép khai thác, sử dụng nước dưới đất", 3, True, 30),),
            ),
            ("Khoáng sản", (("Cấp giấy phép thăm dò khoáng sản", 3, True, 30),)),
            (
                "Đo đạc, bản đồ và thông tin địa lý",
                (("Cung cấp thông tin, dữ liệu, sản phẩm đo đạc và bản đồ", 4, True, 5),),
            ),
        ),
    ),
    "vpubnd": (
        "VP",
        (
            (
                "Kiểm soát thủ tục hành chính",
                (
                    (
                        "Tiếp nhận, xử lý phản ánh, kiến nghị của cá nhân, tổ chức về quy định hành chính",
                        4,
                        False,
                        10,
                    ),
                ),
            ),
            (
                "Hội nghị, hội thảo quốc tế",
                (
                    (
                        "Cho phép tổ chức hội nghị, hội thảo quốc tế thuộc thẩm quyền của Chủ tịch UBND tỉnh",
                        3,
                        False,
                        15,
                    ),
                ),
            ),
        ),
    ),
    "snv": (
        "NV",
        (
            (
                "Thi đua, khen thưởng",
                (("Tặng Bằng khen của Chủ tịch UBND tỉnh", 3, False, 20),),
            ),
            ("Tổ chức phi chính phủ", (("Thành lập hội", 3, False, 30),)),
            (
                "Tín ngưỡng, tôn giáo",
                (("Đăng ký sinh hoạt tôn giáo tập trung", 3, False, 20),),
            ),
        ),
    ),
    "stc": (
        "TC",
        (
            (
                "Tin học - Thống kê",
                (("Đăng ký mã số đơn vị có quan hệ với ngân sách", 4, False, 2),),
            ),
            ("Quản lý giá", (("Hiệp thương giá", 3, False, 15),)),
        ),
    ),
    "skhdt": (
        "KHDT",
        (
            (
                "Thành lập và hoạt động của doanh nghiệp",
                (
                    (
                        "Đăng ký thành lập công ty trách nhiệm hữu hạn hai thành viên trở lên",
                        4,
                        True,
                        3,
                    ),
                    ("Đăng ký thay đổi nội dung đăng ký doanh nghiệp", 4, True, 3),
                ),
            ),
            (
                "Đầu tư tại Việt Nam",
                (("Chấp thuận chủ trương đầu tư của UBND cấp tỉnh", 3, False, 35),),
            ),
        ),
    ),
    "sct": (
        "CT",
        (
            (
                "Lưu thông hàng hóa trong nước",
                (("Cấp Giấy phép bán lẻ sản phẩm rượu", 3, True, 10),),
            ),
            (
                "Kinh doanh khí",
                (("Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ LPG chai", 3, True, 15),),
            ),
            ("Xúc tiến thương mại", (("Đăng ký thực hiện khuyến mại", 4, False, 3),)),
        ),
    ),
    "snnptnt": (
        "NN",
        (
            ("Thú y", (("Cấp Giấy chứng nhận cơ sở an toàn dịch bệnh động vật", 3, True, 10),)),
            (
                "Trồng trọt",
                (("Cấp Giấy chứng nhận đủ điều kiện buôn bán phân bón", 3, True, 20),),
            ),
            ("Lâm nghiệp", (("Phê duyệt phương án quản lý rừng bền vững", 2, False, 30),)),
        ),
    ),
    "sgtvt": (
        "GT",
        (
            (
                "Đường bộ",
                (
                    ("Đổi Giấy phép lái xe do ngành Giao thông vận tải cấp", 4, True, 5),
                    ("Cấp phù hiệu xe kinh doanh vận tải", 4, True, 2),
                    ("Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", 4, True, 5),
                ),
            ),
        ),
    ),
    "sxd": (
        "XD",
        (
            (
                "Hoạt động xây dựng",
                (
                    ("Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", 4, True, 20),
                    ("Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng", 3, True, 30),
                ),
            ),
            ("Nhà ở", (("Cho thuê nhà ở công vụ thuộc thẩm quyền của UBND tỉnh", 2, False, 30),)),
        ),
    ),
    "sldtbxh": (
        "LD",
        (
            (
                "Việc làm",
                (
                    (
                        "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam",
                        4,
                        True,
                        5,
                    ),
                ),
            ),
            (
                "Giáo dục nghề nghiệp",
                (("Cấp giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp", 3, False, 10),),
            ),
            ("Người có công", (("Cấp lại Giấy chứng nhận người có công", 3, False, 10),)),
        ),
    ),
    "svhttdl": (
        "VH",
        (
            (
                "Du lịch",
                (
                    ("Cấp thẻ hướng dẫn viên du lịch nội địa", 4, True, 10),
                    ("Công nhận hạng cơ sở lưu trú du lịch", 3, True, 30),
                ),
            ),
            ("Nghệ thuật biểu diễn", (("Tổ chức biểu diễn nghệ thuật", 4, False, 5),)),
            (
                "Thể dục thể thao",
                (
                    (
                        "Cấp Giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao",
                        3,
                        True,
                        7,
                    ),
                ),
            ),
        ),
    ),
    "stttt": (
        "TTTT",
        (
            ("Báo chí", (("Cho phép họp báo (trong nước)", 4, False, 2),)),
            (
                "Xuất bản, in và phát hành",
                (
                    ("Cấp giấy phép hoạt động in", 3, False, 7),
                    ("Cấp giấy phép xuất bản tài liệu không kinh doanh", 4, False, 10),
                ),
            ),
        ),
    ),
    "sngv": (
        "NG",
        (
            (
                "Ngoại vụ",
                (
                    ("Cho phép tổ chức hội nghị, hội thảo quốc tế tại địa phương", 3, False, 15),
                    ("Cho phép sử dụng thẻ đi lại của doanh nhân APEC", 3, False, 15),
                ),
            ),
        ),
    ),
    "bqlkcn": (
        "KCN",
        (
            (
                "Đầu tư",
                (
                    (
                        "Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án không thuộc diện chấp thuận chủ trương đầu tư",
                        4,
                        False,
                        15,
                    ),
                ),
            ),
            (
                "Lao động",
                (
                    (
                        "Cấp giấy phép lao động cho người nước ngoài làm việc tại khu công nghiệp",
                        4,
                        True,
                        5,
                    ),
                ),
            ),
        ),
    ),
    "bdt": (
        "DT",
        (
            (
                "Công tác dân tộc",
                (("Công nhận người có uy tín trong đồng bào dân tộc thiểu số", 2, False, 10),),
            ),
        ),
    ),
    "ttt": (
        "TTr",
        (
            (
                "Giải quyết khiếu nại",
                (("Giải quyết khiếu nại lần hai tại cấp tỉnh", 2, False, 45),),
            ),
            ("Tiếp công dân", (("Tiếp công dân tại cấp tỉnh", 2, False, 1),)),
        ),
    ),
    "district": (
        "H",
        (
            (
                "Hộ tịch",
                (
                    ("Đăng ký khai sinh có yếu tố nước ngoài", 3, True, 3),
                    ("Đăng ký kết hôn có yếu tố nước ngoài", 3, True, 15),
                ),
            ),
            (
                "Chứng thực",
                (
                    (
                        "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp",
                        4,
                        True,
                        1,
                    ),
                ),
            ),
            (
                "Thành lập và hoạt động của hộ kinh doanh",
                (("Đăng ký thành lập hộ kinh doanh", 4, True, 3),),
            ),
            ("Xây dựng", (("Cấp giấy phép xây dựng nhà ở riêng lẻ", 3, True, 15),)),
            ("Đất đai", (("Đăng ký đất đai, tài sản gắn liền với đất lần đầu", 3, True, 20),)),
        ),
    ),
    "commune": (
        "X",
        (
            (
                "Hộ tịch",
                (
                    ("Đăng ký khai sinh", 4, False, 1),
                    ("Đăng ký kết hôn", 4, False, 1),
                    ("Đăng ký khai tử", 4, False, 1),
                    ("Cấp Giấy xác nhận tình trạng hôn nhân", 4, True, 3),
                ),
            ),
            (
                "Chứng thực",
                (
                    ("Chứng thực chữ ký trong các giấy tờ, văn bản", 2, True, 1),
                    ("Chứng thực bản sao từ bản chính giấy tờ, văn bản", 4, True, 1),
                ),
            ),
            (
                "Bảo trợ xã hội",
                (
                    (
                        "Trợ cấp xã hội hàng tháng, hỗ trợ kinh phí chăm sóc, nuôi dưỡng hàng tháng",
                        3,
                        False,
                        10,
                    ),
                ),
            ),
            (
                "Người có công",
                (
                    (
                        "Giải quyết chế độ mai táng phí đối với người có công với cách mạng",
                        3,
                        False,
                        10,
                    ),
                ),
            ),
        ),
    ),
}

_PLACE_FIRST = ("Tân", "Phú", "Bình", "An", "Hòa", "Long", "Vĩnh", "Phước", "Mỹ", "Thạnh")
_PLACE_SECOND = ("Lợi", "Hưng", "Thành", "Thuận", "Lộc", "Hiệp", "Khánh", "Điền", "Sơn", "Xuân")


def _place_name(k: int) -> str:
    first = _PLACE_FIRST[k % len(_PLACE_FIRST)]
    second = _PLACE_SECOND[k // len(_PLACE_FIRST) % len(_PLACE_SECOND)]
    rounds = k // (len(_PLACE_FIRST) * len(_PLACE_SECOND))
    return f"{first} {second}" + (f" {rounds + 1}" if rounds else "")


@dataclass(frozen=True, slots=True)
class _Proc:
    code: str
    name: str
    field_code: str
    field_name: str
    level: int
    fee: bool
    days: int


def _procedures(catalogue: str, province: str) -> list[_Proc]:
    prefix, fields = CATALOGUES[catalogue]
    procs: list[_Proc] = []
    for number, (field_name, entries) in enumerate(fields, start=1):
        field_code = f"{prefix}{number:02d}"
        for name, level, fee, days in entries:
            digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
            code = f"{1 + digest % 2}.00{digest // 2 % 10000:04d}.000.00.00.{province}"
            procs.append(_Proc(code, name, field_code, field_name, level, fee, days))
    return procs


# --------------------------------------------------------------------------- randomness


def _mix(x: int) -> int:
    """SplitMix64 finaliser: a well-spread 64-bit function of x."""
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _derive(*parts: object) -> int:
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class _Rng:
    """SplitMix64: small, fast and the same on every Python version."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _M64

    def next64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _M64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next64() % n if n > 0 else 0

    def randint(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1) if high > low else low

    def chance(self, p: float) -> bool:
        return (self.next64() >> 11) < p * (1 << 53)

    def shuffle(self, items: list[Any]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, items: Sequence[Any], k: int) -> list[Any]:
        pool = list(items)
        self.shuffle(pool)
        return pool[:k]


def _rnd(value: float) -> int:
    """Round half up (never banker's rounding): the defaults do not depend on parity."""
    return int(value + 0.5)


# --------------------------------------------------------------------------- calendar


class _Calendar:
    """Working time as integer positions: day index * _DW + seconds since 07:30."""

    def __init__(self, first: date, last: date) -> None:
        days: list[date] = []
        day = first
        while day <= last:
            if day.weekday() < 5 and day not in _HOLIDAYS:
                days.append(day)
            day += timedelta(days=1)
        self.days = days
        self.day_str = [d.strftime("%Y%m%d") for d in days]
        self.ordinals = [d.toordinal() for d in days]
        self.size = len(days) * _DW

    def stamp(self, pos: int) -> str:
        return self.day_str[pos // _DW] + _HMS[pos % _DW]

    def ordinal_of(self, pos: int) -> int:
        return self.ordinals[pos // _DW]

    def day_start(self, ordinal: int) -> int:
        """The first working position on or after the date `ordinal`."""
        return bisect_left(self.ordinals, ordinal) * _DW

    def day_last(self, ordinal: int) -> int:
        """The last working position on or before the date `ordinal`."""
        return (bisect_right(self.ordinals, ordinal) - 1) * _DW + _DW - 1

    def workday(self, ordinal: int, later: int) -> int:
        """The date (ordinal) `later` working days after the first working day >= `ordinal`."""
        index = min(bisect_left(self.ordinals, ordinal) + later, len(self.ordinals) - 1)
        return self.ordinals[index]

    def ceil_pos(self, stamp: str) -> int:
        """The smallest position whose stamp is >= `stamp` (a yyyyMMddHHmmss string)."""
        if len(stamp) != 14 or not stamp.isdigit():
            raise ValueError(f"{stamp!r} is not a time yyyyMMddHHmmss")
        index = bisect_left(self.day_str, stamp[:8])
        if index < len(self.day_str) and self.day_str[index] == stamp[:8]:
            seconds = int(stamp[8:10]) * 3600 + int(stamp[10:12]) * 60 + int(stamp[12:14])
            offset = seconds - _DAY_START
            if offset <= 0:
                return index * _DW
            if offset >= _DW:
                return (index + 1) * _DW
            return index * _DW + offset
        return index * _DW

    def floor_pos(self, stamp: str) -> int:
        """The largest position whose stamp is <= `stamp` (-1 if none)."""
        pos = self.ceil_pos(stamp)
        if pos < self.size and self.stamp(pos) == stamp:
            return pos
        return pos - 1

    def due_stamp(self, ordinal: int) -> str:
        return date.fromordinal(ordinal).strftime("%Y%m%d") + _DUE_TIME

    def nearest_workday(self, ordinal: int, low: int, high: int | None) -> int:
        """`ordinal` moved to a working day within [low, high] when one is near, else kept."""
        index = bisect_left(self.ordinals, ordinal)
        if index < len(self.ordinals) and self.ordinals[index] == ordinal:
            return ordinal
        if index < len(self.ordinals):
            after = self.ordinals[index]
            if after >= low and (high is None or after <= high):
                return after
        if index > 0:
            before = self.ordinals[index - 1]
            if before >= low and (high is None or before <= high):
                return before
        return ordinal


# --------------------------------------------------------------------------- scenario model


class ScenarioError(ValueError):
    """A scenario that cannot be generated; the message names the file, agency and month."""


@dataclass
class _AgencySpec:
    code: str
    name: str
    level: int
    parent: str
    catalogue: str
    prefix: str
    months: list[Period]
    rates: dict[str, float]
    stated: dict[str, dict[str, int]] = field(default_factory=dict)
    extra: dict[str, dict[str, int]] = field(default_factory=dict)
    carried_over: int | None = None
    carried_over_overdue: int = 0
    dossiers: int | None = None  # a volume agency

    @property
    def row(self) -> dict[str, Any]:
        return {
            "MaDonVi": self.code,
            "TenDonVi": self.name,
            "CapDonVi": self.level,
            "MaDonViCha": self.parent,
        }


@dataclass
class Scenario:
    """A scenario file, read and checked (the figures themselves are checked while generating)."""

    source: str
    name: str
    province: str
    vpubnd_agency: str
    partners: list[str]
    agencies: list[_AgencySpec]
    now: str | None

    def fail(self, agency: _AgencySpec | None, month: str | None, message: str) -> NoReturn:
        where = self.source
        if agency is not None:
            where += f": agency {agency.code} ({agency.name})"
        if month is not None:
            where += f", month {month}"
        raise ScenarioError(f"{where}: {message}")


def _fail(source: str, message: str) -> NoReturn:
    raise ScenarioError(f"{source}: {message}")


def _parse_months(value: Any, source: str, what: str) -> list[Period]:
    try:
        if isinstance(value, str) and ".." in value:
            first_text, last_text = value.split("..", 1)
            first, last = Period.parse(first_text), Period.parse(last_text)
            if first.kind != "month" or last.kind != "month" or last < first:
                _fail(source, f"{what}: {value!r} is not a range of months YYYY-MM..YYYY-MM")
            months = [first]
            while months[-1] != last:
                current = months[-1]
                months.append(
                    Period.month(current.year + current.index // 12, current.index % 12 + 1)
                )
            return months
        if isinstance(value, list) and value:
            months = [Period.parse(str(item)) for item in value]
            if any(m.kind != "month" for m in months) or months != sorted(set(months)):
                _fail(source, f"{what}: months must be distinct YYYY-MM in order")
            return months
    except InvalidPeriod as error:
        _fail(source, f"{what}: {error}")
    _fail(source, f"{what}: {value!r} is not a range of months YYYY-MM..YYYY-MM")


def _rates(base: Mapping[str, float], extra: Any, source: str, what: str) -> dict[str, float]:
    rates = dict(base)
    if extra is None:
        return rates
    if not isinstance(extra, Mapping):
        _fail(source, f"{what}: rates must be a mapping")
    for key, value in extra.items():
        if key not in DEFAULT_RATES:
            _fail(source, f"{what}: unknown rate {key!r} (known: {', '.join(DEFAULT_RATES)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            _fail(source, f"{what}: rate {key} = {value!r} is not a number >= 0")
        if key not in ("min_hours", "max_days") and value > 1:
            _fail(source, f"{what}: rate {key} = {value!r} is more than 1")
        rates[key] = float(value)
    return rates


def _count(value: Any, source: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(source, f"{what}: {value!r} is not a count (an integer >= 0)")
    return value


def _default_prefix(code: str, province: str) -> str:
    parts = code.split(".")
    if len(parts) == 4:
        inner = list(parts[:3])
        while inner and set(inner[0]) == {"0"}:
            inner.pop(0)
        return ".".join([parts[3], *inner]) if inner else parts[3]
    return code.replace(".", "")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        _fail(source, f"cannot read the scenario: {error}")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        _fail(source, f"not valid YAML: {error}")
    return scenario_from_dict(data, source)


def scenario_from_dict(data: Any, source: str = "<scenario>") -> Scenario:
    """Check a scenario given as a mapping (the parsed YAML)."""
    if not isinstance(data, Mapping):
        _fail(source, "a scenario is a mapping (see portal_sim/generator.py)")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        _fail(source, f"unknown keys {sorted(unknown)} (known: {sorted(_TOP_KEYS)})")
    province_info = data.get("province") or {}
    province = (
        str(province_info.get("code", "H99")) if isinstance(province_info, Mapping) else "H99"
    )
    vpubnd = str(data.get("vpubnd_agency") or f"000.00.01.{province}")
    default_months = _parse_months(data["months"], source, "months") if "months" in data else None
    base_rates = _rates(DEFAULT_RATES, data.get("rates"), source, "rates")
    partners = [str(p) for p in data.get("interagency_partners") or []]
    now = data.get("now")
    if now is not None:
        now = str(now)
        if len(now) != 14 or not now.isdigit():
            _fail(source, f"now: {now!r} is not a time yyyyMMddHHmmss")

    raw_agencies: list[Mapping[str, Any]] = []
    for entry in data.get("agencies") or []:
        if not isinstance(entry, Mapping):
            _fail(source, f"an agency is a mapping, not {entry!r}")
        raw_agencies.append(entry)
    place = 0
    for group in data.get("agency_groups") or []:
        if not isinstance(group, Mapping):
            _fail(source, f"an agency group is a mapping, not {group!r}")
        count = _count(group.get("count"), source, "agency_groups count")
        template = {k: v for k, v in group.items() if k != "count"}
        for n in range(1, count + 1):
            names = {"n": n, "place": _place_name(place)}
            place += 1
            entry = dict(template)
            for key in ("code", "name", "prefix"):
                if isinstance(entry.get(key), str):
                    try:
                        entry[key] = entry[key].format(**names)
                    except (KeyError, ValueError, IndexError) as error:
                        _fail(source, f"agency_groups {key} {template[key]!r}: {error}")
            raw_agencies.append(entry)
    if not raw_agencies:
        _fail(source, "no agencies")

    agencies: list[_AgencySpec] = []
    seen: set[str] = set()
    for entry in raw_agencies:
        agencies.append(_agency(entry, source, province, default_months, base_rates, seen))
    return Scenario(
        source=source,
        name=str(data.get("scenario") or Path(source).stem),
        province=province,
        vpubnd_agency=vpubnd,
        partners=partners,
        agencies=agencies,
        now=now,
    )


def _agency(
    entry: Mapping[str, Any],
    source: str,
    province: str,
    default_months: list[Period] | None,
    base_rates: dict[str, float],
    seen: set[str],
) -> _AgencySpec:
    code = str(entry.get("code") or "").strip()
    name = str(entry.get("name") or "").strip()
    if not code or not name:
        _fail(source, f"an agency needs a code and a name: {dict(entry)!r:.120}")
    what = f"agency {code} ({name})"
    unknown = set(entry) - _AGENCY_KEYS
    if unknown:
        _fail(source, f"{what}: unknown keys {sorted(unknown)} (known: {sorted(_AGENCY_KEYS)})")
    if code in seen:
        _fail(source, f"{what}: the code is listed twice")
    seen.add(code)
    catalogue = str(entry.get("catalogue") or "skhcn")
    if catalogue not in CATALOGUES:
        _fail(source, f"{what}: unknown catalogue {catalogue!r} (known: {', '.join(CATALOGUES)})")
    if "months" in entry:
        months = _parse_months(entry["months"], source, f"{what} months")
    elif default_months is not None:
        months = default_months
    else:
        _fail(source, f"{what}: no months (give months for the scenario or the agency)")
    spec = _AgencySpec(
        code=code,
        name=name,
        level=_count(entry.get("level", 1), source, f"{what} level"),
        parent=str(entry.get("parent") or f"000.00.00.{province}"),
        catalogue=catalogue,
        prefix=str(entry.get("prefix") or _default_prefix(code, province)),
        months=months,
        rates=_rates(base_rates, entry.get("rates"), source, what),
    )
    keys = {m.key for m in months}
    if entry.get("dossiers") is not None:
        spec.dossiers = _count(entry["dossiers"], source, f"{what} dossiers")
        for key in ("series", "figures", "extra", "carried_over", "carried_over_overdue"):
            if key in entry:
                _fail(source, f"{what}: {key} is for monthly agencies, not with dossiers")
        return spec

    stated: dict[str, dict[str, int]] = {m.key: {} for m in months}
    series = entry.get("series") or {}
    if not isinstance(series, Mapping):
        _fail(source, f"{what}: series must map figures to lists")
    for figure, values in series.items():
        if figure not in _FIGURES:
            _fail(source, f"{what}: series {figure!r} is not a figure")
        if not isinstance(values, list) or len(values) != len(months):
            _fail(
                source,
                f"{what}: series {figure} must list {len(months)} values, one per month "
                f"{months[0].key}..{months[-1].key}",
            )
        for month, value in zip(months, values, strict=True):
            if value is not None:
                stated[month.key][figure] = _count(
                    value, source, f"{what}, month {month.key}: {figure}"
                )
    figures = entry.get("figures") or {}
    if not isinstance(figures, Mapping):
        _fail(source, f"{what}: figures must map months to figures")
    for month_key, values in figures.items():
        month_text = str(month_key)
        if month_text not in keys:
            _fail(source, f"{what}: figures for {month_text}, a month outside its range")
        if not isinstance(values, Mapping):
            _fail(source, f"{what}, month {month_text}: figures must be a mapping")
        for figure, value in values.items():
            if figure not in _FIGURES:
                _fail(source, f"{what}, month {month_text}: {figure!r} is not a figure")
            number = _count(value, source, f"{what}, month {month_text}: {figure}")
            previous = stated[month_text].get(figure)
            if previous is not None and previous != number:
                _fail(
                    source,
                    f"{what}, month {month_text}: {figure} is {previous} in series "
                    f"but {number} in figures",
                )
            stated[month_text][figure] = number
    for month in months:
        if "received_new" not in stated[month.key]:
            _fail(source, f"{what}, month {month.key}: received_new is not stated")
    spec.stated = stated

    extra = entry.get("extra") or {}
    if not isinstance(extra, Mapping):
        _fail(source, f"{what}: extra must map months to counts")
    for month_key, values in extra.items():
        month_text = str(month_key)
        if month_text not in keys or not isinstance(values, Mapping):
            _fail(source, f"{what}: extra for {month_text}: not a month of the agency")
        for kind in values:
            if kind not in _EXTRA_KEYS:
                _fail(
                    source,
                    f"{what}, month {month_text}: extra {kind!r} is not one of {_EXTRA_KEYS}",
                )
        spec.extra[month_text] = {
            kind: _count(values.get(kind, 0), source, f"{what}, month {month_text}: {kind}")
            for kind in _EXTRA_KEYS
        }
    if entry.get("carried_over") is not None:
        spec.carried_over = _count(entry["carried_over"], source, f"{what} carried_over")
    spec.carried_over_overdue = _count(
        entry.get("carried_over_overdue", 0), source, f"{what} carried_over_overdue"
    )
    return spec


# --------------------------------------------------------------------------- month figures


def _split(
    total: int,
    names: Sequence[str],
    stated: Mapping[str, int | None],
    defaults: Mapping[str, int],
    prefer: Sequence[str],
    whole: str,
    fail: Callable[[str], NoReturn],
) -> dict[str, int]:
    """Split `total` into `names`: stated parts kept, defaults for the others, one balances."""
    values: dict[str, int] = {}
    unstated = [n for n in names if stated.get(n) is None]
    known = sum(stated[n] or 0 for n in names if stated.get(n) is not None)
    if not unstated:
        if known != total:
            parts = " + ".join(f"{n} {stated[n]}" for n in names)
            fail(f"{parts} = {known}, but {whole} is {total}")
        return {n: int(stated[n] or 0) for n in names}
    if known > total:
        parts = " + ".join(f"{n} {stated[n]}" for n in names if stated.get(n) is not None)
        fail(f"{parts} = {known}, more than {whole} {total}")
    balancer = next(n for n in prefer if stated.get(n) is None)
    remaining = total - known
    for name in names:
        if stated.get(name) is not None:
            values[name] = int(stated[name] or 0)
    for name in defaults:
        if name in unstated and name != balancer:
            values[name] = min(max(defaults[name], 0), remaining)
            remaining -= values[name]
    for name in unstated:
        if name != balancer and name not in values:
            values[name] = 0
    values[balancer] = remaining
    return {n: values[n] for n in names}


def _resolve_month(
    stated: Mapping[str, int],
    rates: Mapping[str, float],
    carried: int,
    carried_overdue: int,
    pending: int,
    pending_overdue: int,
    fail: Callable[[str], NoReturn],
) -> dict[str, int]:
    """Every figure of one month, from the stated ones, the rates and what was carried over."""
    s: dict[str, int | None] = {key: stated.get(key) for key in FIGURE_KEYS}
    new = int(stated["received_new"])
    pool = carried + new
    if s["carried_over"] is not None and s["carried_over"] != carried:
        fail(
            f"carried_over is stated as {s['carried_over']}, but the months before leave "
            f"{carried} dossiers in progress"
        )
    if s["received_total"] is not None and s["received_total"] != pool:
        fail(
            f"received_total is stated as {s['received_total']}, but carried_over + "
            f"received_new = {carried} + {new} = {pool}"
        )
    f: dict[str, int] = {"carried_over": carried, "received_new": new, "received_total": pool}

    # outcomes: resolved + returned + withdrawn + in_progress = carried_over + received_new
    in_progress_stated = s["in_progress"]
    if (
        in_progress_stated is None
        and s["in_progress_not_due"] is not None
        and s["in_progress_overdue"] is not None
    ):
        in_progress_stated = s["in_progress_not_due"] + s["in_progress_overdue"]
    resolved_stated = s["resolved"]
    parts = (s["resolved_early"], s["resolved_on_time"], s["resolved_late"])
    if resolved_stated is None and all(p is not None for p in parts):
        resolved_stated = sum(p or 0 for p in parts)
    ip_default = max(
        _rnd(new * rates["in_progress"]),
        (s["in_progress_not_due"] or 0) + (s["in_progress_overdue"] or 0),
    )
    outcome = _split(
        pool,
        ("withdrawn", "returned", "in_progress", "resolved"),
        {
            "withdrawn": s["withdrawn"],
            "returned": s["returned"],
            "in_progress": in_progress_stated,
            "resolved": resolved_stated,
        },
        {
            "withdrawn": _rnd(new * rates["withdrawn"]),
            "returned": _rnd(new * rates["returned"]),
            "in_progress": ip_default,
        },
        ("resolved", "in_progress", "withdrawn", "returned"),
        "carried_over + received_new",
        fail,
    )
    f.update(outcome)
    in_progress = outcome["in_progress"]
    f.update(
        _split(
            in_progress,
            ("in_progress_not_due", "in_progress_overdue"),
            s,
            {"in_progress_overdue": _rnd(in_progress * rates["in_progress_overdue"])},
            ("in_progress_not_due", "in_progress_overdue"),
            "in_progress",
            fail,
        )
    )
    resolved = outcome["resolved"]
    late_needed = carried_overdue - f["withdrawn"] - f["returned"] - f["in_progress_overdue"]
    f.update(
        _split(
            resolved,
            ("resolved_early", "resolved_on_time", "resolved_late"),
            s,
            {
                "resolved_late": max(_rnd(resolved * rates["late"]), late_needed),
                "resolved_on_time": _rnd(resolved * rates["on_time"]),
            },
            ("resolved_early", "resolved_on_time", "resolved_late"),
            "resolved",
            fail,
        )
    )
    absorbing = f["resolved_late"] + f["returned"] + f["withdrawn"] + f["in_progress_overdue"]
    if carried_overdue > absorbing:
        fail(
            f"{carried_overdue} dossiers carried over are already overdue: they can only be "
            f"resolved late, returned, withdrawn or stay overdue, but the month has only "
            f"resolved_late {f['resolved_late']} + returned {f['returned']} + withdrawn "
            f"{f['withdrawn']} + in_progress_overdue {f['in_progress_overdue']} = {absorbing}"
        )

    # received side
    f.update(
        _split(
            new,
            ("received_online", "received_direct", "received_postal"),
            s,
            {
                "received_online": _rnd(new * rates["online"]),
                "received_postal": _rnd(new * rates["postal"]),
            },
            ("received_direct", "received_online", "received_postal"),
            "received_new",
            fail,
        )
    )

    def subset(key: str, default: int, whole_key: str, whole: int) -> int:
        value = s[key]
        if value is None:
            return min(default, whole)
        if value > whole:
            fail(f"{key} {value} is more than {whole_key} {whole}")
        return value

    online = f["received_online"]
    f["online_l34"] = subset(
        "online_l34", _rnd(online * rates["online_l34"]), "received_online", online
    )
    f["postal_return"] = subset(
        "postal_return", _rnd(new * rates["postal_return"]), "received_new", new
    )
    f["interagency_new"] = subset(
        "interagency_new", _rnd(new * rates["interagency"]), "received_new", new
    )
    f["supplement_requested"] = subset(
        "supplement_requested", _rnd(new * rates["supplement"]), "received_total", pool
    )
    f["fee_bearing"] = subset("fee_bearing", _rnd(new * rates["fee_bearing"]), "received_new", new)
    fee = f["fee_bearing"]
    f["paid_online"] = subset("paid_online", _rnd(fee * rates["paid_online"]), "fee_bearing", fee)
    f["digitised"] = subset("digitised", _rnd(new * rates["digitised"]), "received_new", new)

    # forwardings to VP UBND
    inter = f["interagency_new"]
    sent = s["vpubnd_sent"]
    if sent is None:
        sent = min(_rnd(inter * rates["vpubnd"]), inter)
    elif sent > inter:
        fail(
            f"vpubnd_sent {sent} is more than interagency_new {inter}: every dossier sent to "
            "VP UBND in a month is one of that month's inter-agency dossiers"
        )
    f["vpubnd_sent"] = sent
    pool_v = pending + sent
    vp_parts = (s["vpubnd_early"], s["vpubnd_on_time"], s["vpubnd_late"])
    vp_finished_stated = (
        sum(p or 0 for p in vp_parts) if all(p is not None for p in vp_parts) else None
    )
    vp_ip_stated = s["vpubnd_in_progress"]
    if vp_ip_stated is None and s["vpubnd_not_due"] is not None and s["vpubnd_overdue"] is not None:
        vp_ip_stated = s["vpubnd_not_due"] + s["vpubnd_overdue"]
    vp = _split(
        pool_v,
        ("finished", "vpubnd_in_progress"),
        {"finished": vp_finished_stated, "vpubnd_in_progress": vp_ip_stated},
        {
            "vpubnd_in_progress": max(
                _rnd(sent * rates["vpubnd_in_progress"]),
                (s["vpubnd_not_due"] or 0) + (s["vpubnd_overdue"] or 0),
            )
        },
        ("finished", "vpubnd_in_progress"),
        "forwardings pending from before + vpubnd_sent",
        fail,
    )
    vp_ip = vp["vpubnd_in_progress"]
    f["vpubnd_in_progress"] = vp_ip
    f.update(
        _split(
            vp_ip,
            ("vpubnd_not_due", "vpubnd_overdue"),
            s,
            {"vpubnd_overdue": _rnd(vp_ip * rates["vpubnd_overdue"])},
            ("vpubnd_not_due", "vpubnd_overdue"),
            "vpubnd_in_progress",
            fail,
        )
    )
    finished = vp["finished"]
    f.update(
        _split(
            finished,
            ("vpubnd_early", "vpubnd_on_time", "vpubnd_late"),
            s,
            {
                "vpubnd_late": max(
                    _rnd(finished * rates["vpubnd_late"]), pending_overdue - f["vpubnd_overdue"]
                ),
                "vpubnd_on_time": _rnd(finished * rates["vpubnd_on_time"]),
            },
            ("vpubnd_early", "vpubnd_on_time", "vpubnd_late"),
            "forwardings finished (pending + sent - vpubnd_in_progress)",
            fail,
        )
    )
    if pending_overdue > f["vpubnd_late"] + f["vpubnd_overdue"]:
        fail(
            f"{pending_overdue} forwardings pending at VP UBND are already overdue: they can "
            f"only finish late or stay overdue, but the month has vpubnd_late "
            f"{f['vpubnd_late']} + vpubnd_overdue {f['vpubnd_overdue']}"
        )
    return {key: f[key] for key in FIGURE_KEYS}


# --------------------------------------------------------------------------- monthly agencies


@dataclass(slots=True, eq=False)
class _Fwd:
    """A forwarding (LienThong) of a dossier to another agency."""

    to: str
    host: _Plan
    sent: int = -1
    planned: int = 0  # planned due date (ordinal)
    due_min: int = 0
    due_max: int | None = None
    fin: int | None = None
    role: str = ""


@dataclass(slots=True, eq=False)
class _Plan:
    """One dossier as planned: receipt, attributes, and the bounds of its due date."""

    serial: int
    r: int
    due_min: int
    proc: _Proc | None = None
    channel: int = 1
    level: int = 3
    postal_return: bool = False
    fee: bool = False
    paid: bool = False
    digitised: bool = False
    interagency: bool = False
    due_max: int | None = None
    close: int | None = None
    kind: str = ""  # E O L W R once closed
    supplements: list[list[int | None]] = field(default_factory=list)
    fwd: _Fwd | None = None
    partner: str = ""
    role: str = ""
    must_ip: bool = False
    host_fin: bool = False
    new: bool = False


_ROLE_NAMES = {
    "E": "resolved early",
    "O": "resolved on time",
    "L": "resolved late",
    "W": "withdrawn",
    "R": "returned",
    "N": "in progress, not due",
    "V": "in progress, overdue",
}


class _MonthlyAgency:
    """Generates the records of one monthly agency, month after month."""

    def __init__(self, scenario: Scenario, spec: _AgencySpec, cal: _Calendar, now: int, seed: int):
        self.scenario = scenario
        self.spec = spec
        self.cal = cal
        self.now = now
        self.seed = seed
        self.procs = _procedures(spec.catalogue, scenario.province)
        self.plans: list[_Plan] = []
        self.open: list[_Plan] = []
        self.raw_extras: list[tuple[int, int, dict[str, Any], str, str]] = []
        self.figures: dict[str, dict[str, int]] = {}
        self.extras: dict[str, dict[str, int]] = {}
        self._serial = 0

    # -- helpers
    def fail(self, month: str | None, message: str) -> NoReturn:
        self.scenario.fail(self.spec, month, message)

    def plan(self, r: int) -> _Plan:
        self._serial += 1
        return _Plan(serial=self._serial, r=r, due_min=self.cal.ordinal_of(r))

    def pick_proc(self, rng: _Rng, fee: bool, level_class: str) -> _Proc:
        def fits(p: _Proc) -> bool:
            if level_class == "l34":
                return p.level >= 3
            if level_class == "l2":
                return p.level == 2
            return True

        for candidates in (
            [p for p in self.procs if p.fee == fee and fits(p)],
            [p for p in self.procs if p.fee == fee],
            self.procs,
        ):
            if candidates:
                return candidates[rng.below(len(candidates))]
        raise AssertionError("a catalogue has procedures")

    # -- the whole run
    def generate(self) -> None:
        spec = self.spec
        first = spec.months[0]
        initial = spec.carried_over
        if initial is None:
            initial = spec.stated[first.key].get("carried_over", 0)
        if spec.carried_over_overdue > initial:
            self.fail(
                first.key,
                f"carried_over_overdue {spec.carried_over_overdue} is more "
                f"than carried_over {initial}",
            )
        self.prehistory(first, initial, spec.carried_over_overdue)
        for month in spec.months:
            self.month(month)

    def prehistory(self, first: Period, count: int, overdue: int) -> None:
        if not count:
            return
        rng = _Rng(_derive(self.seed, self.spec.code, "before", first.key))
        cal = self.cal
        first_ord = first.start_date.toordinal()
        end = cal.day_start(first_ord) - 1
        start = max(0, end - 10 * _DW)
        for k in range(count):
            d = self.plan(start + ((k * (end - start + 1)) + rng.below(end - start + 1)) // count)
            d.channel = 2
            d.proc = self.pick_proc(rng, rng.chance(self.spec.rates["fee_bearing"]), "l34")
            d.fee = d.proc.fee
            d.level = max(3, d.proc.level)
            d.digitised = rng.chance(self.spec.rates["digitised"])
            if k < overdue:
                d.due_max = first_ord - 1
            else:
                d.due_min = first_ord
            self.plans.append(d)
            self.open.append(d)

    def month(self, month: Period) -> None:
        spec, cal = self.spec, self.cal
        key = month.key
        rng = _Rng(_derive(self.seed, spec.code, key))
        s_ord, e_ord = month.start_date.toordinal(), month.end_date.toordinal()
        start, end = cal.day_start(s_ord), cal.day_last(e_ord)

        def fail(message: str) -> NoReturn:
            self.fail(key, message)

        pool = self.open
        pending = [d.fwd for d in pool if d.fwd is not None and d.fwd.fin is None]
        fig = _resolve_month(
            spec.stated[key],
            spec.rates,
            len(pool),
            sum(1 for d in pool if d.due_max is not None),
            len(pending),
            sum(1 for f in pending if f.due_max is not None),
            fail,
        )
        self.figures[key] = fig

        # new dossiers, received on working days in order
        count = fig["received_new"]
        span = end - start + 1
        new = [self.plan(start + (i * span + rng.below(span)) // count) for i in range(count)]
        for d in new:
            d.new = True
        self.attributes(new, fig, end, rng)

        # forwardings to VP UBND: the month's new ones go with new inter-agency dossiers
        fresh = [d.fwd for d in new if d.fwd is not None]
        self.forwarding_roles(pending, fresh, fig, rng, fail)
        for f in (*pending, *fresh):
            if f.role in ("N", "V"):
                f.host.must_ip = True
            else:
                f.host.host_fin = True
        self.forwarding_times(pending, fresh, start, end, rng, fail)

        members = [*pool, *new]
        self.roles(members, fig, rng, fail)
        self.closing_times(members, start, end, rng, fail)
        self.supplements(members, fig["supplement_requested"], start, end, rng, fail)

        # the month's end: what stays open carries over
        still_open: list[_Plan] = []
        for d in members:
            if d.role == "N":
                d.due_min = max(d.due_min, e_ord + 1)
                still_open.append(d)
            elif d.role == "V":
                if d.due_max is None:
                    d.due_max = e_ord
                still_open.append(d)
            d.role, d.must_ip, d.host_fin, d.new = "", False, False, False
        for f in (*pending, *fresh):
            if f.role == "N":
                f.due_min = max(f.due_min, e_ord + 1)
            elif f.role == "V" and f.due_max is None:
                f.due_max = e_ord
            f.role = ""
        self.plans.extend(new)
        self.open = still_open
        self.make_extras(month, start, end, rng)

    def attributes(self, new: list[_Plan], fig: Mapping[str, int], end: int, rng: _Rng) -> None:
        n = len(new)
        order = list(range(n))
        rng.shuffle(order)
        online, postal = fig["received_online"], fig["received_postal"]
        for k, i in enumerate(order):
            new[i].channel = 2 if k < online else 3 if k < online + postal else 1

        def pick(k: int, preferred: list[int], others: list[int]) -> set[int]:
            rng.shuffle(preferred)
            rng.shuffle(others)
            return set((preferred + others)[:k])

        everyone = list(range(n))
        online_idx = [i for i in everyone if new[i].channel == 2]
        l34 = pick(fig["online_l34"], online_idx, [])
        postal_idx = [i for i in everyone if new[i].channel == 3]
        posted = pick(
            fig["postal_return"], postal_idx, [i for i in everyone if new[i].channel != 3]
        )
        fee = pick(fig["fee_bearing"], [], list(everyone))
        paid = pick(
            fig["paid_online"],
            [i for i in sorted(fee) if new[i].channel == 2],
            [i for i in sorted(fee) if new[i].channel != 2],
        )
        digitised = pick(fig["digitised"], [], list(everyone))
        # the dossiers sent to VP UBND: inter-agency ones, received early enough (preferably)
        # for VP UBND to decide within the month
        roomy = [i for i in everyone if new[i].r <= end - 3 * _DW]
        hosts = pick(fig["vpubnd_sent"], roomy, [i for i in everyone if new[i].r > end - 3 * _DW])
        inter = hosts | pick(
            fig["interagency_new"] - len(hosts), [], [i for i in everyone if i not in hosts]
        )
        partners = self.scenario.partners
        for i, d in enumerate(new):
            d.fee, d.paid, d.digitised = i in fee, i in paid, i in digitised
            d.postal_return, d.interagency = i in posted, i in inter
            level_class = ("l34" if i in l34 else "l2") if d.channel == 2 else "any"
            d.proc = self.pick_proc(rng, d.fee, level_class)
            if d.channel == 2:
                d.level = max(3, d.proc.level) if i in l34 else 2
            else:
                d.level = d.proc.level
            if i in hosts:
                d.fwd = _Fwd(to=self.scenario.vpubnd_agency, host=d)
            elif d.interagency and partners and rng.chance(0.5):
                d.partner = partners[rng.below(len(partners))]

    def forwarding_roles(
        self,
        pending: list[_Fwd],
        fresh: list[_Fwd],
        fig: Mapping[str, int],
        rng: _Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        need = {
            "E": fig["vpubnd_early"],
            "O": fig["vpubnd_on_time"],
            "L": fig["vpubnd_late"],
            "N": fig["vpubnd_not_due"],
            "V": fig["vpubnd_overdue"],
        }
        pending = sorted(pending, key=lambda f: f.sent)
        for f in pending:
            if f.due_max is None:
                continue
            for role in ("L", "V"):
                if need[role]:
                    f.role = role
                    need[role] -= 1
                    break
            else:
                fail(
                    "forwardings pending at VP UBND already overdue can only finish late or "
                    "stay overdue"
                )
        rest = [f for f in pending if not f.role] + fresh
        middle = ["E"] * need["E"] + ["O"] * need["O"]
        rng.shuffle(middle)
        roles = ["L"] * need["L"] + ["V"] * need["V"] + middle + ["N"] * need["N"]
        if len(roles) != len(rest):  # _resolve_month makes them equal
            fail(f"{len(rest)} forwardings but {len(roles)} outcomes")
        for f, role in zip(rest, roles, strict=True):
            f.role = role

    def forwarding_times(
        self,
        pending: list[_Fwd],
        fresh: list[_Fwd],
        start: int,
        end: int,
        rng: _Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        cal = self.cal
        for f in fresh:
            low = f.host.r + 1800
            margin = {"L": _DW + 3600, "E": 3600, "O": 3600}.get(f.role, 0)
            high = max(low, min(f.host.r + 2 * _DW, end - margin))
            f.sent = rng.randint(low, high)
            if f.sent > end:
                fail(
                    f"a dossier received {cal.stamp(f.host.r)} is too late in the month to be "
                    "sent to VP UBND"
                )
            f.due_min = cal.ordinal_of(f.sent)
            f.planned = cal.workday(f.due_min, 5 + rng.below(6))
        for f in (*pending, *fresh):
            if f.role not in ("E", "O", "L"):
                continue
            low = max(f.sent + 1800, start)
            if f.role == "L" and f.due_max is None:
                low = max(low, cal.day_start(f.due_min + 1))
            high = min(low + 5 * _DW, end - 1800)
            if low > high:
                fail(
                    f"no time left in the month for VP UBND to finish ({_ROLE_NAMES[f.role]}) "
                    f"a forwarding sent {cal.stamp(f.sent)}"
                )
            f.fin = rng.randint(low, high)
            day = cal.ordinal_of(f.fin)
            if f.role == "E":
                f.due_min = max(f.due_min, day + 1)
            elif f.role == "O":
                f.due_min, f.due_max = day, day
            elif f.due_max is None:
                f.due_max = day - 1

    def roles(
        self,
        members: list[_Plan],
        fig: Mapping[str, int],
        rng: _Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        need = {
            "E": fig["resolved_early"],
            "O": fig["resolved_on_time"],
            "L": fig["resolved_late"],
            "W": fig["withdrawn"],
            "R": fig["returned"],
            "N": fig["in_progress_not_due"],
            "V": fig["in_progress_overdue"],
        }

        def take(d: _Plan, choices: Sequence[str]) -> bool:
            for role in choices:
                if need[role] > 0 and not (d.host_fin and role in ("W", "R")):
                    d.role = role
                    need[role] -= 1
                    return True
            return False

        overdue = [d for d in members if d.due_max is not None]
        for d in sorted(overdue, key=lambda d: not d.must_ip):
            if not take(d, ("V",) if d.must_ip else ("L", "V", "R", "W")):
                fail(
                    "the dossiers carried over already overdue can only be resolved late, "
                    "returned, withdrawn or stay overdue (and those pending at VP UBND must stay "
                    "in progress): not enough such outcomes in the month"
                )
        for d in members:
            if not d.role and d.must_ip and not take(d, ("N", "V")):
                fail(
                    f"{sum(1 for m in members if m.must_ip)} dossiers are pending at VP UBND at "
                    f"the month's end, so in progress, but in_progress is only "
                    f"{fig['in_progress']}"
                )
        rest = [d for d in members if not d.role]
        middle = ["E"] * need["E"] + ["O"] * need["O"] + ["R"] * need["R"] + ["W"] * need["W"]
        rng.shuffle(middle)
        roles = ["L"] * need["L"] + ["V"] * need["V"] + middle + ["N"] * need["N"]
        if len(roles) != len(rest):  # _resolve_month makes them equal
            fail(f"{len(rest)} dossiers but {len(roles)} outcomes")
        for d, role in zip(rest, roles, strict=True):
            d.role = role
        # a dossier whose forwarding finishes this month cannot be withdrawn or returned
        for d in rest:
            if d.host_fin and d.role in ("W", "R"):
                swap = next((o for o in rest if o.role in ("E", "O") and not o.host_fin), None)
                if swap is None:
                    fail(
                        "dossiers forwarded to VP UBND cannot be withdrawn or returned while "
                        "VP UBND is deciding: not enough other outcomes in the month"
                    )
                d.role, swap.role = swap.role, d.role

    def closing_times(
        self,
        members: list[_Plan],
        start: int,
        end: int,
        rng: _Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        cal = self.cal
        for d in members:
            if d.role in ("N", "V"):
                continue
            low = max(d.r + 1800, start)
            if d.fwd is not None and d.fwd.fin is not None and d.host_fin:
                low = max(low, d.fwd.fin + 1800)
            if d.role == "L" and d.due_max is None:
                low = max(low, cal.day_start(d.due_min + 1))
            if low > end:
                fail(
                    f"no time left in the month to close a dossier received "
                    f"{cal.stamp(d.r)} as {_ROLE_NAMES[d.role]}"
                )
            days = d.proc.days if d.proc is not None else 10
            reach = max(_DW // 2, days * _DW) if d.new else 8 * _DW
            d.close = rng.randint(low, min(end, low + reach))
            d.kind = d.role
            day = cal.ordinal_of(d.close)
            if d.role == "E":
                d.due_min = max(d.due_min, day + 1)
            elif d.role == "O":
                d.due_min, d.due_max = day, day
            elif d.role == "L" and d.due_max is None:
                d.due_max = day - 1

    def supplements(
        self,
        members: list[_Plan],
        wanted: int,
        start: int,
        end: int,
        rng: _Rng,
        fail: Callable[[str], NoReturn],
    ) -> None:
        if not wanted:
            return
        preference = {"R": 0, "L": 1, "V": 2, "N": 3, "W": 4, "O": 5, "E": 6}
        candidates: list[tuple[int, int, _Plan, int, int]] = []
        for d in members:
            low = max(d.r, start) + 600
            closes = d.role not in ("N", "V")
            high = (d.close if closes and d.close is not None else end) - 600
            if low <= high:
                candidates.append((preference[d.role], rng.next64(), d, low, high))
        if len(candidates) < wanted:
            fail(
                f"supplement_requested {wanted}: only {len(candidates)} dossiers are open long "
                "enough in the month for a supplement request"
            )
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, d, low, high in candidates[:wanted]:
            asked = rng.randint(low, high)
            answered: int | None = None
            if d.role in ("E", "O", "L", "W") and d.close is not None:
                answered = rng.randint(asked + 1, d.close)
            d.supplements.append([asked, answered])

    def make_extras(self, month: Period, start: int, end: int, rng: _Rng) -> None:
        counts = self.spec.extra.get(month.key)
        if not counts:
            return
        self.extras[month.key] = dict(counts)
        cal = self.cal
        month_lo = month.start_stamp
        month_hi = month.end_stamp
        for kind in _EXTRA_KEYS:
            for _ in range(counts[kind]):
                r = rng.randint(start, end)
                proc = self.procs[rng.below(len(self.procs))]
                self._serial += 1
                received = cal.stamp(r)
                rec: dict[str, Any] = {
                    "MaTTHC": proc.code,
                    "TenTTHC": proc.name,
                    "MaLinhVuc": proc.field_code,
                    "TenLinhVuc": proc.field_name,
                    "MaDonVi": self.spec.code,
                    "NgayTiepNhan": received,
                    "NgayHenTra": "",
                    "NgayKetThucXuLy": "",
                    "NgayTra": "",
                    "TrangThaiHoSo": 1,
                    "KenhThucHien": 2,
                    "HinhThuc": 0,
                    "MucDo": max(3, proc.level),
                    "LaLienThong": False,
                    "LienThong": None,
                    "DanhSachHoSoBoSung": [],
                    "CoPhiLePhi": proc.fee,
                    "DuocThanhToanTrucTuyen": False,
                    "HoSoCoThanhPhanSoHoa": False,
                    "NgayCapNhat": received,
                }
                low, high = received, _OPEN_END
                if kind == "status_3":
                    back = cal.stamp(min(r + 3600, end))
                    rec.update(TrangThaiHoSo=3, KenhThucHien=1, NgayTra=back, NgayCapNhat=back)
                    high = back
                elif kind == "missing_received":
                    rec.update(NgayTiepNhan="", TrangThaiHoSo=4)
                    low, high = month_lo, month_hi
                elif kind == "bad_time":
                    rec.update(
                        NgayTiepNhan=f"{received[6:8]}/{received[4:6]}/{received[:4]} "
                        f"{received[8:10]}:{received[10:12]}",
                        TrangThaiHoSo=4,
                    )
                    low, high = month_lo, month_hi
                elif kind == "unknown_status":
                    back = cal.stamp(min(r + 2 * 3600, end))
                    rec.update(TrangThaiHoSo=12, NgayTra=back, NgayCapNhat=back)
                    high = back
                self.raw_extras.append((r, self._serial, rec, low, high))

    # -- the records
    def records(self, rng: _Rng) -> list[tuple[dict[str, Any], str, str]]:
        """Every record with its window bounds (first, last moment served), ordered by MaHoSo."""
        cal = self.cal
        rows: list[tuple[int, int, dict[str, Any], str, str]] = []
        for d in self.plans:
            rec = self.record(d, rng)
            closed = rec["NgayKetThucXuLy"] or rec["NgayTra"]
            rows.append((d.r, d.serial, rec, rec["NgayTiepNhan"], closed or _OPEN_END))
        rows.extend(self.raw_extras)
        rows.sort(key=lambda row: (row[0], row[1]))
        busiest: dict[int, int] = {}
        for row in rows:
            busiest[row[0] // _DW] = busiest.get(row[0] // _DW, 0) + 1
        width = max(4, len(str(max(busiest.values(), default=0))))
        sequence: dict[int, int] = {}
        out: list[tuple[dict[str, Any], str, str]] = []
        for r, _, rec, low, high in rows:
            day = r // _DW
            sequence[day] = sequence.get(day, 0) + 1
            code = f"{self.spec.prefix}-{cal.day_str[day][2:]}-{sequence[day]:0{width}d}"
            out.append(({"MaHoSo": code, **rec}, low, high))
        return out

    def record(self, d: _Plan, rng: _Rng) -> dict[str, Any]:
        cal, now = self.cal, self.now
        proc = d.proc
        assert proc is not None
        events = [d.r]
        # due date within its bounds, near the procedure's time limit
        planned = cal.workday(cal.ordinal_of(d.r), proc.days)
        due = max(planned, d.due_min)
        if d.due_max is not None:
            due = min(due, d.due_max)
        due = cal.nearest_workday(due, d.due_min, d.due_max)
        finished = handed = ""
        if d.close is not None:
            close_stamp = cal.stamp(d.close)
            events.append(d.close)
            if d.kind == "W":
                status, handed = 7, close_stamp
            elif d.kind == "R":
                status, finished, handed = 8, close_stamp, close_stamp
            else:
                finished = close_stamp
                if d.close > now - 2 * _DW and rng.chance(0.5):
                    status = 9
                else:
                    status = 10
                    back = min(now, d.close + rng.randint(600, _DW))
                    handed = cal.stamp(back)
                    events.append(back)
        else:
            status = 4
        supplements = []
        pending_supplement = False
        for asked, answered in d.supplements:
            assert asked is not None
            if answered is None and d.close is None and asked < now and rng.chance(0.5):
                answered = rng.randint(asked + 1, now)
            if answered is None and d.close is not None and d.kind != "R":
                answered = rng.randint(asked + 1, max(asked + 1, d.close))
            pending_supplement = answered is None
            events.append(asked)
            if answered is not None:
                events.append(answered)
            supplements.append(
                {
                    "NgayBoSung": cal.stamp(asked),
                    "NgayTiepNhanBoSung": cal.stamp(answered) if answered is not None else "",
                }
            )
        if d.close is None:
            if pending_supplement:
                status = 5
            elif d.fee and not d.paid and rng.chance(0.15):
                status = 6
            elif d.r > now - _DW:
                status = 2
        link: dict[str, Any] | None = None
        f = d.fwd
        if f is not None:
            f_due = max(f.planned, f.due_min)
            if f.due_max is not None:
                f_due = min(f_due, f.due_max)
            f_due = cal.nearest_workday(f_due, f.due_min, f.due_max)
            link = {
                "MaDonViNhan": f.to,
                "NgayGui": cal.stamp(f.sent),
                "NgayHenTra": cal.due_stamp(f_due),
                "NgayKetThucXuLy": cal.stamp(f.fin) if f.fin is not None else "",
            }
            events.append(f.sent)
            if f.fin is not None:
                events.append(f.fin)
        elif d.partner:
            end = d.close if d.close is not None else now
            sent = d.r + max(1, (end - d.r) // 5)
            fin = d.r + 4 * (end - d.r) // 5 if d.close is not None else None
            link = {
                "MaDonViNhan": d.partner,
                "NgayGui": cal.stamp(sent),
                "NgayHenTra": cal.due_stamp(cal.workday(cal.ordinal_of(sent), 5)),
                "NgayKetThucXuLy": cal.stamp(fin) if fin is not None else "",
            }
        updated = min(now, max(events) + rng.randint(60, 1800))
        return {
            "MaTTHC": proc.code,
            "TenTTHC": proc.name,
            "MaLinhVuc": proc.field_code,
            "TenLinhVuc": proc.field_name,
            "MaDonVi": self.spec.code,
            "NgayTiepNhan": cal.stamp(d.r),
            "NgayHenTra": cal.due_stamp(due),
            "NgayKetThucXuLy": finished,
            "NgayTra": handed,
            "TrangThaiHoSo": status,
            "KenhThucHien": d.channel,
            "HinhThuc": 1 if d.postal_return else 0,
            "MucDo": d.level,
            "LaLienThong": d.interagency,
            "LienThong": link,
            "DanhSachHoSoBoSung": supplements,
            "CoPhiLePhi": d.fee,
            "DuocThanhToanTrucTuyen": d.paid,
            "HoSoCoThanhPhanSoHoa": d.digitised,
            "NgayCapNhat": cal.stamp(max(updated, d.r)),
        }


# --------------------------------------------------------------------------- volume agencies


class _VolumeAgency:
    """Dossier i of a volume agency, a pure function of (seed, agency, i), never materialised."""

    def __init__(
        self, scenario: Scenario, spec: _AgencySpec, cal: _Calendar, now: int, seed: int
    ) -> None:
        assert spec.dossiers is not None
        self.spec = spec
        self.cal = cal
        self.now = now
        self.n = spec.dossiers
        self.vpubnd = scenario.vpubnd_agency
        self.s0 = cal.day_start(spec.months[0].start_date.toordinal())
        last = cal.day_last(spec.months[-1].end_date.toordinal())
        self.width = last - self.s0 + 1
        if self.n > self.width:
            scenario.fail(spec, None, f"{self.n} dossiers are more than one per working second")
        self.k_time = _derive(seed, spec.code, "time") & _M64
        self.k_rec = _derive(seed, spec.code, "record") & _M64
        rates = spec.rates
        self.dmin = int(rates["min_hours"] * 3600)
        self.dspan = max(1, int(rates["max_days"] * _DW) - self.dmin)
        self.dmax = self.dmin + self.dspan

        def t(rate: float) -> int:
            return int(rate * 65536 + 0.5)

        self.t_online = t(rates["online"])
        self.t_postal = t(rates["online"] + rates["postal"])
        self.t_l34 = t(rates["online_l34"])
        self.t_fee = t(rates["fee_bearing"])
        self.t_paid = t(rates["paid_online"])
        self.t_digit = t(rates["digitised"])
        self.t_post_ret = t(rates["postal_return"])
        self.t_inter = t(rates["interagency"])
        self.t_vp = t(rates["vpubnd"])
        self.t_supp = t(rates["supplement"])
        self.t_w = t(rates["withdrawn"])
        self.t_r = t(rates["withdrawn"] + rates["returned"])
        self.t_late = t(rates["withdrawn"] + rates["returned"] + rates["late"])
        self.t_on = t(rates["withdrawn"] + rates["returned"] + rates["late"] + rates["on_time"])
        procs = _procedures(spec.catalogue, scenario.province)
        self.fee_procs = [p for p in procs if p.fee] or procs
        self.free_procs = [p for p in procs if not p.fee] or procs
        per_day = -(-self.n * _DW // self.width) + 1
        self.seq_width = max(4, len(str(per_day)))
        self._day_first: dict[int, int] = {}
        self.last_day = len(cal.day_str) - 1

    def r_pos(self, i: int) -> int:
        return self.s0 + (i * self.width + _mix(self.k_time ^ i) % self.width) // self.n

    def c_pos(self, i: int) -> int:
        u = _mix(self.k_rec ^ i) & 0xFFFF
        return self.r_pos(i) + self.dmin + ((u * u * self.dspan) >> 32)

    def first_at(self, pos: int) -> int:
        """The first index received at `pos` or later (n if none)."""
        low, high = 0, self.n
        while low < high:
            mid = (low + high) // 2
            if self.r_pos(mid) >= pos:
                high = mid
            else:
                low = mid + 1
        return low

    def window(self, from_stamp: str, to_stamp: str) -> _IndexWindow:
        cal = self.cal
        q_from = cal.ceil_pos(from_stamp)
        p_to = cal.floor_pos(to_stamp)
        hi = self.first_at(p_to + 1)
        mid = min(self.first_at(q_from), hi)
        lo = min(self.first_at(min(q_from, self.now + 1) - self.dmax), mid)
        now = self.now
        head = array("I")
        for i in range(lo, mid):
            c = self.c_pos(i)
            if c >= q_from or c > now:
                head.append(i)
        return _IndexWindow(self.record, head, mid, hi)

    def record(self, i: int) -> dict[str, Any]:
        cal = self.cal
        day_str = cal.day_str
        hms = _HMS
        now = self.now
        r = self.r_pos(i)
        h1 = _mix(self.k_rec ^ i)
        u = h1 & 0xFFFF
        c = r + self.dmin + ((u * u * self.dspan) >> 32)
        h2 = _mix(h1)
        h3 = _mix(h2)
        rd = r // _DW
        received = day_str[rd] + hms[r - rd * _DW]
        first = self._day_first.get(rd)
        if first is None:
            first = self._day_first[rd] = self.first_at(rd * _DW)
        code = f"{self.spec.prefix}-{day_str[rd][2:]}-{i - first + 1:0{self.seq_width}d}"

        bits = (h1 >> 32) & 0xFFFF
        channel = 2 if bits < self.t_online else 3 if bits < self.t_postal else 1
        fee = (h2 & 0xFFFF) < self.t_fee
        paid = fee and ((h2 >> 16) & 0xFFFF) < self.t_paid
        procs = self.fee_procs if fee else self.free_procs
        proc = procs[(h3 >> 48) % len(procs)]
        if channel == 2:
            level = max(3, proc.level) if ((h1 >> 48) & 0xFFFF) < self.t_l34 else 2
        else:
            level = proc.level
        inter = (h3 & 0xFFFF) < self.t_inter
        last_event = r
        finished = handed = ""
        if c <= now:
            cd = c // _DW
            closing = day_str[cd] + hms[c - cd * _DW]
            last_event = c
            outcome = (h1 >> 16) & 0xFFFF
            if outcome < self.t_w:
                status, handed, due_day = 7, closing, rd + proc.days
            elif outcome < self.t_r:
                status, finished, handed, due_day = 8, closing, closing, rd + proc.days
            else:
                finished = closing
                if outcome < self.t_late and cd > rd:
                    due_day = max(rd, cd - 1 - ((h3 >> 16) & 3))
                elif outcome < self.t_on or outcome < self.t_late:
                    due_day = cd
                else:
                    due_day = cd + 1 + ((h3 >> 16) & 3)
                if c > now - _DW and (h3 >> 18) & 1:
                    status = 9
                else:
                    status = 10
                    back = min(now, c + ((h3 >> 20) & 0x3FFF))
                    handed = day_str[back // _DW] + hms[back % _DW]
                    last_event = back
        else:
            status = 4 if r <= now - _DW else 2
            due_day = rd + proc.days
        closed = c <= now
        end = c if closed else now
        supplements = []
        if ((h3 >> 32) & 0xFFFF) < self.t_supp and end - r >= 7200:
            asked = r + (end - r) // 3
            answered = r + 2 * (end - r) // 3
            answer = ""
            if status != 8 and (closed or (h3 >> 19) & 1):
                answer = day_str[answered // _DW] + hms[answered % _DW]
                last_event = max(last_event, answered)
            elif not closed:
                status = 5
            supplements.append(
                {
                    "NgayBoSung": day_str[asked // _DW] + hms[asked % _DW],
                    "NgayTiepNhanBoSung": answer,
                }
            )
        link = None
        h4 = _mix(h3) if inter else 0
        if inter and (h4 & 0xFFFF) < self.t_vp:
            sent = r + max(1, (end - r) // 5)
            fin = r + 4 * (end - r) // 5
            link = {
                "MaDonViNhan": self.vpubnd,
                "NgayGui": day_str[sent // _DW] + hms[sent % _DW],
                "NgayHenTra": day_str[min(sent // _DW + 5 + (h4 >> 16) % 5, self.last_day)]
                + _DUE_TIME,
                "NgayKetThucXuLy": day_str[fin // _DW] + hms[fin % _DW] if closed else "",
            }
            last_event = max(last_event, fin if closed else sent)
        updated = min(now, last_event + 300)
        return {
            "MaHoSo": code,
            "MaTTHC": proc.code,
            "TenTTHC": proc.name,
            "MaLinhVuc": proc.field_code,
            "TenLinhVuc": proc.field_name,
            "MaDonVi": self.spec.code,
            "NgayTiepNhan": received,
            "NgayHenTra": day_str[min(due_day, self.last_day)] + _DUE_TIME,
            "NgayKetThucXuLy": finished,
            "NgayTra": handed,
            "TrangThaiHoSo": status,
            "KenhThucHien": channel,
            "HinhThuc": 1 if ((h2 >> 48) & 0xFFFF) < self.t_post_ret else 0,
            "MucDo": level,
            "LaLienThong": inter,
            "LienThong": link,
            "DanhSachHoSoBoSung": supplements,
            "CoPhiLePhi": fee,
            "DuocThanhToanTrucTuyen": paid,
            "HoSoCoThanhPhanSoHoa": ((h2 >> 32) & 0xFFFF) < self.t_digit,
            "NgayCapNhat": day_str[updated // _DW] + hms[updated % _DW],
        }


# --------------------------------------------------------------------------- windows and store


class _IndexWindow:
    """A window over a lazy agency: a compact head of indices, then a contiguous range."""

    def __init__(
        self, make: Callable[[int], dict[str, Any]], head: array[int], start: int, stop: int
    ) -> None:
        self._make = make
        self._head = head
        self._start = start
        self.total = len(head) + max(0, stop - start)

    def indices(self, offset: int, limit: int) -> Iterator[int]:
        if offset < 0 or limit <= 0:
            return
        stop = min(self.total, offset + limit)
        head = len(self._head)
        for k in range(offset, stop):
            yield self._head[k] if k < head else self._start + (k - head)

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return [self._make(i) for i in self.indices(offset, limit)]


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    copy = dict(record)
    link = copy.get("LienThong")
    if isinstance(link, dict):
        copy["LienThong"] = dict(link)
    supplements = copy.get("DanhSachHoSoBoSung")
    if isinstance(supplements, list):
        copy["DanhSachHoSoBoSung"] = [dict(s) if isinstance(s, dict) else s for s in supplements]
    return copy


class _ListAgency:
    """The materialised records of a monthly agency, with their window bounds."""

    def __init__(self, rows: list[tuple[dict[str, Any], str, str]]) -> None:
        self.records = [row[0] for row in rows]
        self.lows = [row[1] for row in rows]
        self.highs = [row[2] for row in rows]

    def window(self, from_stamp: str, to_stamp: str) -> _IndexWindow:
        lows, highs = self.lows, self.highs
        head = array(
            "I",
            (k for k in range(len(lows)) if lows[k] <= to_stamp and highs[k] >= from_stamp),
        )
        return _IndexWindow(self.make, head, 0, 0)

    def make(self, k: int) -> dict[str, Any]:
        return _copy(self.records[k])


class _EmptyWindow:
    total = 0

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return []


class ScenarioStore:
    """A DossierStore over a scenario: monthly agencies materialised, volume agencies lazy."""

    def __init__(self, scenario: Scenario, seed: int = 0, cache_size: int = 64) -> None:
        self.scenario = scenario
        self.seed = seed
        self.vpubnd_agency = scenario.vpubnd_agency
        first = min(spec.months[0] for spec in scenario.agencies)
        last = max(spec.months[-1] for spec in scenario.agencies)
        cal = _Calendar(first.start_date - timedelta(days=62), last.end_date + timedelta(days=250))
        self.calendar = cal
        last_moment = cal.day_last(last.end_date.toordinal())
        now = cal.floor_pos(scenario.now) if scenario.now is not None else last_moment
        if now < last_moment:
            scenario.fail(
                None, None, f"now {scenario.now} is before the last working moment of {last.key}"
            )
        self.now_stamp = cal.stamp(now)
        self._rows = [spec.row for spec in scenario.agencies]
        self._agencies: dict[str, _ListAgency | _VolumeAgency] = {}
        self._monthly: dict[str, _MonthlyAgency] = {}
        for spec in scenario.agencies:
            if spec.dossiers is not None:
                self._agencies[spec.code] = _VolumeAgency(scenario, spec, cal, now, seed)
            else:
                monthly = _MonthlyAgency(scenario, spec, cal, now, seed)
                monthly.generate()
                rows = monthly.records(_Rng(_derive(seed, spec.code, "records")))
                self._monthly[spec.code] = monthly
                self._agencies[spec.code] = _ListAgency(rows)
        self._cache: OrderedDict[tuple[str, str, str], _IndexWindow] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, seed: int = 0) -> ScenarioStore:
        """Read, check and generate a scenario file."""
        return cls(load_scenario(path), seed=seed)

    @classmethod
    def from_dict(cls, data: Any, seed: int = 0, source: str = "<scenario>") -> ScenarioStore:
        return cls(scenario_from_dict(data, source), seed=seed)

    # -- DossierStore
    def agencies(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._rows]

    def window(self, agency: str, from_stamp: str, to_stamp: str) -> _IndexWindow | _EmptyWindow:
        source = self._agencies.get(agency.strip())
        if source is None:
            return _EmptyWindow()
        key = (agency.strip(), from_stamp, to_stamp)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        window = source.window(from_stamp, to_stamp)
        with self._lock:
            self._cache[key] = window
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return window

    # -- what the scenario says, for tests and benchmarks
    def months(self, agency: str) -> list[str]:
        """The months a monthly agency states figures for."""
        monthly = self._monthly.get(agency)
        return list(monthly.figures) if monthly is not None else []

    def planned_figures(self, agency: str, month: str) -> dict[str, int]:
        """Every figure (FIGURE_KEYS) the records of `agency` must give for `month`."""
        return dict(self._monthly[agency].figures[month])

    def planned_extras(self, agency: str, month: str) -> dict[str, int]:
        """The extra records stated for the month (status_1, status_3, malformed kinds)."""
        return dict(self._monthly[agency].extras.get(month, {}))

    def dossier_count(self, agency: str) -> int:
        """How many records the agency has in all (volume agencies: without generating them)."""
        source = self._agencies[agency]
        if isinstance(source, _VolumeAgency):
            return source.n
        return len(source.records)

    def records(self, agency: str) -> Iterator[dict[str, Any]]:
        """Every record of an agency in MaHoSo order (volume agencies: generated one by one)."""
        source = self._agencies[agency]
        if isinstance(source, _VolumeAgency):
            for i in range(source.n):
                yield source.record(i)
        else:
            for k in range(len(source.records)):
                yield source.make(k)
