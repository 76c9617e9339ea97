"""Verdicts do not move with the coordinates: translating the latent box, shifting the outputs or
rescaling either space leaves every conclusive verdict as it was.

g(z) = c_out · f((z − t) / c_in) + s on the box t + c_in · [−1, 1]^m is injective (weakly injective)
there exactly when f is on [−1, 1]^m. Translations and shifts are rounded when the composed network
is built (the first layer's offsets and the last bias), so a verdict may turn unknown, but never
into the opposite one; power-of-two rescalings are exact, and then the verdicts are equal.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from models import AffineMap, LeakyReLUNetwork
from models.strategies import networks
from verify import check_injective, check_weakly_injective

D = torch.float64
SMALL = networks(max_in_dim=2, max_width=4, max_depth=3, max_out_dim=3)
CHECKS = (check_injective, check_weakly_injective)


def moved(net: LeakyReLUNetwork, t: torch.Tensor, shift: float, c_in: float, c_out: float) -> LeakyReLUNetwork:
    """c_out · net((z − t) / c_in) + shift."""
    m = net.in_dim
    inner = net.precompose(AffineMap(torch.eye(m, dtype=D) / c_in, -t / c_in))
    weights, biases = inner.weights, inner.biases
    weights[-1] = weights[-1] * c_out
    biases[-1] = biases[-1] * c_out + shift
    return LeakyReLUNetwork(weights, biases, inner.slopes)


def _box(t: torch.Tensor, half: float):
    return (t - half, t + half)


def _no_contradiction(first, second):
    assert {first.holds, second.holds} != {True, False}, (first, second)


@given(SMALL, st.sampled_from([1e3, -1e6, 1e8, -1e8]), st.sampled_from([0.0, 1e6, -1e9]))
def test_translating_the_box_and_shifting_the_outputs_never_flips_a_verdict(net, offset, shift):
    t = torch.full((net.in_dim,), offset, dtype=D)
    t[0] = offset / 3  # not on the diagonal
    far = moved(net, t, shift, 1.0, 1.0)
    for check in CHECKS:
        _no_contradiction(check(net, box=1.0), check(far, box=_box(t, 1.0)))


@given(SMALL, st.sampled_from([-20, -10, 0, 10, 20]), st.sampled_from([-20, 0, 20]))
def test_rescaling_by_powers_of_two_keeps_every_verdict(net, k_in, k_out):
    # 2^±20 ≈ 1e±6: the composed network is exact, so the verdicts must agree exactly.
    c_in, c_out = 2.0 ** k_in, 2.0 ** k_out
    scaled = moved(net, torch.zeros(net.in_dim, dtype=D), 0.0, c_in, c_out)
    for check in CHECKS:
        first, second = check(net, box=1.0), check(scaled, box=c_in)
        _no_contradiction(first, second)
        if first.holds is not None and second.holds is not None:
            assert first.holds == second.holds
