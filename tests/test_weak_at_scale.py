"""Weak injectivity without region enumeration: linear bounds, the peak and fiber certificates, and
``check_weakly_injective`` for m above the enumeration limit."""

import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from models import LeakyReLUNetwork
from models.deadline import Deadline
from models.random import random_network
from models.strategies import networks
from verify.injectivity import bigm, check_weakly_injective
from verify.injectivity.bounds import crown_bounds, objective_bounds, output_relaxation
from verify.injectivity.fiber import localize_fiber
from verify.injectivity.peak import _region_radius, certify_peak, find_peak
from verify.injectivity.tolerances import frame


def _layers(net):
    layers = bigm.Layers.of(net)
    return layers.weights, layers.biases, layers.slopes


@given(networks(max_in_dim=3, max_width=6), st.integers(0, 2**31 - 1))
def test_bounds_contain_the_network_on_the_box(net, seed):
    gen = torch.Generator().manual_seed(seed)
    m = net.in_dim
    low = -1.0 - torch.rand(m, generator=gen, dtype=torch.float64)
    high = low + 0.1 + 2 * torch.rand(m, generator=gen, dtype=torch.float64)
    z = low + (high - low) * torch.rand(200, m, generator=gen, dtype=torch.float64)
    w, b, s = _layers(net)
    lo, hi = low.numpy(), high.numpy()
    x = net(z).numpy()
    A_lo, c_lo, A_up, c_up = (t[0] for t in output_relaxation(w, b, s, lo, hi))
    slack = 1e-9 * (1 + np.abs(x).max())
    assert (z.numpy() @ A_lo.T + c_lo <= x + slack).all()
    assert (z.numpy() @ A_up.T + c_up >= x - slack).all()
    v = np.linspace(-1.0, 1.0, net.out_dim)
    bound, _ = objective_bounds(w, b, s, lo, hi, v)
    assert (x @ v <= bound[0] + slack).all()
    # Hidden pre-activations too: a forward pass layer by layer stays inside them.
    h = z.numpy()
    for (W, bias, slope), (l, u) in zip(zip(w[:-1], b[:-1], s), crown_bounds(w, b, s, lo, hi)):
        pre = h @ W.T + bias
        assert (pre >= l - slack).all() and (pre <= u + slack).all()
        h = np.where(pre >= 0, pre, slope * pre)


def _folding(m: int) -> LeakyReLUNetwork:
    """x = (|z_1|, z_2, ..., z_m) on the box [-3, 3]^m: units relu(z_1), relu(−z_1) and relu(z_i + 10).
    Every point with x_1 > 0 has two preimages, so (i) fails everywhere in the box."""
    first = torch.zeros(m + 1, m, dtype=torch.float64)
    first[0, 0], first[1, 0] = 1.0, -1.0
    first[2:, 1:] = torch.eye(m - 1, dtype=torch.float64)
    bias = torch.cat([torch.zeros(2), torch.full((m - 1,), 10.0)]).double()
    out = torch.zeros(m, m + 1, dtype=torch.float64)
    out[0, 0] = out[0, 1] = 1.0
    out[1:, 2:] = torch.eye(m - 1, dtype=torch.float64)
    out_bias = torch.cat([torch.zeros(1), torch.full((m - 1,), -10.0)]).double()
    return LeakyReLUNetwork([first, out], [bias, out_bias], 0.0)


