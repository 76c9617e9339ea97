"""Comparing and fitting finite Gaussian mixtures (``docs/theory.md``: Lemma G, T1', "Same mixture").

Three questions about mixtures come up in every identifiability check:

* how far apart two mixtures are as densities: ``gmm_l2_distance`` (closed form);
* whether they are the same mixture up to a relabelling of the components, as T1'
  predicts for h#P and P': ``match_mixtures`` and ``check_same_mixture``;
* which mixture a sample came from: ``fit_gmm`` (EM, with BIC over a range of J).

Everything is computed in float64 on the device of the first argument.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from models import GaussianMixture
from models.gaussian_mixture import component_log_probs
from models.validation import DTYPE, check_generator, check_int, check_real, check_tensor

from .check_result import CheckResult
from .tolerances import L2_CANCELLATION_ULPS, SAME_MIXTURE_RTOL

# The E-step, M-step and k-means walk the samples in blocks whose temporaries hold about
# this many numbers: on a CPU 1 MiB in float64, small enough to stay in cache; on a GPU
# 256 MiB, large enough to fill the device.
CPU_BLOCK = 1 << 17
GPU_BLOCK = 1 << 25
# Each EM start is the best (lowest inertia) of this many k-means++ seedings, each refined
# by at most KMEANS_MAX_ITER Lloyd iterations (see _lloyd for KMEANS_TOL) on a subsample
# of about KMEANS_SAMPLE rows (see _kmeans): k-means is far cheaper than EM, and a poor
# start is EM's main failure.
KMEANS_SEEDINGS = 3
KMEANS_SAMPLE = 10_000
KMEANS_MAX_ITER = 100
KMEANS_TOL = 1e-4


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled to ``tol``."""


# ---------------------------------------------------------------------------- L2 distance
def gmm_inner_product(p: GaussianMixture, q: GaussianMixture) -> float:
    r"""The L2 inner product :math:`\int p(x) q(x) dx` of two mixture densities.

    Uses :math:`\int N(x; a, A) N(x; b, B) dx = N(a; b, A + B)`, so
    :math:`\langle p, q\rangle = \sum_{ij} \lambda_i \lambda'_j N(\mu_i; \mu'_j, \Sigma_i + \Sigma'_j)`,
    summed by log-sum-exp so that far-apart components underflow gracefully.

    Parameters
    ----------
    p, q : GaussianMixture
        Of the same dimension m; q is moved to p's device, both to float64.

    Returns
    -------
    float
        >= 0; 0 only through underflow (components thousands of standard deviations apart).
    """
    first, second = _pair(p, q)
    return math.exp(_log_inner(first, second))


def gmm_l2_distance(p: GaussianMixture, q: GaussianMixture, *, normalized: bool = False) -> float:
    r"""The L2 distance :math:`\|p - q\|_2 = (\int (p(x) - q(x))^2 dx)^{1/2}` in closed form.

    :math:`\|p - q\|^2 = \langle p, p\rangle + \langle q, q\rangle - 2 \langle p, q\rangle`
    (see ``gmm_inner_product``). The three terms are computed to a few ulps each, so
    when p ≈ q the difference cancels: it is accurate to about
    :math:`64\,\epsilon\,(\langle p, p\rangle + \langle q, q\rangle)` in the squared
    distance, i.e. distances below ``l2_resolution(p, q)``
    :math:`\approx 10^{-7} \sqrt{\langle p,p\rangle + \langle q,q\rangle}` are not resolved.
    A squared distance that comes out negative by cancellation is set to 0 (it is then
    below that resolution).

    Parameters
    ----------
    p, q : GaussianMixture
        Of the same dimension m.
    normalized : bool
        Divide by :math:`\sqrt{\langle p,p\rangle + \langle q,q\rangle}`. The result is then
        in [0, 1] (densities are nonnegative, so :math:`\langle p,q\rangle \ge 0`), tends to 1
        only as the supports separate, and is unchanged when both mixtures are pushed through
        the same invertible affine map; the plain distance scales as :math:`|\det A|^{-1/2}`.

    Returns
    -------
    float
    """
    distance, normalized_distance, _ = _l2(p, q)
    return normalized_distance if normalized else distance


