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
            "statistic": plain(self.statistic),
            "tolerance": plain(self.tolerance),
            "witness": plain(self.witness),
            "details": plain(self.details),
        }


def plain(value: Any) -> Any:
    """``value`` with tensors as lists, non-finite floats as strings and unknown objects as their repr."""
    if isinstance(value, torch.Tensor):
        return plain(value.detach().cpu().tolist())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
