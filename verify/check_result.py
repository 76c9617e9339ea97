"""The verdict every check returns: holds, fails or unknown, with its evidence."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from models import AffineMap, GaussianMixture, LeakyReLUNetwork

__all__ = ["CheckResult", "PASSES_WHEN", "UnknownVerdictError", "VERDICTS", "as_data"]

VERDICTS = ("holds", "fails", "unknown")
PASSES_WHEN = ("<=", "<", ">=", ">", "==", None)


class UnknownVerdictError(ValueError):
    """``bool()`` of an unknown verdict: "unknown" must never be read as yes or no."""


@dataclass(frozen=True, repr=False)
class CheckResult:
    """A verdict with its evidence.

    Attributes
    ----------
    name : str
        Which check (e.g. ``"injective/regions"``).
    holds : bool or None
        True (holds), False (fails) or None (unknown: not decided, e.g. a time limit
        ran out or only samples were seen for a claim about all z).
    statistic : float
        The measured error or margin the verdict rests on (``nan`` if none).
    tolerance : float
        What ``statistic`` was compared with (``nan`` when the verdict is combinatorial).
    passes_when : {"<=", "<", ">=", ">", "==", None}
        The comparison ``statistic passes_when tolerance`` under which the check passes,
        so that readers know which way the statistic points.
    witness : object
        A counterexample when the check fails, a certificate when it holds, or None.
    verified : bool
        Whether the certificate or witness survived an exact (rational) re-check.
    domain : str or None
        What the verdict speaks of: ``"R^m"``, a box (and the prior mass it holds), or
        the samples it looked at.
    method : str or None
        How it was decided (e.g. ``"exact: pairwise linear programs"``, ``"sampled"``).
    details : mapping
        Anything else worth reporting (sizes, times, sub-results); read-only.
    """

    name: str
    holds: bool | None
    statistic: float = math.nan
    tolerance: float = math.nan
    passes_when: str | None = None
    witness: Any = None
    verified: bool = False
    domain: str | None = None
    method: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f"name: expected a string, got {type(self.name).__name__}")
        holds = self.holds
        if isinstance(holds, (np.bool_, torch.Tensor)):
            holds = bool(holds)
        if holds not in (True, False, None):
            raise ValueError(f"holds: expected True, False or None, got {self.holds!r}")
        if self.passes_when not in PASSES_WHEN:
            raise ValueError(f"passes_when: expected one of {PASSES_WHEN}, got {self.passes_when!r}")
        object.__setattr__(self, "holds", holds)
        object.__setattr__(self, "statistic", _as_float(self.statistic, "statistic"))
        object.__setattr__(self, "tolerance", _as_float(self.tolerance, "tolerance"))
        object.__setattr__(self, "verified", bool(self.verified))
        object.__setattr__(self, "details", _frozen(self.details))

    # ------------------------------------------------------------------ reading the verdict
    @property
    def verdict(self) -> str:
        """"holds", "fails" or "unknown"."""
        return "unknown" if self.holds is None else ("holds" if self.holds else "fails")

    @property
    def decided(self) -> bool:
        return self.holds is not None

    def __bool__(self) -> bool:
        if self.holds is None:
            raise UnknownVerdictError(f"{self.name}: the verdict is unknown; read .holds or .verdict instead of bool()")
        return self.holds

    @property
    def ratio(self) -> float:
        """How far the statistic is toward failing: > 1 on the failing side of the tolerance.

        statistic / tolerance when it passes below the tolerance, tolerance / statistic
        when it passes above; ``nan`` when there is no comparison.
        """
        s, t = self.statistic, self.tolerance
        if self.passes_when in ("<=", "<"):
            return _divide(s, t)
        if self.passes_when in (">=", ">"):
            return _divide(t, s)
        return math.nan

    # ------------------------------------------------------------------ new results from this one
    def replace(self, **changes) -> "CheckResult":
        """A copy with some fields changed (``details`` replaced whole)."""
        return dataclasses.replace(self, **changes)

    def with_details(self, **extra) -> "CheckResult":
        """A copy whose details also hold ``extra`` (which win over existing keys)."""
        return dataclasses.replace(self, details={**self.details, **extra})

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict:
        """A JSON-serialisable form: witnesses and details as data (tensors and matrices as nested
        lists, maps and mixtures as their parameters), non-finite numbers as strings."""
        return {
            "name": self.name, "verdict": self.verdict, "holds": self.holds,
            "statistic": as_data(self.statistic), "tolerance": as_data(self.tolerance), "passes_when": self.passes_when,
            "verified": self.verified, "domain": self.domain, "method": self.method,
            "witness": as_data(self.witness), "details": as_data(self.details),
        }

    def summary(self) -> str:
        """One line: name, verdict, the comparison, how and where it was decided."""
        parts = [f"{self.name}: {self.verdict}"]
        if not math.isnan(self.statistic):
            comparison = f" {self.passes_when} " if self.passes_when else " vs "
            parts.append(f"statistic {self.statistic:.3g}" + ("" if math.isnan(self.tolerance) else f"{comparison}{self.tolerance:.3g}"))
        if self.method:
            parts.append(self.method)
        if self.domain:
            parts.append(f"on {self.domain}")
        if self.verified:
            parts.append("verified exactly")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"CheckResult({self.summary()})"

    def _repr_html_(self) -> str:
        colour = {"holds": "#1a7f37", "fails": "#cf222e", "unknown": "#9a6700"}[self.verdict]
        rows = [("verdict", f'<b style="color:{colour}">{self.verdict}</b>'),
                ("statistic", f"{self.statistic:.4g} {self.passes_when or ''} {self.tolerance:.4g}"),
                ("method", self.method or ""), ("domain", self.domain or ""), ("verified", "yes" if self.verified else "no"),
                ("witness", html.escape(_short(self.witness)))]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table><caption style='text-align:left'><code>{html.escape(self.name)}</code></caption>{body}</table>"


def _as_float(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None


def _divide(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if b == 0:
        return 0.0 if a == 0 else math.inf
    return a / b


def _frozen(value: Any) -> Any:
    """Mappings as read-only views, recursively through mappings (other values are kept as given)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _short(value: Any, limit: int = 200) -> str:
    text = repr(as_data(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_data(value: Any) -> Any:
    """``value`` as JSON-ready data: tensors and arrays as nested lists, toolkit objects as their
    parameters, results as their ``to_dict()``, non-finite floats as strings ("nan", "inf")."""
    if isinstance(value, CheckResult):
        return value.to_dict()
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return as_data(value.tolist() if isinstance(value, np.ndarray) else value.detach().cpu().tolist())
    if isinstance(value, AffineMap):
        return {"type": "AffineMap", "matrix": as_data(value.matrix), "offset": as_data(value.offset)}
    if isinstance(value, GaussianMixture):
        return {"type": "GaussianMixture", "weights": as_data(value.weights), "means": as_data(value.means),
                "covariances": as_data(value.covariances)}
    if isinstance(value, LeakyReLUNetwork):
        return {"type": "LeakyReLUNetwork", "weights": as_data(value.weights), "biases": as_data(value.biases),
                "negative_slope": as_data(list(value.slopes))}
    if isinstance(value, Mapping):
        return {str(k): as_data(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [as_data(v) for v in value]
    return repr(value)
