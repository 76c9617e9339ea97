"""Tests of models.region_engine: counts against models.regions and Regioncam, exact
geometry of every region, degenerate arrangements, streaming and argument errors."""

from __future__ import annotations

import math

import lp_regions as reference  # the LP-based enumeration (benchmarks/), an independent reference
import numpy as np
import pytest
import torch
from scipy.spatial import ConvexHull

from models.leaky_relu_network import LeakyReLUNetwork
from models.random import random_network
from models.region_engine import (
    RegionArrays,
    count_regions,
    enumerate_regions,
    iter_regions,
)


def arrays(net):
    return [w.numpy() for w in net.weights], [b.numpy() for b in net.biases], net.slopes


def cube(m, r=3.0, centre=0.0):
    return (np.full(m, centre - r), np.full(m, centre + r))


def make_net(weights, biases, slopes):
    return LeakyReLUNetwork([torch.as_tensor(np.asarray(w, float)) for w in weights],
                            [torch.as_tensor(np.asarray(b, float)) for b in biases], list(slopes) or 0.0)


def enumerate_net(net, box, **kw):
    return enumerate_regions(*arrays(net), box, **kw)


def check_geometry(net, R: RegionArrays, box):
    """Every piece of every region against a float64 forward pass and the half-spaces."""
    n = len(R)
    m = net.in_dim
    assert n >= 1
    z = torch.as_tensor(R.interior)
    assert np.array_equal(net.activation_pattern(z).numpy().reshape(n, -1), R.patterns)
    A, c = net.local_affine(z)
    assert np.allclose(A.numpy().reshape(R.A.shape), R.A, rtol=1e-9, atol=1e-9)
    assert np.allclose(c.numpy().reshape(R.c.shape), R.c, rtol=1e-9, atol=1e-9)
    keys = np.packbits(R.patterns, axis=1)
    assert len(np.unique(keys, axis=0)) == n, "patterns must be distinct"
    assert (R.inradius > 0).all()
    assert np.allclose(np.linalg.norm(R.facet_normals, axis=1), 1.0)
    scale = 1.0 if box is None else float(np.max(box[1] - box[0]))
    for i in range(n):
        reg = R.region(i)
        if len(reg.vertices) > 1:
            gaps = np.linalg.norm(reg.vertices[:, None] - reg.vertices[None], axis=2) + np.eye(len(reg.vertices))
            assert gaps.min() > 1e-9 * max(scale, 1.0), f"region {i} repeats a vertex"
        slack = reg.facet_rhs - reg.facet_normals @ reg.interior
        assert np.isclose(slack.min(), reg.inradius) if len(slack) else math.isinf(reg.inradius)
        if len(reg.vertices):
            assert (reg.vertices @ reg.facet_normals.T <= reg.facet_rhs + 1e-8 * max(scale, 1.0)).all()
        if len(reg.rays):
            assert (reg.rays @ reg.facet_normals.T <= 1e-8).all()
        assert reg.bounded == (len(reg.rays) == 0)
        # Each facet carries at least m generators of the region (it is (m-1)-dimensional).
        for normal, rhs in zip(reg.facet_normals, reg.facet_rhs):
            on = np.sum(np.abs(reg.vertices @ normal - rhs) <= 1e-8 * max(scale, 1.0))
            on += np.sum(np.abs(reg.rays @ normal) <= 1e-8) if len(reg.rays) else 0
            assert on >= m
    if box is not None:
        assert R.bounded.all()
        assert len(R.rays) == 0


def check_adjacency(R: RegionArrays):
    """Pairs i < j, unique; every facet on a hidden unit is shared with exactly one region,
    whose facet there is the same hyperplane with the opposite normal."""
    adj = R.adjacency
    assert (adj[:, 0] < adj[:, 1]).all()
    assert len(np.unique(adj, axis=0)) == len(adj)
    neighbours = [[] for _ in range(len(R))]
    for i, j in adj:
        neighbours[i].append(j)
        neighbours[j].append(i)
    used = set()
    for i in range(len(R)):
        reg = R.region(i)
        for normal, rhs, unit in zip(reg.facet_normals, reg.facet_rhs, reg.facet_units):
            if unit < 0:
                continue
            partners = []
            for j in neighbours[i]:
                other = R.region(j)
                match = (np.abs(other.facet_normals + normal).max(axis=1) < 1e-7) & (np.abs(other.facet_rhs + rhs) < 1e-7)
                if match.any():
                    partners.append(j)
                    used.add((min(i, j), max(i, j)))
            assert len(partners) == 1, f"region {i}, facet on unit {unit}: partners {partners}"
    assert used == {tuple(p) for p in adj.tolist()}


