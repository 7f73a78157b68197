"""Write a document so that a reader never sees half of it under its name."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(out_path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write beside `out_path` with `write`, then rename: a crash never leaves half a file.

    open() rather than mkstemp, so the file gets the usual permissions of the umask, not 0600.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("xb") as stream:
            write(stream)
        os.replace(temporary, out_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return out_path
