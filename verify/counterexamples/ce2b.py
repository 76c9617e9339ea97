"""CE2b drops piecewise affinity: the Gaussianizing map of a 1-D mixture."""

from __future__ import annotations

import torch

from models import GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_piecewise_affine, dropped
from .entry import Counterexample, mixture, where
from .maps import GaussianizingMap, SampledModel, gaussian, identity_network

CE2B_PRIOR = dict(weights=[0.5, 0.5], means=[[-2.0], [2.0]], variances=[0.25, 0.25])


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE2 (Gaussianizing): T = Φ⁻¹ ∘ F turns a two-component 1-D mixture into N(0, 1)."""
    f = embedding if embedding is not None else identity_network(1)
    prior_a = mixture(**CE2B_PRIOR)
    transform = GaussianizingMap(prior_a)
    decoder_b = lambda u: f(transform.inverse(u))  # noqa: E731
    return Counterexample(
        "CE2b", "piecewise-affine decoder",
        "P = 0.5 N(−2, 0.25) + 0.5 N(2, 0.25) with f, against N(0, 1) with f ∘ T⁻¹, T = Φ⁻¹ ∘ F_P" + where(embedding),
        GenerativeModel(f, prior_a),
        SampledModel(gaussian(1), decoder_b, latent_dim=1, observed_dim=f.out_dim, description="u ~ N(0, 1), x = f(T⁻¹(u))"),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 1, "f": f, "T": transform},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f, transform = ce._parts["f"], ce._parts["T"]
    prior_a, prior_b = ce.model_a.prior, ce.model_b.prior
    z, x = ce.model_a.sample(n, seed)
    u = transform(f.inverse(x))
    grid = torch.linspace(-4.5, 4.5, 361, dtype=DTYPE).unsqueeze(1)
    return [
        ev.prior_preserved(transform, transform.inverse, prior_a.log_prob, prior_b.log_prob, grid, "T = Φ⁻¹ ∘ F_P"),
        ev.two_sample(ce, n, seed),
        ev.different_components(prior_a.n_components, prior_b.n_components),
        ev.latents_not_affine(z, u, "u = T(z)"),
        dropped("piecewise_affine", check_piecewise_affine(ce.model_b.decoder, prior_b.sample(64, seed + 1), generator=seed)),
    ]
