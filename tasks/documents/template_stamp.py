"""Remember that the Word templates passed their check, so `check-config` need not repeat it.

The check (tasks/documents/template_check.py) loads python-docx, docxtpl and Jinja: most of
`check-config`'s second. Its answer depends on nothing but the templates' bytes, the program
that renders them (tasks/) and those libraries. A check that finds no problem leaves their
fingerprint in the output folder; a later check with the same fingerprint has nothing new to
find and is skipped. An edited template, program or library gives another fingerprint, and
the templates are checked again. Only a pass is remembered: a problem is found every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tasks.settings.paths import PROJECT_ROOT

PROGRAM_DIR = PROJECT_ROOT / "tasks"
STAMP_FILE = "template-check.sha256"
# The libraries whose reading of a template the check depends on.
LIBRARIES = ("docxtpl", "jinja2", "python-docx", "lxml")


def templates_fingerprint(templates: Sequence[Path], program_dir: Path = PROGRAM_DIR) -> str:
    """Return a digest of `templates`, every Python file under `program_dir` and LIBRARIES."""
    digest = hashlib.sha256(sys.version.encode())
    for name in LIBRARIES:
        try:
            digest.update(f"\0{name} {version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"\0{name} missing".encode())
    for source in sorted(program_dir.rglob("*.py")):
        digest.update(f"\0{source.relative_to(program_dir).as_posix()}\0".encode())
        digest.update(source.read_bytes())
    for template in templates:
        digest.update(f"\0{template}\0".encode())
        digest.update(template.read_bytes() if template.is_file() else b"\0missing")
    return digest.hexdigest()


def template_problems_unless_passed(
    output_dir: Path, templates: Sequence[Path], check: Callable[[], list[str]]
) -> list[str]:
    """Return `check()`'s problems, or none without calling it if these templates passed it.

    `check` must check exactly `templates`. A pass is remembered in `output_dir`; an output
    folder that cannot be written only means the next check runs in full.
    """
    stamp = output_dir / STAMP_FILE
    fingerprint = templates_fingerprint(templates)
    try:
        if stamp.read_text(encoding="ascii").strip() == fingerprint:
            return []
    except (OSError, UnicodeDecodeError):
        pass
    problems = check()
    if not problems:
        _write_stamp(stamp, fingerprint)
    return problems


def _write_stamp(stamp: Path, fingerprint: str) -> None:
    temporary = stamp.with_name(f".{stamp.name}.{uuid.uuid4().hex}.tmp")
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(fingerprint + "\n", encoding="ascii")
        os.replace(temporary, stamp)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
