"""Progress of a sweep: a bar on a terminal, one line per result in a log."""

from __future__ import annotations

import sys
import time
from typing import IO, Mapping

from models.validation import check_int


class ProgressBar:
    """Called as ``progress(done, total, record)`` after each completed task.

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    interactive : bool, optional
        Draw a bar redrawn in place; default: whether ``stream`` is a terminal. Otherwise
        each result gets its own line, which reads well in a batch job's log.
    width : int
        Characters of the bar.
    """

    def __init__(self, stream: IO | None = None, *, interactive: bool | None = None, width: int = 30):
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise ValueError(f"stream: expected a file open for writing, got {type(stream).__name__}")
        width = check_int(width, "width", maximum=10_000)
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = _isatty(self.stream) if interactive is None else bool(interactive)
        self.width = width
        self._start = time.perf_counter()
        self._drawn = False

    def __call__(self, done: int, total: int, record: dict | None) -> None:
        total = check_int(total, "total", minimum=0)
        done = check_int(done, "done", minimum=0, maximum=total)
        if record is not None and not isinstance(record, Mapping):
            raise ValueError(f"record: expected a sweep record (a dict) or None, got {type(record).__name__}")
        elapsed = time.perf_counter() - self._start
        label = _label(record)
        if self.interactive:
            filled = int(self.width * done / total) if total else self.width
            print(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {label:24.24} {elapsed:7.1f} s",
                  end="", file=self.stream, flush=True)
            self._drawn = True
        elif record is not None:
            print(f"{done}/{total} {label} after {elapsed:.1f} s", file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            print(file=self.stream, flush=True)
            self._drawn = False


def _label(record: dict | None) -> str:
    if record is None:
        return ""
    key = record.get("key", {})
    status = record.get("status", "?")
    if status == "ok":
        summary = (record.get("result") or {}).get("summary", {})
        status = summary.get("outcome") or {True: "held", False: "failed"}.get(summary.get("held"), "ok")
        status = status if status == "held" else status.upper()
    return f"{key.get('id', '?')} seed={key.get('seed', '?')} {status}"


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
