"""Department keys: what may be a key (it becomes part of file names and ledger rows)."""

from __future__ import annotations

import re

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


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
