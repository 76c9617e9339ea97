"""Checks of the prior assumptions of T3 and T4 (``docs/theory.md``), and the product priors of S2."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

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

    Statistic: the best pair's smallest relative gap between its ratios (the margin). Both
    parts are exact claims, decided exactly where the numbers allow and unknown in the band
    that ``rtol`` leaves for rounding:

    * a within-component correlation above ``rtol`` fails it (witness: its size); correlations
      that are not 0 but at most ``rtol`` (rounding, or a prior that is almost diagonal) leave
      the verdict unknown; all exactly 0 make the covariances diagonal;
    * a margin above ``rtol`` holds (witness: the pair (j, k)); every margin exactly 0 fails;
      a best margin in (0, ``rtol``] (ratios that nearly coincide) is unknown.
    """
    prior = _require_mixture(prior)
    rtol = check_real(rtol, "rtol", low=0.0)
    off = _off_diagonal(prior)
    how = "closed form: variance ratios of every pair of components"
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
    details = {"off_diagonal": off}
    if off > 0:
        return CheckResult("distinct_variance_ratios", None, best, rtol, ">", None, domain="the prior", method=how,
                           details={**details, "reason": f"a within-component correlation of {off:.3g}: not 0, yet within the "
                                                          f"tolerance {rtol:.0e}, so whether the covariances are diagonal is "
                                                          "not decided"})
    if best_pair is not None and best > rtol:
        return CheckResult("distinct_variance_ratios", True, best, rtol, ">", best_pair, domain="the prior", method=how,
                           details=details)
    if best_pair is None or not _some_pair_exactly_distinct(variances):
        return CheckResult("distinct_variance_ratios", False, best, rtol, ">", best_pair, domain="the prior", method=how,
                           details=details)
    return CheckResult("distinct_variance_ratios", None, best, rtol, ">", None, domain="the prior", method=how,
                       details={**details, "reason": f"the best pair {best_pair} has ratios distinct by a relative gap of {best:.3g}, "
                                                     f"not 0 but within the tolerance {rtol:.0e}"})


def _some_pair_exactly_distinct(variances: torch.Tensor) -> bool:
    """Some pair j != k whose variance ratios are pairwise distinct in rationals (the floats taken exactly)."""
    rows = [[Fraction(v) for v in row] for row in variances.tolist()]
    for j, k in itertools.permutations(range(len(rows)), 2):
        ratios = [a / b for a, b in zip(rows[k], rows[j])]
        if len(set(ratios)) == len(ratios):
            return True
    return False


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
    in closed form; the marginals are taken both with identical components merged and with
    components within ``gaussian_rtol`` merged (rounding), and either product may match.

    A coordinate is Gaussian exactly when its marginal's components are all identical (a
    mixture of distinct Gaussians is not Gaussian). Components that differ, but by less than
    ``gaussian_rtol``, make a coordinate nearly Gaussian: when the verdict turns on such
    coordinates it is unknown, with their list. The product is built when it has at most
    ``MAX_PRODUCT_COMPONENTS`` components; beyond, the verdict is unknown.

    Returns
    -------
    CheckResult
        ``statistic``: the matched parameter error between the prior and the product of
        its marginals (``inf`` when their numbers of components differ). ``witness``: the
        Gaussian coordinates when more than one is Gaussian, else the mismatch of
        ``check_same_mixture``. ``details``: ``gaussian_coordinates`` (to ``gaussian_rtol``),
        ``exactly_gaussian_coordinates`` and ``nearly_gaussian_coordinates`` (the difference).
    """
    prior = _require_mixture(prior)
    rtol = check_real(rtol, "rtol", low=0.0)
    gaussian_rtol = check_real(gaussian_rtol, "gaussian_rtol", low=0.0)
    merged, identical = marginals(prior, rtol=gaussian_rtol), marginals(prior, rtol=0.0)
    gaussian = [i for i, p in enumerate(merged) if p.n_components == 1]
    exactly = [i for i, p in enumerate(identical) if p.n_components == 1]
    details = {"gaussian_coordinates": gaussian, "exactly_gaussian_coordinates": exactly,
               "nearly_gaussian_coordinates": [i for i in gaussian if i not in exactly], "gaussian_rtol": gaussian_rtol,
               "marginal_components": [p.n_components for p in merged]}
    how = "exact: the prior against the product of its marginals (closed-form mixture comparison)"
    products = [parts for parts in (merged, identical) if math.prod(p.n_components for p in parts) <= MAX_PRODUCT_COMPONENTS]
    if not products:
        size = math.prod(p.n_components for p in merged)
        return CheckResult("independent_coordinates", None, math.nan, rtol, "<=", None, domain="the prior", method=how,
                           details={**details, "reason": f"the product of the marginals has {size} > {MAX_PRODUCT_COMPONENTS} components"})
    comparisons = [check_same_mixture(prior, product_mixture(parts), rtol=rtol) for parts in products]
    same = next((c for c in comparisons if c.holds), comparisons[0])
    details = {**details, "product": same.to_dict()}
    if not same.holds:
        return CheckResult("independent_coordinates", False, same.statistic, rtol, "<=", same.witness, domain="the prior",
                           method=how, details=details)
    if len(gaussian) <= 1 or len(exactly) > 1:
        holds = len(gaussian) <= 1
        return CheckResult("independent_coordinates", holds, same.statistic, rtol, "<=", None if holds else exactly or gaussian,
                           domain="the prior", method=how, details=details)
    return CheckResult("independent_coordinates", None, same.statistic, rtol, "<=", None, domain="the prior", method=how,
                       details={**details, "reason": f"coordinates {details['nearly_gaussian_coordinates']} are mixtures of distinct "
                                                     f"components within {gaussian_rtol:.0e} of each other: not Gaussian exactly, "
                                                     "Gaussian to the tolerance, and the verdict turns on them"})


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
