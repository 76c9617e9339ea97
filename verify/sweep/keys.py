"""Keys of sweep records: (kind, id, seed, hash of the parameters, package version).

A key names one result for good: two records with the same key come from the same
pure computation, so a resumed sweep may skip a key it already holds, and the file
can be sorted by key to compare sweeps run in different orders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from typing import Any

PACKAGE = "identifiable-dgm"
UNKNOWN_VERSION = "0+unknown"
HASH_LENGTH = 12


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed version of identifiable-dgm, or ``"0+unknown"`` when it is not installed
    (a bare checkout): records of different versions never share a key."""
    try:
        return installed_version(PACKAGE)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def canonical_json(value: Any) -> str:
    """``value`` as compact JSON with sorted keys: the same text for equal parameters.

    Parameters
    ----------
    value : object
        Built from dicts (string keys), lists, tuples, frozen dataclasses (as their fields),
        strings, booleans, integers, finite floats and None.

    Raises
    ------
    ValueError
        For anything else: its ``repr`` may differ between runs, which would change the key.
    """
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"parameters: expected string keys, got {sorted(map(repr, value))}")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"parameters: expected finite numbers, got {value!r}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"parameters: cannot key a {type(value).__name__} ({value!r}); use plain values or dataclasses")


def parameters_hash(parameters: Any) -> str:
    """The first ``HASH_LENGTH`` hex digits of the SHA-256 of ``canonical_json(parameters)``."""
    return hashlib.sha256(canonical_json(parameters).encode()).hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True, order=True)
class TaskKey:
    """What identifies a record. Ordered field by field, so seeds sort as integers.

    Attributes
    ----------
    kind : str
        The task kind ("trial", ...).
    id : str
        What the task is about (a theorem id for a trial).
    seed : int
    parameters_hash : str
        ``parameters_hash`` of the task's parameters (for a trial: its sizes and device).
    version : str
        ``package_version()`` of the process that made the key.
    """

    kind: str
    id: str
    seed: int
    parameters_hash: str
    version: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TaskKey":
        """The key stored in a record (raises ValueError when it is malformed)."""
        names = ("kind", "id", "seed", "parameters_hash", "version")
        if not isinstance(data, Mapping) or any(name not in data for name in names):
            raise ValueError(f"key: expected kind, id, seed, parameters_hash and version, got {str(data)[:120]}")
        if not all(isinstance(data[name], str) for name in names if name != "seed"):
            raise ValueError(f"key: expected strings for kind, id, parameters_hash and version, got {str(data)[:120]}")
        seed = data["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"key: expected an integer seed >= 0, got {seed!r}")
        return cls(*(data[name] for name in names))

    @property
    def dask_key(self) -> str:
        """An explicit Dask key, unique per record, so that the scheduler never merges two seeds."""
        return f"{self.kind}-{self.id}-{self.seed}-{self.parameters_hash}-{self.version}"
