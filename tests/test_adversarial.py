"""Adversarial constructions with exact oracles: a conclusive verdict is right or the verdict is unknown.

Each class moves a problem to an edge of scale, offset or conditioning where tolerances anchored at
the origin, or to global norms, used to give wrong conclusive verdicts: folds placed far away, large
output offsets, low-gain layers, tiny boxes, rescaled networks, near-parallel hyperplanes, zero
networks. The oracle of each case is known in closed form.
"""

from __future__ import annotations

import math

import pytest
import torch

from models import AffineMap, LeakyReLUNetwork
from verify import check_injective, check_weakly_injective, count_preimages
from verify.exact import ExactNetwork, is_collision, qcol
from verify.injectivity import METHODS

D = torch.float64


def fold(a: float, width: float = 1.0) -> LeakyReLUNetwork:
    """f(z) = z below a, 2a − z on [a, a + w], z − 2w beyond: a fold of width w at a (not injective).

    Written around a (units ReLU(z − a), ReLU(a − z), ReLU(z − a − w)) so that the weights are exact.
    """
    w1 = torch.tensor([[1.0], [-1.0], [1.0]], dtype=D)
    b1 = torch.tensor([-a, a, -a - width], dtype=D)
    w2 = torch.tensor([[-1.0, -1.0, 2.0]], dtype=D)
    return LeakyReLUNetwork([w1, w2], [b1, torch.tensor([a], dtype=D)], 0.0)


def identity_through_relu(offset: float = 0.0) -> LeakyReLUNetwork:
    """f(z) = ReLU(z) − ReLU(−z) + offset = z + offset: injective, though its ReLU layer is not."""
    return LeakyReLUNetwork([torch.tensor([[1.0], [-1.0]], dtype=D), torch.tensor([[1.0, -1.0]], dtype=D)],
                            [torch.zeros(2, dtype=D), torch.tensor([offset], dtype=D)], 0.0)


def _assert_never_holds(result):
    assert result.holds is not True, result
    if result.holds is False:
        z1, z2 = result.witness
        assert result.verified


def _assert_never_fails(result):
    assert result.holds is not False, result


def _box(centre: float, half: float):
    return (torch.tensor([centre - half], dtype=D), torch.tensor([centre + half], dtype=D))


# ---------------------------------------------------------------------- folds far from the origin
@pytest.mark.parametrize("a", [0.0, 1e3, 1e6, 1e7, -1e8])
def test_a_fold_far_away_is_never_called_injective(a):
    net = fold(a)
    exact = ExactNetwork.of(net)
    for method in ["auto", *(name for name, m in METHODS.items() if m.KIND != "sufficient")]:
        result = check_injective(net, box=_box(a + 0.5, 2.0), method=method)
        _assert_never_holds(result)
        if result.holds is False:
            z1, z2 = result.witness
            assert is_collision(exact, qcol(z1.numpy()), qcol(z2.numpy())) or result.details["exact_witness"]
    _assert_never_holds(check_injective(net, box=None, method="regions"))


@pytest.mark.parametrize("a", [0.0, 1e6, 1e7])
def test_preimages_of_a_fold_far_away_are_counted(a):
    net = fold(a)
    y = torch.tensor([a - 0.5], dtype=D)  # preimages a − 0.5, a + 0.5, a + 1.5
    assert count_preimages(net, y, box=_box(a + 0.5, 2.0)) == 3
    assert count_preimages(net, y) == 3


# ---------------------------------------------------------------------- large output offsets
@pytest.mark.parametrize("offset", [0.0, 1e6, 1e9, -1e9])
def test_an_offset_never_makes_an_injective_map_fail(offset):
    net = identity_through_relu(offset)
    for method in ["auto", "regions", "milp", "search", "orientation"]:
        result = check_injective(net, box=2.0, method=method)
        _assert_never_fails(result)
    assert check_injective(net, box=2.0, method="regions").holds is True


# ---------------------------------------------------------------------- low-gain layers
@pytest.mark.parametrize("slope", [1e-4, 1e-6])
def test_low_gain_layers_are_injective_and_never_fail(slope):
    gen = torch.Generator().manual_seed(3)
    w1 = torch.linalg.qr(torch.randn(4, 4, generator=gen, dtype=D))[0][:, :2]
    w2 = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=D))[0][:, :4]
    net = LeakyReLUNetwork([w1, w2], [torch.randn(4, generator=gen, dtype=D), torch.zeros(5, dtype=D)], slope)
    certified = check_injective(net)
    assert certified.holds is True and certified.verified
    for method in ("regions", "milp", "search"):
        _assert_never_fails(check_injective(net, box=1.0, method=method))
    assert check_weakly_injective(net).holds is True


# ---------------------------------------------------------------------- tiny boxes and rescaling
@pytest.mark.parametrize("scale", [1e-7, 1.0, 1e6])
def test_a_fold_in_a_rescaled_box_is_found_by_every_exact_method(scale):
    # The fold of width 1 at 0, with the latent rescaled: f(z / scale) on a box of half-width 2 scale.
    net = fold(0.0).precompose(AffineMap(torch.tensor([[1.0 / scale]], dtype=D)))
    for method in ("regions", "milp"):
        result = check_injective(net, box=(torch.tensor([-1.5 * scale], dtype=D), torch.tensor([2.5 * scale], dtype=D)),
                                 method=method)
        assert result.holds is False and result.verified, (method, result)


# ---------------------------------------------------------------------- zero and constant networks
def test_a_zero_network_is_not_injective_with_an_exact_witness():
    net = LeakyReLUNetwork([torch.zeros(3, 2, dtype=D), torch.zeros(2, 3, dtype=D)], [torch.zeros(3, dtype=D), torch.zeros(2, dtype=D)], 0.2)
    result = check_injective(net, box=1.0)
    assert result.holds is False and result.verified
    weak = check_weakly_injective(net, box=1.0)
    assert weak.holds is False and weak.witness["condition"] == "(ii)"
    assert count_preimages(net, torch.zeros(2, dtype=D), box=1.0) == math.inf
