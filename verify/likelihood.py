"""Equality of the laws of x, decided by exact log-likelihoods.

For noise-free models with layerwise-invertible decoders, ``GenerativeModel.log_prob``
is exact, so two laws can be compared pointwise: observationally equivalent models
give the same log density at every x, and models whose laws differ show a positive
mean gap E_a[log p_a(x) − log p_b(x)] = KL(a ‖ b) (infinite when the images differ).
"""

from __future__ import annotations

import math

import torch

from models import GenerativeModel
from models.validation import DTYPE, check_generator, check_instance, check_int, check_real

from .check_result import CheckResult
from .tolerances import GAP_Z_SCORE, LOG_DENSITY_ATOL


def check_same_law(model_a: GenerativeModel, model_b: GenerativeModel, *, n: int = 2000, atol: float = LOG_DENSITY_ATOL, generator=0) -> CheckResult:
    """Do models a and b give the same law of x?  Exact, pointwise on samples of a.

    Holds iff |log p_a(x) − log p_b(x)| <= ``atol`` at every one of ``n`` samples
    x ~ a. ``details`` holds the mean gap (a Monte-Carlo estimate of KL(a ‖ b)), its
    standard error and the z-score, which ``check_laws_differ`` uses.

    Returns
    -------
    CheckResult
        ``statistic`` the largest pointwise gap; ``witness`` the x of the largest gap
        when it fails.
    """
    check_instance(model_a, GenerativeModel, "model_a")
    check_instance(model_b, GenerativeModel, "model_b")
    if model_a.observed_dim != model_b.observed_dim:
        raise ValueError(f"model_b: observed dimension {model_b.observed_dim} differs from model_a's {model_a.observed_dim}")
    if model_a.latent_dim != model_b.latent_dim:
        # Densities on images of different dimensions are with respect to different measures.
        raise ValueError(f"model_b: latent dimension {model_b.latent_dim} differs from model_a's {model_a.latent_dim}; "
                         "the image dimension alone tells these laws apart (T1')")
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if model.noise_scale > 0:
            raise ValueError(f"{name}: exact densities need noise_scale = 0 (use verify.two_sample for noisy models)")
    check_int(n, "n", minimum=2)
    atol = check_real(atol, "atol", low=0.0)
    model_a, model_b = model_a.to(dtype=DTYPE), model_b.to(model_a.decoder.device, DTYPE)
    _, x = model_a.sample(n, check_generator(generator))
    log_a = model_a.log_prob(x)
    log_b = model_b.log_prob(x)
    gap = log_a - log_b
    worst = int(gap.abs().argmax())
    max_gap = float(gap.abs()[worst])
    mean_gap = float(gap.mean())
    stderr = float(gap.std() / math.sqrt(n)) if math.isfinite(mean_gap) else 0.0
    z_score = mean_gap / stderr if stderr > 0 else (math.inf if mean_gap > 0 else 0.0)
    holds = max_gap <= atol
    details = {"n": n, "mean_gap": mean_gap, "stderr": stderr, "z_score": z_score, "off_image": int(torch.isinf(log_b).sum())}
    return CheckResult("same_law", holds, max_gap, atol, "<=", None if holds else x[worst], domain=f"{n} samples of x from model_a",
                       method="exact log-densities compared pointwise", details=details)


def check_laws_differ(model_a: GenerativeModel, model_b: GenerativeModel, *, n: int = 2000, z_threshold: float = GAP_Z_SCORE,
                      atol: float = LOG_DENSITY_ATOL, generator=0) -> CheckResult:
    """Do the laws of x differ *measurably*?  The converse direction of T1/T2.

    Holds iff the mean gap E_a[log p_a(x) − log p_b(x)] (an estimate of KL(a ‖ b))
    exceeds both ``atol`` and ``z_threshold`` standard errors over ``n`` samples of a,
    or is infinite (samples of a off the image of b).
    """
    # A threshold of 0 standard errors would call any sampling noise a difference.
    z_threshold = check_real(z_threshold, "z_threshold", low=0.0, low_open=True)
    same = check_same_law(model_a, model_b, n=n, atol=atol, generator=generator)
    z_score, mean_gap = same.details["z_score"], same.details["mean_gap"]
    # Rounding makes tiny gaps lean one way, so a z-score alone could call equal laws different.
    holds = z_score > z_threshold and mean_gap > atol
    details = {**same.details, "atol": atol}
    return CheckResult("laws_differ", holds, z_score, z_threshold, ">", same.witness if holds else None,
                       domain=f"{n} samples of x from model_a", method="mean exact log-density gap (a KL estimate) against its standard error",
                       details=details)