def l2_resolution(p: GaussianMixture, q: GaussianMixture) -> float:
    """The smallest L2 distance ``gmm_l2_distance(p, q)`` resolves: sqrt(64 ε (⟨p,p⟩ + ⟨q,q⟩))."""
    return _l2(p, q)[2]


def _l2(p, q) -> tuple[float, float, float]:
    """The L2 distance, its normalised form and its resolution.

    The inner products are kept as logarithms and rescaled by the larger of ⟨p,p⟩, ⟨q,q⟩
    (which bounds ⟨p,q⟩ by Cauchy–Schwarz), so that wide or high-dimensional mixtures,
    whose inner products underflow, still get a normalised distance.
    """
    first, second = _pair(p, q)
    log_pp, log_qq, log_pq = _log_inner(first, first), _log_inner(second, second), _log_inner(first, second)
    scale = max(log_pp, log_qq)
    pp, qq, pq = math.exp(log_pp - scale), math.exp(log_qq - scale), math.exp(log_pq - scale)
    squared = max(pp + qq - 2.0 * pq, 0.0)  # negative only by cancellation, see gmm_l2_distance
    unit = math.exp(0.5 * scale)
    resolution = unit * math.sqrt(L2_CANCELLATION_ULPS * torch.finfo(DTYPE).eps * (pp + qq))
    return unit * math.sqrt(squared), math.sqrt(squared / (pp + qq)), resolution


def _log_inner(first, second) -> float:
    """log ⟨a, b⟩ of two mixtures given as (weights, means, covariances)."""
    (wa, ma, ca), (wb, mb, cb) = first, second
    log_terms = torch.log(wa)[:, None] + torch.log(wb)[None, :] + _log_overlaps(ma, ca, mb, cb)
    return float(torch.logsumexp(log_terms.flatten(), dim=0))


def _log_overlaps(mean_a, cov_a, mean_b, cov_b) -> torch.Tensor:
    """log N(a_i; b_j, A_i + B_j) for all pairs, shape (I, J) (the one mixture log-density, row by row)."""
    no_weights = torch.zeros(mean_b.shape[0], dtype=mean_b.dtype, device=mean_b.device)
    rows = [component_log_probs(mean_a[i:i + 1], no_weights, mean_b, torch.linalg.cholesky(cov_a[i] + cov_b))
            for i in range(mean_a.shape[0])]
    return torch.cat(rows)


def _pair(p, q):
    """Both mixtures' parameters in float64 on p's device, after checking they are comparable."""
    _check_mixture(p, "p")
    _check_mixture(q, "q")
    if q.dim != p.dim:
        raise ValueError(f"q: expected a mixture of dimension {p.dim} to match p, got dimension {q.dim}")
    device = p.device
    return (
        tuple(t.to(device, DTYPE) for t in (p.weights, p.means, p.covariances)),
        tuple(t.to(device, DTYPE) for t in (q.weights, q.means, q.covariances)),
    )


def _check_mixture(value, name: str) -> None:
    if not isinstance(value, GaussianMixture):
        raise ValueError(f"{name}: expected a models.GaussianMixture, got {type(value).__name__}")


