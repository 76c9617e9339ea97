"""CE4 drops continuity of the decoder: T1 survives, T2 fails."""

from __future__ import annotations

import torch

from models import GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_continuous, dropped
from .entry import Counterexample, where
from .maps import SampledModel, flip_inside, gaussian, identity_network


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE4: Z = Z' = N(0, 1), f = id and f'(z) = −z on (−1, 1), z elsewhere (discontinuous)."""
    f = embedding if embedding is not None else identity_network(1)
    prior = gaussian(1)
    decoder_b = lambda z: f(flip_inside(z))  # noqa: E731
    return Counterexample(
        "CE4", "continuity of the decoder",
        "P = P' = N(0, 1); f = id against f'(z) = −z on (−1, 1), z elsewhere" + where(embedding),
        GenerativeModel(f, prior),
        SampledModel(prior, decoder_b, latent_dim=1, observed_dim=f.out_dim, description="z ~ N(0, 1), x = f(f'(z))"),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 1, "f": f},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    prior = ce.model_a.prior
    z, x = ce.model_a.sample(n, seed)
    z_b = flip_inside(f.inverse(x))  # f' is an involution, so (f')⁻¹ = f'
    grid = torch.linspace(-4.0, 4.0, 400, dtype=DTYPE).unsqueeze(1)
    return [
        ev.prior_preserved(flip_inside, flip_inside, prior.log_prob, prior.log_prob, grid, "f' (an involution, derivative ±1)"),
        ev.two_sample(ce, n, seed),
        ev.decoder_mismatch_under_symmetries(ce.model_a.decoder, ce.model_b.decoder, grid),
        ev.latents_not_affine(z, z_b, "z' = f'⁻¹(f(z))"),
        dropped("continuity", check_continuous(ce.model_b.decoder, torch.tensor([-3.0]), torch.tensor([3.1]))),
    ]