def polygon_area(vertices):
    centre = vertices.mean(axis=0)
    d = vertices - centre
    v = vertices[np.argsort(np.arctan2(d[:, 1], d[:, 0]))]
    x, y = v[:, 0], v[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def total_volume(R: RegionArrays):
    m = R.vertices.shape[1]
    total = 0.0
    for i in range(len(R)):
        v = R.region(i).vertices
        total += polygon_area(v) if m == 2 else (v.max() - v.min() if m == 1 else ConvexHull(v).volume)
    return total


# ---------------------------------------------------------------------- counts
@pytest.mark.parametrize("m, hidden, slope", [
    (1, (8, 8), 0.2), (2, (8, 8, 8), 0.2), (2, (10, 10), 0.0), (2, (8, 8), (0.0, 0.3)),
    (3, (8, 8), 0.2), (3, (10,), 0.0), (4, (6, 6), (0.5, 0.0)),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_counts_match_reference_on_boxes(m, hidden, slope, seed):
    net = random_network((m, *hidden, 2), slope, injective=False, generator=seed)
    box = cube(m)
    R = enumerate_net(net, box)
    assert len(R) == reference.count_linear_regions(net, 3.0)
    check_geometry(net, R, box)
    check_adjacency(R)
    assert np.isclose(total_volume(R), 6.0 ** m, rtol=1e-9)


@pytest.mark.parametrize("m, hidden, slope", [
    (1, (6, 6), 0.2), (2, (6, 6), 0.2), (2, (6, 5), 0.0), (3, (5, 4), (0.2, 0.0)), (4, (5,), 0.2),
])
def test_counts_match_reference_on_all_of_space(m, hidden, slope):
    net = random_network((m, *hidden, 2), slope, injective=False, generator=3)
    R = enumerate_net(net, None)
    assert len(R) == reference.count_linear_regions(net, None)
    check_geometry(net, R, None)
    check_adjacency(R)
    assert not R.bounded.all()


@pytest.mark.parametrize("m, k", [(1, 7), (2, 9), (3, 10), (4, 9), (5, 8)])
def test_zaslavsky_count_of_one_layer(m, k):
    net = random_network((m, k, 1), 0.2, injective=False, generator=k)
    expected = sum(math.comb(k, i) for i in range(m + 1))
    R = enumerate_net(net, None)
    assert len(R) == expected
    # Bounded regions of an arrangement in general position: C(k - 1, m).
    assert int(R.bounded.sum()) == math.comb(k - 1, m)


@pytest.mark.parametrize("widths", [(2, 8, 8, 8, 3), (2, 16, 16, 3), (2, 32, 3), (2, 24, 24, 24, 3)])
@pytest.mark.parametrize("slope", [0.2, 0.0])
def test_counts_match_regioncam(widths, slope):
    regioncam = pytest.importorskip("regioncam")
    net = random_network(widths, slope, injective=False, generator=5)
    rc = regioncam.Regioncam(size=4.0)
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        rc.linear(np.ascontiguousarray(w.numpy().T, dtype=np.float32), b.numpy().astype(np.float32))
        if i < len(net.weights) - 1:
            rc.leaky_relu(slope)
    box = cube(2, 4.0)
    R = enumerate_net(net, box)
    assert len(R) == rc.num_faces
    assert np.isclose(total_volume(R), 64.0, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planar_and_double_description_agree(seed):
    net = random_network((2, 12, 12, 12, 2), (0.2, 0.0, 0.5), injective=False, generator=seed)
    box = cube(2, 2.5, centre=0.7)
    planar = enumerate_net(net, box, method="planar")
    dd = enumerate_net(net, box, method="dd")
    key = lambda R: {bytes(row) for row in np.packbits(R.patterns, axis=1)}
    assert key(planar) == key(dd)
    check_geometry(net, planar, box)
    check_adjacency(planar)
    assert len(planar.adjacency) == len(dd.adjacency)
    # Corners come counter-clockwise from the planar engine.
    for i in range(len(planar)):
        v = planar.region(i).vertices
        e1, e2 = np.roll(v, -1, axis=0) - v, np.roll(v, -2, axis=0) - np.roll(v, -1, axis=0)
        assert (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] > 0).all()


@pytest.mark.parametrize("ratio", [0.0, math.inf])
def test_edge_search_by_key_join_and_by_pairs_agree(monkeypatch, ratio):
    import models._region_engine_dd as dd

    monkeypatch.setattr(dd, "PAIRWISE_RATIO", ratio)
    for m, hidden in [(3, (8, 8)), (4, (7, 6)), (5, (8,))]:
        net = random_network((m, *hidden, 2), 0.2, injective=False, generator=m)
        R = enumerate_net(net, cube(m))
        assert len(R) == reference.count_linear_regions(net, 3.0)
        check_geometry(net, R, cube(m))
        assert np.isclose(total_volume(R), 6.0 ** m, rtol=1e-9)


def test_translated_box_gives_the_same_regions():
    net = random_network((3, 8, 8, 2), 0.2, injective=False, generator=4)
    W, b, s = arrays(net)
    shift = np.array([1e6, -3e6, 2e5])
    moved = enumerate_regions(W, [b[0] - W[0] @ shift, *b[1:]], s, (np.full(3, -3.0) + shift, np.full(3, 3.0) + shift))
    here = enumerate_regions(W, b, s, cube(3))
    assert len(moved) == len(here)
    assert np.allclose(np.sort(moved.inradius), np.sort(here.inradius), rtol=1e-6)


# ---------------------------------------------------------------------- degenerate arrangements
def test_two_units_with_the_same_hyperplane():
    w = np.array([[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0], [1.0, -1.0]])
    b = np.array([0.5, 1.0, -0.5, 0.2])
    net = make_net([w, np.ones((1, 4))], [b, np.zeros(1)], [0.2])
    for box in (cube(2), None):
        for method in ("auto", "dd"):
            R = enumerate_net(net, box, method=method)
            assert len(R) == 4
            check_geometry(net, R, box)
            check_adjacency(R)


def test_hyperplane_through_a_box_corner():
    # x + y = 6 passes through the corner (3, 3); x = y through (-3, -3) and (3, 3).
    w = np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 0.0]])
    b = np.array([-6.0, 0.0, -3.0])
    net = make_net([w, np.ones((1, 3))], [b, np.zeros(1)], [0.0])
    for method in ("planar", "dd"):
        R = enumerate_net(net, cube(2), method=method)
        assert len(R) == 2
        check_geometry(net, R, cube(2))
        check_adjacency(R)
    w3 = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.0]])
    net3 = make_net([w3, np.ones((1, 2))], [np.array([-9.0, 0.0]), np.zeros(1)], [0.2])
    R = enumerate_net(net3, cube(3))
    assert len(R) == 2
    check_geometry(net3, R, cube(3))


