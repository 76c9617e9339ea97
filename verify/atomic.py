"""Writing reports and figures atomically, so that a reader never sees a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Callable

from .check_result import as_data


def check_output_file(path, argument: str = "path") -> Path:
    """The target of an atomic write, checked before any work: not a folder, in a writable folder."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{argument}: {target} is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{argument}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{argument}: cannot write in folder {folder}")
    if target.exists() and not os.access(target, os.W_OK):
        raise ValueError(f"{argument}: {target} is not writable")
    return target


def write_atomic(path, write: Callable[[IO], None], *, binary: bool = False, argument: str = "path") -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The file gets the ordinary permissions (0666 less the umask; ``mkstemp`` would leave it
    private). On any error the temporary file is removed and ``path`` is untouched.
    ``argument`` names the argument in the ``ValueError`` for a bad target.
    """
    target = check_output_file(path, argument)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def write_json_atomic(path, payload, *, argument: str = "--json") -> Path:
    """Write ``payload`` as strict JSON to ``path`` atomically (``write_atomic``); tensors become
    lists and non-finite numbers strings ("nan", "inf"), as in ``CheckResult.to_dict``."""
    return write_atomic(path, lambda handle: json.dump(as_data(payload), handle, indent=2, allow_nan=False), argument=argument)
