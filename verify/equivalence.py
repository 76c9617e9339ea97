"""Affine equivalence of generative models (``docs/theory.md``: T1, T2, and the checks they call for).

Two models (f_a, P_a), (f_b, P_b) are affinely equivalent when an invertible affine
h satisfies h#P_a = P_b and f_a = f_b ∘ h. ``recover_affine_map`` finds the only
candidate h from data (through the exact inverse of b's decoder);
``check_affine_equivalence`` then tests both equalities (``verify.canonical_form`` picks
a representative of the affine class).
"""

from __future__ import annotations

import math

import torch

from models import GenerativeModel, OffImageError
from models.regions import EXACT_MAX_DIM
from models.validation import DTYPE, check_generator, check_instance, check_int, check_real

from .affine_fit import AffineFit, fit_affine
from .check_result import CheckResult
from .decoder_agreement import check_same_decoder
from .mixtures import check_same_mixture
from .prior_box import default_box
from .tolerances import DECODER_RTOL, FIT_RTOL, FIT_RTOL_MAX, SAME_MIXTURE_RTOL

__all__ = ["check_affine_equivalence", "condition_bound", "latent_scale", "recover_affine_map"]


def recover_affine_map(model_a: GenerativeModel, model_b: GenerativeModel, *, n: int = 2000, generator=0) -> AffineFit:
    """The candidate h with f_a = f_b ∘ h, from n samples of model a.

    Latents z ~ P_a are pushed through f_a (noise-free) and pulled back through the
    exact layerwise inverse of f_b; h is the least-squares affine fit between them.

    Raises
    ------
    NotInjectiveError
        If f_b has no layerwise inverse.
    OffImageError
        If some f_a(z) is off the image of f_b (the models are then not equivalent).
    """
    _check_pair(model_a, model_b)
    check_int(n, "n", minimum=model_a.latent_dim + 2)
    # A model given in float32 carries float32 rounding into float64: the coarser dtype sets the residual tolerance.
    rtol = max(model_a.decoder.default_inverse_rtol(), model_b.decoder.default_inverse_rtol())
    model_a, model_b = _float64(model_a, model_b)
    z_a = model_a.prior.sample(n, check_generator(generator))
    return fit_affine(z_a, model_b.decoder.inverse(model_a.decoder(z_a), rtol=rtol))


def _float64(model_a, model_b):
    """Both models in float64 on a's device: verdicts are computed in float64."""
    model_a = model_a.to(dtype=DTYPE)
    return model_a, model_b.to(model_a.decoder.device, DTYPE)


def _check_pair(model_a, model_b) -> None:
    check_instance(model_a, GenerativeModel, "model_a")
    check_instance(model_b, GenerativeModel, "model_b")
    if model_a.latent_dim != model_b.latent_dim or model_a.observed_dim != model_b.observed_dim:
        raise ValueError(
            f"model_b: dimensions (latent {model_b.latent_dim}, observed {model_b.observed_dim}) differ from "
            f"model_a's (latent {model_a.latent_dim}, observed {model_a.observed_dim})"
        )


def condition_bound(network) -> float:
    """An upper bound on the condition number of a layerwise-invertible network:
    the product of the layers' condition numbers and of max(s, 1/s) for each slope."""
    bound = 1.0
    for w in network.weights:
        bound *= float(torch.linalg.cond(w))
    for s in network.slopes:
        bound *= max(s, 1.0 / s) if s > 0 else float("inf")
    return bound


def latent_scale(prior) -> float:
    """The prior's spread: the square root of the largest eigenvalue of its covariance."""
    return float(torch.linalg.eigvalsh(prior.covariance()).max().sqrt())


