"""The environment: `TTHC_*` overrides read by pydantic-settings, and the secrets.

pydantic-settings finds the variables (prefix `TTHC_`, nested delimiter `__`, any case, as
Settings' model_config says) and builds the nested values; this module adds what it does not
do: refuse a variable that names no setting (with a did-you-mean), one that carries a secret or
a retired key, and remember which variable set which key so that a problem names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource

from tasks.settings.messages import dotted, section_model, suggest
from tasks.settings.models import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    RETIRED_KEYS,
    Secrets,
    Settings,
)
from tasks.settings.paths import CONFIG_DIR_VARIABLE

PORTAL_USERNAME = "PORTAL_USERNAME"
PORTAL_PASSWORD = "PORTAL_PASSWORD"
SMTP_PASSWORD = "SMTP_PASSWORD"

_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey")
_USERNAME_KEYS = frozenset({"username", "user_name", "login"})


def is_secret_key(path: tuple[int | str, ...], key: str) -> bool:
    """Return whether `key` (lower case) under `path` holds a secret."""
    if any(word in key for word in _SECRET_WORDS):
        return True
    # The SMTP user name is ordinary configuration; the portal's is a credential.
    return bool(path) and str(path[0]).lower() == "portal" and key in _USERNAME_KEYS


def secret_variable(path: tuple[int | str, ...], key: str) -> str:
    """Return the variable that should carry the secret at `path`/`key`."""
    section = str(path[0]).lower() if path else ""
    if key in _USERNAME_KEYS:
        return PORTAL_USERNAME
    if section == "smtp":
        return SMTP_PASSWORD
    if section == "portal":
        return PORTAL_PASSWORD
    return f"{PORTAL_PASSWORD} or {SMTP_PASSWORD}"


class EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The hook DotEnvSettingsSource overrides too: where the variables come from.
        return {
            name if self.case_sensitive else name.lower(): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        """Read a list or section as YAML, so `[a@demo.gov.vn, b@demo.gov.vn]` needs no quotes."""
        try:
            decoded = yaml.safe_load(value)
        except yaml.YAMLError:
            return value  # validation then names the expected type
        # pydantic-settings skips a None; an empty variable must be reported, not ignored.
        return value if decoded is None else decoded


@dataclass(frozen=True)
class Overrides:
    """What the environment sets in settings.yaml's keys, and the variable behind each."""

    values: dict[str, Any] = field(default_factory=dict)
    variables: dict[tuple[str, ...], str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def where(self, loc: tuple[int | str, ...], shown: str) -> str:
        """Name the variable that set `loc` ("TTHC_SMTP__PORT (overrides smtp.port)") or the file."""
        matches = [path for path in self.variables if tuple(loc[: len(path)]) == path]
        if not matches:
            return f"{shown}: {dotted(loc)}"
        return f"{self.variables[max(matches, key=len)]} (overrides {dotted(loc)})"


def read_overrides(environ: Mapping[str, str]) -> Overrides:
    """Return the `TTHC_*` overrides of `environ`, refusing the variables that set nothing."""
    variables: dict[tuple[str, ...], str] = {}
    problems: list[str] = []
    for variable in sorted(environ):
        name = variable.upper()
        if not name.startswith(ENV_PREFIX) or name == CONFIG_DIR_VARIABLE:
            continue
        path = tuple(name[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER))
        problem = _refused(path)
        if problem is None and path in variables:
            problem = f"sets {dotted(path)} like {variables[path]} (keep one of them)"
        if problem is not None:
            problems.append(f"{variable}: {problem}")
            continue
        variables[path] = variable
    accepted = {variable: environ[variable] for variable in variables.values()}
    values = EnvironSource(Settings, accepted)() if accepted else {}
    return Overrides(values, variables, problems)


def _refused(path: tuple[str, ...]) -> str | None:
    """Return why the variable naming `path` sets nothing, or None when it names a setting."""
    if any(is_secret_key(path[:-1], part) for part in path):
        return (
            f"secrets come from the environment: set {secret_variable(path, path[-1])}, "
            "not a settings override"
        )
    if path in RETIRED_KEYS:
        return f"{dotted(path)}: no longer used: {RETIRED_KEYS[path]} (unset this variable)"
    unknown = _unknown(path)
    if unknown is not None:
        return f"environment override of unknown setting {'.'.join(path)!r}{unknown}"
    return None


def _unknown(path: tuple[str, ...]) -> str | None:
    """Return None when `path` names a setting, else a hint for the message."""
    if len(path) > 2 or not all(path):
        return " (use TTHC_<KEY> or TTHC_<SECTION>__<KEY>)"
    fields = Settings.model_fields
    if path[0] not in fields:
        return suggest(path[0], list(fields))
    if len(path) == 1:
        return None
    section = section_model(fields[path[0]].annotation)
    if section is None:
        return f" ({path[0]!r} is not a section)"
    if path[1] not in section.model_fields:
        return suggest(path[1], list(section.model_fields))
    return None


def overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` with `top` laid over it, section by section: the environment wins."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and key in merged:
            current = merged[key]
            if not isinstance(current, dict):
                continue  # the file's own value is wrong; validation reports it there
            merged[key] = overlay(current, value)
        else:
            merged[key] = value
    return merged


def read_secrets(environ: Mapping[str, str]) -> Secrets:
    """Read PORTAL_USERNAME, PORTAL_PASSWORD and SMTP_PASSWORD; an empty one counts as unset."""
    return Secrets.model_validate(EnvironSource(Secrets, environ)())
