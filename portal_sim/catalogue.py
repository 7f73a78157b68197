"""The procedure catalogues (lĩnh vực, thủ tục) of portal_sim/catalogue.yaml, read on first use."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = [
    "CATALOGUE_FILE",
    "CatalogueError",
    "Catalogues",
    "Procedure",
    "bundled",
    "catalogue_keys",
    "load_catalogues",
    "procedures",
]

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Procedure:
    """One procedure as dossiers carry it: MaTTHC, TenTTHC, its field, MucDo, fee, time limit."""

    code: str
    name: str
    field_code: str
    field_name: str
    level: int
    fee: bool
    days: int


class _Entry(BaseModel):
    """An entry of the file: no unknown keys, no coerced values."""

    # strict: a YAML 4.0 or "yes" where an integer or a name belongs is a mistake, not a value
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _ProcedureEntry(_Entry):
    """A procedure (thủ tục): TenTTHC, MucDo, fee-bearing, time limit in working days."""

    name: str = Field(min_length=1)
    level: int = Field(ge=1, le=4)
    fee: bool
    days: int = Field(ge=1)


class _FieldEntry(_Entry):
    """A field (lĩnh vực): MaLinhVuc, TenLinhVuc and its procedures."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    procedures: list[_ProcedureEntry] = Field(min_length=1)


def _distinct(fields: list[_FieldEntry]) -> list[_FieldEntry]:
    """Refuse a field code or a procedure name listed twice in one catalogue."""
    codes = Counter(f.code for f in fields)
    names = Counter(p.name for f in fields for p in f.procedures)
    twice = [f"field code {c!r}" for c, n in codes.items() if n > 1]
    twice += [f"procedure {p!r}" for p, n in names.items() if n > 1]
    if twice:
        raise ValueError(f"listed twice: {', '.join(twice)}")
    return fields


_Catalogue = Annotated[list[_FieldEntry], Field(min_length=1), AfterValidator(_distinct)]
_CATALOGUES = TypeAdapter(dict[str, _Catalogue])


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build the mapping, failing on a repeated key."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<" merges: overriding is their point
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """Name the entry at a pydantic error location: catalogue, field, procedure, key.

    A location runs (catalogue, field index, "procedures", procedure index, key), as long as
    the error is deep; indices become "field 2 (KHCN02)", "procedure 1 (its name)".
    """
    words: list[str] = []
    node = data
    for depth, step in enumerate(loc):
        if step == "[key]":
            words[-1] = f"catalogue key {loc[0]!r}"
            break
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        if depth == 0:
            words.append(f"catalogue {step}")
        elif isinstance(step, int) and depth in (1, 3):
            label = node.get("code" if depth == 1 else "name") if isinstance(node, dict) else None
            kind = "field" if depth == 1 else "procedure"
            words.append(f"{kind} {step + 1}" + (f" ({label})" if isinstance(label, str) else ""))
        elif step != "procedures" or depth == len(loc) - 1:
            words.append(str(step))
    return ", ".join(words) or "the file"


class Catalogues:
    """Catalogues read and checked: their names and, for a province, their procedures."""

    def __init__(self, source: str, fields: dict[str, list[_FieldEntry]]) -> None:
        self.source = source
        self._fields = fields

    def keys(self) -> list[str]:
        """Return the catalogue names, in file order."""
        return list(self._fields)

    def procedures(self, catalogue: str, province: str) -> list[Procedure]:
        """Return the procedures of `catalogue` in file order, their MaTTHC ending in `province`."""
        return [
            Procedure(_code(p.name, province), p.name, f.code, f.name, p.level, p.fee, p.days)
            for f in self._fields[catalogue]
            for p in f.procedures
        ]


def _code(name: str, province: str) -> str:
    """Derive a procedure's MaTTHC from its name: stable as long as the name is."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return f"{1 + digest % 2}.00{digest // 2 % 10000:04d}.000.00.00.{province}"


def _problem(data: Any, error: Mapping[str, Any]) -> str:
    """Say what is wrong where, with the value found when it is a plain one."""
    found = error["input"]
    shown = f" (found {found!r})" if isinstance(found, str | int | float | bool) else ""
    message = error["msg"].removeprefix("Value error, ")
    return f"{_where(data, error['loc'])}: {message}{shown}"


def load_catalogues(path: str | Path) -> Catalogues:
    """Read and check a catalogue file (CatalogueError names the file and the entry)."""
    source = str(path)
    try:
        with Path(path).open(encoding="utf-8") as stream:  # the stream names the file in errors
            data = yaml.load(stream, Loader=_UniqueKeyLoader)
    except OSError as error:
        raise CatalogueError(f"{source}: cannot read the catalogue: {error}") from None
    except yaml.YAMLError as error:
        raise CatalogueError(f"{source}: not valid YAML: {error}") from None
    try:
        fields = _CATALOGUES.validate_python(data)
    except ValidationError as error:
        problems = [_problem(data, e) for e in error.errors()]
        raise CatalogueError(f"{source}: " + "; ".join(problems)) from None
    if not fields:
        raise CatalogueError(f"{source}: no catalogue")
    return Catalogues(source, fields)


_bundled: Catalogues | None = None
_bundled_lock = threading.Lock()


def bundled() -> Catalogues:
    """Return the catalogues of CATALOGUE_FILE, read the first time they are needed."""
    global _bundled
    with _bundled_lock:
        if _bundled is None:
            _bundled = load_catalogues(CATALOGUE_FILE)
        return _bundled


def catalogue_keys() -> list[str]:
    """Return the names of the bundled catalogues, in file order."""
    return bundled().keys()


def procedures(catalogue: str, province: str) -> list[Procedure]:
    """Return the procedures of a bundled catalogue, their MaTTHC ending in `province`."""
    return bundled().procedures(catalogue, province)