# ---------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class MixtureMatch:
    r"""The best relabelling of q's components onto p's, and how well they then agree.

    The errors between component i of p, :math:`(\lambda, \mu, \Sigma)`, and component j
    of q, :math:`(\lambda', \mu', \Sigma')`, are

    * weight error :math:`|\log(\lambda / \lambda')|`;
    * mean error :math:`\sqrt{(\mu - \mu')^T S^{-1} (\mu - \mu')}` with
      :math:`S = (\Sigma + \Sigma') / 2`: the Mahalanobis distance in the components' own scale;
    * covariance error :math:`\max_k |\log \ell_k|`, :math:`\ell_k` the eigenvalues of
      :math:`\Sigma^{-1} \Sigma'` (the affine-invariant spectral distance).

    All three are symmetric in p and q, unchanged when both mixtures are pushed through
    the same invertible affine map, and to first order relative errors (a covariance off by
    a factor 1 + δ gives ≈ |δ|). The error of a pair is the largest of the three.

    Attributes
    ----------
    permutation : tuple of int, or None
        ``permutation[i]`` is the component of q matched to component i of p, so
        ``q.permute(permutation)`` lists q's components in p's order. None when the
        numbers of components differ.
    error : float
        The largest pair error over the matching (``inf`` when the numbers differ).
    weight_error, mean_error, covariance_error : float
        Each kind of error, maximised over the matched pairs.
    component_errors : tuple of float, or None
        The error of each of p's components against its match.
    n_components : tuple of int
        (J of p, J of q).
    """

    permutation: tuple[int, ...] | None
    error: float
    weight_error: float
    mean_error: float
    covariance_error: float
    component_errors: tuple[float, ...] | None
    n_components: tuple[int, int]

    @property
    def same_n_components(self) -> bool:
        return self.n_components[0] == self.n_components[1]


def match_mixtures(p: GaussianMixture, q: GaussianMixture) -> MixtureMatch:
    """The relabelling of q's components that best matches p's.

    Solves the assignment problem (``scipy.optimize.linear_sum_assignment``) on the
    pair errors defined in ``MixtureMatch``, minimising their sum over the matching.
    T1' says equivalent priors have equally many components; when the numbers differ
    no relabelling exists, and the result says so (``permutation=None``, errors
    ``inf``) rather than raising.

    Parameters
    ----------
    p, q : GaussianMixture
        Of the same dimension m (else ``ValueError``).

    Returns
    -------
    MixtureMatch
    """
    (wp, mp, cp), (wq, mq, cq) = _pair(p, q)
    sizes = (p.n_components, q.n_components)
    if sizes[0] != sizes[1]:
        return MixtureMatch(None, math.inf, math.inf, math.inf, math.inf, None, sizes)
    errors = _pair_errors(wp, mp, cp, wq, mq, cq).cpu()  # (3, J, J)
    # A finite stand-in keeps the solver happy if an error overflowed.
    cost = np.nan_to_num(errors.amax(0).numpy(), nan=1e300, posinf=1e300)
    rows, cols = linear_sum_assignment(cost)
    matched = errors[:, torch.as_tensor(rows), torch.as_tensor(cols)]  # (3, J)
    weight_error, mean_error, covariance_error = (float(v) for v in matched.amax(1))
    component_errors = tuple(float(v) for v in matched.amax(0))
    return MixtureMatch(
        tuple(int(c) for c in cols), max(component_errors), weight_error, mean_error, covariance_error,
        component_errors, sizes,
    )


def _pair_errors(wp, mp, cp, wq, mq, cq) -> torch.Tensor:
    """Weight, mean and covariance errors of every (p component, q component) pair, shape (3, I, J)."""
    weight = (torch.log(wp)[:, None] - torch.log(wq)[None, :]).abs()
    average = 0.5 * (cp[:, None] + cq[None, :])
    chol_avg = torch.linalg.cholesky(average)
    diff = (mp[:, None] - mq[None, :]).unsqueeze(-1)
    mean = torch.linalg.solve_triangular(chol_avg, diff, upper=False).squeeze(-1).norm(dim=-1)
    chol_p = torch.linalg.cholesky(cp)[:, None].expand(-1, cq.shape[0], -1, -1)
    half = torch.linalg.solve_triangular(chol_p, cq[None, :].expand(cp.shape[0], -1, -1, -1), upper=False)
    relative = torch.linalg.solve_triangular(chol_p, half.transpose(-1, -2), upper=False)  # L⁻¹ Σ' L⁻ᵀ
    eigenvalues = torch.linalg.eigvalsh(0.5 * (relative + relative.transpose(-1, -2)))
    covariance = torch.log(eigenvalues.clamp_min(torch.finfo(DTYPE).tiny)).abs().amax(-1)
    return torch.stack([weight, mean, covariance])


