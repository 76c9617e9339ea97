"""Linear regions: exact counts, coverage, agreement with the network's local affine maps."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models import LeakyReLUNetwork
from models.random import random_network
from models.regions import (
    Region,
    RegionSet,
    box_scale,
    count_linear_regions,
    linear_regions,
    pattern_halfspaces,
    region_at,
)
from models.solver import chebyshev_center
from models.strategies import networks
from models.validation import check_box


def _one_layer(m: int, k: int, seed: int, slope: float = 0.0) -> LeakyReLUNetwork:
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(k, m, generator=gen, dtype=torch.float64)
    b = torch.randn(k, generator=gen, dtype=torch.float64)
    out = torch.randn(2, k, generator=gen, dtype=torch.float64)
    return LeakyReLUNetwork([w, out], [b, torch.zeros(2, dtype=torch.float64)], slope)


def _arrangement_radius(net: LeakyReLUNetwork) -> float:
    """Half-width of a cube holding every vertex of the first layer's hyperplane arrangement."""
    w, b = net.weights[0], net.biases[0]
    m = w.shape[1]
    corners = [torch.linalg.solve(w[list(rows)], -b[list(rows)]) for rows in itertools.combinations(range(w.shape[0]), m)]
    return 1.5 * float(torch.stack(corners).abs().max()) + 1.0


def _region_index(regions: list[Region], z: torch.Tensor, tol: float) -> torch.Tensor:
    """For each point, how many regions contain it (up to tol) and the first one."""
    hits = torch.stack([r.contains(z, tol) for r in regions], dim=1)
    return hits.sum(dim=1), hits.float().argmax(dim=1)


def _pre_activations(net: LeakyReLUNetwork, z: torch.Tensor) -> torch.Tensor:
    h, out = z, []
    for w, b, s in zip(net.weights[:-1], net.biases[:-1], net.slopes):
        pre = h @ w.T + b
        out.append(pre)
        h = torch.where(pre >= 0, pre, s * pre)
    return torch.cat(out, dim=1) if out else torch.zeros(z.shape[0], 0, dtype=z.dtype)


# ---------------------------------------------------------------------- exact counts
@pytest.mark.parametrize("m,k", [(1, 4), (2, 3), (2, 6), (2, 9), (3, 4), (3, 7)])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_hidden_layer_count_is_the_arrangement_count(m, k, seed):
    net = _one_layer(m, k, seed)
    expected = sum(math.comb(k, i) for i in range(m + 1))
    assert count_linear_regions(net, _arrangement_radius(net)) == expected


def test_leaky_and_relu_layers_have_the_same_cells():
    relu, leaky = _one_layer(2, 6, 3, 0.0), _one_layer(2, 6, 3, 0.3)
    radius = _arrangement_radius(relu)
    assert count_linear_regions(relu, radius) == count_linear_regions(leaky, radius) == 22


def test_all_of_r_m_matches_a_box_that_holds_every_vertex():
    net = _one_layer(2, 5, 7)
    assert count_linear_regions(net, None) == count_linear_regions(net, _arrangement_radius(net)) == 16


def test_network_without_hidden_layers_has_one_region():
    net = LeakyReLUNetwork([torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)], [torch.zeros(2, dtype=torch.float64)])
    (region,) = linear_regions(net, 1.0)
    assert region.pattern.shape == (0,)
    assert torch.allclose(region.A, net.weights[0])
    assert region.halfspaces[0].shape == (4, 2)


def test_dead_units_leave_one_region():
    # Every unit of the first layer is off on the box: one region, A = 0.
    net = LeakyReLUNetwork([torch.eye(2), torch.ones(1, 2)], [torch.full((2,), -10.0), torch.zeros(1)], 0.0)
    (region,) = linear_regions(net, 2.0)
    assert not region.pattern.any()
    assert torch.count_nonzero(region.A) == 0


def test_box_as_pair_and_count_agree_with_the_list():
    net = random_network((2, 6, 6, 3), 0.1, injective=False, generator=4)
    low, high = torch.tensor([-1.0, 0.0]), torch.tensor([2.0, 0.5])
    regions = linear_regions(net, (low, high))
    assert isinstance(regions, RegionSet) and len(regions) == count_linear_regions(net, (low, high))
    # Neighbours across every facet on a unit: each such facet is shared by exactly one pair.
    assert regions.adjacency.shape[1] == 2 and len(regions.adjacency) > 0
    for r in regions:
        assert bool(((r.interior_point >= low - 1e-12) & (r.interior_point <= high + 1e-12)).all())


