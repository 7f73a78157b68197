"""Lines and rules sized from the text, after a template has been filled.

Word and LibreOffice lay out Times New Roman; the widths here are Times New Roman's (a table
taken from the metric-compatible Liberation Serif, tasks.documents.font_metrics), so no font
file is needed. A filled document is adjusted in place (fit_layout): the masthead's columns
are as wide as their longest lines, a line too long for its column is broken into two
balanced lines (the subject after "TTHC", where the seed breaks it), and each rule is as long
as Decree 30/2020 asks of the line above it: a third of it under the issuing body and the
subject ("Đường kẻ 1/3"), the whole line under the motto ("Đường kẻ bằng dòng chữ").
fit_columns sizes a table's columns from their words; stamp_properties sets the core
properties. Every change goes through python-docx, which keeps the schema's element order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache

from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Length, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from tasks.documents.font_metrics import UNITS_PER_EM, WIDTHS

RULE_THIRD = "Đường kẻ 1/3"
RULE_FULL = "Đường kẻ bằng dòng chữ"
RULE_RATIOS = {RULE_THIRD: 1 / 3, RULE_FULL: 1.0}
DEFAULT_SIZE_PT = 14.0
# Word's and LibreOffice's default left and right cell padding (108 twips).
DEFAULT_CELL_PADDING = Pt(5.4)
# The narrowest the masthead's left column gets (docs/report-format.md: 6.5 cm).
MIN_LEFT_COLUMN = Cm(6.5)
# The masthead may run up to 1 cm wider than the text, centred: 0.5 cm into each margin.
MASTHEAD_OVERHANG = Cm(1)
# Decree 30/2020 sets the issuing body in 12-13 pt: 12 pt when 13 pt does not fit one line.
SMALLEST_NAME = Pt(12)
# Letters past Latin-1 (ơ, ư, ệ, ...) are measured a tenth wider than in Times: where the
# Times-metric font is Liberation Serif 1.x (Debian's fonts-liberation), which lacks them,
# LibreOffice draws them from DejaVu Serif. A letter the table lacks measures as its base.
_FALLBACK = 1.1
# Room for rounding between this table and the renderer's own measure.
SLACK = 1.02
# ơ, ư and their tones are wider than o, u by the horn.
_HORN_EM = 0.08
_BREAK_AFTER = "TTHC"


@cache
def _widths(style: str) -> dict[str, int]:
    pairs = (pair.split(":") for pair in WIDTHS[style].split())
    return {chr(int(code, 16)): int(width) for code, width in pairs}


def _style_name(bold: bool, italic: bool) -> str:
    return {(False, False): "regular", (True, False): "bold", (False, True): "italic"}.get(
        (bold, italic), "bold_italic"
    )


def text_width(text: str, size_pt: float, *, bold: bool = False, italic: bool = False) -> float:
    """Return the width of `text` in points, set in Times New Roman at `size_pt`."""
    widths = _widths(_style_name(bold, italic))
    units = 0.0
    for char in text:
        if char in widths:
            units += widths[char] * (_FALLBACK if ord(char) > 0xFF else 1.0)
            continue
        # Vietnamese letters the table lacks measure as their base letter (marks sit above).
        base = unicodedata.normalize("NFD", char)
        units += widths.get(base[0], widths["n"]) * _FALLBACK
        if "\u031b" in base:
            units += _HORN_EM * UNITS_PER_EM
    return units / UNITS_PER_EM * size_pt


def two_lines(text: str, fits: float, measure: Measure) -> list[str]:
    """Return `text` as one line if it fits in `fits` points, else as two lines.

    The break goes after "TTHC" when both halves fit (where the seed breaks the subject), else
    between the words that make the two lines most nearly equal.
    """
    if measure(text) <= fits:
        return [text]
    words = text.split()
    if _BREAK_AFTER in words[:-1]:
        cut = words.index(_BREAK_AFTER) + 1
        lines = [" ".join(words[:cut]), " ".join(words[cut:])]
        if all(measure(line) <= fits for line in lines):
            return lines
    candidates = ([" ".join(words[:cut]), " ".join(words[cut:])] for cut in range(1, len(words)))
    return min(candidates, key=lambda lines: max(measure(line) for line in lines), default=[text])


class Measure:
    """The width in points of a line set as one paragraph's first run is set."""

    def __init__(self, size_pt: float, bold: bool, italic: bool) -> None:
        self.size_pt, self.bold, self.italic = size_pt, bold, italic

    def __call__(self, text: str) -> float:
        return text_width(text, self.size_pt, bold=self.bold, italic=self.italic) * SLACK


def _style_value(style: ParagraphStyle | None, attribute: str) -> object:
    while style is not None:
        value = getattr(style.font, attribute)
        if value is not None:
            return value
        style = style.base_style
    return None


