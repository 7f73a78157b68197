"""docxtpl's template as the report and the Centre's summary render it.

Two changes to docxtpl's own: each part's tag clean-up and Jinja compile are done once per
process (a run renders the same template for every department), and the rendered body joins
the document as python-docx's own elements, so the layout step after rendering reads its
tables and paragraphs whatever else still holds the body docxtpl parsed.
"""

from __future__ import annotations

import functools
from typing import Any

from docx.oxml.parser import element_class_lookup
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Template
from lxml import etree

# Template parts whose clean-up and compiled form are kept: the report's and the summary's
# bodies, headers, footers and properties, with room for a template edited while the service
# runs.
COMPILED_PARTS = 16


class _CompiledOnce(Environment):
    """A Jinja environment that compiles each source once and keeps the compiled template.

    docxtpl compiles every part of the template on every render; a run renders the same
    template for every department, so all but the first compile are the same work again.
    Keyed by the source itself: an edited template is compiled anew.
    """

    def __init__(self) -> None:
        # StrictUndefined: a tag mistyped while editing the template in Word is an error, not
        # a blank.
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self._compiled = functools.lru_cache(maxsize=COMPILED_PARTS)(super().from_string)

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Template:
        if globals is None and template_class is None and isinstance(source, str):
            return self._compiled(source)
        return super().from_string(source, globals, template_class)


TEMPLATE_ENVIRONMENT = _CompiledOnce()

# docxtpl's own parser options for the rendered body (recover: it repairs what a template's
# loops leave), with python-docx's element classes.
_BODY_PARSER = etree.XMLParser(recover=True)
_BODY_PARSER.set_element_class_lookup(element_class_lookup)


@functools.lru_cache(maxsize=COMPILED_PARTS)
def _patched_xml(source: str) -> str:
    # DocxTemplate.patch_xml reads nothing of its instance: the result depends on the XML alone.
    return str(DocxTemplate.patch_xml(None, source))


class WordTemplate(DocxTemplate):
    """docxtpl's template; render it with TEMPLATE_ENVIRONMENT."""

    def patch_xml(self, src_xml: str) -> str:
        return _patched_xml(src_xml)

    def map_tree(self, tree: Any) -> None:
        # docxtpl parses the rendered body with a plain parser. Moved into the document, its
        # elements take python-docx's classes only once no proxy of the plain parse is alive;
        # one still held (a profiler's frame, a traceback) made `document.tables` fail with
        # "'lxml.etree._Element' object has no attribute 'tbl_lst'". Parsed again, they are
        # python-docx's from the start.
        super().map_tree(etree.fromstring(etree.tostring(tree), _BODY_PARSER))
