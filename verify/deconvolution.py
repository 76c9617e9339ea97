"""Deconvolution (``docs/theory.md``, T5): the law of x = f(z) + ε determines the law of f(z).

With ε ~ N(0, σ² I) independent of z, the characteristic functions satisfy

    φ_x(t) = φ_f(z)(t) · exp(−σ² |t|² / 2),

and the Gaussian factor never vanishes, so φ_f(z) = φ_x / exp(−σ²|t|²/2) is determined
(then the law, by Lévy's continuity theorem). ``check_deconvolution`` tests the identity
on samples of both sides at a set of frequencies, against a finite-sample bound.

The bound (Hoeffding). An empirical characteristic function at t is the mean of
cos(t·x_i) and of sin(t·x_i), each a mean of N independent variables with values in
[−1, 1], so P(|mean − expectation| >= ε) <= 2 exp(−N ε² / 2). Over K frequencies, the
two parts and the two samples there are 4K such means; giving each the failure
probability δ / (4K), with probability at least 1 − δ every one of them is within

    ε_N = sqrt(2 log(8K / δ) / N),

so each complex empirical c.f. is within √2 ε_N of its expectation, and at every t

    |φ̂_noisy(t) − φ̂_clean(t) g(t)| <= √2 (ε_N + g(t) ε_M),   g(t) = exp(−σ²|t|²/2) <= 1,

when the identity holds (N noisy, M clean samples). The frequencies must not depend on
the samples; the defaults depend only on σ, the dimension and a seed.
"""

from __future__ import annotations

import math

import torch

from models.validation import DTYPE, check_generator, check_int, check_real, check_tensor

from .check_result import CheckResult
from .tolerances import DELTA

N_FREQUENCIES = 32
# Default radii: σ|t| in [RADIUS_LOW, RADIUS_HIGH], where the noise factor g is between
# about 0.98 and 0.5: low enough that φ_f(z)(t) is not negligible for data of spread ~ σ⁻¹…1,
# high enough that a wrong σ changes g measurably.
RADIUS_LOW, RADIUS_HIGH = 0.2, 1.2
# Radii when σ = 0 (no noise: the check compares the two laws directly), in units of 1 / scale of x.
RADIUS_NO_NOISE = (0.1, 2.0)