def check_same_mixture(p: GaussianMixture, q: GaussianMixture, *, rtol: float = SAME_MIXTURE_RTOL) -> CheckResult:
    """Are p and q the same mixture up to a relabelling of the components?

    Holds iff both have J components and, after the best relabelling
    (``match_mixtures``), every weight, mean and covariance error is at most ``rtol``.
    The errors are relative and affine invariant (see ``MixtureMatch``), so ``rtol`` needs
    no rescaling; float64 arithmetic on covariances of condition number κ leaves errors of
    about κ·1e-16, hence the default 1e-6.

    Parameters
    ----------
    p, q : GaussianMixture
        Of the same dimension m.
    rtol : float
        Largest accepted parameter error, >= 0.

    Returns
    -------
    CheckResult
        ``statistic``: the matched parameter error (``inf`` if the Js differ).
        ``witness``: the permutation (q's component for each of p's) when it holds;
        otherwise the worst-matched component of p with its partner and their parameters,
        or the two component counts. ``details``: the three kinds of error, the L2
        distance (plain, normalised, and its resolution) and the component counts.
    """
    rtol = check_real(rtol, "rtol", low=0.0)
    match = match_mixtures(p, q)
    distance, normalized_distance, resolution = _l2(p, q)
    details = {
        "n_components": match.n_components,
        "weight_error": match.weight_error,
        "mean_error": match.mean_error,
        "covariance_error": match.covariance_error,
        "l2_distance": distance,
        "normalized_l2_distance": normalized_distance,
        "l2_resolution": resolution,
    }
    holds = match.same_n_components and match.error <= rtol
    if holds:
        witness = {"permutation": match.permutation}
    elif not match.same_n_components:
        witness = {"reason": "different numbers of components", "n_components": match.n_components}
    else:
        witness = _worst_component(p, q, match)
    return CheckResult("same_mixture", holds, match.error, rtol, "<=", witness, domain="the two mixtures",
                       method="closed form: parameter errors after the best relabelling", details=details)


def _worst_component(p: GaussianMixture, q: GaussianMixture, match: MixtureMatch) -> dict:
    i = int(np.argmax(match.component_errors))
    j = match.permutation[i]
    return {
        "component": i,
        "matched_component": j,
        "error": match.component_errors[i],
        "p_component": {"weight": float(p.weights[i]), "mean": p.means[i], "covariance": p.covariances[i]},
        "q_component": {"weight": float(q.weights[j]), "mean": q.means[j], "covariance": q.covariances[j]},
        "permutation": match.permutation,
    }


# ---------------------------------------------------------------------------- EM
@dataclass(frozen=True)
class GMMFit:
    """A mixture fitted by ``fit_gmm``.

    Attributes
    ----------
    mixture : GaussianMixture
        The fitted mixture (float64, on the samples' device).
    log_likelihood : float
        Mean log-likelihood per sample of ``mixture`` on the samples.
    n_iter : int
        EM iterations (E-step and M-step pairs after the k-means start) of the best restart.
    converged : bool
        Whether that restart's log-likelihood changed by less than ``tol`` before ``max_iter``.
    bic : float
        −2 N ``log_likelihood`` + ``n_parameters`` log N (lower is better; as scikit-learn).
    n_parameters : int
        Free parameters: J − 1 weights, J m means, J m (m + 1) / 2 covariance entries.
    bic_by_n_components : dict of int to float
        The BIC of the best fit for each J tried (one entry unless a range was given).
    """

    mixture: GaussianMixture
    log_likelihood: float
    n_iter: int
    converged: bool
    bic: float
    n_parameters: int
    bic_by_n_components: dict = field(default_factory=dict)


@dataclass
class _EMState:
    weights: torch.Tensor  # (J,)
    means: torch.Tensor  # (J, m)
    covariances: torch.Tensor  # (J, m, m)
    cholesky: torch.Tensor  # (J, m, m), lower factors of the covariances
    log_likelihood: float = -math.inf
    n_iter: int = 0
    converged: bool = False


