"""The linear bounds are sound for the exact network, rounding included, and the peak certificate
built on them is proved on the network and box as given (``verify.injectivity.bounds``, ``peak``)."""

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from models import AffineMap, LeakyReLUNetwork
from models.deadline import Deadline
from models.random import random_network
from models.strategies import networks
from verify.injectivity import bigm, check_weakly_injective, weak_box
from verify.injectivity.bounds import crown_bounds, interval_bounds, objective_bounds, output_relaxation


def _layers(net):
    layers = bigm.Layers.of(net)
    return layers.weights, layers.biases, layers.slopes


def _exact_forward(net, z):
    """Every hidden pre-activation and the output at a float point, in exact rationals."""
    h = [Fraction(float(v)) for v in z]
    hidden = []
    for k, (W, b) in enumerate(zip(net.weights, net.biases)):
        W, b = W.numpy(), b.numpy()
        pre = [sum((Fraction(float(W[i, j])) * h[j] for j in range(len(h))), Fraction(float(b[i]))) for i in range(W.shape[0])]
        if k == len(net.weights) - 1:
            return hidden, pre
        hidden.append(pre)
        s = Fraction(net.slopes[k])
        h = [v if v >= 0 else s * v for v in pre]


def _one_unit_net():
    """h = z1 + z2, f = h: at z = (1, 2^-53) the exact h = 1 + 2^-53 rounds to 1.0 in float64."""
    return LeakyReLUNetwork([torch.tensor([[1.0, 1.0]], dtype=torch.float64), torch.tensor([[1.0]], dtype=torch.float64)],
                            [torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)], 0.5)


def test_a_rounded_pre_activation_stays_inside_its_bounds():
    net = _one_unit_net()
    point = np.array([1.0, 2.0**-53])
    exact = Fraction(1) + Fraction(1, 2**53)
    assert float(point.sum()) == 1.0, "the planted rounding: float64 loses the exact value"
    w, b, s = _layers(net)
    for bounds in (interval_bounds(w, b, s, point, point), crown_bounds(w, b, s, point, point)):
        (l, u), = bounds
        assert Fraction(float(l[0])) <= exact <= Fraction(float(u[0]))
    top, _ = objective_bounds(w, b, s, point, point, np.array([1.0]))
    assert Fraction(float(top[0])) >= exact
    bottom, _ = objective_bounds(w, b, s, point, point, np.array([-1.0]))
    assert -Fraction(float(bottom[0])) <= exact


def _far_boxes():
    """Boxes far from the origin and narrow, where rounding of W z + b is largest against the box's width."""
    return st.tuples(st.sampled_from([0.0, 1e3, 1e6, 1e8]), st.sampled_from([1e-6, 1e-2, 1.0]), st.integers(0, 2**31 - 1))


@given(networks(max_in_dim=3, max_width=6, max_depth=3), _far_boxes())
def test_bounds_hold_in_exact_arithmetic_far_away_and_on_narrow_boxes(net, box):
    shift, width, seed = box
    gen = torch.Generator().manual_seed(seed)
    m = net.in_dim
    low = shift + width * torch.rand(m, generator=gen, dtype=torch.float64).numpy()
    high = low + width * (0.5 + torch.rand(m, generator=gen, dtype=torch.float64).numpy())
    corners = np.where(torch.rand(6, m, generator=gen).numpy() < 0.5, low, high)
    inside = low + (high - low) * torch.rand(6, m, generator=gen, dtype=torch.float64).numpy()
    w, b, s = _layers(net)
    bounds = crown_bounds(w, b, s, low, high)
    A_lo, c_lo, A_up, c_up = (t[0] for t in output_relaxation(w, b, s, low, high))
    v = np.linspace(-1.0, 1.0, net.out_dim) if net.out_dim > 1 else np.ones(1)
    top, _ = objective_bounds(w, b, s, low, high, v)
    for z in np.vstack([corners, inside]):
        hidden, out = _exact_forward(net, z)
        for pre, (l, u) in zip(hidden, bounds):
            assert all(Fraction(float(lo)) <= p <= Fraction(float(hi)) for p, lo, hi in zip(pre, l, u))
        zq = [Fraction(float(t)) for t in z]
        for i, x in enumerate(out):
            below = sum((Fraction(float(a)) * t for a, t in zip(A_lo[i], zq)), Fraction(float(c_lo[i])))
            above = sum((Fraction(float(a)) * t for a, t in zip(A_up[i], zq)), Fraction(float(c_up[i])))
            assert below <= x <= above
        assert sum((Fraction(float(a)) * x for a, x in zip(v, out)), Fraction(0)) <= Fraction(float(top[0]))