# ---------------------------------------------------------------------- regions versus the network
def _check_regions_against_network(net: LeakyReLUNetwork, r: float, n_points: int, seed: int):
    regions = linear_regions(net, r)
    gen = torch.Generator().manual_seed(seed)
    z = (2 * torch.rand(n_points, net.in_dim, generator=gen, dtype=torch.float64) - 1) * r
    tol = 1e-9 * r
    counts, index = _region_index(regions, z, 1e-3 * tol)
    assert bool((counts == 1).all()), f"points in {counts.unique().tolist()} regions"
    A, c = net.local_affine(z)
    A_reg = torch.stack([regions[i].A for i in index.tolist()])
    c_reg = torch.stack([regions[i].c for i in index.tolist()])
    scale = 1.0 + A.abs().amax() + c.abs().amax()
    assert float((A_reg - A).abs().max()) <= 1e-9 * scale
    assert float((c_reg - c).abs().max()) <= 1e-9 * scale
    # The pattern agrees wherever the pre-activation is clearly away from 0.
    pre = _pre_activations(net, z)
    pattern = torch.stack([regions[i].pattern for i in index.tolist()])
    clear = pre.abs() > 1e-9 * scale
    assert bool((pattern == (pre >= 0))[clear].all())
    return regions


@pytest.mark.parametrize("widths,slope", [((2, 8, 8, 3), 0.0), ((2, 8, 8, 2), 0.2), ((3, 6, 6, 4), 0.1), ((1, 5, 5, 1), 0.0)])
def test_sampled_points_lie_in_exactly_one_region_with_the_right_piece(widths, slope):
    regions = _check_regions_against_network(random_network(widths, slope, injective=False, generator=1), 2.5, 600, 2)
    for r in regions:
        G, g = r.halfspaces
        assert r.radius > 0
        assert bool((G @ r.interior_point <= g - 0.99 * r.radius).all())


@settings(max_examples=30, deadline=None)
@given(networks(max_in_dim=3, max_width=5, max_depth=3, max_out_dim=3), st.integers(0, 2**16))
def test_property_points_regions_and_local_affine_agree(net, seed):
    _check_regions_against_network(net, 2.0, 200, seed)


@settings(max_examples=20, deadline=None)
@given(networks(max_in_dim=2, max_width=4, max_depth=3, max_out_dim=2))
def test_property_region_at_matches_the_enumeration(net):
    regions = linear_regions(net, 2.0)
    for r in regions[:5]:
        at = region_at(net, r.interior_point, 2.0)
        assert torch.allclose(at.A, r.A, atol=1e-9 * (1 + float(r.A.abs().max())))
        assert at.radius >= r.radius - 1e-9


def test_regions_of_all_of_r_m_cover_far_points():
    net = random_network((2, 5, 5, 2), 0.0, injective=False, generator=8)
    regions = linear_regions(net, None)
    z = 50 * torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    counts, index = _region_index(regions, z, 1e-9)
    assert bool((counts >= 1).all())
    A, _ = net.local_affine(z)
    assert torch.allclose(torch.stack([regions[i].A for i in index.tolist()]), A, atol=1e-9)


def test_regions_live_on_the_network_device_in_float64():
    net = random_network((2, 4, 2), 0.2, injective=False, generator=0, dtype=torch.float32)
    region = linear_regions(net, 1.0)[0]
    assert region.A.dtype == torch.float64 and region.A.device == net.device


# ---------------------------------------------------------------------- helpers
def test_pattern_halfspaces_and_chebyshev_center():
    net = _one_layer(2, 3, 0)
    pattern = net.activation_pattern(torch.tensor([0.1, 0.2], dtype=torch.float64))
    G, g, A, c = pattern_halfspaces(net, pattern, 1.0)
    assert G.shape == (3 + 4, 2)
    centre, radius = chebyshev_center(G, g)
    assert radius > 0 and np.all(G @ centre <= g + 1e-12)
    assert chebyshev_center(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0]))[0] is None


def test_box_scale_and_check_box():
    net = _one_layer(2, 3, 0)
    assert box_scale(net, 2.0) == 2.0
    low, high = check_box((torch.tensor([-1.0, 0.0]), [3.0, 1.0]), 2)
    assert low.dtype == torch.float64 and high.tolist() == [3.0, 1.0]
    assert check_box(None, 2) is None
    stacked = check_box(np.array([[-1.0, 0.0], [3.0, 1.0]]), 2)
    assert stacked[0].tolist() == [-1.0, 0.0] and stacked[1].tolist() == [3.0, 1.0]


@pytest.mark.parametrize(
    "box",
    [-1.0, 0, float("nan"), float("inf"), True, "big", (torch.zeros(3), torch.ones(3)), (torch.ones(2), torch.zeros(2)),
     (torch.zeros(2),), (torch.zeros(2), torch.tensor([1.0, float("nan")])), torch.zeros(3, 2)],
)
def test_bad_box_raises_naming_box(box):
    with pytest.raises(ValueError, match="box"):
        linear_regions(_one_layer(2, 3, 0), box)


def test_bad_arguments_raise_naming_them():
    net = _one_layer(2, 3, 0)
    with pytest.raises(ValueError, match="network"):
        linear_regions("not a network", 1.0)
    with pytest.raises(ValueError, match="time_limit"):
        linear_regions(net, 1.0, time_limit=-1.0)
    with pytest.raises(ValueError, match="pattern"):
        pattern_halfspaces(net, torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="z"):
        region_at(net, torch.zeros(3))
