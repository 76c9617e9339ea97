"""Affine equivalence of generative models (THEORY.md, T1, T2, and the checks they call for).

Two models (f_a, P_a), (f_b, P_b) are affinely equivalent when an invertible affine
h satisfies h#P_a = P_b and f_a = f_b ∘ h. ``recover_affine_map`` finds the only
candidate h from data (through the exact inverse of b's decoder);
``check_affine_equivalence`` then tests both equalities; ``canonical_form`` picks a
representative of the affine class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models import AffineMap, GenerativeModel, OffImageError
from models._validation import as_tensor, check_nonnegative_float, check_positive_int, make_generator

from .canonical_form import CanonicalForm, canonical_form  # noqa: F401  (part of this module's API, DESIGN.md)
from .check_result import CheckResult
from .decoder_agreement import DECODER_RTOL, check_same_decoder
from .mixtures import SAME_MIXTURE_TOL, check_same_mixture

# Default relative tolerances (float64). Each is reported in the CheckResult it decides.
FIT_RTOL = 1e-8
PRIOR_RTOL = SAME_MIXTURE_TOL


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
    z_from = as_tensor(z_from, "z_from", dtype=torch.float64, device=_device(z_from), ndim=2)
    z_to = as_tensor(z_to, "z_to", dtype=torch.float64, device=z_from.device, ndim=2)
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


def recover_affine_map(model_a: GenerativeModel, model_b: GenerativeModel, n: int = 2000, generator=0) -> AffineFit:
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
    check_positive_int(n, "n", minimum=model_a.latent_dim + 2)
    model_a, model_b = _float64(model_a, model_b)
    z_a = model_a.prior.sample(n, make_generator(generator))
    return fit_affine(z_a, model_b.decoder.inverse(model_a.decoder(z_a)))


def _float64(model_a, model_b):
    """Both models in float64 on a's device: verdicts are computed in float64 (DESIGN.md)."""
    model_a = model_a.to(dtype=torch.float64)
    return model_a, model_b.to(model_a.decoder.device, torch.float64)


def _check_pair(model_a, model_b) -> None:
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, GenerativeModel):
            raise ValueError(f"{name}: expected a GenerativeModel, got {type(model).__name__}")
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
    prior_rtol: float = PRIOR_RTOL,
    generator=0,
) -> CheckResult:
    """Is there an invertible affine h with h#P_a = P_b and f_a = f_b ∘ h?  (T2's conclusion.)

    The candidate h comes from ``recover_affine_map`` (computed in float64); it must fit
    to ``fit_rtol`` (default max(1e-8, 100 · eps · κ), κ = ``condition_bound`` of f_b,
    since the inverse amplifies rounding by κ), push P_a onto P_b
    (``check_same_mixture`` to ``prior_rtol``), and satisfy f_a = f_b ∘ h
    (``check_same_decoder`` to ``decoder_rtol``: exact on R^m for m <= 3, else at
    the samples and region interior points).

    Returns
    -------
    CheckResult
        ``statistic``: the largest ratio error / tolerance over the three criteria
        (fit, prior, decoder), each also in ``details``; it holds iff <= 1.
        ``witness``: h when it holds; otherwise a latent point of model a where the
        relation fails (off f_b's image, worst fit residual, or f_a != f_b ∘ h), or the
        mismatched prior components.

    Raises
    ------
    NotInjectiveError
        If f_b has no layerwise inverse (the candidate h cannot be recovered).
    """
    _check_pair(model_a, model_b)
    check_positive_int(n, "n", minimum=model_a.latent_dim + 2)
    decoder_rtol = check_nonnegative_float(decoder_rtol, "decoder_rtol")
    prior_rtol = check_nonnegative_float(prior_rtol, "prior_rtol")
    model_a, model_b = _float64(model_a, model_b)
    kappa = condition_bound(model_b.decoder)
    if fit_rtol is None:
        fit_rtol = max(FIT_RTOL, 100 * torch.finfo(torch.float64).eps * kappa)
    fit_rtol = check_nonnegative_float(fit_rtol, "fit_rtol")
    z_a = model_a.prior.sample(n, make_generator(generator))
    try:
        z_b = model_b.decoder.inverse(model_a.decoder(z_a))
    except OffImageError as exc:  # f_a's image is not inside f_b's
        return CheckResult("affine_equivalence", False, math.inf, 1.0, witness=z_a[exc.indices[0]],
                           details={"reason": f"f_a(z) is off the image of f_b: {exc}", "off_image": len(exc.indices)})
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
        return CheckResult("affine_equivalence", False, max(fit.relative_residual / max(fit_rtol, 1e-300), 1.0 + (not invertible)), 1.0,
                           witness=z_a[worst], details={**details, "reason": "no invertible affine map relates the latents",
                                                        "invertible": invertible, "recovered_map": h})
    prior_check = check_same_mixture(model_a.prior.affine(h), model_b.prior, prior_rtol)
    decoder_check = check_same_decoder(model_a.decoder, model_b.decoder.precompose(h), latent_scale=latent_scale(model_a.prior),
                                       points=z_a, rtol=decoder_rtol)
    details.update(prior=prior_check.to_dict(), decoder=decoder_check.to_dict())
    holds = prior_check.holds and decoder_check.holds
    statistic = max(fit.relative_residual / max(fit_rtol, 1e-300), prior_check.statistic / max(prior_rtol, 1e-300),
                    decoder_check.statistic / max(decoder_rtol, 1e-300))
    if holds:
        witness = h
    elif not decoder_check.holds:
        witness = decoder_check.witness
    else:
        witness = prior_check.witness
    return CheckResult("affine_equivalence", holds, statistic, 1.0, witness=witness, details=details)
