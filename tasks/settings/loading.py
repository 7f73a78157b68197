"""Read the configuration folder: YAML, environment overrides, secrets, cross-checks."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, SecretStr, ValidationError

from tasks.settings.keys import UnsafeName, safe_key
from tasks.settings.models import (
    DEPARTMENTS_FILE,
    EMBEDDED,
    RECIPIENTS_FILE,
    SETTINGS_FILE,
    AppConfig,
    DepartmentRecipients,
    DepartmentsFile,
    DepartmentTexts,
    RecipientsFile,
    Secrets,
    Settings,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"

ENV_PREFIX = "TTHC_"
# Read by the CLI for --config, so it is not a settings override.
CONFIG_DIR_VARIABLE = "TTHC_CONFIG_DIR"

PORTAL_USERNAME = "PORTAL_USERNAME"
PORTAL_PASSWORD = "PORTAL_PASSWORD"
SMTP_PASSWORD = "SMTP_PASSWORD"

TEXT_PLACEHOLDERS = frozenset({"period"})

_M = TypeVar("_M", bound=BaseModel)

_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey")
_USERNAME_KEYS = frozenset({"username", "user_name", "login"})
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


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

    overrides: dict[tuple[str, ...], str] = {}
    settings_raw = raw[SETTINGS_FILE]
    if settings_raw is not None:
        overrides = _apply_overrides(settings_raw, environ, problems)

    settings = _validate(Settings, settings_raw, names[SETTINGS_FILE], problems, overrides)
    departments = _validate(
        DepartmentsFile, raw[DEPARTMENTS_FILE], names[DEPARTMENTS_FILE], problems
    )
    recipients = _validate(RecipientsFile, raw[RECIPIENTS_FILE], names[RECIPIENTS_FILE], problems)

    if departments is not None:
        problems += _check_departments(departments, names[DEPARTMENTS_FILE])
    if recipients is not None:
        problems += _check_recipients(recipients, names[RECIPIENTS_FILE])
    if departments is not None and recipients is not None:
        problems += _check_cross(departments, recipients, names[RECIPIENTS_FILE])
    if settings is not None:
        domains = recipients.allowed_domains if recipients is not None else []
        problems += _check_settings(settings, domains, config_dir, names[SETTINGS_FILE], overrides)

    if settings is None or departments is None or recipients is None or problems:
        return None, problems
    config = AppConfig(
        config_dir=config_dir,
        settings=_resolve_paths(settings, config_dir, cwd),
        departments=departments,
        recipients=recipients,
        secrets=_read_secrets(environ),
    )
    return config, []


def _display(path: Path, cwd: Path) -> str:
    """Return `path` relative to `cwd` when it lies below it: shorter messages for the operator."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (PyYAML silently keeps the last)."""


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
        text = path.read_text(encoding="utf-8")
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
            f"{shown}: the file must hold keys and values (a mapping), not {_kind(data)}"
        )
        return None
    return data


def _kind(value: object) -> str:
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


def _dotted(loc: tuple[int | str, ...]) -> str:
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


def _secret_variable(path: tuple[int | str, ...], key: str) -> str:
    section = str(path[0]).lower() if path else ""
    if key in _USERNAME_KEYS:
        return PORTAL_USERNAME
    if section == "smtp":
        return SMTP_PASSWORD
    if section == "portal":
        return PORTAL_PASSWORD
    return f"{PORTAL_PASSWORD} or {SMTP_PASSWORD}"


def _is_secret_key(path: tuple[int | str, ...], key: str) -> bool:
    if any(word in key for word in _SECRET_WORDS):
        return True
    # The SMTP user name is ordinary configuration; the portal's is a credential.
    return bool(path) and str(path[0]).lower() == "portal" and key in _USERNAME_KEYS