def fit_gmm(
    samples,
    n_components: int | Sequence[int],
    *,
    n_init: int = 3,
    max_iter: int = 500,
    tol: float = 1e-5,
    reg_covar: float = 1e-6,
    generator: torch.Generator | int | None = None,
) -> GMMFit:
    """Fit a full-covariance Gaussian mixture by EM; choose J by BIC when given several.

    Each restart runs k-means (the best of a few greedy k-means++ seedings), takes
    the hard clusters as the first responsibilities, then alternates E-steps
    (log-sum-exp responsibilities, batched Cholesky over the components) and M-steps
    (``reg_covar`` added to every covariance's diagonal, which keeps a component that
    collapses onto few points positive definite). It stops when the mean log-likelihood
    changes by less than ``tol`` between two E-steps (scikit-learn's criterion and
    iteration count), or after ``max_iter`` iterations with a ``ConvergenceWarning``.
    The restart with the highest log-likelihood wins. Computation is float64 on the
    samples' device; the samples are centred first so that far-off data loses no precision.

    Parameters
    ----------
    samples : array_like, shape (N, m)
        Finite, with at least max(J) distinct rows.
    n_components : int or sequence of int
        J; given several (e.g. ``range(1, 6)``), each is fitted and the one of lowest BIC
        is returned (ties to the smaller J).
    n_init : int
        Restarts per J, >= 1.
    max_iter : int
        Most EM iterations per restart, >= 1.
    tol : float
        Convergence threshold on the change of the mean log-likelihood per sample, >= 0.
    reg_covar : float
        Added to the diagonal of every covariance, >= 0 (absolute, in the samples' units).
    generator : torch.Generator or int, optional
        Source of the initialisations; an int is a seed. Draws happen on the generator's
        device (the CPU for a seed), so a seed gives the same start on every device.

    Returns
    -------
    GMMFit

    Raises
    ------
    ValueError
        Naming the argument: samples not 2-D or not finite; a J < 1, or above the number
        of (distinct) samples; n_init, max_iter not positive integers; tol, reg_covar
        negative; a covariance that is singular even with ``reg_covar`` (raise it).
    """
    x, candidates = _validate_fit_inputs(samples, n_components)
    check_int(n_init, "n_init")
    check_int(max_iter, "max_iter")
    tol = check_real(tol, "tol", low=0.0)
    reg_covar = check_real(reg_covar, "reg_covar", low=0.0)
    gen = check_generator(generator)
    shift = x.mean(0)
    centred = x - shift
    fits = {}
    for k in candidates:
        runs = (_em(centred, k, max_iter, tol, reg_covar, gen) for _ in range(n_init))
        best = max(runs, key=lambda run: run.log_likelihood)
        if not best.converged:
            warnings.warn(
                f"EM with n_components={k} did not converge in max_iter={max_iter} iterations to tol={tol}; "
                "raise max_iter or tol",
                ConvergenceWarning,
                stacklevel=2,
            )
        fits[k] = _to_fit(best, shift, x.shape[0])
    chosen = min(fits.values(), key=lambda f: (f.bic, f.mixture.n_components))
    return replace(chosen, bic_by_n_components={k: f.bic for k, f in fits.items()})


def _validate_fit_inputs(samples, n_components) -> tuple[torch.Tensor, list[int]]:
    device = samples.device if isinstance(samples, torch.Tensor) else torch.device("cpu")
    x = check_tensor(samples, "samples", dtype=DTYPE, device=device, ndim=2)
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"samples: expected shape (N, m) with N, m >= 1, got {tuple(x.shape)}")
    if isinstance(n_components, (np.ndarray, torch.Tensor)) and n_components.ndim == 1:
        n_components = n_components.tolist()
    if isinstance(n_components, (int, np.integer, np.ndarray, torch.Tensor)) and not isinstance(n_components, (bool, np.bool_)):
        candidates = [check_int(n_components, "n_components", minimum=None, maximum=None)]  # its range is checked below
    elif isinstance(n_components, Sequence) or isinstance(n_components, range):
        candidates = list(n_components)
        if not candidates or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in candidates):
            raise ValueError(f"n_components: expected an int or a non-empty sequence of ints, got {n_components!r}")
        candidates = sorted({int(k) for k in candidates})
    else:
        raise ValueError(f"n_components: expected an int or a sequence of ints, got {n_components!r}")
    if candidates[0] < 1:
        raise ValueError(f"n_components: expected every J >= 1, got {candidates[0]}")
    if candidates[-1] > x.shape[0]:
        raise ValueError(f"n_components: J = {candidates[-1]} exceeds the number of samples {x.shape[0]}")
    return x, candidates


