"""Checks of the prior assumptions of T3 and T4 (THEORY.md), and the product priors of S2."""

from __future__ import annotations

import itertools
import math

import torch

from models import GaussianMixture
from models._validation import check_nonnegative_float, check_positive_int, make_generator

from .check_result import CheckResult

PRIOR_ATOL = 1e-9
RATIO_RTOL = 1e-6


def _require_mixture(prior) -> GaussianMixture:
    if not isinstance(prior, GaussianMixture):
        raise ValueError(f"prior: expected a GaussianMixture, got {type(prior).__name__}")
    return prior


def check_standard_normal(prior: GaussianMixture, atol: float = PRIOR_ATOL) -> CheckResult:
    """Is the prior N(0, I), the vanilla VAE prior of T3?  Statistic: max(|μ|, |Σ − I|) over a single component."""
    prior = _require_mixture(prior)
    atol = check_nonnegative_float(atol, "atol")
    if prior.n_components != 1:
        return CheckResult("standard_normal", False, math.inf, atol, witness=prior.n_components,
                           details={"reason": f"{prior.n_components} components"})
    eye = torch.eye(prior.dim, dtype=prior.dtype, device=prior.device)
    statistic = max(float(prior.means.abs().max()), float((prior.covariances[0] - eye).abs().max()))
    holds = statistic <= atol
    return CheckResult("standard_normal", holds, statistic, atol, witness=None if holds else (prior.means[0], prior.covariances[0]))


def _off_diagonal(prior: GaussianMixture) -> float:
    """The largest |correlation| between two coordinates within one component."""
    covs = prior.covariances
    std = torch.diagonal(covs, dim1=-2, dim2=-1).sqrt()
    correlation = covs / (std.unsqueeze(-1) * std.unsqueeze(-2))
    off = correlation - torch.diag_embed(torch.diagonal(correlation, dim1=-2, dim2=-1))
    return float(off.abs().max())


def check_distinct_variance_ratios(prior: GaussianMixture, rtol: float = RATIO_RTOL) -> CheckResult:
    """T4 condition S1: all Σ_j diagonal, and some pair j != k has ratios (Σ_k)_ii / (Σ_j)_ii pairwise distinct.

    Statistic: the best pair's smallest relative gap between its ratios (the margin);
    it holds iff every within-component correlation is at most ``rtol`` in absolute value
    (diagonal covariances) and the margin exceeds ``rtol``.
    Witness: the pair (j, k) when it holds; the off-diagonal size or the best margin when not.
    """
    prior = _require_mixture(prior)
    rtol = check_nonnegative_float(rtol, "rtol")
    off = _off_diagonal(prior)
    if off > rtol:
        return CheckResult("distinct_variance_ratios", False, 0.0, rtol, witness=off,
                           details={"reason": f"covariances not diagonal (a correlation of {off:.3g})"})
    variances = torch.diagonal(prior.covariances, dim1=-2, dim2=-1)
    best, best_pair = -1.0, None
    for j, k in itertools.permutations(range(prior.n_components), 2):
        ratios = torch.sort(variances[k] / variances[j]).values
        margin = float((torch.diff(ratios) / ratios[1:]).min()) if prior.dim > 1 else math.inf
        if margin > best:
            best, best_pair = margin, (j, k)
    holds = best_pair is not None and best > rtol
    return CheckResult("distinct_variance_ratios", holds, best, rtol, witness=best_pair, details={"off_diagonal": off})


def marginal_log_prob(prior: GaussianMixture, z: torch.Tensor) -> torch.Tensor:
    """log p_i(z_i) of each coordinate's 1-D marginal, shape (N, m)."""
    weights = torch.log(prior.weights)  # (J,)
    means = prior.means  # (J, m)
    variances = torch.diagonal(prior.covariances, dim1=-2, dim2=-1)  # (J, m)
    diff = z.unsqueeze(1) - means.unsqueeze(0)  # (N, J, m)
    log_normal = -0.5 * (math.log(2 * math.pi) + torch.log(variances) + diff.square() / variances)
    return torch.logsumexp(weights.view(1, -1, 1) + log_normal, dim=1)


def check_independent_coordinates(prior: GaussianMixture, *, n: int = 2000, atol: float = 1e-8, gaussian_rtol: float = 1e-9,
                                  generator=0) -> CheckResult:
    """T4 condition S2: independent coordinates, each a 1-D mixture, at most one of them Gaussian.

    Independence is checked as log p(z) = Σ_i log p_i(z_i) to ``atol`` at ``n`` samples
    (statistic: the largest gap). A coordinate counts as Gaussian when all components'
    means agree to ``gaussian_rtol`` times its standard deviation and their variances to
    ``gaussian_rtol`` relative (its 1-D marginal is then a single Gaussian).
    """
    prior = _require_mixture(prior)
    check_positive_int(n, "n")
    atol = check_nonnegative_float(atol, "atol")
    gaussian_rtol = check_nonnegative_float(gaussian_rtol, "gaussian_rtol")
    z = prior.sample(n, make_generator(generator))
    gap = (prior.log_prob(z) - marginal_log_prob(prior, z).sum(1)).abs()
    statistic = float(gap.max())
    variances = torch.diagonal(prior.covariances, dim1=-2, dim2=-1)
    means = prior.means
    std = torch.diagonal(prior.covariance()).sqrt()
    mean_spread = (means.amax(0) - means.amin(0)) / std
    variance_spread = (variances.amax(0) - variances.amin(0)) / variances.amax(0)
    gaussian = [i for i in range(prior.dim) if float(mean_spread[i]) <= gaussian_rtol and float(variance_spread[i]) <= gaussian_rtol]
    holds = statistic <= atol and len(gaussian) <= 1
    witness = None if holds else (z[int(gap.argmax())] if statistic > atol else gaussian)
    return CheckResult("independent_coordinates", holds, statistic, atol, witness=witness,
                       details={"gaussian_coordinates": gaussian, "gaussian_rtol": gaussian_rtol})


def product_mixture(marginals) -> GaussianMixture:
    """The law of independent coordinates with the given 1-D mixtures: a mixture over all index tuples."""
    marginals = list(marginals)
    if not marginals or any(not isinstance(p, GaussianMixture) or p.dim != 1 for p in marginals):
        raise ValueError("marginals: expected a non-empty list of 1-D GaussianMixture")
    weights, means, variances = [], [], []
    for combo in itertools.product(*(range(p.n_components) for p in marginals)):
        weights.append(math.prod(float(p.weights[j]) for p, j in zip(marginals, combo)))
        means.append([float(p.means[j, 0]) for p, j in zip(marginals, combo)])
        variances.append([float(p.covariances[j, 0, 0]) for p, j in zip(marginals, combo)])
    weights_t = torch.tensor(weights, dtype=torch.float64)
    return GaussianMixture(weights_t / weights_t.sum(), torch.tensor(means, dtype=torch.float64), torch.diag_embed(torch.tensor(variances, dtype=torch.float64)))
