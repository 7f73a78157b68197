"""Department keys: what may be a key (it becomes part of file names and ledger rows)."""

from __future__ import annotations

import re

# The key under which the Centre's summary is recorded in the delivery ledger and named in
# results; a department may not use it, or its rows would mix with the summary's.
CENTRE_KEY = "CENTRE"
RESERVED_KEYS = frozenset({CENTRE_KEY})

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_RESERVED_FOLDED = frozenset(key.casefold() for key in RESERVED_KEYS)


class UnsafeName(ValueError):
    """A department key that cannot be part of a file name ("../x", "a b", "")."""


def safe_key(key: str) -> str:
    """Return `key` unchanged if it is safe in a file name; raise UnsafeName otherwise."""
    if not _SAFE_KEY.match(key):
        raise UnsafeName(
            f"department key {key!r} may hold only letters, digits, '-' and '_' "
            "(it becomes part of file names)"
        )
    return key


def is_reserved(key: str) -> bool:
    """Return whether `key` is a reserved key, compared case-insensitively ("centre" is)."""
    # Case-insensitive because file systems and people may not tell "Centre" from "CENTRE".
    return key.casefold() in _RESERVED_FOLDED