def _strip_secrets(data: Any, path: tuple[int | str, ...], shown: str, problems: list[str]) -> Any:
    """Return `data` without secret-looking keys, adding a problem for each one removed."""
    if isinstance(data, dict):
        kept: dict[Any, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and _is_secret_key(path, key.lower()):
                variable = _secret_variable(path, key.lower())
                problems.append(
                    f"{shown}: {_dotted((*path, key))}: secrets come from the environment: "
                    f"set {variable} and remove this key"
                )
                continue
            kept[key] = _strip_secrets(value, (*path, key), shown, problems)
        return kept
    if isinstance(data, list):
        return [_strip_secrets(item, (*path, i), shown, problems) for i, item in enumerate(data)]
    return data


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_text(annotation: Any) -> bool:
    return annotation is str or (
        get_origin(annotation) is not None and set(get_args(annotation)) == {str, type(None)}
    )


def _parse_override(raw_value: str, annotation: Any) -> Any:
    if _is_text(annotation):
        return raw_value
    try:
        return yaml.safe_load(raw_value)
    except yaml.YAMLError:
        return raw_value  # pydantic then names the expected type


def _apply_overrides(
    settings_raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> dict[tuple[str, ...], str]:
    """Apply TTHC_* variables to the raw settings; return which key each variable set."""
    applied: dict[tuple[str, ...], str] = {}
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or variable == CONFIG_DIR_VARIABLE:
            continue
        raw_value = environ[variable]
        path = tuple(variable[len(ENV_PREFIX) :].lower().split("__"))
        dotted = ".".join(path)
        if any(_is_secret_key(path[:-1], part) for part in path):
            secret = _secret_variable(path, path[-1])
            problems.append(
                f"{variable}: secrets come from the environment: set {secret}, "
                f"not a settings override"
            )
            continue
        unknown = _unknown_override(path)
        if unknown is not None:
            problems.append(
                f"{variable}: environment override of unknown setting {dotted!r}{unknown}"
            )
            continue
        if len(path) == 1:
            annotation = Settings.model_fields[path[0]].annotation
            settings_raw[path[0]] = _parse_override(raw_value, annotation)
        else:
            section_name, key = path
            section = _section_model(Settings.model_fields[section_name].annotation)
            assert section is not None  # _unknown_override checked it
            current = settings_raw.setdefault(section_name, {})
            if not isinstance(current, dict):
                continue  # the file's own value is wrong; validation reports it
            current[key] = _parse_override(raw_value, section.model_fields[key].annotation)
        applied[path] = variable
    return applied


def _unknown_override(path: tuple[str, ...]) -> str | None:
    """Return None when `path` names a setting, else a hint for the message."""
    if len(path) > 2 or not all(path):
        return " (use TTHC_<KEY> or TTHC_<SECTION>__<KEY>)"
    fields = Settings.model_fields
    if path[0] not in fields:
        return _suggest(path[0], list(fields))
    if len(path) == 1:
        return None
    section = _section_model(fields[path[0]].annotation)
    if section is None:
        return f" ({path[0]!r} is not a section)"
    if path[1] not in section.model_fields:
        return _suggest(path[1], list(section.model_fields))
    return None


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys allowed at `loc` inside `model` (for "did you mean" hints)."""
    current: Any = model
    for part in loc:
        section = _section_model(current)
        if section is not None:
            if not isinstance(part, str) or part not in section.model_fields:
                return []
            current = section.model_fields[part].annotation
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            return []
    section = _section_model(current)
    return list(section.model_fields) if section is not None else []


def _describe(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key" + _suggest(str(loc[-1]), _fields_at(model, loc[:-1]))
    value = error.get("input")
    got = repr(value) if value is None or isinstance(value, str | int | float) else _kind(value)
    return f"{error['msg']} (got {got})"


def _validate(
    model: type[_M],
    data: dict[str, Any] | None,
    shown: str,
    problems: list[str],
    overrides: Mapping[tuple[str, ...], str] | None = None,
) -> _M | None:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            loc = tuple(item["loc"])
            where = f"{shown}: {_dotted(loc)}"
            for path, variable in (overrides or {}).items():
                if loc[: len(path)] == path:
                    where = f"{variable} (overrides {_dotted(loc)})"
            problems.append(f"{where}: {_describe(item, model)}{_department_hint(data, loc)}")
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


def _check_texts(texts: DepartmentTexts, where: str) -> list[str]:
    """Check placeholders and empty paragraphs; `where` ends with the texts' own key."""
    problems: list[str] = []
    fields: list[tuple[str, str]] = []
    if texts.legal_basis is not None:
        fields.append(("legal_basis", texts.legal_basis))
    if texts.proposals is not None:
        fields.append(("proposals", texts.proposals))
    for name in ("strengths", "weaknesses", "next_tasks"):
        fields += [(f"{name}[{i}]", text) for i, text in enumerate(getattr(texts, name))]
    known = ", ".join("{" + name + "}" for name in sorted(TEXT_PLACEHOLDERS))
    for name, text in fields:
        for match in _PLACEHOLDER.finditer(text):
            if match.group(1) not in TEXT_PLACEHOLDERS:
                problems.append(
                    f"{where}.{name}: unknown placeholder {match.group(0)!r} (known: {known})"
                )
        if not text.strip():
            problems.append(f"{where}.{name}: empty text (remove it or write it)")
    return problems


def _check_departments(departments: DepartmentsFile, shown: str) -> list[str]:
    problems = _check_texts(departments.defaults, f"{shown}: defaults")
    keys: dict[str, int] = {}
    agencies: dict[str, str] = {}
    for index, department in enumerate(departments.departments):
        where = f"{shown}: departments[{index}]"
        key = department.key
        try:
            safe_key(key)
        except UnsafeName as error:
            problems.append(f"{where}.key: {error}")
        if key in keys:
            problems.append(
                f"{where}.key: department key {key!r} is already used by departments[{keys[key]}]"
            )
        keys.setdefault(key, index)
        required = {
            "agency_code": department.agency_code,
            "name": department.name,
            "parent_authority": department.parent_authority,
            "document_symbol": department.document_symbol,
            "signer.title": department.signer.title,
            "signer.name": department.signer.name,
        }
        for field, value in required.items():
            if not value.strip():
                label = " (MaDonVi)" if field == "agency_code" else ""
                problems.append(f"{where}.{field}: department {key!r} has an empty {field}{label}")
        agency = department.agency_code.strip()
        if agency != department.agency_code:
            problems.append(
                f"{where}.agency_code: {department.agency_code!r} has spaces around the code"
            )
        if agency and agency in agencies:
            problems.append(
                f"{where}.agency_code: MaDonVi {agency!r} is already used by department "
                f"{agencies[agency]!r}"
            )
        agencies.setdefault(agency, key)
        problems += _check_texts(department.texts, f"{where}.texts")
    return problems


def _in_domains(address: str, domains: list[str]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in domains)


def _address_problem(address: str, domains: list[str]) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return f"{address!r} is not an e-mail address ({error})"
    if domains and not _in_domains(address, domains):
        return f"{address!r} is outside the allowed domains ({', '.join(domains)})"
    return None


def _allowed_domains(recipients: RecipientsFile) -> list[str]:
    return [domain.lower() for domain in recipients.allowed_domains]


def _check_recipients(recipients: RecipientsFile, shown: str) -> list[str]:
    problems: list[str] = []
    for index, domain in enumerate(recipients.allowed_domains):
        if not _DOMAIN.match(domain.lower()):
            problems.append(
                f"{shown}: allowed_domains[{index}]: {domain!r} is not a domain name "
                "(write it as demo.gov.vn, without '@')"
            )
    domains = _allowed_domains(recipients)
    entries = {
        "defaults": recipients.defaults,
        "centre": recipients.centre,
        **{_dotted(("departments", key)): entry for key, entry in recipients.departments.items()},
    }
    for name, entry in entries.items():
        seen: dict[str, str] = {}
        for field in ("to", "cc", "bcc"):
            for index, address in enumerate(getattr(entry, field)):
                where = f"{shown}: {name}.{field}[{index}]"
                problem = _address_problem(address, domains)
                if problem is not None:
                    problems.append(f"{where}: {problem}")
                first = seen.setdefault(address.lower(), f"{name}.{field}[{index}]")
                if first != f"{name}.{field}[{index}]":
                    problems.append(f"{where}: {address!r} is already listed in {first}")
        for index, line in enumerate(entry.noi_nhan):
            where = f"{shown}: {name}.noi_nhan[{index}]"
            stripped = line.strip()
            if not stripped:
                problems.append(f"{where}: empty line")
            elif stripped.startswith("-") or stripped.endswith((";", ".")):
                problems.append(
                    f"{where}: write {line!r} without the leading '- ' and the trailing ';' "
                    "or '.' (the report adds them)"
                )
    if not recipients.centre.to:
        problems.append(f"{shown}: centre.to: no address for the Centre's summary report")
    return problems


def _check_cross(departments: DepartmentsFile, recipients: RecipientsFile, shown: str) -> list[str]:
    problems: list[str] = []
    known = list(dict.fromkeys(department.key for department in departments.departments))
    for key in recipients.departments:
        if key not in known:
            problems.append(
                f"{shown}: {_dotted(('departments', key))}: department {key!r} is not in "
                f"{DEPARTMENTS_FILE} (known: {', '.join(known)})"
            )
    defaults = recipients.defaults
    for key in known:
        if not _is_safe(key):
            continue  # already refused in departments.yaml; more lines here would only confuse
        where = f"{shown}: {_dotted(('departments', key))}"
        own = recipients.departments.get(key)
        if own is None:
            problems.append(
                f"{where}: missing: {DEPARTMENTS_FILE} lists department {key!r}, "
                "add who receives its report"
            )
            continue
        if not own.to and not defaults.to:
            problems.append(
                f"{where}.to: department {key!r} has no 'to' address "
                "(neither its own nor defaults.to)"
            )
        if not own.noi_nhan and not defaults.noi_nhan:
            problems.append(
                f"{where}.noi_nhan: department {key!r} has no Nơi nhận lines "
                "(neither its own nor defaults.noi_nhan)"
            )
        problems += _check_merged(key, own, defaults, shown)
    return problems


def _is_safe(key: str) -> bool:
    try:
        safe_key(key)
    except UnsafeName:
        return False
    return True


def _check_merged(
    key: str, own: DepartmentRecipients, defaults: DepartmentRecipients, shown: str
) -> list[str]:
    """Refuse an address that the defaults would put in a second list of the same message."""
    problems: list[str] = []
    placed: dict[str, str] = {}
    for field in ("to", "cc", "bcc"):
        for address in getattr(own, field):
            placed.setdefault(address.lower(), field)
    for field in ("to", "cc", "bcc"):
        for index, address in enumerate(getattr(defaults, field)):
            first = placed.get(address.lower())
            if first is not None and first != field:
                problems.append(
                    f"{shown}: {_dotted(('departments', key, first))}: {address!r} is also in "
                    f"defaults.{field}[{index}]; the message would list it twice"
                )
    return problems


def _check_settings(
    settings: Settings,
    domains: list[str],
    config_dir: Path,
    shown: str,
    overrides: Mapping[tuple[str, ...], str],
) -> list[str]:
    problems: list[str] = []
    domains = [domain.lower() for domain in domains]

    def where(*loc: int | str) -> str:
        for path, variable in overrides.items():
            if tuple(loc[: len(path)]) == path:
                return f"{variable} (overrides {_dotted(loc)})"
        return f"{shown}: {_dotted(loc)}"

    for index, address in enumerate(settings.operators):
        problem = _address_problem(address, domains)
        if problem is not None:
            problems.append(f"{where('operators', index)}: {problem}")
    problem = _address_problem(settings.smtp.sender_address, domains)
    if problem is not None:
        problems.append(f"{where('smtp', 'sender_address')}: {problem}")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"{where('timezone')}: unknown time zone {settings.timezone!r} (e.g. Asia/Ho_Chi_Minh)"
        )
    base_url = settings.portal.base_url
    if base_url != EMBEDDED and not base_url.startswith(("http://", "https://")):
        problems.append(
            f"{where('portal', 'base_url')}: {base_url!r} is neither {EMBEDDED!r} "
            "nor an http(s):// address"
        )
    if settings.smtp.host != EMBEDDED and not 1 <= settings.smtp.port <= 65535:
        problems.append(
            f"{where('smtp', 'port')}: port {settings.smtp.port} is not a port number; "
            f"only host {EMBEDDED!r} picks its own port (0)"
        )
    for section, bundle in (
        ("portal", settings.portal.ca_bundle),
        ("smtp", settings.smtp.ca_bundle),
    ):
        if bundle is not None and not _config_path(bundle, config_dir).is_file():
            problems.append(
                f"{where(section, 'ca_bundle')}: file not found: {_config_path(bundle, config_dir)}"
            )
    return problems


def _config_path(value: str, config_dir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_dir / path


def _resolve_paths(settings: Settings, config_dir: Path, cwd: Path) -> Settings:
    """Return the settings with relative paths made absolute (see the module docstring)."""
    output = Path(settings.output_dir).expanduser()
    scenario = Path(settings.portal.scenario).expanduser()
    portal_bundle = settings.portal.ca_bundle
    smtp_bundle = settings.smtp.ca_bundle
    portal = settings.portal.model_copy(
        update={
            "scenario": str(scenario if scenario.is_absolute() else PROJECT_ROOT / scenario),
            "ca_bundle": None
            if portal_bundle is None
            else str(_config_path(portal_bundle, config_dir)),
        }
    )
    smtp = settings.smtp.model_copy(
        update={
            "ca_bundle": None
            if smtp_bundle is None
            else str(_config_path(smtp_bundle, config_dir)),
        }
    )
    return settings.model_copy(
        update={
            "output_dir": str(output if output.is_absolute() else cwd / output),
            "portal": portal,
            "smtp": smtp,
        }
    )


def _read_secrets(environ: Mapping[str, str]) -> Secrets:
    """Read the secrets; an empty variable counts as unset."""
    password = environ.get(PORTAL_PASSWORD) or None
    smtp_password = environ.get(SMTP_PASSWORD) or None
    return Secrets(
        portal_username=environ.get(PORTAL_USERNAME) or None,
        portal_password=SecretStr(password) if password else None,
        smtp_password=SecretStr(smtp_password) if smtp_password else None,
    )
