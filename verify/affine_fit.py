"""The one least-squares affine fit between two sets of points (latents of two models, or
learned against true latents)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models import AffineMap
from models.validation import DTYPE, check_tensor

__all__ = ["AffineFit", "fit_affine"]


@dataclass(frozen=True)
class AffineFit:
    """A least-squares affine fit z_to ≈ h(z_from).

    Attributes
    ----------
    map : AffineMap
        h.
    relative_residual : float
        ‖Z_to − h(Z_from)‖_F / ‖Z_to − mean(Z_to)‖_F: 0 for an exact affine relation,
        sqrt(1 − R²) in general.
    r2 : float
        1 − relative_residual², the fraction of variance h explains.
    """

    map: AffineMap
    relative_residual: float
    r2: float


def fit_affine(z_from, z_to) -> AffineFit:
    """Least-squares affine map from ``z_from`` (N, m) to ``z_to`` (N, k), with N > m.

    Both sides are centred first, so the fit is as well conditioned as the data.
    """
    z_from = check_tensor(z_from, "z_from", dtype=DTYPE, device=_device(z_from), ndim=2)
    z_to = check_tensor(z_to, "z_to", dtype=DTYPE, device=z_from.device, ndim=2)
    if z_to.shape[0] != z_from.shape[0]:
        raise ValueError(f"z_to: expected {z_from.shape[0]} rows to match z_from, got {z_to.shape[0]}")
    if z_from.shape[0] <= z_from.shape[1]:
        raise ValueError(f"z_from: need more points than dimensions for a fit, got shape {tuple(z_from.shape)}")
    mean_from, mean_to = z_from.mean(0), z_to.mean(0)
    centred_from, centred_to = z_from - mean_from, z_to - mean_to
    solution = torch.linalg.lstsq(centred_from.cpu(), centred_to.cpu(), driver="gelsd").solution.to(z_from.device)
    matrix = solution.T
    offset = mean_to - matrix @ mean_from
    residual = centred_to - centred_from @ solution
    spread = float(centred_to.norm())
    relative = float(residual.norm()) / spread if spread > 0 else float(residual.norm())
    return AffineFit(AffineMap(matrix, offset), relative, 1.0 - relative**2)


def _device(value) -> torch.device:
    return value.device if isinstance(value, torch.Tensor) else torch.device("cpu")
