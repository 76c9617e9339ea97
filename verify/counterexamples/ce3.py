"""CE3 drops the Gaussian-mixture prior: an area-preserving PA homeomorphism of a uniform law."""

from __future__ import annotations

import torch

from models import LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_full_support, dropped
from .entry import Counterexample, where
from .maps import (
    CE3_L,
    QUAD_VERTICES,
    SQUARE_VERTICES,
    SampledModel,
    ce3_phi_inverse_network,
    ce3_phi_network,
    compose_networks,
    identity_network,
    uniform_polygon_log_prob,
    uniform_polygon_sampler,
)


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE3: Z uniform on [0, 1]²; φ = L z below the diagonal, z above, is an area-preserving PA homeomorphism."""
    f = embedding if embedding is not None else identity_network(2)
    decoder_b = compose_networks(f, ce3_phi_inverse_network())
    square = SampledModel(lambda n, g: torch.rand(n, 2, generator=g, dtype=DTYPE), f, latent_dim=2, observed_dim=f.out_dim,
                          description="z ~ U([0, 1]²), x = f(z)", latent_log_prob=uniform_polygon_log_prob(SQUARE_VERTICES))
    quad = SampledModel(uniform_polygon_sampler(QUAD_VERTICES), decoder_b, latent_dim=2, observed_dim=f.out_dim,
                        description="z ~ U(Q), Q = φ([0, 1]²), x = f(φ⁻¹(z))", latent_log_prob=uniform_polygon_log_prob(QUAD_VERTICES))
    return Counterexample(
        "CE3", "Gaussian-mixture prior",
        "U([0, 1]²) with f, against U(Q) with f ∘ φ⁻¹; φ(z) = L z where z2 <= z1, z elsewhere, "
        "L = [[1.5, −0.5], [0.5, 0.5]]" + where(embedding),
        square, quad, embedding=embedding, build=build, evidence=evidence, parts={"base_out": 2, "f": f},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    z, x = ce.model_a.sample(n, seed)
    z_b = ce3_phi_network()(f.inverse(x))
    outside = ev.grid_2d(-1.0, 2.0, 31)
    return [
        ev.area_preserving_bijection(ce3_phi_network(), CE3_L),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(z, z_b, "z' = φ(z)"),
        ev.not_a_parallelogram(QUAD_VERTICES),
        dropped("gaussian_mixture_prior", check_full_support(ce.model_a.latent_log_prob, outside)),
    ]
