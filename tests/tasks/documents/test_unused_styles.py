"""Styles nothing in a document uses are left out; every style it uses stays."""

from __future__ import annotations

import docx
import pytest
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from tasks.documents.unused_styles import drop_unused_styles


def style_ids(document: Document) -> set[str]:
    return {style.style_id for style in document.styles}


def add_style(document: Document, style_id: str, **chain: str) -> None:
    """Add a paragraph style `style_id`, with w:basedOn / w:link / w:next as given."""
    style = document.styles.add_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
    for tag, target in chain.items():
        element = OxmlElement(f"w:{tag}")
        element.set(qn("w:val"), target)
        style.element.append(element)


def chained_document() -> Document:
    """A document with styles used, needed by used ones, and unused, each named for its fate."""
    document = docx.Document()
    add_style(document, "UsedBase")
    add_style(document, "UsedLinkChar")
    add_style(document, "UsedNext")
    add_style(document, "Used", basedOn="UsedBase", link="UsedLinkChar", next="UsedNext")
    add_style(document, "InHeader")
    add_style(document, "UnusedBase")
    add_style(document, "Unused", basedOn="UnusedBase")
    document.add_paragraph("thân bài", style="Used")
    document.sections[0].header.paragraphs[0].style = document.styles["InHeader"]
    return document


@pytest.mark.parametrize(
    ("style_id", "kept"),
    [
        ("Used", True),  # a body paragraph names it
        ("UsedBase", True),  # a kept style is based on it
        ("UsedLinkChar", True),  # ... linked to it
        ("UsedNext", True),  # ... followed by it
        ("InHeader", True),  # the header names it
        ("Normal", True),  # the default paragraph style
        ("TableNormal", True),  # the default table style
        ("Unused", False),
        ("UnusedBase", False),  # only an unused style is based on it
        ("LightShading-Accent1", False),  # one of python-docx's table styles
    ],
)
def test_a_style_is_kept_when_the_document_uses_it(style_id: str, kept: bool) -> None:
    document = chained_document()
    assert style_id in style_ids(document)
    removed = drop_unused_styles(document)
    assert (style_id in style_ids(document)) is kept
    assert (style_id in removed) is not kept


def test_styles_the_numbering_names_stay() -> None:
    document = docx.Document()
    document.add_paragraph("một", style="List Bullet")
    drop_unused_styles(document)
    # numbering.xml's levels name ListBullet2, ListNumber...: a dangling name there is an error
    # to Word's validator, so they stay with the numbering.
    assert {"ListBullet", "ListBullet2", "ListNumber"} <= style_ids(document)


def test_dropping_twice_removes_nothing_more() -> None:
    document = chained_document()
    assert drop_unused_styles(document)
    assert drop_unused_styles(document) == []


def test_a_reference_to_a_missing_style_is_left_alone() -> None:
    document = docx.Document()
    add_style(document, "Orphan", basedOn="NoSuchStyle")
    document.add_paragraph("x", style="Orphan")
    drop_unused_styles(document)
    assert "Orphan" in style_ids(document)
