"""What both template builders share: schema order, fonts, the page, lines and rules.

Imported by build_report_template.py and build_centre_summary_template.py, which run as
scripts from this folder (`python templates/authoring/build_report_template.py`).
"""

from __future__ import annotations

from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"


RULE_THIRD = "Đường kẻ 1/3"  # tasks.documents.layout.RULE_THIRD


RULE_FULL = "Đường kẻ bằng dòng chữ"  # tasks.documents.layout.RULE_FULL


# The children of w:pPr and w:tblPr in the order of the ECMA-376 schema (CT_PPrBase, CT_TblPr).
PPR_ORDER = [
    "pStyle",
    "keepNext",
    "keepLines",
    "pageBreakBefore",
    "framePr",
    "widowControl",
    "numPr",
    "suppressLineNumbers",
    "pBdr",
    "shd",
    "tabs",
    "suppressAutoHyphens",
    "kinsoku",
    "wordWrap",
    "overflowPunct",
    "topLinePunct",
    "autoSpaceDE",
    "autoSpaceDN",
    "bidi",
    "adjustRightInd",
    "snapToGrid",
    "spacing",
    "ind",
    "contextualSpacing",
    "mirrorIndents",
    "suppressOverlap",
    "jc",
    "textDirection",
    "textAlignment",
    "textboxTightWrap",
    "outlineLvl",
    "divId",
    "cnfStyle",
    "rPr",
    "sectPr",
    "pPrChange",
]


TBLPR_ORDER = [
    "tblStyle",
    "tblpPr",
    "tblOverlap",
    "bidiVisual",
    "tblStyleRowBandSize",
    "tblStyleColBandSize",
    "tblW",
    "jc",
    "tblCellSpacing",
    "tblInd",
    "tblBorders",
    "shd",
    "tblLayout",
    "tblCellMar",
    "tblLook",
    "tblCaption",
    "tblDescription",
    "tblPrChange",
]


TEXT_WIDTH_CM = 16.0  # 21 cm - 3 cm - 2 cm


def insert_ordered(parent: BaseOxmlElement, child: BaseOxmlElement, order: list[str]) -> None:
    """Insert `child` into `parent` where the schema's sequence `order` puts it."""
    rank = order.index(child.tag.rsplit("}", 1)[-1])
    for existing in parent:
        name = existing.tag.rsplit("}", 1)[-1]
        if name in order and order.index(name) > rank:
            existing.addprevious(child)
            return
    parent.append(child)


def drop_styles_with_effects(document: Document) -> None:
    """Leave out python-docx's stylesWithEffects.xml, a Word 2010 copy of the styles.

    It does not know the styles added here, and a validator rightly says the two disagree;
    Word 2013 and later never read it.
    """
    for key, relationship in list(document.part.rels.items()):
        if relationship.reltype.endswith("/stylesWithEffects"):
            del document.part.rels[key]


def set_fonts(rpr: BaseOxmlElement) -> None:
    """Point every script of a run-properties element at Times New Roman, no theme fonts."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), FONT)


def page(document: Document, header_style: str) -> None:
    """Set A4 portrait with the margins of Decree 30 and a page number in the header."""
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Cm(21)
    section.page_height = Cm(29.7)
    section.top_margin = Cm(2)
    section.bottom_margin = Cm(2)
    section.left_margin = Cm(3)
    section.right_margin = Cm(2)
    section.header_distance = Cm(1)
    section.footer_distance = Cm(1)
    # Page numbers from page 2 on: the first page has its own, empty, header.
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    header = section.header
    paragraph = header.paragraphs[0]
    paragraph.style = document.styles[header_style]
    page_field(paragraph)


def page_field(paragraph: Paragraph) -> None:
    """Append a PAGE field (the current page number) to `paragraph`."""

    def run_with(child: BaseOxmlElement) -> None:
        run = paragraph.add_run()
        run.font.size = Pt(14)
        run._r.append(child)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = " PAGE "
    run_with(instruction)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    shown = paragraph.add_run("2")
    shown.font.size = Pt(14)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def line(
    target: Document | _Cell,
    text: str,
    style: str,
    *,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    first: bool = False,
) -> Paragraph:
    """Add a paragraph of one run (or fill the cell's first, empty paragraph)."""
    if first and isinstance(target, _Cell):
        paragraph = target.paragraphs[0]
        paragraph.style = style
    else:
        paragraph = target.add_paragraph(style=style)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        if size is not None:
            run.font.size = Pt(size)
    return paragraph


def rule(target: _Cell | Document, style: str, length_cm: float, width_cm: float) -> None:
    """Add a centred rule `length_cm` long in a space `width_cm` wide (resized at render time)."""
    paragraph = target.add_paragraph(style=style)
    indent = Cm((width_cm - length_cm) / 2)
    paragraph.paragraph_format.left_indent = indent
    paragraph.paragraph_format.right_indent = indent