def _to_fit(state: _EMState, shift: torch.Tensor, n: int) -> GMMFit:
    k, m = state.means.shape
    covariances = 0.5 * (state.covariances + state.covariances.transpose(1, 2))
    try:
        mixture = GaussianMixture(state.weights / state.weights.sum(), state.means + shift, covariances)
    except ValueError as exc:  # two components emptied out onto the same (centre, reg_covar·I)
        raise ValueError(f"n_components: the fit with J = {k} is degenerate ({exc}); try fewer components") from None
    n_parameters = (k - 1) + k * m + k * m * (m + 1) // 2
    bic = -2.0 * n * state.log_likelihood + n_parameters * math.log(n)
    return GMMFit(mixture, state.log_likelihood, state.n_iter, state.converged, bic, n_parameters)


def _em(x: torch.Tensor, k: int, max_iter: int, tol: float, reg_covar: float, gen) -> _EMState:
    """One EM run from a k-means start.

    Iterations and the stopping rule are scikit-learn's (E-step, M-step, stop once the
    E-step's log-likelihood moved by less than ``tol``); a last E-step then gives the
    log-likelihood of the parameters returned.
    """
    labels = _kmeans(x, k, gen)
    state = _m_step(x, torch.nn.functional.one_hot(labels, k).to(DTYPE), reg_covar)
    previous, converged, step = None, False, 0
    for step in range(1, max_iter + 1):
        log_likelihood, resp = _e_step(x, state)
        state = _m_step(x, resp, reg_covar)
        if previous is not None and abs(log_likelihood - previous) < tol:
            converged = True
            break
        previous = log_likelihood
    state.log_likelihood, _ = _e_step(x, state)
    state.n_iter, state.converged = step, converged
    return state


def _e_step(x: torch.Tensor, state: _EMState) -> tuple[float, torch.Tensor]:
    """Mean log-likelihood and responsibilities (N, J), block by block of samples."""
    n, m = x.shape
    k = state.means.shape[0]
    log_weights = torch.log(state.weights)
    resp = torch.empty(n, k, dtype=DTYPE, device=x.device)
    total = torch.zeros((), dtype=DTYPE, device=x.device)
    for rows in _row_blocks(n, k * m, x.device):
        log_prob = component_log_probs(x[rows], log_weights, state.means, state.cholesky)  # (B, J)
        log_norm = torch.logsumexp(log_prob, dim=1, keepdim=True)
        torch.exp(log_prob.sub_(log_norm), out=resp[rows])
        total += log_norm.sum()
    return float(total) / n, resp


def em_steps(samples, weights, means, covariances, *, n_iter: int, reg_covar: float = 1e-6):
    """``n_iter`` EM iterations from a given mixture (a warm start): (weights, means, covariances).

    The same E- and M-steps as ``fit_gmm``, for callers that refit a prior to latents that
    move between refits (the probe's flows).

    Parameters
    ----------
    samples : Tensor, shape (N, m)
    weights, means, covariances : Tensor, shapes (J,), (J, m), (J, m, m)
    n_iter : int
    reg_covar : float
    """
    x = check_tensor(samples, "samples", dtype=DTYPE, device=_device_of(samples), ndim=2)
    check_int(n_iter, "n_iter", minimum=0)
    reg_covar = check_real(reg_covar, "reg_covar", low=0.0)
    cholesky, info = torch.linalg.cholesky_ex(covariances)
    if bool((info != 0).any()):
        raise ValueError("covariances: expected positive definite matrices")
    state = _EMState(weights, means, covariances, cholesky)
    for _ in range(n_iter):
        _, resp = _e_step(x, state)
        state = _m_step(x, resp, reg_covar)
    return state.weights, state.means, state.covariances


