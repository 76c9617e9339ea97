"""Checks of the prior assumptions of T3 and T4 (``docs/theory.md``), and the product priors of S2."""

from __future__ import annotations

import itertools
import math

import torch

from models import GaussianMixture
from models.validation import DTYPE, check_instance, check_real

from .check_result import CheckResult
from .mixtures import check_same_mixture
from .tolerances import GAUSSIAN_RTOL, PRIOR_ATOL, RATIO_RTOL, SAME_MIXTURE_RTOL

__all__ = ["check_distinct_variance_ratios", "check_independent_coordinates", "check_standard_normal", "marginals",
           "product_mixture"]

MAX_PRODUCT_COMPONENTS = 4096
"""Largest product of the marginals' component counts that the exact independence check builds."""


def _require_mixture(prior) -> GaussianMixture:
    return check_instance(prior, GaussianMixture, "prior")


def check_standard_normal(prior: GaussianMixture, *, atol: float = PRIOR_ATOL) -> CheckResult:
    """Is the prior N(0, I), the vanilla VAE prior of T3?  Statistic: max(|μ|, |Σ − I|) over a single component."""
    prior = _require_mixture(prior)
    atol = check_real(atol, "atol", low=0.0)
    if prior.n_components != 1:
        return CheckResult("standard_normal", False, math.inf, atol, "<=", prior.n_components, domain="the prior",
                           method="closed form", details={"reason": f"{prior.n_components} components"})
    eye = torch.eye(prior.dim, dtype=prior.dtype, device=prior.device)
    statistic = max(float(prior.means.abs().max()), float((prior.covariances[0] - eye).abs().max()))
    holds = statistic <= atol
    return CheckResult("standard_normal", holds, statistic, atol, "<=", None if holds else (prior.means[0], prior.covariances[0]),
                       domain="the prior", method="closed form: max(|μ|, |Σ − I|)")


def _off_diagonal(prior: GaussianMixture) -> float:
    """The largest |correlation| between two coordinates within one component."""
    covs = prior.covariances
    std = torch.diagonal(covs, dim1=-2, dim2=-1).sqrt()
    correlation = covs / (std.unsqueeze(-1) * std.unsqueeze(-2))
    off = correlation - torch.diag_embed(torch.diagonal(correlation, dim1=-2, dim2=-1))
    return float(off.abs().max())


def check_distinct_variance_ratios(prior: GaussianMixture, *, rtol: float = RATIO_RTOL) -> CheckResult:
    """T4 condition S1: all Σ_j diagonal, and some pair j != k has ratios (Σ_k)_ii / (Σ_j)_ii pairwise distinct.

    Statistic: the best pair's smallest relative gap between its ratios (the margin);
    it holds iff every within-component correlation is at most ``rtol`` in absolute value
    (diagonal covariances) and the margin exceeds ``rtol``.
    Witness: the pair (j, k) when it holds; the off-diagonal size or the best margin when not.
    """
    prior = _require_mixture(prior)
    rtol = check_real(rtol, "rtol", low=0.0)
    off = _off_diagonal(prior)
    if off > rtol:
        return CheckResult("distinct_variance_ratios", False, 0.0, rtol, ">", off, domain="the prior", method="closed form",
                           details={"reason": f"covariances not diagonal (a correlation of {off:.3g})"})
    variances = torch.diagonal(prior.covariances, dim1=-2, dim2=-1)
    best, best_pair = -1.0, None
    for j, k in itertools.permutations(range(prior.n_components), 2):
        ratios = torch.sort(variances[k] / variances[j]).values
        margin = float((torch.diff(ratios) / ratios[1:]).min()) if prior.dim > 1 else math.inf
        if margin > best:
            best, best_pair = margin, (j, k)
    holds = best_pair is not None and best > rtol
    return CheckResult("distinct_variance_ratios", holds, best, rtol, ">", best_pair, domain="the prior",
                       method="closed form: variance ratios of every pair of components", details={"off_diagonal": off})


