"""Writing reports and figures atomically, so that a reader never sees a half-written file.

A write goes to a temporary file beside the target, ``.<name>.tmp-<pid>-<random>``, which is
then renamed onto it. A process killed mid-write (SIGKILL, a power cut) cannot remove its
temporary file; the pid in the name lets the next write to the same target recognise it as
stale (no process of that pid is alive) and remove it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Callable

from .check_result import as_data

__all__ = ["check_output_dir", "check_output_file", "remove_stale_temporaries", "write_atomic", "write_json_atomic"]


def _temporary_prefix(name: str, pid: int | None = None) -> str:
    return f".{name}.tmp-{os.getpid() if pid is None else pid}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(target) -> list[Path]:
    """Remove the temporary files ``.<name>.tmp-<pid>-*`` beside ``target`` left by processes no longer alive.

    Returns the files removed. Files of live processes (a concurrent write) are kept.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    removed = []
    start = f".{target.name}.tmp-"
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(start):
            continue
        pid = entry.name[len(start):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) <= 0 or _alive(int(pid)):
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            pass  # removed by another writer meanwhile, or not ours to remove
    return removed


def _try_write_in(folder: Path, name: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: root passes os.access where /proc refuses)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=_temporary_prefix(name), dir=folder)
    except OSError:
        return False
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return True


def check_output_file(path, argument: str = "path") -> Path:
    """The target of an atomic write, checked before any work: not a folder, in a folder where a file can be created."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{argument}: {target} is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{argument}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or not _try_write_in(folder, target.name):
        raise ValueError(f"{argument}: cannot write in folder {folder}")
    if target.exists() and not os.access(target, os.W_OK):
        raise ValueError(f"{argument}: {target} is not writable")
    return target


def check_output_dir(path, argument: str) -> Path:
    """A folder that exists and where files can be created, or one that can be created (tried in its nearest existing parent)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{argument}: {folder} exists and is not a folder")
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{argument}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{argument}: cannot write in {probe}")
    if probe == folder:
        if not _try_write_in(folder, "figure"):
            raise ValueError(f"{argument}: cannot write in {folder}")
    else:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=probe))
        except OSError:
            raise ValueError(f"{argument}: cannot create a folder in {probe}") from None
    return folder


def write_atomic(path, write: Callable[[IO], None], *, binary: bool = False, argument: str = "path") -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The file gets the ordinary permissions (0666 less the umask; ``mkstemp`` would leave it
    private). On any error, Ctrl-C included, the temporary file is removed and ``path`` is
    untouched; temporary files of earlier writes whose process died are removed first
    (``remove_stale_temporaries``). ``argument`` names the argument in the ``ValueError`` for
    a bad target.
    """
    target = check_output_file(path, argument)
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temporaries(target)
    fd, temporary = tempfile.mkstemp(prefix=_temporary_prefix(target.name), dir=folder)
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
