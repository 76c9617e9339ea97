"""CE2a drops piecewise affinity: a swirl that preserves N(0, I)."""

from __future__ import annotations

from models import GenerativeModel, LeakyReLUNetwork

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_piecewise_affine, dropped
from .entry import Counterexample, where
from .maps import SampledModel, gaussian, identity_network, swirl


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE2 (swirl): φ rotates z by |z|²; it preserves N(0, I_2), so f and f ∘ φ⁻¹ are equivalent."""
    f = embedding if embedding is not None else identity_network(2)
    prior = gaussian(2)
    decoder_b = lambda z: f(swirl(z, -1.0))  # noqa: E731
    return Counterexample(
        "CE2a", "piecewise-affine decoder",
        "P = N(0, I_2); f and f ∘ φ⁻¹, φ(z) = rotation of z by |z|²" + where(embedding),
        GenerativeModel(f, prior),
        SampledModel(prior, decoder_b, latent_dim=2, observed_dim=f.out_dim, description="z ~ N(0, I_2), x = f(φ⁻¹(z))"),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 2, "f": f},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    prior = ce.model_a.prior
    z, x = ce.model_a.sample(n, seed)
    z_b = swirl(f.inverse(x), 1.0)  # the latent of model b that gives the same x (f is injective)
    return [
        ev.prior_preserved(lambda w: swirl(w, 1.0), lambda w: swirl(w, -1.0), prior.log_prob, prior.log_prob,
                           ev.grid_2d(-3.0, 3.0, 41), "rotation by |z|²"),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(z, z_b, "z' = φ(z)"),
        dropped("piecewise_affine", check_piecewise_affine(ce.model_b.decoder, prior.sample(64, seed + 1), generator=seed)),
    ]