def check_affine_equivalence(
    model_a: GenerativeModel,
    model_b: GenerativeModel,
    *,
    n: int = 2000,
    fit_rtol: float | None = None,
    decoder_rtol: float = DECODER_RTOL,
    prior_rtol: float = SAME_MIXTURE_RTOL,
    generator=0,
    time_limit: float | None = None,
    box=None,
) -> CheckResult:
    """Is there an invertible affine h with h#P_a = P_b and f_a = f_b ∘ h?  (T2's conclusion.)

    The candidate h comes from ``recover_affine_map`` (computed in float64); it must fit
    to ``fit_rtol`` (default max(1e-8, 100 · eps · κ), κ = ``condition_bound`` of f_b,
    since the inverse amplifies rounding by κ), push P_a onto P_b
    (``check_same_mixture`` to ``prior_rtol``), and satisfy f_a = f_b ∘ h
    (``check_same_decoder`` to ``decoder_rtol``: exact on R^m for m <= 3; above, decided
    on ``box`` — by default the cube holding at least 1 − 1e-6 of P_a's mass
    (``verify.prior_box.default_box``) — by unit matching or a mixed-integer program,
    and unknown when neither finishes).

    ``time_limit`` (seconds) bounds the enumeration of the decoders' common cells; past it
    the decoders are compared at the samples only (and agreement there is unknown).

    Returns
    -------
    CheckResult
        ``statistic``: the largest ratio error / tolerance over the three criteria
        (fit, prior, decoder), each also in ``details``; it holds iff <= 1 and the
        decoder agreement was decided on all of R^m (unknown when it was only sampled).
        ``witness``: h when it holds; otherwise a latent point of model a where the
        relation fails (off f_b's image, worst fit residual, or f_a != f_b ∘ h), or the
        mismatched prior components.

    Raises
    ------
    NotInjectiveError
        If f_b has no layerwise inverse (the candidate h cannot be recovered).
    """
    _check_pair(model_a, model_b)
    check_int(n, "n", minimum=model_a.latent_dim + 2)
    decoder_rtol = check_real(decoder_rtol, "decoder_rtol", low=0.0)
    prior_rtol = check_real(prior_rtol, "prior_rtol", low=0.0)
    model_a, model_b = _float64(model_a, model_b)
    kappa = condition_bound(model_b.decoder)
    if fit_rtol is None:
        # An unbounded κ (a decoder without a bounded layerwise inverse) caps at FIT_RTOL_MAX.
        fit_rtol = min(max(FIT_RTOL, 100 * torch.finfo(DTYPE).eps * kappa), FIT_RTOL_MAX)
    fit_rtol = check_real(fit_rtol, "fit_rtol", low=0.0)
    z_a = model_a.prior.sample(n, check_generator(generator))
    try:
        z_b = model_b.decoder.inverse(model_a.decoder(z_a))
    except OffImageError as exc:  # f_a's image is not inside f_b's
        return _result(False, math.inf, z_a[exc.indices[0]], "a sampled f_a(z) off the image of f_b",
                       {"reason": f"f_a(z) is off the image of f_b: {exc}", "off_image": len(exc.indices)})
    fit = fit_affine(z_a, z_b)
    h = fit.map
    details = {"fit_relative_residual": fit.relative_residual, "fit_rtol": fit_rtol, "condition_bound": kappa}
    try:
        h.inverse()
        invertible = True
    except ValueError:
        invertible = False
    if fit.relative_residual > fit_rtol or not invertible:
        worst = int((h(z_a) - z_b).norm(dim=1).argmax())
        return _result(False, max(fit.relative_residual / max(fit_rtol, 1e-300), 1.0 + (not invertible)), z_a[worst],
                       "the affine fit of the latents", {**details, "reason": "no invertible affine map relates the latents",
                                                         "invertible": invertible, "recovered_map": h})
    prior_check = check_same_mixture(model_a.prior.affine(h), model_b.prior, rtol=prior_rtol)
    if box is None and model_a.latent_dim > EXACT_MAX_DIM:
        box = default_box(model_a.prior)
    decoder_check = check_same_decoder(model_a.decoder, model_b.decoder.precompose(h), latent_scale=latent_scale(model_a.prior),
                                       centre=model_a.prior.mean(), points=z_a, box=box, rtol=decoder_rtol, time_limit=time_limit)
    details.update(prior=prior_check.to_dict(), decoder=decoder_check.to_dict())
    if prior_check.holds is False or decoder_check.holds is False:
        holds = False
    elif decoder_check.holds is None:
        holds = None  # the decoders were compared at samples only: f_a = f_b ∘ h is not shown on all of R^m
    else:
        holds = True
    statistic = max(fit.relative_residual / max(fit_rtol, 1e-300), prior_check.statistic / max(prior_rtol, 1e-300),
                    decoder_check.statistic / max(decoder_rtol, 1e-300))
    if holds is not False:
        witness = h
    elif decoder_check.holds is False:
        witness = decoder_check.witness
    else:
        witness = prior_check.witness
    how = f"affine fit, closed-form prior comparison, decoder agreement: {decoder_check.method}"
    return _result(holds, statistic, witness, how, details, domain=decoder_check.domain)


def _result(holds, statistic, witness, how, details, domain="R^m") -> CheckResult:
    return CheckResult("affine_equivalence", holds, statistic, 1.0, "<=", witness, domain=domain, method=how, details=details)
