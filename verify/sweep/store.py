"""Where sweep records go: a JSON Lines file (one record a line), or memory.

``JsonlStore.append`` writes one line, flushes and fsyncs it, so an interrupted sweep
loses at most the line being written; reading ignores a last line without its newline,
and the next append cuts it off and writes after the last complete line. ``compact``
rewrites the file atomically sorted by key with one record per key (the last one
written), which makes the file independent of the order the tasks completed in.
"""

from __future__ import annotations

import abc
import json
import os
from pathlib import Path
from typing import Iterator

from ..atomic import write_atomic
from ..check_result import as_data
from .keys import TaskKey

_CHUNK = 1 << 16


def encode_record(record: dict) -> bytes:
    """One record as one line of strict JSON (sorted keys, non-finite numbers as strings)."""
    return (json.dumps(as_data(record), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()


def record_key(record: dict) -> TaskKey:
    """The ``TaskKey`` of a record (ValueError when it has none)."""
    if not isinstance(record, dict) or "key" not in record:
        raise ValueError(f"record: expected a dict with a 'key', got {str(record)[:80]!r}")
    try:
        return TaskKey.from_dict(record["key"])
    except ValueError as exc:
        raise ValueError(f"record: {exc}") from None


class Store(abc.ABC):
    """Records of a sweep: appended as they complete, read back to resume and to summarise."""

    @abc.abstractmethod
    def records(self) -> Iterator[dict]:
        """Every complete record, in the order stored."""

    @abc.abstractmethod
    def append(self, record: dict) -> None:
        """Store one record durably before returning."""

    @abc.abstractmethod
    def compact(self) -> None:
        """Keep the last record of each key, sorted by key."""

    def keys(self) -> set[TaskKey]:
        return {record_key(r) for r in self.records()}

    def is_empty(self) -> bool:
        return next(iter(self.records()), None) is None

    def close(self) -> None:
        """Release what ``append`` holds open (appending again reopens)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class MemoryStore(Store):
    """Records in a list: for sweeps without ``--jsonl``."""

    def __init__(self):
        self._records: list[dict] = []

    def records(self) -> Iterator[dict]:
        return iter(list(self._records))

    def append(self, record: dict) -> None:
        record_key(record)
        self._records.append(json.loads(encode_record(record)))  # the same plain values a file would give back

    def compact(self) -> None:
        last = {record_key(r): r for r in self._records}
        self._records = [last[k] for k in sorted(last)]


class JsonlStore(Store):
    """Records in a JSON Lines file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder must exist. It is created on the first append.
    """

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"jsonl: expected the path of a file, got {type(path).__name__}")
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"jsonl: {self.path} is a directory")
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise ValueError(f"jsonl: folder {folder} does not exist")
        self._handle = None

    def __repr__(self) -> str:
        return f"JsonlStore({str(self.path)!r})"

    # ----------------------------------------------------------------- reading
    def _lines(self) -> Iterator[tuple[int, int, bytes]]:
        """(offset, line number, line) of each complete line; a last line without newline is left out."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            offset = 0
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    return  # cut off mid-write: ignored here, overwritten by the next append
                yield offset, number, line
                offset += len(line)

    def _parse(self, number: int, line: bytes) -> dict:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"jsonl: {self.path}:{number}: not a JSON record") from None
        try:
            record_key(record)
        except ValueError as exc:
            raise ValueError(f"jsonl: {self.path}:{number}: {exc}") from None
        return record

    def records(self) -> Iterator[dict]:
        for _, number, line in self._lines():
            yield self._parse(number, line)

    # ----------------------------------------------------------------- writing
    def append(self, record: dict) -> None:
        record_key(record)
        line = encode_record(record)
        if self._handle is None:
            self._handle = self._open()
        self._handle.write(line)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _open(self):
        created = not self.path.exists()
        handle = open(self.path, "ab")
        try:
            complete = _complete_length(self.path)
            if complete < self.path.stat().st_size:
                os.truncate(self.path, complete)  # drop a line cut off by an interruption
            if created:
                _fsync_folder(self.path)  # the new file's name must survive a crash too
        except BaseException:
            handle.close()
            raise
        return handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def compact(self) -> None:
        """Rewrite the file atomically (``verify.atomic.write_atomic``), sorted by key, one record
        per key. Holds an index of offsets, not the records, so it scales to large files."""
        self.close()  # the rename replaces the file an open handle would keep appending to
        if not self.path.exists():
            return
        index: dict[TaskKey, tuple[int, int]] = {}
        for offset, number, line in self._lines():
            index[record_key(self._parse(number, line))] = (offset, len(line))

        def write(out):
            with open(self.path, "rb") as source:
                for key in sorted(index):
                    offset, length = index[key]
                    source.seek(offset)
                    out.write(source.read(length))

        write_atomic(self.path, write, binary=True, argument="jsonl")


def _complete_length(path: Path) -> int:
    """The length of ``path`` up to and including its last newline."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        end = size
        while end > 0:
            start = max(0, end - _CHUNK)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            end = start
    return 0


def _fsync_folder(path: Path) -> None:
    fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