def _device_of(value) -> torch.device:
    return value.device if isinstance(value, torch.Tensor) else torch.device("cpu")


def _m_step(x: torch.Tensor, resp: torch.Tensor, reg_covar: float) -> _EMState:
    n, m = x.shape
    k = resp.shape[1]
    # The floor keeps an emptied component's weight positive and its mean finite.
    counts = resp.sum(0) + 10 * torch.finfo(DTYPE).eps
    means = (resp.T @ x) / counts[:, None]
    scatter = torch.zeros(k, m, m, dtype=DTYPE, device=x.device)
    for rows in _row_blocks(n, k * m, x.device):
        # Centred form: the raw second moment minus μμᵀ would cancel for far-off components.
        centred = x[rows].unsqueeze(0) - means.unsqueeze(1)  # (J, B, m)
        weighted = centred * resp[rows].T.unsqueeze(-1)
        scatter.baddbmm_(weighted.transpose(1, 2), centred)
    covariances = scatter / counts[:, None, None]
    covariances.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
    cholesky, info = torch.linalg.cholesky_ex(covariances)
    if bool((info != 0).any()):
        j = int(torch.nonzero(info)[0])
        raise ValueError(
            f"reg_covar: the covariance of component {j} is singular even after adding reg_covar={reg_covar}; raise it"
        )
    return _EMState(counts / n, means, covariances, cholesky)


