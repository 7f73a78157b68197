"""Content hashes of the documents a run writes: the same for two renders of the same data."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

__all__ = ["PACKAGE_SUFFIXES", "VOLATILE_PACKAGE_PARTS", "content_sha256", "file_sha256"]

# Parts of an Office package that change on every save (creation/modification times) and
# say nothing about what the reader sees.
VOLATILE_PACKAGE_PARTS = frozenset({"docProps/core.xml"})
PACKAGE_SUFFIXES = frozenset({".docx", ".xlsx"})


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(path: Path) -> str:
    """Return the SHA-256 of what a document says, the same for two renders of the same data.

    A .docx or .xlsx is a zip whose entries carry the time of saving, and whose core
    properties record it: hash each entry's name and bytes instead, without those properties.
    Any other file, or one that is not a zip after all, is hashed as it is.
    """
    if path.suffix.lower() not in PACKAGE_SUFFIXES or not zipfile.is_zipfile(path):
        return file_sha256(path)
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as package:
        for name in sorted(package.namelist()):
            if name in VOLATILE_PACKAGE_PARTS:
                continue
            digest.update(name.encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(package.read(name)).digest())
    return digest.hexdigest()