def test_three_lines_through_one_point():
    angles = np.array([0.1, 1.2, 2.3])
    w = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    point = np.array([0.4, -0.3])
    b = -w @ point
    net = make_net([w, np.ones((1, 3))], [b, np.zeros(1)], [0.2])
    for box, method in ((cube(2), "planar"), (cube(2), "dd"), (None, "dd")):
        R = enumerate_net(net, box, method=method)
        assert len(R) == 6
        check_geometry(net, R, box)
        check_adjacency(R)
    # Deeper: a second layer whose lines also meet at that point (they bend there).
    net2 = make_net([w, np.array([[1.0, -1.0, 0.5], [0.3, 1.0, -1.0]]), np.ones((1, 2))],
                    [b, np.zeros(2), np.zeros(1)], [0.2, 0.2])
    counts = {method: len(enumerate_net(net2, cube(2), method=method)) for method in ("planar", "dd")}
    assert counts["planar"] == counts["dd"] == reference.count_linear_regions(net2, 3.0)
    # Four planes through one point of R^3.
    w3 = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0]])
    net3 = make_net([w3, np.ones((1, 4))], [np.zeros(4), np.zeros(1)], [0.2])
    for box in (cube(3), None):
        R = enumerate_net(net3, box)
        assert len(R) == 14  # the central arrangement of 4 generic planes in R^3
        check_geometry(net3, R, box)
        check_adjacency(R)


def test_zero_row_and_dead_unit():
    # Row 1 is zero (its unit is the constant 0.3); with slope 0, unit 0 of layer 2 reads only
    # layer-1 unit 2, which is dead (negative) on half of the box: it is constant there.
    w1 = np.array([[1.0, 0.5], [0.0, 0.0], [0.3, -1.0]])
    b1 = np.array([0.1, 0.3, -0.2])
    w2 = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    b2 = np.array([-0.5, -1.0])
    net = make_net([w1, w2, np.ones((1, 2))], [b1, b2, np.zeros(1)], [0.0, 0.2])
    expected = reference.count_linear_regions(net, 3.0)
    for method in ("planar", "dd"):
        R = enumerate_net(net, cube(2), method=method)
        assert len(R) == expected
        check_geometry(net, R, cube(2))
        check_adjacency(R)
    R = enumerate_net(net, None)
    assert len(R) == reference.count_linear_regions(net, None)
    check_geometry(net, R, None)


@pytest.mark.parametrize("m, rank", [(2, 1), (3, 2), (3, 1), (4, 2)])
def test_rank_deficient_first_layer(m, rank):
    rng = np.random.default_rng(m + rank)
    w1 = rng.standard_normal((6, rank)) @ rng.standard_normal((rank, m))
    b1 = rng.standard_normal(6)
    w2 = rng.standard_normal((4, 6))
    net = make_net([w1, w2, rng.standard_normal((2, 4))], [b1, rng.standard_normal(4), np.zeros(2)], [0.2, 0.0])
    R = enumerate_net(net, None)
    assert len(R) == reference.count_linear_regions(net, None)
    check_geometry(net, R, None)
    check_adjacency(R)
    assert len(R.rays) >= 2 * (m - rank) * len(R)
    Rb = enumerate_net(net, cube(m))
    assert len(Rb) == reference.count_linear_regions(net, 3.0)
    check_geometry(net, Rb, cube(m))


