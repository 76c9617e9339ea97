"""The verdicts ``python -m verify check`` prints for a user's decoder."""

from __future__ import annotations

import torch

from models import GaussianMixture, LeakyReLUNetwork
from models.deadline import TimeLimitExceeded
from models.regions import EXACT_MAX_DIM, count_linear_regions
from models.validation import check_instance, check_real

from .check_result import CheckResult
from .injectivity import check_injective, check_weakly_injective

__all__ = ["DEFAULT_BOX", "DEFAULT_TIME_LIMIT", "analyse_decoder", "default_box"]

DEFAULT_BOX = 3.0
"""Half-width of the latent box checked when no prior says where the mass is."""


def default_box(prior: GaussianMixture | None) -> float:
    """A cube that holds the prior's mass: 4 standard deviations around the means, or ``DEFAULT_BOX``."""
    if prior is None:
        return DEFAULT_BOX
    spread = torch.sqrt(torch.diagonal(prior.covariances, dim1=-2, dim2=-1)).max()
    return float(prior.means.abs().max() + 4 * spread)


DEFAULT_TIME_LIMIT = 60.0
"""Seconds each exact check of ``python -m verify check`` may take before it answers unknown."""


def analyse_decoder(decoder: LeakyReLUNetwork, prior: GaussianMixture | None = None, *, box: float | None = None,
                    time_limit: float | None = DEFAULT_TIME_LIMIT) -> list[CheckResult]:
    """Piecewise affine?  Injective?  Weakly injective?  How many linear regions in the box?

    Each exact check stops after ``time_limit`` seconds with an unknown verdict that says where.
    """
    check_instance(decoder, LeakyReLUNetwork, "decoder")
    if prior is not None:
        check_instance(prior, GaussianMixture, "prior")
    box = default_box(prior) if box is None else check_real(box, "box", low=0.0, low_open=True)
    # Not a numerical check: a LeakyReLUNetwork is made of affine layers and leaky ReLUs, which are piecewise affine.
    results = [CheckResult("piecewise_affine", True, domain=f"R^{decoder.in_dim}",
                           method=f"by construction: affine layers and (leaky) ReLUs, widths {decoder.widths}")]
    exact = decoder.in_dim <= EXACT_MAX_DIM
    results.append(check_injective(decoder, box=box if exact else None, time_limit=time_limit))
    if exact:
        results.append(check_weakly_injective(decoder, box=box, time_limit=time_limit))
        domain = f"box [-{box:g}, {box:g}]^{decoder.in_dim}"
        try:
            regions = count_linear_regions(decoder, box, time_limit=time_limit)
            results.append(CheckResult("linear_regions", True, float(regions), domain=domain,
                                       method=f"exact enumeration: {regions} regions meet the box"))
        except TimeLimitExceeded as stop:
            results.append(CheckResult("linear_regions", None, domain=domain, method=f"stopped: {stop}"))
    return results
