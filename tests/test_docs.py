"""The project's own docs (docs/) stay true to the code.

- docs/kpi-rules.md lists exactly the figures and the rates the engine computes: one table
  whose first column is each figure's name in backticks, one such table for the rates.
- Every `*.md` file that README.md or the code cites exists, either at the path written
  (from the repository root) or under docs/.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import is_typeddict

import pytest

from tasks.figures import engine

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
KPI_RULES = DOCS / "kpi-rules.md"

# Folders whose .py files may cite a doc, searched recursively.
CITING_FOLDERS = ("flows", "tasks", "portal_sim", "standins", "bench", "templates", "tests")
# A cited .md file: a name or path ending in ".md", not part of a longer word or of a URL.
CITATION = re.compile(r"(?<![\w./:-])([\w./-]+\.md)(?![\w-])")
NAME_CELL = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")


# --- the names the code computes -------------------------------------------------------------


def code_names(type_name: str, keys_name: str) -> list[str]:
    """Return the names of the engine's type `type_name`, else of its tuple `keys_name`.

    The engine has listed its figures in FIGURE_KEYS (its rates in RATE_KEYS); a typed
    `Figures` (`Rates`) in the same module takes over when it exists: the fields of a
    dataclass, or the keys of a TypedDict.
    """
    typed = getattr(engine, type_name, None)
    if isinstance(typed, type) and dataclasses.is_dataclass(typed):
        return [field.name for field in dataclasses.fields(typed)]
    if is_typeddict(typed):
        return list(typed.__annotations__)
    return list(getattr(engine, keys_name))


# --- the tables of a markdown file -----------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Return every table of `text` as (header cells, body rows of cells)."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines) - 1:
        header, rule = lines[index].strip(), lines[index + 1].strip()
        if header.startswith("|") and re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*", rule):
            rows = []
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            tables.append((_cells(header), rows))
        else:
            index += 1
    return tables


def table_names(path: Path, first_header: str) -> list[str]:
    """Return the names in the first column of the one table of `path` headed `first_header`.

    Every row's first cell must be one name in backticks.
    """
    tables = [
        rows
        for header, rows in markdown_tables(path.read_text(encoding="utf-8"))
        if header[0].lower() == first_header
    ]
    assert len(tables) == 1, (
        f"{path.relative_to(ROOT)}: expected one table whose first column is "
        f"'{first_header}', found {len(tables)}"
    )
    names = []
    for row in tables[0]:
        match = NAME_CELL.match(row[0])
        assert match, (
            f"{path.relative_to(ROOT)}: the {first_header} table's row {row[0]!r} does not "
            "start with a name in backticks"
        )
        names.append(match.group(1))
    return names


@pytest.mark.parametrize(
    ("first_header", "type_name", "keys_name"),
    [("figure", "Figures", "FIGURE_KEYS"), ("rate", "Rates", "RATE_KEYS")],
)
def test_kpi_rules_lists_exactly_the_code_names(
    first_header: str, type_name: str, keys_name: str
) -> None:
    documented = table_names(KPI_RULES, first_header)
    computed = code_names(type_name, keys_name)
    repeated = sorted({name for name in documented if documented.count(name) > 1})
    assert not repeated, f"docs/kpi-rules.md lists {repeated} more than once"
    assert set(documented) == set(computed), (
        f"docs/kpi-rules.md's {first_header} table differs from the code: "
        f"not documented {sorted(set(computed) - set(documented))}, "
        f"not in the code {sorted(set(documented) - set(computed))}"
    )


# --- citations of .md files ------------------------------------------------------------------


def citing_files() -> list[Path]:
    """Return README.md, the docs and every .py or .yaml file of the folders that may cite."""
    files = [ROOT / "README.md", ROOT / "prefect.yaml", *sorted(DOCS.glob("*.md"))]
    for folder in CITING_FOLDERS:
        for pattern in ("*.py", "*.yaml"):
            files.extend(sorted((ROOT / folder).rglob(pattern)))
    return files


def citations(path: Path) -> list[tuple[int, str]]:
    """Return the (line number, cited .md path) pairs of one file."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        found.extend((number, match.group(1)) for match in CITATION.finditer(line))
    return found


def resolves(cited: str) -> bool:
    """Tell whether a cited .md file exists: as written from the root, or under docs/."""
    return any((base / cited).is_file() for base in (ROOT, DOCS))


def test_the_citation_pattern_finds_md_names_and_paths() -> None:
    line = "rules of kpi-rules.md, see docs/portal-api.md and https://x.org/a/README.md; x.mdx"
    assert [m.group(1) for m in CITATION.finditer(line)] == ["kpi-rules.md", "docs/portal-api.md"]


def test_every_cited_md_file_exists() -> None:
    cited = [(path, number, name) for path in citing_files() for number, name in citations(path)]
    assert cited, "no .md citation found at all: is the pattern or the file list wrong?"
    missing = [
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for path, number, name in cited
        if not resolves(name)
    ]
    assert not missing, "cited .md files that exist neither as written nor under docs/:\n" + (
        "\n".join(missing)
    )


SOURCE_PATH = re.compile(
    r"(?<![\w./-])((?:flows|tasks|portal_sim|standins|bench|tests|templates)/[\w/]+\.py)\b"
)


def test_every_cited_source_file_exists() -> None:
    missing = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(1)}"
        for path in citing_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in SOURCE_PATH.finditer(line)
        if not (ROOT / match.group(1)).is_file()
    ]
    assert not missing, "cited source files that do not exist:\n" + "\n".join(missing)
