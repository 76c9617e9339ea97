"""A trial: a pure function of (result id, seed, sizes, device) that returns a report of its steps."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from models.validation import check_callable, check_device, check_instance, check_int, check_seed

from ..check_result import CheckResult

ROLES = ("assumption", "equivalence", "conclusion", "converse")


@dataclass(frozen=True)
class Sizes:
    """Sizes of the drawn models: latent m, observed n, hidden widths, components J, samples.

    Validated at construction (``Sizes(latent_dim=0)`` raises ``ValueError: latent_dim: ...``).
    """

    latent_dim: int = 2
    observed_dim: int = 5
    hidden: tuple[int, ...] = (4,)
    n_components: int = 3
    n_samples: int = 1000

    def __post_init__(self):
        check_int(self.latent_dim, "latent_dim", maximum=64)
        check_int(self.observed_dim, "observed_dim", maximum=4096)
        if isinstance(self.hidden, (str, bytes)) or not hasattr(self.hidden, "__iter__"):
            raise ValueError(f"hidden: expected a sequence of widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(check_int(w, "hidden", maximum=4096) for w in self.hidden))
        check_int(self.n_components, "n_components", maximum=1024)
        check_int(self.n_samples, "n_samples", minimum=20, maximum=10**7)


@dataclass(frozen=True)
class Step:
    """One check of a trial and the verdict the theorem expects from it."""

    role: str  # "assumption", "equivalence", "conclusion" or "converse"
    result: CheckResult
    expected: bool = True

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"role: expected one of {ROLES}, got {self.role!r}")

    @property
    def outcome(self) -> str:
        """"passed" (the expected verdict), "failed" (the opposite one) or "unknown" (undecided)."""
        if self.result.holds is None:
            return "unknown"
        return "passed" if self.result.holds == self.expected else "failed"

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class TrialReport:
    """The outcome of one trial: held iff every step gave the expected verdict."""

    theorem: str
    seed: int
    sizes: Sizes
    device: str
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        """"held" (every step passed), "failed" (some step gave the opposite verdict) or "unknown"."""
        outcomes = {s.outcome for s in self.steps}
        if "failed" in outcomes:
            return "failed"
        return "unknown" if "unknown" in outcomes else "held"

    @property
    def held(self) -> bool:
        return self.outcome == "held"

    def worst_conclusion(self) -> CheckResult | None:
        """The decided conclusion check nearest to (or furthest past) its tolerance: the largest
        ``CheckResult.ratio``, whichever way its statistic points; None if none has a ratio."""
        rated = [s.result for s in self.steps if s.role == "conclusion" and s.result.decided and not math.isnan(s.result.ratio)]
        return max(rated, key=lambda r: r.ratio, default=None)

    @property
    def worst_error(self) -> float:
        """``worst_conclusion()``'s ratio (<= 1 when it passes)."""
        worst = self.worst_conclusion()
        return math.nan if worst is None else worst.ratio

    @property
    def witnesses(self) -> int:
        """How many steps failed against expectation (each carries its witness)."""
        return sum(s.outcome == "failed" for s in self.steps)

    def to_dict(self) -> dict:
        worst = self.worst_conclusion()
        return {
            "theorem": self.theorem, "seed": self.seed, "sizes": asdict(self.sizes), "device": self.device,
            "outcome": self.outcome, "held": self.held, "worst_error": self.worst_error,
            "worst_check": None if worst is None else {"name": worst.name, "statistic": worst.statistic,
                                                       "tolerance": worst.tolerance, "passes_when": worst.passes_when},
            "seconds": self.seconds,
            "steps": [{"role": s.role, "expected": s.expected, "outcome": s.outcome, "passed": s.passed,
                       "result": s.result.to_dict()} for s in self.steps],
        }


def check_trial_arguments(seed, sizes, device) -> tuple[int, Sizes, torch.device]:
    """The arguments every trial takes, checked: an integer seed, a ``Sizes``, a device of this machine."""
    return check_seed(seed), check_instance(sizes, Sizes, "sizes"), check_device(device)


def run_trial(theorem_id: str, trial: Callable, seed: int, sizes: Sizes, device: str = "cpu") -> TrialReport:
    """Run one trial on ``device`` and time it."""
    if not isinstance(theorem_id, str):
        raise ValueError(f"theorem_id: expected a result id such as 'T1', got {theorem_id!r}")
    check_callable(trial, "trial")
    # Trials derive further seeds from this one (other_seed, seed + 1): kept below 2**62.
    seed = check_int(seed, "seed", minimum=0, maximum=2**62)
    _, sizes, device = check_trial_arguments(seed, sizes, device)
    start = time.perf_counter()
    steps = trial(seed, sizes, device)
    return TrialReport(theorem_id, seed, sizes, str(device), steps, time.perf_counter() - start)