def test_a_peak_far_from_the_origin_is_verified_on_the_box_as_given():
    net = random_network((4, 32, 32, 10), 0.2, injective=False, generator=3)
    shift = torch.full((4,), 1e6, dtype=torch.float64)
    far = net.precompose(AffineMap(torch.eye(4, dtype=torch.float64), -shift))
    box = (shift - 3.0, shift + 3.0)
    result = check_weakly_injective(far, box=box, time_limit=60)
    assert result.holds is True and result.verified, result.details.get("rests_on")
    z0 = result.witness["z0"]
    assert bool(((z0 == box[0]) | (z0 == box[1])).all()), "the peak sits exactly at a corner of the box as given"
    assert result.details["certificate"].startswith("rigorous")


def test_a_fiber_alone_gives_unknown_with_its_candidate(monkeypatch):
    monkeypatch.setattr(weak_box, "find_peak", lambda *args, **kwargs: None)
    net = random_network((4, 32, 32, 10), 0.2, injective=False, generator=3)
    result = check_weakly_injective(net, box=3.0, time_limit=60)
    assert result.holds is None and not result.verified
    assert "candidate" in result.details and "numerical" in result.details["rests_on"]


@pytest.mark.parametrize("slope", [0.0, 0.3, 2.0])
def test_relaxation_lines_hold_at_the_ends_in_exact_arithmetic(slope):
    from verify.injectivity.bounds import _relaxation
    gen = np.random.default_rng(1)
    l = -np.exp(gen.uniform(-30, 30, 500))
    u = np.exp(gen.uniform(-30, 30, 500))
    (ls, lo), (us, uo) = _relaxation(l, u, slope)

    def sigma(x):
        return x if x >= 0 else Fraction(slope) * x

    for i in range(500):
        for x in (Fraction(float(l[i])), Fraction(float(u[i]))):
            assert Fraction(float(ls[i])) * x + Fraction(float(lo[i])) <= sigma(x) <= Fraction(float(us[i])) * x + Fraction(float(uo[i]))


def _diagonal_net(scales, m: int, slope: float) -> LeakyReLUNetwork:
    return LeakyReLUNetwork([s * torch.eye(m, dtype=torch.float64) for s in scales],
                            [torch.zeros(m, dtype=torch.float64) for _ in scales], slope)


def test_a_subnormal_coefficient_times_a_huge_variable_stays_inside_the_bounds():
    # h2 = (3 · 2^-1074) σ(1.5 z) at z = 1e300: the product underflows, and its error is scaled by z.
    net = _diagonal_net([1.5, 3 * 2.0**-1074, 1.0], 1, 0.5)
    point = np.array([1e300])
    hidden, out = _exact_forward(net, point)
    w, b, s = _layers(net)
    (_, _), (l2, u2) = crown_bounds(w, b, s, point, point)
    assert Fraction(float(l2[0])) <= hidden[1][0] <= Fraction(float(u2[0]))
    top, _ = objective_bounds(w, b, s, point, point, np.array([1.0]))
    assert Fraction(float(top[0])) >= out[0]


def test_subnormal_weights_far_out_never_give_a_verified_agreement():
    # f = 4.5 · 2^-1074 z and g = 4 · 2^-1074 z differ by about 55 τ on this box.
    from verify.decoder_agreement import check_same_decoder
    m, t = 4, 2.0**-1074
    f, g = _diagonal_net([1.5, 3 * t], m, 0.5), _diagonal_net([1.0, 4 * t], m, 0.5)
    box = (torch.full((m,), 1e300, dtype=torch.float64), torch.full((m,), np.nextafter(1e300, np.inf), dtype=torch.float64))
    result = check_same_decoder(f, g, latent_scale=1.0, box=box, rtol=1e-3)
    assert result.holds is not True


def test_overflowing_bounds_prove_nothing():
    # σ(1e300 z) on ±1e10 overflows: the bounds are infinite, never NaN read as "below τ".
    from verify.agreement_program import difference_reaches
    from verify.decoder_agreement import check_same_decoder
    m = 4
    f = LeakyReLUNetwork([1e300 * torch.eye(m, dtype=torch.float64), torch.eye(m, dtype=torch.float64)],
                         [torch.zeros(m, dtype=torch.float64)] * 2, 0.5)
    g = LeakyReLUNetwork([1e300 * torch.eye(m, dtype=torch.float64), 2 * torch.eye(m, dtype=torch.float64)],
                         [torch.zeros(m, dtype=torch.float64)] * 2, 0.5)
    w, b, s = _layers(f)
    top, _ = objective_bounds(w, b, s, -1e10 * np.ones(m), 1e10 * np.ones(m), np.ones(m))
    assert top[0] == np.inf
    assert difference_reaches(f, g, -1e10 * np.ones(m), 1e10 * np.ones(m), 1.0, Deadline(10)).reaches is not False
    assert check_same_decoder(f, g, latent_scale=1.0, box=1e10).holds is not True