def test_folding_network_is_the_absolute_value_in_its_first_coordinate():
    net = _folding(5)
    z = torch.tensor([[-1.5, 0.3, -2.0, 1.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(net(z), torch.tensor([[1.5, 0.3, -2.0, 1.0, 0.0]], dtype=torch.float64))


def test_peak_certifies_a_random_decoder_of_dimension_four():
    net = random_network((4, 32, 32, 10), 0.2, injective=False, generator=3)
    result = check_weakly_injective(net, box=3.0, time_limit=60)
    assert result.holds is True, result.details.get("rests_on")
    assert result.domain == "box [-3, 3]^4" and "certificate" in result.details
    z0, x0 = result.witness["z0"], result.witness["x0"]
    assert torch.allclose(net(z0), x0) and result.witness["delta"] > 0


def test_no_corner_of_a_fold_is_a_peak():
    # Planted violation: f(z0) = f(mirror of z0) at every corner, so no functional is strictly highest there.
    fr = frame(_folding(4), 3.0)
    gen = torch.Generator().manual_seed(0)
    for code in range(16):
        signs = np.array([1.0 if code >> k & 1 else -1.0 for k in range(4)])
        assert certify_peak(fr, signs, Deadline(30), gen) is None


def test_fiber_certifies_where_the_peak_is_not_asked():
    net = random_network((4, 32, 32, 10), 0.2, injective=False, generator=3)
    fr = frame(net, 3.0)
    u0 = np.full(4, 0.05)
    pattern = fr.unit.activation_pattern(torch.as_tensor(u0)).numpy()
    radius = _region_radius(fr, u0, pattern)
    found = localize_fiber(fr, u0, 0.5 * radius / 2.0, 1e-6, Deadline(60))
    assert found.inside is True and found.remaining == 0.0 and found.programs > 0


def test_fiber_finds_the_mirror_preimage_of_a_fold():
    net = _folding(4)
    fr = frame(net, 3.0)
    z0 = np.array([1.0, 0.5, -0.5, 0.25])
    u0 = (z0 - fr.anchor) / fr.scale
    pattern = fr.unit.activation_pattern(torch.as_tensor(u0)).numpy()
    radius = _region_radius(fr, u0, pattern)
    found = localize_fiber(fr, u0, 0.5 * radius / 2.0, 1e-6, Deadline(60))
    assert found.inside is False
    mirror = fr.to_latent(found.far)
    # A point of S: within δ (normalized output units) of the mirror image.
    assert mirror[0] == pytest.approx(-1.0, abs=1e-4) and np.allclose(mirror[1:], z0[1:], atol=1e-4)


def test_a_fold_is_never_certified_and_the_verdict_shows_a_second_preimage():
    result = check_weakly_injective(_folding(4), box=3.0, time_limit=30)
    assert result.holds is None, "every point of the box has two preimages: (i) cannot be certified"
    example = result.witness["example"]
    net = _folding(4)
    assert torch.allclose(net(example["z0"]), net(example["second_preimage"]), atol=0)
    assert not torch.allclose(example["z0"], example["second_preimage"])


def test_no_box_at_scale_is_unknown_and_says_why():
    net = random_network((5, 16, 8), 0.2, injective=False, generator=1)
    result = check_weakly_injective(net, time_limit=10)
    assert result.holds is None and result.domain == "R^5" and "box" in result.method


def test_time_limit_is_honoured_and_reports_the_open_fraction():
    net = random_network((8, 64, 64, 20), 0.2, injective=False, generator=8)
    started = time.perf_counter()
    result = check_weakly_injective(net, box=3.0, time_limit=4)
    assert time.perf_counter() - started < 20
    assert result.holds in (True, None)
    if result.holds is None:
        assert 0.0 <= result.details["remaining_fraction"] <= 1.0


def test_find_peak_peaks_at_a_corner():
    net = random_network((4, 32, 32, 10), 0.2, injective=False, generator=3)
    fr = frame(net, 2.0)
    peak = find_peak(fr, Deadline(60), torch.Generator().manual_seed(0))
    assert peak is not None and peak.delta > 0
    low, high = fr.box
    assert np.all(np.isclose(peak.u0, low.numpy()) | np.isclose(peak.u0, high.numpy()))


def test_a_layer_narrower_than_m_fails_condition_ii_with_its_reason():
    net = random_network((8, 4, 16, 10), 0.2, injective=False, generator=0)
    result = check_weakly_injective(net, box=3.0, time_limit=10)
    assert result.holds is False and result.verified
    assert result.witness["condition"] == "(ii)" and result.witness["layer"] == 0 and result.witness["rank_bound"] == 4


def test_an_exactly_rank_deficient_square_layer_fails_condition_ii():
    # A 12 x 12 product of small integer matrices of rank 5 (exact in float64) behind a latent of 6.
    gen = torch.Generator().manual_seed(0)
    base = random_network((6, 12, 12, 10), 0.2, injective=False, generator=1)
    left = torch.randint(-3, 4, (12, 5), generator=gen).double()
    right = torch.randint(-3, 4, (5, 12), generator=gen).double()
    weights = [w.clone() for w in base.weights]
    weights[1] = left @ right
    net = LeakyReLUNetwork(weights, base.biases, 0.2)
    result = check_weakly_injective(net, box=3.0, time_limit=10)
    assert result.holds is False and result.verified and result.witness["rank_bound"] == 5