def empirical_cf(x: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """The empirical characteristic function mean_i exp(i t·x_i) at each frequency, complex (K,)."""
    phase = frequencies @ x.T  # (K, N)
    return torch.complex(torch.cos(phase).mean(1), torch.sin(phase).mean(1))


def hoeffding_radius(n: int, n_frequencies: int, delta: float) -> float:
    """ε_n = sqrt(2 log(8K / δ) / n): each of the 4K real means is within it, jointly with prob. >= 1 − δ."""
    return math.sqrt(2.0 * math.log(8.0 * n_frequencies / delta) / n)


def default_frequencies(dim: int, noise_scale: float, n_frequencies: int = N_FREQUENCIES, generator=0) -> torch.Tensor:
    """K frequencies: uniform random directions, radii spread geometrically over σ|t| in [0.2, 1.2].

    They depend on σ, the dimension and the generator only, never on the samples.
    """
    check_int(dim, "dim")
    check_int(n_frequencies, "n_frequencies")
    noise_scale = check_real(noise_scale, "noise_scale", low=0.0)
    gen = check_generator(generator)
    directions = torch.randn(n_frequencies, dim, generator=gen, dtype=DTYPE)
    directions = directions / directions.norm(dim=1, keepdim=True)
    low, high = (RADIUS_LOW / noise_scale, RADIUS_HIGH / noise_scale) if noise_scale > 0 else RADIUS_NO_NOISE
    radii = torch.logspace(math.log10(low), math.log10(high), n_frequencies, dtype=DTYPE)
    return radii.unsqueeze(1) * directions


def check_deconvolution(x_noisy, x_clean, noise_scale: float, frequencies=None, *, delta: float = DELTA,
                        n_frequencies: int = N_FREQUENCIES, generator=0) -> CheckResult:
    """Is the law of ``x_noisy`` that of ``x_clean`` plus independent N(0, σ² I) noise?

    Compares φ̂_noisy(t) with φ̂_clean(t) · exp(−σ²|t|²/2) at each frequency against the
    Hoeffding bound of the module docstring, at confidence 1 − ``delta``.

    Parameters
    ----------
    x_noisy : array_like, shape (N, d)
        Samples of x = f(z) + ε.
    x_clean : array_like, shape (M, d)
        Independent samples of f(z) (e.g. the model sampled without noise).
    noise_scale : float
        σ >= 0.
    frequencies : array_like, shape (K, d), optional
        Chosen without looking at the samples; default ``default_frequencies``.
    delta : float
        In (0, 1): the probability that the bound fails although the identity holds.
    n_frequencies : int
        K when ``frequencies`` is not given.
    generator : torch.Generator or int
        Source of the default frequencies' directions.

    Returns
    -------
    CheckResult
        ``statistic``: max_t |difference(t)| / bound(t), ``tolerance`` 1; holds iff <= 1.
        ``witness`` when it fails: the frequency with the largest excess over its bound,
        with the difference, the bound and both c.f. values there. ``details``: N, M, K,
        δ, ε_N, ε_M and the largest difference.
    """
    x = check_tensor(x_noisy, "x_noisy", dtype=DTYPE, device=torch.device("cpu"), ndim=2)
    y = check_tensor(x_clean, "x_clean", dtype=DTYPE, device=torch.device("cpu"), ndim=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x_clean: expected points of dimension {x.shape[1]} to match x_noisy, got {y.shape[1]}")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError("x_noisy, x_clean: expected at least 2 samples each")
    sigma = check_real(noise_scale, "noise_scale", low=0.0)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    if frequencies is None:
        t = default_frequencies(x.shape[1], sigma, n_frequencies, generator)
    else:
        t = check_tensor(frequencies, "frequencies", dtype=DTYPE, device=torch.device("cpu"), ndim=2)
        if t.shape[1] != x.shape[1] or t.shape[0] == 0:
            raise ValueError(f"frequencies: expected shape (K, {x.shape[1]}) with K >= 1, got {tuple(t.shape)}")
    k = t.shape[0]
    noise_cf = torch.exp(-0.5 * sigma**2 * t.square().sum(1))
    cf_noisy = empirical_cf(x, t)
    cf_clean = empirical_cf(y, t)
    difference = (cf_noisy - cf_clean * noise_cf).abs()
    eps_noisy = hoeffding_radius(x.shape[0], k, delta)
    eps_clean = hoeffding_radius(y.shape[0], k, delta)
    bound = math.sqrt(2.0) * (eps_noisy + noise_cf * eps_clean)
    ratio = difference / bound
    worst = int(ratio.argmax())
    statistic = float(ratio[worst])
    holds = statistic <= 1.0
    witness = None
    if not holds:
        excess = int((difference - bound).argmax())
        witness = {"frequency": t[excess], "difference": float(difference[excess]), "bound": float(bound[excess]),
                   "cf_noisy": (float(cf_noisy[excess].real), float(cf_noisy[excess].imag)),
                   "cf_clean_times_noise": (float((cf_clean[excess] * noise_cf[excess]).real),
                                            float((cf_clean[excess] * noise_cf[excess]).imag))}
    details = {"n_noisy": x.shape[0], "n_clean": y.shape[0], "n_frequencies": k, "delta": delta, "noise_scale": sigma,
               "eps_noisy": eps_noisy, "eps_clean": eps_clean, "max_difference": float(difference.max()),
               "bound": "sqrt(2) (eps_noisy + g(t) eps_clean), eps_n = sqrt(2 log(8K/delta) / n) (Hoeffding, union over 4K means)"}
    return CheckResult("deconvolution", holds, statistic, 1.0, "<=", witness, domain=f"{k} frequencies, {x.shape[0]} + {y.shape[0]} samples",
                       method=f"empirical characteristic functions against a Hoeffding bound (statistical, delta = {delta:g})",
                       details=details)