def _row_blocks(n: int, width: int, device: torch.device) -> list[slice]:
    """Slices of n samples whose (rows, width) temporaries hold about CPU_BLOCK (GPU_BLOCK) numbers.

    On a CPU, temporaries that fit in cache are reused instead of freshly allocated and
    faulted in, which is most of the cost of these memory-bound steps; a GPU wants few,
    large launches, with memory bounded all the same.
    """
    budget = CPU_BLOCK if device.type == "cpu" else GPU_BLOCK
    size = max(1, budget // max(1, width))
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _kmeans(x: torch.Tensor, k: int, gen) -> torch.Tensor:
    """Hard labels (N,) for EM's start; x is centred.

    A few greedy k-means++ seedings, each refined by Lloyd's iterations, run on a random
    subsample of at most max(KMEANS_SAMPLE, 50 k) rows; the lowest-inertia centres are
    then refined on all samples. A start needs no more precision than a subsample gives,
    and this keeps k-means a small part of the fit for large N.
    """
    # As scikit-learn: Lloyd stops once the centres move by less than KMEANS_TOL times the
    # mean variance of the coordinates (squared, summed over centres).
    threshold = KMEANS_TOL * float(x.square().mean())
    size = max(KMEANS_SAMPLE, 50 * k)
    sample = x
    if x.shape[0] > size:
        rows = torch.randperm(x.shape[0], generator=gen, device=_draw_device(gen))[:size]
        sample = x[rows.to(x.device)]
    try:
        seeds = [_kmeans_plusplus(sample, k, gen) for _ in range(KMEANS_SEEDINGS)]
    except _TooFewDistinct:
        if sample is x:
            raise
        sample = x  # the subsample missed distinct rows that x has, or x lacks them too
        seeds = [_kmeans_plusplus(x, k, gen) for _ in range(KMEANS_SEEDINGS)]
    runs = [_lloyd(sample, centres, threshold) for centres in seeds]
    labels, _, centres = min(runs, key=lambda run: run[1])
    return labels if sample is x else _lloyd(x, centres, threshold)[0]


def _lloyd(x: torch.Tensor, centres: torch.Tensor, threshold: float) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Lloyd's iterations from ``centres`` until no label changes or the centres move less than ``threshold``.

    Returns the labels (N,), their inertia (sum of squared distances) and the centres.
    """
    k = centres.shape[0]
    columns = x.T.contiguous()  # (m, N): the distance GEMM is faster with samples as columns
    labels, scores = _nearest(columns, centres)
    for _ in range(KMEANS_MAX_ITER):
        counts = torch.bincount(labels, minlength=k).to(DTYPE)
        sums = torch.zeros_like(centres).index_add_(0, labels, x)
        filled = counts > 0  # an emptied cluster keeps its old centre
        new_centres = torch.where(filled[:, None], sums / counts.clamp_min(1)[:, None], centres)
        shift = float((new_centres - centres).square().sum())
        centres = new_centres
        new_labels, scores = _nearest(columns, centres)
        if torch.equal(new_labels, labels) or shift <= threshold:
            labels = new_labels
            break
        labels = new_labels
    return labels, float(scores.sum() + x.square().sum()), centres


class _TooFewDistinct(ValueError):
    """k-means++ ran out of distinct samples."""


def _kmeans_plusplus(x: torch.Tensor, k: int, gen) -> torch.Tensor:
    """Greedy k-means++ (as scikit-learn): each step keeps the best of 2 + log k D²-sampled candidates.

    Distances are exact differences, so a repeated sample is at distance exactly 0 from
    its copy; a zero potential then proves there are fewer than k distinct samples.
    """
    n = x.shape[0]
    trials = 2 + int(math.log(k))
    draws = _uniforms(1 + (k - 1) * trials, gen).to(x.device)
    first = min(int(draws[0] * n), n - 1)
    centres = [x[first]]
    closest = _squared_distances(x, x[first : first + 1])[0]
    for c in range(1, k):
        cumulative = torch.cumsum(closest, 0)
        if float(cumulative[-1]) == 0.0:
            raise _TooFewDistinct(f"n_components: J = {k} exceeds the number of distinct samples ({c})")
        targets = draws[1 + (c - 1) * trials : 1 + c * trials] * cumulative[-1]
        candidates = torch.searchsorted(cumulative, targets).clamp_max(n - 1)
        candidate_closest = torch.minimum(closest, _squared_distances(x, x[candidates]))
        best = torch.argmin(candidate_closest.sum(1))
        closest = candidate_closest[best]
        centres.append(x[candidates[best]])
    return torch.stack(centres)


def _uniforms(count: int, gen) -> torch.Tensor:
    """Uniforms in (0, 1]: a target of exactly 0 could pick a point already chosen."""
    return 1.0 - torch.rand(count, generator=gen, dtype=DTYPE, device=_draw_device(gen))


def _draw_device(gen) -> torch.device:
    """Random numbers are drawn where the generator lives (the CPU for a seed or None)."""
    return gen.device if gen is not None else torch.device("cpu")


def _squared_distances(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """‖x − c‖² for each centre and sample, shape (C, N)."""
    ones = torch.ones(x.shape[1], dtype=DTYPE, device=x.device)
    out = torch.empty(centres.shape[0], x.shape[0], dtype=DTYPE, device=x.device)
    for rows in _row_blocks(x.shape[0], centres.numel(), x.device):
        # A matrix-vector product sums the short rows much faster than a reduction.
        out[:, rows] = (x[rows].unsqueeze(0) - centres.unsqueeze(1)).square_() @ ones
    return out


def _nearest(columns: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre of each sample (N,), and its squared distance minus ‖x‖² (N,); samples are the columns (m, N)."""
    n = columns.shape[1]
    norms = centres.square().sum(1, keepdim=True)
    labels = torch.empty(n, dtype=torch.long, device=columns.device)
    best = torch.empty(n, dtype=columns.dtype, device=columns.device)
    for block in _row_blocks(n, centres.shape[0], columns.device):
        # ‖x‖² is common to every centre, so it drops out of the argmin.
        scores = torch.addmm(norms, centres, columns[:, block], alpha=-2.0)  # (k, B)
        torch.min(scores, dim=0, out=(best[block], labels[block]))
    return labels, best


__all__ = [
    "ConvergenceWarning",
    "GMMFit",
    "MixtureMatch",
    "check_same_mixture",
    "em_steps",
    "fit_gmm",
    "gmm_inner_product",
    "gmm_l2_distance",
    "l2_resolution",
    "match_mixtures",
]
