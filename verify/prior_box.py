"""The latent box where a prior's mass is: the default domain of the decoder checks."""

from __future__ import annotations

import scipy.stats
import torch

from models import GaussianMixture
from models.validation import check_instance, check_real

__all__ = ["DEFAULT_BOX", "PRIOR_MASS", "default_box"]

DEFAULT_BOX = 3.0
"""Half-width of the latent box checked when no prior says where the mass is."""

PRIOR_MASS = 1.0 - 1e-6
"""Prior mass the default box holds at least."""


def default_box(prior: GaussianMixture | None, *, mass: float = PRIOR_MASS) -> float:
    """Half-width of a cube [−r, r]^m that holds at least ``mass`` of the prior (``DEFAULT_BOX`` without one).

    Each component's ellipsoid {(z − μ_j)ᵀ Σ_j⁻¹ (z − μ_j) <= q}, q the χ²_m quantile of ``mass``,
    holds ``mass`` of that component; the cube contains every ellipsoid's bounding box
    (μ_j ± √(q Σ_j,ii)), so it holds at least ``mass`` of the mixture.
    """
    if prior is None:
        return DEFAULT_BOX
    check_instance(prior, GaussianMixture, "prior")
    check_real(mass, "mass", low=0.0, high=1.0, low_open=True, high_open=True)
    q = float(scipy.stats.chi2.ppf(mass, prior.dim))
    covariances = prior.covariances.detach().cpu().double()
    half = torch.sqrt(q * torch.diagonal(covariances, dim1=-2, dim2=-1))
    means = prior.means.detach().cpu().double()
    return float(torch.maximum((means + half).abs(), (means - half).abs()).max())