def test_constant_first_layer_and_no_hidden_layer():
    net = make_net([np.zeros((3, 2)), np.ones((1, 3))], [np.array([1.0, -1.0, 0.0]), np.zeros(1)], [0.2])
    for box in (None, cube(2)):
        R = enumerate_net(net, box)
        assert len(R) == 1
        assert R.patterns.tolist() == [[True, False, True]]
        check_geometry(net, R, box)
    affine = make_net([np.array([[1.0, 2.0]])], [np.array([0.5])], [])
    R = enumerate_regions(*arrays(affine), cube(2))
    assert len(R) == 1 and R.patterns.shape == (1, 0)
    assert np.allclose(R.A[0], [[1.0, 2.0]])


def test_one_dimensional_network():
    net = random_network((1, 9, 9, 2), 0.1, injective=False, generator=7)
    for box in (cube(1), None):
        R = enumerate_net(net, box)
        assert len(R) == reference.count_linear_regions(net, None if box is None else 3.0)
        check_geometry(net, R, box)
        check_adjacency(R)
    R = enumerate_net(net, cube(1))
    assert np.isclose(sum(np.ptp(R.region(i).vertices) for i in range(len(R))), 6.0)


# ---------------------------------------------------------------------- streaming and API
def test_iter_regions_streams_the_same_regions():
    net = random_network((3, 12, 12, 2), 0.2, injective=False, generator=2)
    W, b, s = arrays(net)
    whole = enumerate_regions(W, b, s, cube(3))
    parts = list(iter_regions(W, b, s, cube(3), chunk=100))
    assert all(len(p) <= 100 for p in parts) and len(parts) > 1
    key = lambda P: sorted(bytes(r) for r in np.packbits(P.patterns, axis=1))
    assert key(whole) == sorted(k for p in parts for k in key(p))
    assert count_regions(W, b, s, cube(3)) == len(whole)
    small = enumerate_regions(W, b, s, cube(3), chunk=7)
    assert key(small) == key(whole)
    assert len(small.adjacency) == len(whole.adjacency)


def test_region_view_and_len():
    net = random_network((2, 6, 2), 0.2, injective=False, generator=0)
    R = enumerate_net(net, cube(2))
    reg = R.region(-1)
    assert reg.pattern.shape == (6,) and reg.A.shape == (2, 2) and reg.bounded
    assert len(R) == R.patterns.shape[0] == len(R.vertex_offsets) - 1
    with pytest.raises(ValueError, match="i"):
        R.region(len(R))


@pytest.mark.parametrize("change, name", [
    (lambda a: {**a, "weights": []}, "weights"),
    (lambda a: {**a, "biases": a["biases"][:1]}, "biases"),
    (lambda a: {**a, "slopes": (0.2, 0.2)}, "slopes"),
    (lambda a: {**a, "slopes": (-1.0,)}, "slopes"),
    (lambda a: {**a, "box": (np.zeros(2), np.zeros(2))}, "box"),
    (lambda a: {**a, "box": (np.zeros(3), np.ones(3))}, "box"),
    (lambda a: {**a, "box": 3.0}, "box"),
    (lambda a: {**a, "chunk": 0}, "chunk"),
    (lambda a: {**a, "method": "qhull"}, "method"),
    (lambda a: {**a, "method": "planar", "box": None}, "method"),
])
def test_argument_errors(change, name):
    net = random_network((2, 4, 2), 0.2, injective=False, generator=0)
    W, b, s = arrays(net)
    args = change({"weights": W, "biases": b, "slopes": s, "box": cube(2), "chunk": None, "method": "auto"})
    with pytest.raises(ValueError, match=name):
        enumerate_regions(args["weights"], args["biases"], args["slopes"], args["box"], chunk=args["chunk"],
                          method=args["method"])


@pytest.mark.slow
@pytest.mark.parametrize("m, hidden", [(2, (32, 32, 32)), (3, (16, 16, 16)), (4, (10, 10, 10)), (5, (10, 10))])
@pytest.mark.parametrize("seed", range(3))
def test_sweep_against_reference(m, hidden, seed):
    net = random_network((m, *hidden, 2), 0.2, injective=False, generator=seed)
    R = enumerate_net(net, cube(m))
    assert len(R) == reference.count_linear_regions(net, 3.0)
    check_geometry(net, R, cube(m))
