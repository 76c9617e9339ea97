"""CE1 drops weak injectivity: f(z) = |z| folds two components onto one."""

from __future__ import annotations

import torch

from models import GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import dropped
from .entry import Counterexample, after, mixture, where
from .maps import abs_network, gaussian


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE1: f(z) = |z|; 0.5 N(1, 1) + 0.5 N(−1, 1) and N(1, 1) fold to the same law (J = 2 vs 1)."""
    decoder = after(embedding, abs_network(1))
    prior_a = mixture([0.5, 0.5], [[1.0], [-1.0]], [1.0, 1.0])
    prior_b = gaussian(1, [1.0])
    return Counterexample(
        "CE1", "weak injectivity",
        "f(z) = |z| = ReLU(z) + ReLU(−z); P = 0.5 N(1, 1) + 0.5 N(−1, 1), P' = N(1, 1)" + where(embedding),
        GenerativeModel(decoder, prior_a), GenerativeModel(decoder, prior_b),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 1},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    decoder = ce.model_a.decoder
    z_grid = torch.linspace(0.05, 6.0, 240, dtype=DTYPE).unsqueeze(1)
    density = ev.same_density_1d(decoder, ce.model_a.prior.log_prob, ce.model_b.prior.log_prob, decoder(z_grid))
    return [
        density,
        ev.two_sample(ce, n, seed),
        ev.different_components(ce.model_a.prior.n_components, ce.model_b.prior.n_components),
        dropped("weak_injectivity", ev.weak_injectivity(decoder)),
    ]
