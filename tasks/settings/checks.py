"""Cross-checks of the validated files: what a model alone cannot say is wrong.

Each function returns one line per problem, naming the file and the key, as check-config prints
them: duplicate or reserved department keys, empty texts, unknown placeholders, addresses
outside the allowed domains, recipients of a department that does not exist, and settings whose
values only make sense together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tasks.settings.addresses import address_problem
from tasks.settings.environment import Overrides
from tasks.settings.keys import UnsafeName, is_reserved, safe_key
from tasks.settings.messages import dotted
from tasks.settings.models import (
    DEPARTMENTS_FILE,
    EMBEDDED,
    OFF,
    DepartmentRecipients,
    DepartmentsFile,
    DepartmentTexts,
    RecipientsFile,
    Settings,
)

TEXT_PLACEHOLDERS = frozenset({"period"})

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_RESERVED = "is reserved for the Centre's summary"
EVALUATION_PATH = "/api/v1/reporting/evaluation"
# departmentCode of a unit in the national index: "H21.09" (agency), "H21.106" (commune).
_INDEX_CODE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{2,3})+$")


def check_departments(departments: DepartmentsFile, shown: str) -> list[str]:
    """Check departments.yaml: keys, required texts, MaDonVi codes, placeholders."""
    problems = _check_texts(departments.defaults, f"{shown}: defaults")
    keys: dict[str, int] = {}
    agencies: dict[str, str] = {}
    index_codes: dict[str, str] = {}
    for index, department in enumerate(departments.departments):
        where = f"{shown}: departments[{index}]"
        key = department.key
        try:
            safe_key(key)
        except UnsafeName as error:
            problems.append(f"{where}.key: {error}")
        if is_reserved(key):
            problems.append(f"{where}.key: department key {key!r} {_RESERVED} (choose another)")
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
        code = department.national_index_code
        if code is not None:
            if not _INDEX_CODE.match(code):
                problems.append(
                    f"{where}.national_index_code: {code!r} is not a departmentCode of the "
                    "national index (e.g. H21.09)"
                )
            elif code in index_codes:
                problems.append(
                    f"{where}.national_index_code: {code!r} is already used by department "
                    f"{index_codes[code]!r}"
                )
            index_codes.setdefault(code, key)
        problems += _check_texts(department.texts, f"{where}.texts")
    return problems


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


def _in_domains(address: str, domains: list[str]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in domains)


def _address_problem(address: str, domains: list[str]) -> str | None:
    problem = address_problem(address)  # the rule delivery applies too
    if problem is not None:
        return problem
    if domains and not _in_domains(address, domains):
        return f"{address!r} is outside the allowed domains ({', '.join(domains)})"
    return None


def check_recipients(recipients: RecipientsFile, shown: str) -> list[str]:
    """Check recipients.yaml on its own: domains, addresses, Nơi nhận lines, reserved keys."""
    problems: list[str] = []
    for index, domain in enumerate(recipients.allowed_domains):
        if not _DOMAIN.match(domain.lower()):
            problems.append(
                f"{shown}: allowed_domains[{index}]: {domain!r} is not a domain name "
                "(write it as demo.gov.vn, without '@')"
            )
    for key in recipients.departments:
        if is_reserved(key):
            problems.append(
                f"{shown}: {dotted(('departments', key))}: department key {key!r} {_RESERVED} "
                "(the Centre's addresses go under centre:)"
            )
    domains = [domain.lower() for domain in recipients.allowed_domains]
    entries = {
        "defaults": recipients.defaults,
        "centre": recipients.centre,
        **{dotted(("departments", key)): entry for key, entry in recipients.departments.items()},
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


def check_cross(departments: DepartmentsFile, recipients: RecipientsFile, shown: str) -> list[str]:
    """Check that recipients.yaml and departments.yaml name the same departments."""
    problems: list[str] = []
    known = list(dict.fromkeys(department.key for department in departments.departments))
    for key in recipients.departments:
        if key not in known and not is_reserved(key):
            problems.append(
                f"{shown}: {dotted(('departments', key))}: department {key!r} is not in "
                f"{DEPARTMENTS_FILE} (known: {', '.join(known)})"
            )
    defaults = recipients.defaults
    for key in known:
        if not _is_safe(key) or is_reserved(key):
            continue  # already refused in departments.yaml; more lines here would only confuse
        where = f"{shown}: {dotted(('departments', key))}"
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
                    f"{shown}: {dotted(('departments', key, first))}: {address!r} is also in "
                    f"defaults.{field}[{index}]; the message would list it twice"
                )
    return problems


def check_settings(
    settings: Settings,
    domains: list[str],
    config_dir: Path,
    shown: str,
    overrides: Overrides,
) -> list[str]:
    """Check settings.yaml (with its overrides) against itself and the allowed domains."""
    problems: list[str] = []
    domains = [domain.lower() for domain in domains]

    def where(*loc: int | str) -> str:
        return overrides.where(loc, shown)

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
    problems += _check_national_index(settings, where)
    if settings.smtp.host != EMBEDDED and not 1 <= settings.smtp.port <= 65535:
        problems.append(
            f"{where('smtp', 'port')}: port {settings.smtp.port} is not a port number; "
            f"only host {EMBEDDED!r} picks its own port (0)"
        )
    for section, bundle in (
        ("portal", settings.portal.ca_bundle),
        ("national_index", settings.national_index.ca_bundle),
        ("smtp", settings.smtp.ca_bundle),
    ):
        if bundle is not None and not config_path(bundle, config_dir).is_file():
            problems.append(
                f"{where(section, 'ca_bundle')}: file not found: {config_path(bundle, config_dir)}"
            )
    return problems


def _check_national_index(settings: Settings, where: Callable[..., str]) -> list[str]:
    """Check the national_index section: its address, its root unit, its pauses."""
    index = settings.national_index
    problems: list[str] = []
    base_url = index.base_url
    if base_url not in (EMBEDDED, OFF):
        if not base_url.startswith(("http://", "https://")):
            problems.append(
                f"{where('national_index', 'base_url')}: {base_url!r} is neither {EMBEDDED!r}, "
                f"{OFF!r} nor an http(s):// address"
            )
        elif not base_url.rstrip("/").endswith(EVALUATION_PATH):
            problems.append(
                f"{where('national_index', 'base_url')}: {base_url!r} must end with "
                f"{EVALUATION_PATH} (e.g. https://dichvucong.gov.vn{EVALUATION_PATH}); the "
                "endpoints' names are appended to it"
            )
        if not (index.root_department_id or "").strip():
            problems.append(
                f"{where('national_index', 'root_department_id')}: the province's departmentId "
                "on the national portal is required when base_url is an address"
            )
    if index.pause_min_seconds > index.pause_max_seconds:
        problems.append(
            f"{where('national_index', 'pause_min_seconds')}: {index.pause_min_seconds:g} is "
            f"above pause_max_seconds {index.pause_max_seconds:g}"
        )
    return problems


def config_path(value: str, config_dir: Path) -> Path:
    """Return a path of settings.yaml made absolute against the configuration folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_dir / path
