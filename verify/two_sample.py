"""A two-sample test of equal laws, for models without an exact density.

The energy distance E‖X − Y‖ − ½E‖X − X'‖ − ½E‖Y − Y'‖ is zero iff the laws are
equal (Székely & Rizzo); its permutation p-value is exact in finite samples.
"""

from __future__ import annotations

import torch

from models._validation import as_tensor, check_positive_int, make_generator

from .check_result import CheckResult

ALPHA = 0.01


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """The (V-statistic) energy distance between the samples x (N, d) and y (M, d)."""
    pooled = torch.cat([x, y])
    distances = torch.cdist(pooled, pooled)
    return _energy(distances, x.shape[0], torch.arange(pooled.shape[0], device=pooled.device))


def _energy(distances: torch.Tensor, n_x: int, order: torch.Tensor) -> float:
    ix, iy = order[:n_x], order[n_x:]
    between = distances[ix][:, iy].mean()
    within_x = distances[ix][:, ix].mean()
    within_y = distances[iy][:, iy].mean()
    return float(2 * between - within_x - within_y)


def check_same_distribution(x, y, *, alpha: float = ALPHA, n_permutations: int = 199, generator=0) -> CheckResult:
    """Energy-distance permutation test of H0: x and y are samples of one law.

    Holds (H0 not rejected) iff the p-value >= ``alpha``. ``statistic`` is the
    p-value, ``tolerance`` is ``alpha``; details carry the energy distance and sizes.
    A result that fails is evidence that the laws differ, at level ``alpha``.
    """
    x = as_tensor(x, "x", dtype=torch.float64, device=x.device if isinstance(x, torch.Tensor) else "cpu", ndim=2)
    y = as_tensor(y, "y", dtype=torch.float64, device=x.device, ndim=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: expected points of dimension {x.shape[1]} to match x, got {y.shape[1]}")
    if min(len(x), len(y)) < 2:
        raise ValueError("x, y: need at least 2 points each")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    check_positive_int(n_permutations, "n_permutations")
    if 1.0 / (1 + n_permutations) >= alpha:
        raise ValueError(f"n_permutations: {n_permutations} permutations cannot give a p-value below alpha={alpha}")
    gen = make_generator(generator)
    pooled = torch.cat([x, y])
    distances = torch.cdist(pooled, pooled)
    total = pooled.shape[0]
    observed = _energy(distances, len(x), torch.arange(total, device=pooled.device))
    exceed = sum(
        _energy(distances, len(x), torch.randperm(total, generator=gen).to(pooled.device)) >= observed
        for _ in range(n_permutations)
    )
    p_value = (1 + exceed) / (1 + n_permutations)
    details = {"energy_distance": observed, "n_x": len(x), "n_y": len(y), "n_permutations": n_permutations}
    return CheckResult("same_distribution", p_value >= alpha, p_value, alpha, details=details)