class StyleFonts:
    """The size, weight and slant each paragraph style of one document sets, looked up once.

    A style's values follow its base styles, and python-docx finds each style by reading the
    whole styles part: for every paragraph measured, that was most of the layout's time.
    """

    def __init__(self) -> None:
        self._fonts: dict[str | None, tuple[object, object, object]] = {}

    def of(self, paragraph: Paragraph) -> tuple[object, object, object]:
        """Return the (size, bold, italic) the paragraph's style gives (None where unset)."""
        style_id = paragraph._p.style
        fonts = self._fonts.get(style_id)
        if fonts is None:
            found = paragraph.style
            style = found if isinstance(found, ParagraphStyle) else None
            fonts = self._fonts[style_id] = (
                _style_value(style, "size"),
                _style_value(style, "bold"),
                _style_value(style, "italic"),
            )
        return fonts


def _measure(paragraph: Paragraph, fonts: StyleFonts | None = None) -> Measure:
    """Return how the paragraph's text is set: its first run's size, weight and slant."""
    style_size, style_bold, style_italic = (fonts or StyleFonts()).of(paragraph)
    run = next((run for run in paragraph.runs if run.text.strip()), None)
    size = (run.font.size if run is not None else None) or style_size
    bold = run.bold if run is not None and run.bold is not None else style_bold
    italic = run.italic if run is not None and run.italic is not None else style_italic
    size_pt = size.pt if isinstance(size, Length) else DEFAULT_SIZE_PT
    return Measure(size_pt, bool(bold), bool(italic))


def line_widths(paragraph: Paragraph, fonts: StyleFonts | None = None) -> list[float]:
    """Return the width in points of each line of `paragraph` (lines end at a line break)."""
    measure = _measure(paragraph, fonts)
    return [measure(line) for line in paragraph.text.split("\n")]


def _break_into(paragraph: Paragraph, fits: float, fonts: StyleFonts) -> None:
    """Break the single-run `paragraph` into two lines when it does not fit in `fits` points."""
    runs = [run for run in paragraph.runs if run.text]
    if len(runs) != 1 or "\n" in runs[0].text:
        return
    lines = two_lines(runs[0].text, fits, _measure(paragraph, fonts))
    runs[0].text = "\n".join(lines)


RuleStyles = dict[str, str]


def _rule_styles(document: Document) -> RuleStyles:
    """Return the style id of each rule style the document defines, with its name."""
    return {
        style.style_id: style.name
        for style in document.styles
        if isinstance(style, ParagraphStyle) and style.name in RULE_RATIOS
    }


def _rule_style(paragraph: Paragraph, rules: RuleStyles) -> str | None:
    # By the paragraph's own style id: looking a style up by name reads the whole styles part
    # each time, and a report has hundreds of paragraphs.
    return rules.get(paragraph._p.style or "")


def _underlined(
    paragraphs: list[Paragraph], rules: RuleStyles
) -> Iterable[tuple[Paragraph, Paragraph, float]]:
    """Yield (rule, the text paragraph above it, ratio) for each rule among `paragraphs`."""
    for index, paragraph in enumerate(paragraphs):
        style = _rule_style(paragraph, rules)
        if style is None:
            continue
        above = next((p for p in reversed(paragraphs[:index]) if p.text.strip()), None)
        if above is not None:
            yield paragraph, above, RULE_RATIOS[style]


def _fit_rules(
    paragraphs: list[Paragraph], space_pt: float, rules: RuleStyles, fonts: StyleFonts
) -> None:
    """Break each underlined line to fit `space_pt`, then size and centre the rule under it."""
    for rule, above, ratio in list(_underlined(paragraphs, rules)):
        _break_into(above, space_pt, fonts)
        length = ratio * max(line_widths(above, fonts))
        indent = Pt(max(0.0, (space_pt - length) / 2))
        rule.paragraph_format.left_indent = indent
        rule.paragraph_format.right_indent = indent
        rule.paragraph_format.first_line_indent = Pt(0)


def _text_width(document: Document) -> Length:
    section = document.sections[0]
    assert section.page_width is not None
    return Emu(section.page_width - (section.left_margin or 0) - (section.right_margin or 0))


def _set_widths(table: Table, widths: list[Length]) -> None:
    grid = table._tbl.tblGrid
    for column, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        column.set(qn("w:w"), str(round(width / 635)))
    for tr in table._tbl.tr_lst:
        column = 0
        for tc in tr.tc_lst:
            # A cell spanning columns is as wide as they are together.
            tc.width = Emu(sum(widths[column : column + tc.grid_span]))
            column += tc.grid_span


