"""The project's own shape: module sizes, declared dependencies, separate runtime and dev locks."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("flows", "tasks", "portal_sim", "standins")
OWN = {*PRODUCTION, "bench", "tests"}
MAX_LINES = 600
DEV_TOOLS = ("pytest", "mypy", "ruff", "pip-audit", "hypothesis", "import-linter")


def _python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalised(re.split(r"[<>=!~\[; ]", item, maxsplit=1)[0]) for item in requirements}


def _imported_top_levels(files: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - OWN - {"__future__"}


def _locked(lock: Path) -> set[str]:
    text = lock.read_text(encoding="utf-8")
    return {_normalised(m) for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


@pytest.mark.parametrize("path", _python_files(*PRODUCTION), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_production_module_is_over_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_every_package_production_code_imports_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _requirement_names(project["dependencies"])
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module, [module])
        for module in _imported_top_levels(_python_files(*PRODUCTION))
        if not any(_normalised(dist) in declared for dist in providers.get(module, [module]))
    }
    assert undeclared == {}


def test_the_runtime_lock_holds_no_development_tool_and_the_dev_lock_holds_them() -> None:
    runtime = _locked(ROOT / "requirements.lock")
    development = _locked(ROOT / "requirements-dev.lock")

    assert runtime & set(DEV_TOOLS) == set()
    assert set(DEV_TOOLS) <= development
    assert runtime <= development
