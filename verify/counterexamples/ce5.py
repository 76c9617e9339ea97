"""CE5 drops the nondegenerate covariance: decoders that agree only on the support."""

from __future__ import annotations

import torch

from models import LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_nondegenerate_covariance, dropped
from .entry import Counterexample, where
from .maps import (
    SampledModel,
    ce5_decoder_inverse,
    ce5_decoder_network,
    compose_networks,
    degenerate_gaussian_sampler,
    gaussian,
    identity_network,
)


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE5: Z = (G, 0); f = id and f'(z) = (z1, z2 + ReLU(z2)) agree on the support."""
    f = embedding if embedding is not None else identity_network(2)
    decoder_b = compose_networks(f, ce5_decoder_network())
    model_a = SampledModel(degenerate_gaussian_sampler, f, latent_dim=2, observed_dim=f.out_dim, description="z = (G, 0), x = f(z)")
    model_b = SampledModel(degenerate_gaussian_sampler, decoder_b, latent_dim=2, observed_dim=f.out_dim,
                           description="z = (G, 0), x = f(f'(z))")
    return Counterexample(
        "CE5", "nondegenerate covariance",
        "Z = (G, 0), G ~ N(0, 1); f = id against f'(z) = (z1, z2 + ReLU(z2))" + where(embedding),
        model_a, model_b, embedding=embedding, build=build, evidence=evidence, parts={"base_out": 2, "f": f},
    )


CE5_COVARIANCE = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=DTYPE)


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    support = torch.stack([torch.linspace(-5.0, 5.0, 401, dtype=DTYPE), torch.zeros(401, dtype=DTYPE)], dim=1)
    # T2 asks for f = f' ∘ h on all of R², so h is probed off the support too.
    plane = gaussian(2).sample(n, seed)
    h_of_plane = ce5_decoder_inverse(f.inverse(ce.model_a.decoder(plane)))
    return [
        ev.decoders_agree(ce.model_a.decoder, ce.model_b.decoder, support),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(plane, h_of_plane, "h = f'⁻¹ ∘ f on R²"),
        dropped("nondegenerate_covariance", check_nondegenerate_covariance(CE5_COVARIANCE)),
    ]
