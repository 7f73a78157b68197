"""Problem lines for the operator: where a key is ("departments.SKHCN.cc[1]") and what is wrong."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dotted(loc: tuple[int | str, ...]) -> str:
    """Return "departments.SKHCN.cc[1]"; a key that is not a plain word is quoted: ['a b']."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def kind(value: object) -> str:
    """Return what `value` is, in the operator's words ("a list", "a number")."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    return type(value).__name__


def suggest(key: str, allowed: list[str]) -> str:
    """Return "; did you mean 'x'? (allowed: ...)" for an unknown `key`."""
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def section_model(annotation: Any) -> type[BaseModel] | None:
    """Return the model of a section's annotation, or None when it is not a section."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys allowed at `loc` inside `model` (for "did you mean" hints)."""
    current: Any = model
    for part in loc:
        section = section_model(current)
        if section is not None:
            if not isinstance(part, str) or part not in section.model_fields:
                return []
            current = section.model_fields[part].annotation
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            return []
    section = section_model(current)
    return list(section.model_fields) if section is not None else []


def describe(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """Return the operator's text for one of pydantic's validation errors."""
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key" + suggest(str(loc[-1]), fields_at(model, loc[:-1]))
    value = error.get("input")
    got = repr(value) if value is None or isinstance(value, str | int | float) else kind(value)
    return f"{error['msg']} (got {got})"