def marginals(prior: GaussianMixture, *, rtol: float = GAUSSIAN_RTOL) -> list[GaussianMixture]:
    """The 1-D marginal mixture of each coordinate, components that coincide (to ``rtol``) merged."""
    prior = _require_mixture(prior)
    variances = torch.diagonal(prior.covariances, dim1=-2, dim2=-1)
    out = []
    for i in range(prior.dim):
        kept: list[list[float]] = []  # [weight, mean, variance]
        for w, mu, var in zip(prior.weights.tolist(), prior.means[:, i].tolist(), variances[:, i].tolist()):
            for entry in kept:
                if abs(entry[1] - mu) <= rtol * math.sqrt(var) and abs(entry[2] - var) <= rtol * var:
                    entry[0] += w
                    break
            else:
                kept.append([w, mu, var])
        values = torch.tensor(kept, dtype=DTYPE)
        out.append(GaussianMixture(values[:, 0] / values[:, 0].sum(), values[:, 1:2], values[:, 2].reshape(-1, 1, 1)))
    return out


def check_independent_coordinates(prior: GaussianMixture, *, rtol: float = SAME_MIXTURE_RTOL,
                                  gaussian_rtol: float = GAUSSIAN_RTOL) -> CheckResult:
    """T4 condition S2: independent coordinates, each a 1-D mixture, at most one of them Gaussian.

    Exact, by the identifiability of finite Gaussian mixtures: the coordinates are
    independent iff the prior equals the product of its 1-D marginals (``marginals``,
    ``product_mixture``) as a mixture, which ``check_same_mixture`` decides to ``rtol``
    in closed form. A coordinate counts as Gaussian when its marginal has a single
    component (components within ``gaussian_rtol`` merged). The product is built when
    it has at most ``MAX_PRODUCT_COMPONENTS`` components; beyond, the verdict is unknown.

    Returns
    -------
    CheckResult
        ``statistic``: the matched parameter error between the prior and the product of
        its marginals (``inf`` when their numbers of components differ). ``witness``: the
        Gaussian coordinates when more than one is Gaussian, else the mismatch of
        ``check_same_mixture``.
    """
    prior = _require_mixture(prior)
    rtol = check_real(rtol, "rtol", low=0.0)
    gaussian_rtol = check_real(gaussian_rtol, "gaussian_rtol", low=0.0)
    parts = marginals(prior, rtol=gaussian_rtol)
    gaussian = [i for i, p in enumerate(parts) if p.n_components == 1]
    details = {"gaussian_coordinates": gaussian, "gaussian_rtol": gaussian_rtol,
               "marginal_components": [p.n_components for p in parts]}
    size = math.prod(p.n_components for p in parts)
    how = "exact: the prior against the product of its marginals (closed-form mixture comparison)"
    if size > MAX_PRODUCT_COMPONENTS:
        return CheckResult("independent_coordinates", None, math.nan, rtol, "<=", None, domain="the prior", method=how,
                           details={**details, "reason": f"the product of the marginals has {size} > {MAX_PRODUCT_COMPONENTS} components"})
    same = check_same_mixture(prior, product_mixture(parts), rtol=rtol)
    holds = bool(same.holds) and len(gaussian) <= 1
    witness = None if holds else (gaussian if same.holds else same.witness)
    return CheckResult("independent_coordinates", holds, same.statistic, rtol, "<=", witness, domain="the prior", method=how,
                       details={**details, "product": same.to_dict()})


def product_mixture(marginals: list[GaussianMixture]) -> GaussianMixture:
    """The law of independent coordinates with the given 1-D mixtures: a mixture over all index tuples."""
    marginals = list(marginals)
    if not marginals or any(not isinstance(p, GaussianMixture) or p.dim != 1 for p in marginals):
        raise ValueError("marginals: expected a non-empty list of 1-D GaussianMixture")
    if math.prod(p.n_components for p in marginals) > MAX_PRODUCT_COMPONENTS:
        raise ValueError(f"marginals: the product would have more than {MAX_PRODUCT_COMPONENTS} components")
    weights, means, variances = [], [], []
    for combo in itertools.product(*(range(p.n_components) for p in marginals)):
        weights.append(math.prod(float(p.weights[j]) for p, j in zip(marginals, combo)))
        means.append([float(p.means[j, 0]) for p, j in zip(marginals, combo)])
        variances.append([float(p.covariances[j, 0, 0]) for p, j in zip(marginals, combo)])
    weights_t = torch.tensor(weights, dtype=DTYPE)
    return GaussianMixture(weights_t / weights_t.sum(), torch.tensor(means, dtype=DTYPE), torch.diag_embed(torch.tensor(variances, dtype=DTYPE)))
