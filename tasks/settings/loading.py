"""Read the configuration folder: YAML files, environment overrides, secrets, cross-checks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.settings.checks import (
    TEXT_PLACEHOLDERS,
    check_cross,
    check_departments,
    check_recipients,
    check_settings,
    config_path,
)
from tasks.settings.environment import (
    CONFIG_DIR_VARIABLE,
    PORTAL_PASSWORD,
    PORTAL_USERNAME,
    SMTP_PASSWORD,
    Overrides,
    is_secret_key,
    overlay,
    read_overrides,
    read_secrets,
    secret_variable,
)
from tasks.settings.messages import describe, dotted, kind
from tasks.settings.models import (
    DEPARTMENTS_FILE,
    EMBEDDED,
    ENV_PREFIX,
    RECIPIENTS_FILE,
    RETIRED_KEYS,
    SETTINGS_FILE,
    AppConfig,
    DepartmentsFile,
    RecipientsFile,
    Settings,
)
from tasks.settings.paths import DEFAULT_CONFIG_DIR, PROJECT_ROOT

# Imported from here by the rest of the project.
__all__ = [
    "CONFIG_DIR_VARIABLE",
    "DEFAULT_CONFIG_DIR",
    "EMBEDDED",
    "ENV_PREFIX",
    "PORTAL_PASSWORD",
    "PORTAL_USERNAME",
    "PROJECT_ROOT",
    "SMTP_PASSWORD",
    "TEXT_PLACEHOLDERS",
    "ConfigError",
    "check_config",
    "fill_placeholders",
    "load_config",
]


_M = TypeVar("_M", bound=BaseModel)


class ConfigError(Exception):
    """The configuration has problems; `problems` holds one line for each, naming file and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_config(
    config_dir: Path, environ: Mapping[str, str], *, cwd: Path | None = None
) -> AppConfig:
    """Read, override from `environ`, validate and cross-check the configuration in `config_dir`.

    Raise ConfigError listing every problem found. `cwd` (default: the current directory)
    anchors a relative `output_dir`.
    """
    config, problems = _load(config_dir, environ, Path.cwd() if cwd is None else cwd)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_config(
    config_dir: Path, environ: Mapping[str, str], *, cwd: Path | None = None
) -> list[str]:
    """Return the configuration's problems, one line each; an empty list means it is valid."""
    _, problems = _load(config_dir, environ, Path.cwd() if cwd is None else cwd)
    return problems


def fill_placeholders(text: str, *, period: str) -> str:
    """Return a configured text with `{period}` replaced by the period's label ("tháng 5/2024")."""
    return text.replace("{period}", period)


def _load(
    config_dir: Path, environ: Mapping[str, str], cwd: Path
) -> tuple[AppConfig | None, list[str]]:
    problems: list[str] = []
    config_dir = config_dir if config_dir.is_absolute() else cwd / config_dir
    names = {
        SETTINGS_FILE: _display(config_dir / SETTINGS_FILE, cwd),
        DEPARTMENTS_FILE: _display(config_dir / DEPARTMENTS_FILE, cwd),
        RECIPIENTS_FILE: _display(config_dir / RECIPIENTS_FILE, cwd),
    }
    raw: dict[str, dict[str, Any] | None] = {}
    for file_name, shown in names.items():
        data = _read_yaml(config_dir / file_name, shown, problems)
        if data is not None:
            data = _strip_secrets(data, (), shown, problems)
        raw[file_name] = data

    overrides = read_overrides(environ)
    problems += overrides.problems
    settings_raw = raw[SETTINGS_FILE]
    if settings_raw is not None:
        settings_raw = overlay(
            _strip_retired(settings_raw, names[SETTINGS_FILE], problems), overrides.values
        )

    settings = _validate(Settings, settings_raw, names[SETTINGS_FILE], problems, overrides)
    departments = _validate(
        DepartmentsFile, raw[DEPARTMENTS_FILE], names[DEPARTMENTS_FILE], problems
    )
    recipients = _validate(RecipientsFile, raw[RECIPIENTS_FILE], names[RECIPIENTS_FILE], problems)

    if departments is not None:
        problems += check_departments(departments, names[DEPARTMENTS_FILE])
    if recipients is not None:
        problems += check_recipients(recipients, names[RECIPIENTS_FILE])
    if departments is not None and recipients is not None:
        problems += check_cross(departments, recipients, names[RECIPIENTS_FILE])
    if settings is not None:
        domains = recipients.allowed_domains if recipients is not None else []
        problems += check_settings(settings, domains, config_dir, names[SETTINGS_FILE], overrides)

    if settings is None or departments is None or recipients is None or problems:
        return None, problems
    config = AppConfig(
        config_dir=config_dir,
        settings=_resolve_paths(settings, config_dir, cwd),
        departments=departments,
        recipients=recipients,
        secrets=read_secrets(environ),
    )
    return config, []


