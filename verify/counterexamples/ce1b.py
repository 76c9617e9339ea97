"""CE1b drops condition (ii) of weak injectivity: a decoder of rank 1 < m."""

from __future__ import annotations

import torch

from models import GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE

from ..check_result import CheckResult
from . import evidence as ev
from .assumptions import check_full_rank_somewhere, dropped
from .entry import Counterexample, after, mixture, where
from .maps import gaussian, identity_network


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE1b: f(z1, z2) = z1 with N(0, I) and 0.5 N((0, −1), I) + 0.5 N((0, 1), I)."""
    projection = LeakyReLUNetwork([torch.tensor([[1.0, 0.0]], dtype=DTYPE)], [torch.zeros(1, dtype=DTYPE)])
    decoder = after(embedding, projection)
    prior_a = gaussian(2)
    prior_b = mixture([0.5, 0.5], [[0.0, -1.0], [0.0, 1.0]], [1.0, 1.0])
    return Counterexample(
        "CE1b", "weak injectivity (ii): a decoder of rank m",
        "f(z1, z2) = z1 (rank 1); P = N(0, I_2), P' = 0.5 N((0, −1), I) + 0.5 N((0, 1), I)" + where(embedding),
        GenerativeModel(decoder, prior_a), GenerativeModel(decoder, prior_b),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 1, "projection": projection},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    projection = ce._parts["projection"]
    y_grid = torch.linspace(-5.0, 5.0, 241, dtype=DTYPE).unsqueeze(1)
    log_a = ev.linear_pushforward_log_density(ce.model_a.prior, projection)
    log_b = ev.linear_pushforward_log_density(ce.model_b.prior, projection)
    outer = ce.embedding if ce.embedding is not None else identity_network(1)
    density = ev.same_density_1d(outer, log_a, log_b, outer(y_grid))
    points = ce.model_a.prior.sample(200, seed)
    return [
        density,
        ev.two_sample(ce, n, seed),
        ev.different_components(ce.model_a.prior.n_components, ce.model_b.prior.n_components),
        dropped("weak_injectivity", ev.weak_injectivity(ce.model_a.decoder)),
        dropped("full_rank_piece", check_full_rank_somewhere(ce.model_a.decoder, points)),
    ]