def _masthead_widths(
    table: Table, total: Length, rules: RuleStyles, fonts: StyleFonts
) -> list[Length]:
    """Return the masthead's two column widths, the issuing body on one line where it can be.

    The left column is as wide as its longest line, at least MIN_LEFT_COLUMN; the right one
    as wide as the national motto. The table may run up to MASTHEAD_OVERHANG wider than the
    text; when that is not enough the issuing body goes down to 12 pt; past that the left
    column keeps what is left, and the name breaks into two balanced lines (see _fit_rules).
    """
    left, right = table.rows[0].cells[:2]
    padding = _cell_padding(table)

    def need(cell: _Cell) -> float:
        widths = [
            w
            for p in cell.paragraphs
            if _rule_style(p, rules) is None
            for w in line_widths(p, fonts)
        ]
        # A point to spare: the widths are rounded to twips on the way into the file.
        return (max(widths, default=0.0) + 1) * 12700 + padding

    right_need = need(right)
    if need(left) + right_need > total + MASTHEAD_OVERHANG:
        for paragraph in _underlined_text(left.paragraphs, rules):
            for run in paragraph.runs:
                run.font.size = SMALLEST_NAME
    width = min(max(total, need(left) + right_need), total + MASTHEAD_OVERHANG)
    left_width = Emu(round(min(max(need(left), MIN_LEFT_COLUMN), width - right_need)))
    return [left_width, Emu(round(width - left_width))]


def _underlined_text(paragraphs: list[Paragraph], rules: RuleStyles) -> list[Paragraph]:
    return [above for _, above, ratio in _underlined(paragraphs, rules) if ratio < 1]


def fit_layout(document: Document) -> None:
    """Size the masthead's columns, break long lines and size the rules of a filled document."""
    total = _text_width(document)
    rules = _rule_styles(document)
    fonts = StyleFonts()
    if document.tables and len(document.tables[0].columns) == 2:
        masthead = document.tables[0]
        widths = _masthead_widths(masthead, total, rules, fonts)
        _set_widths(masthead, widths)
        padding = _cell_padding(masthead)
        for cell, width in zip(masthead.rows[0].cells, widths, strict=True):
            _fit_rules(cell.paragraphs, (width - padding) / 12700, rules, fonts)
    _fit_rules(document.paragraphs, total / 12700, rules, fonts)


def stamp_properties(document: Document, *, title: str, author: str, when: datetime) -> None:
    """Describe the document as written now by `author` (the template's own dates and author
    would otherwise show in Word's File > Info)."""
    properties = document.core_properties
    properties.title = title
    properties.author = author
    properties.last_modified_by = author
    properties.comments = ""
    properties.created = properties.modified = when.astimezone(UTC).replace(tzinfo=None)
    properties.revision = 1


def _cell_padding(table: Table) -> Length:
    """Return a table's left plus right cell padding (its w:tblCellMar, else the default)."""
    margins = table._tbl.tblPr.find(qn("w:tblCellMar"))
    total = 0
    for edge in ("left", "right"):
        element = margins.find(qn(f"w:{edge}")) if margins is not None else None
        width = element.get(qn("w:w")) if element is not None else None
        total += int(width) * 635 if width is not None else DEFAULT_CELL_PADDING
    return Emu(total)


def fit_columns(table: Table, *, stretch: int) -> None:
    """Size a table's columns from its text, to the width the table has now.

    Each column is at least as wide as its longest word (no word breaks inside), and gets as
    close as room allows to its longest line; a cell spanning several columns is left out.
    Column `stretch` (the names) is at least as wide as its longest line broken into two
    balanced lines, and takes what is left.
    """
    columns = len(table.columns)
    total = sum(int(c.get(qn("w:w"))) * 635 for c in table._tbl.tblGrid.findall(qn("w:gridCol")))
    padding = _cell_padding(table) * SLACK
    least, most = [padding] * columns, [padding] * columns
    fonts = StyleFonts()
    for row in table.rows:
        for index, cell in enumerate(row.cells[:columns]):
            if cell._tc.grid_span != 1:
                continue
            for paragraph in cell.paragraphs:
                measure = _measure(paragraph, fonts)
                for line in paragraph.text.split("\n"):
                    words = [measure(word) * 12700 for word in line.split()]
                    if index == stretch:
                        # A name takes at most two lines, broken between words.
                        halves = two_lines(line, 0.0, measure) if len(words) > 1 else [line]
                        words = [max(measure(half) for half in halves) * 12700]
                    least[index] = max(least[index], max(words, default=0) + padding)
                    most[index] = max(most[index], measure(line) * 12700 + padding)
    widths = list(least)
    spare = total - sum(widths)
    wanted = [most[i] - least[i] if i != stretch else 0.0 for i in range(columns)]
    if spare > 0 and sum(wanted) > 0:
        share = min(1.0, spare / sum(wanted))
        widths = [widths[i] + wanted[i] * share for i in range(columns)]
    widths[stretch] += max(0.0, total - sum(widths))
    _set_widths(table, [Emu(round(width)) for width in widths])
