"""A two-sample test of equal laws, for models without an exact density.

The energy distance E‖X − Y‖ − ½E‖X − X'‖ − ½E‖Y − Y'‖ is zero iff the laws are
equal (Székely & Rizzo); its permutation p-value is exact in finite samples.
"""

from __future__ import annotations

import torch

from models.validation import check_generator, check_int, check_real, check_tensor

from .check_result import CheckResult
from .tolerances import ALPHA


def energy_distance(x, y) -> float:
    """The (V-statistic) energy distance between the samples x (N, d) and y (M, d)."""
    x, y = _samples(x, y)
    pooled = torch.cat([x, y])
    labels = torch.zeros(pooled.shape[0], 1, dtype=pooled.dtype, device=pooled.device)
    labels[: x.shape[0]] = 1.0
    return float(_energies(torch.cdist(pooled, pooled), labels)[0])


def _energies(distances: torch.Tensor, membership: torch.Tensor) -> torch.Tensor:
    """Energy distances for several splits of the pooled sample at once.

    ``membership`` (N, P) holds 1 where a point belongs to the first sample of split p;
    every block sum is then a bilinear form in the membership columns.
    """
    a, b = membership, 1.0 - membership
    da, db = distances @ a, distances @ b
    n_a, n_b = a.sum(0), b.sum(0)
    between = (a * db).sum(0) / (n_a * n_b)
    within_a = (a * da).sum(0) / n_a**2
    within_b = (b * db).sum(0) / n_b**2
    return 2 * between - within_a - within_b


def _samples(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x = check_tensor(x, "x", dtype=torch.float64, device=x.device if isinstance(x, torch.Tensor) else "cpu", ndim=2)
    y = check_tensor(y, "y", dtype=torch.float64, device=x.device, ndim=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: expected points of dimension {x.shape[1]} to match x, got {y.shape[1]}")
    if min(len(x), len(y)) < 2:
        raise ValueError("x, y: need at least 2 points each")
    return x, y


def check_same_distribution(x, y, *, alpha: float = ALPHA, n_permutations: int = 199, generator=0) -> CheckResult:
    """Energy-distance permutation test of H0: x and y are samples of one law.

    Holds (H0 not rejected) iff the p-value >= ``alpha``. ``statistic`` is the
    p-value, ``tolerance`` is ``alpha``; details carry the energy distance and sizes.
    A result that fails is evidence that the laws differ, at level ``alpha``.
    """
    x, y = _samples(x, y)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(n_permutations, "n_permutations")
    if 1.0 / (1 + n_permutations) >= alpha:
        raise ValueError(f"n_permutations: {n_permutations} permutations cannot give a p-value below alpha={alpha}")
    gen = check_generator(generator)
    pooled = torch.cat([x, y])
    total, n_x = pooled.shape[0], x.shape[0]
    # Column 0 is the observed split; the others are random relabellings of the pooled sample.
    orders = torch.stack([torch.arange(total)] + [torch.randperm(total, generator=gen) for _ in range(n_permutations)], dim=1)
    membership = (orders < n_x).to(pooled.dtype).to(pooled.device)
    energies = _energies(torch.cdist(pooled, pooled), membership)
    observed = float(energies[0])
    exceed = int((energies[1:] >= energies[0]).sum())
    p_value = (1 + exceed) / (1 + n_permutations)
    details = {"energy_distance": observed, "n_x": len(x), "n_y": len(y), "n_permutations": n_permutations}
    holds = p_value >= alpha
    # A rejection's evidence is the observed statistic against its permutation distribution.
    witness = None if holds else {"energy_distance": observed, "p_value": p_value,
                                  "largest_permuted_energy": float(energies[1:].max())}
    return CheckResult("same_distribution", holds, p_value, alpha, ">=", witness, domain=f"{len(x)} + {len(y)} samples",
                       method=f"energy-distance permutation test at level {alpha:g} (statistical)", details=details)
