"""The verdict every check returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class CheckResult:
    """A verdict with its evidence.

    Attributes
    ----------
    name : str
        Which check (e.g. ``"injective/regions"``).
    holds : bool
        The verdict.
    statistic : float
        The measured error or margin the verdict rests on.
    tolerance : float
        What ``statistic`` was compared with (``nan`` when the verdict is exact/combinatorial).
    witness : object
        A counterexample when the check fails, a certificate when it holds, or None.
    details : dict
        Anything else worth reporting (method, sizes, times).
    """

    name: str
    holds: bool
    statistic: float = math.nan
    tolerance: float = math.nan
    witness: Any = None
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.holds)

    def to_dict(self) -> dict:
        """A JSON-serialisable form (tensors become nested lists)."""
        return {
            "name": self.name,
            "holds": bool(self.holds),
            "statistic": _plain(self.statistic),
            "tolerance": _plain(self.tolerance),
            "witness": _plain(self.witness),
            "details": _plain(self.details),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