def _display(path: Path, cwd: Path) -> str:
    """Return `path` relative to `cwd` when it lies below it: shorter messages for the operator."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


# A configuration file is a few kilobytes; these bounds keep a wrong or hostile file (a
# "billion laughs" of nested aliases) from taking the machine's memory.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_ALIASES = 20


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated key (PyYAML keeps the last) and many aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose the next node, counting aliases (`*name`) and refusing too many."""
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_ALIASES} aliases (*name): write the values out",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)


def _construct_unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def _read_yaml(path: Path, shown: str, problems: list[str]) -> dict[str, Any] | None:
    """Return the file's top-level mapping ({} when empty), or None after adding a problem."""
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_CONFIG_BYTES + 1)
        if len(content) > MAX_CONFIG_BYTES:
            problems.append(
                f"{shown}: larger than {MAX_CONFIG_BYTES // 1024} KiB: not a configuration file"
            )
            return None
        text = content.decode("utf-8")
    except FileNotFoundError:
        problems.append(f"{shown}: file not found")
        return None
    except UnicodeDecodeError as error:
        problems.append(f"{shown}: not UTF-8 text (byte {error.start}): save it as UTF-8")
        return None
    except OSError as error:
        problems.append(f"{shown}: cannot read: {error.strerror or error}")
        return None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        detail = error.problem or error.context or "syntax error"
        if error.context and error.problem:
            detail = f"{error.problem} ({error.context})"
        problems.append(f"{shown}: {where}invalid YAML: {detail}")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{shown}: invalid YAML: {error}")
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{shown}: the file must hold keys and values (a mapping), not {kind(data)}"
        )
        return None
    return data


def _strip_secrets(data: Any, path: tuple[int | str, ...], shown: str, problems: list[str]) -> Any:
    """Return `data` without secret-looking keys, adding a problem for each one removed."""
    if isinstance(data, dict):
        kept: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and is_secret_key(path, key.lower()):
                variable = secret_variable(path, key.lower())
                problems.append(
                    f"{shown}: {dotted((*path, key))}: secrets come from the environment: "
                    f"set {variable} and remove this key"
                )
                continue
            kept[key] = _strip_secrets(value, (*path, key), shown, problems)
        return kept
    if isinstance(data, list):
        return [_strip_secrets(item, (*path, i), shown, problems) for i, item in enumerate(data)]
    return data


def _strip_retired(settings_raw: dict[str, Any], shown: str, problems: list[str]) -> dict[str, Any]:
    """Return settings.yaml without its retired keys, adding one problem for each."""
    kept = dict(settings_raw)
    for (section, key), reason in RETIRED_KEYS.items():
        values = kept.get(section)
        if isinstance(values, dict) and key in values:
            kept[section] = {name: value for name, value in values.items() if name != key}
            problems.append(
                f"{shown}: {dotted((section, key))}: no longer used: {reason} (remove this key)"
            )
    return kept


def _validate(
    model: type[_M],
    data: dict[str, Any] | None,
    shown: str,
    problems: list[str],
    overrides: Overrides | None = None,
) -> _M | None:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            loc = tuple(item["loc"])
            where = (overrides or Overrides()).where(loc, shown)
            problems.append(f"{where}: {describe(item, model)}{_department_hint(data, loc)}")
        return None


def _department_hint(data: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """Name the department of a departments.yaml list entry: indexes alone are hard to find."""
    if len(loc) < 2 or loc[0] != "departments" or not isinstance(loc[1], int):
        return ""
    entries = data.get("departments")
    if not isinstance(entries, list) or loc[1] >= len(entries):
        return ""
    entry = entries[loc[1]]
    key = entry.get("key") if isinstance(entry, dict) else None
    return f" (department {key!r})" if isinstance(key, str) else ""


def _resolve_paths(settings: Settings, config_dir: Path, cwd: Path) -> Settings:
    """Return the settings with relative paths made absolute (see models' docstring)."""
    output = Path(settings.output_dir).expanduser()
    scenario = Path(settings.portal.scenario).expanduser()
    portal_bundle = settings.portal.ca_bundle
    smtp_bundle = settings.smtp.ca_bundle
    portal = settings.portal.model_copy(
        update={
            "scenario": str(scenario if scenario.is_absolute() else PROJECT_ROOT / scenario),
            "ca_bundle": None
            if portal_bundle is None
            else str(config_path(portal_bundle, config_dir)),
        }
    )
    smtp = settings.smtp.model_copy(
        update={
            "ca_bundle": None if smtp_bundle is None else str(config_path(smtp_bundle, config_dir)),
        }
    )
    index_bundle = settings.national_index.ca_bundle
    national_index = settings.national_index.model_copy(
        update={
            "ca_bundle": None
            if index_bundle is None
            else str(config_path(index_bundle, config_dir))
        }
    )
    return settings.model_copy(
        update={
            "output_dir": str(output if output.is_absolute() else cwd / output),
            "portal": portal,
            "national_index": national_index,
            "smtp": smtp,
        }
    )
