"""The 2024-05 set as LibreOffice lays it out: read from the PDF, as a clerk reads the page.

The set is rendered once (`tthc-report render`, which converts each report with
tasks.documents.pdf.convert_to_pdf). Without LibreOffice these tests skip, saying so; in CI
(CI=true) they fail instead, since .ci/run installs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pdfplumber
import pytest

from tasks.documents.pdf import find_soffice
from tasks.settings.loading import DEFAULT_CONFIG_DIR, load_config

PERIOD = "2024-05"
HEADINGS = (
    "1. Kết quả",
    "Ghi chú về số liệu:",
    "* Đánh giá chung:",
    "- Ưu điểm:",
    "- Tồn tại hạn chế:",
    "2. Nhiệm vụ trọng tâm trong tháng tới",
    "PHỤ LỤC",
    "2. Đánh giá chung",
    "1. Kết quả tiếp nhận, giải quyết TTHC của các cơ quan, đơn vị",
)


def _squeeze(text: str) -> str:
    """Drop whitespace: a PDF's text may space a letter drawn from a fallback font apart, and
    the masthead's two columns read as one line."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdfs(may_2024_set: Path) -> dict[str, list[str]]:
    """Return each report's pages as text, by department key ("centre": the summary)."""
    if find_soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is not installed in CI: .ci/run installs it")
        pytest.skip("LibreOffice (soffice) is not installed: no PDF to lay out")
    keys = [d.key for d in load_config(DEFAULT_CONFIG_DIR, {}).departments.departments]
    files = {key: may_2024_set / f"Báo cáo TTHC {PERIOD} {key}.pdf" for key in keys}
    files["centre"] = may_2024_set / f"Báo cáo tổng hợp TTHC {PERIOD}.pdf"
    return {key: _pages(path) for key, path in files.items()}


def _pages(path: Path) -> list[str]:
    assert path.is_file(), f"no PDF {path.name}"
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def _images(path: Path) -> list[int]:
    """Return how many images each page of the PDF at `path` shows."""
    with pdfplumber.open(path) as pdf:
        return [len(page.images) for page in pdf.pages]


def _lines(page: str) -> list[str]:
    return [line for line in (_squeeze(line) for line in page.splitlines()) if line]


def _department_names() -> dict[str, str]:
    config = load_config(DEFAULT_CONFIG_DIR, {})
    return {d.key: d.name for d in config.departments.departments}


@pytest.mark.parametrize("key", list(_department_names()))
def test_the_department_name_is_one_masthead_line(pdfs: dict[str, list[str]], key: str) -> None:
    name = _squeeze(_department_names()[key].upper())
    # The masthead's columns read as one line: the name, then the motto on its right. A name
    # broken in two would start two lines with its halves.
    assert any(line.startswith(name) for line in _lines(pdfs[key][0]))


def test_no_page_ends_with_a_heading(pdfs: dict[str, list[str]]) -> None:
    headings = {_squeeze(h) for h in HEADINGS}
    ends = {
        (key, number): _lines(page)[-1]
        for key, pages in pdfs.items()
        for number, page in enumerate(pages, start=1)
        if _lines(page)
    }
    assert {place: end for place, end in ends.items() if end in headings} == {}


def test_each_chart_is_on_the_page_of_its_caption(
    pdfs: dict[str, list[str]], may_2024_set: Path
) -> None:
    for key, pages in pdfs.items():
        if key == "centre":
            continue
        images = _images(may_2024_set / f"Báo cáo TTHC {PERIOD} {key}.pdf")
        captions = [len(re.findall(r"Biểuđồ[12]\.", _squeeze(page))) for page in pages]
        # A chart (an image) never sits on a page without its caption, nor a caption alone.
        assert images == captions, key
        assert sum(captions) == 2, key
        # They make the appendix, after the signed text.
        first = next(n for n, count in enumerate(captions) if count)
        assert "PHỤLỤC" in _squeeze(pages[first]), key
        assert all("Nơinhận" not in _squeeze(page) for page in pages[first:]), key


def test_closing_recipients_and_signature_share_a_page(pdfs: dict[str, list[str]]) -> None:
    config = load_config(DEFAULT_CONFIG_DIR, {})
    signers = {d.key: d.signer.name for d in config.departments.departments}
    signers["centre"] = config.settings.centre_signer.name
    for key, pages in pdfs.items():
        text = [_squeeze(page) for page in pages]
        [closing] = [n for n, t in enumerate(text) if "Trênđây" in t]
        assert "Nơinhận:" in text[closing], key
        assert _squeeze(signers[key]) in text[closing], key
        assert _squeeze("- Lưu: VT") in text[closing], key


@pytest.mark.parametrize(
    ("key", "least", "most"), [("SKHCN", 3, 4), ("STP", 3, 5), ("centre", 1, 3)]
)
def test_page_counts_are_within_bounds(
    pdfs: dict[str, list[str]], key: str, least: int, most: int
) -> None:
    assert least <= len(pdfs[key]) <= most
