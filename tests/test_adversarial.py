"""Adversarial constructions with exact oracles: a conclusive verdict is right or the verdict is unknown.

Each class moves a problem to an edge of scale, offset or conditioning where tolerances anchored at
the origin, or to global norms, used to give wrong conclusive verdicts: folds placed far away, large
output offsets, low-gain layers, tiny boxes, rescaled networks, near-parallel hyperplanes, zero
networks. The oracle of each case is known in closed form.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from models import AffineMap, GaussianMixture, LeakyReLUNetwork
from models.regions import linear_regions, region_count
from verify import (
    check_distinct_variance_ratios,
    check_independent_coordinates,
    check_injective,
    check_weakly_injective,
    count_preimages,
)
from verify.canonical_form import check_trivial_symmetry
from verify.exact import ExactNetwork, is_collision, qcol
from verify.injectivity import METHODS
from verify.priors import product_mixture

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


# ---------------------------------------------------------------------- nearly identical mixture components
def _diagonal_prior(means, variances, weights=None) -> GaussianMixture:
    means, variances = torch.tensor(means, dtype=D), torch.tensor(variances, dtype=D)
    weights = torch.full((len(means),), 1.0 / len(means), dtype=D) if weights is None else torch.tensor(weights, dtype=D)
    return GaussianMixture(weights, means, torch.diag_embed(variances))


@pytest.mark.parametrize("gap", [1e-15, 1e-12, 1e-9, 1e-7])
def test_variance_ratios_that_nearly_coincide_are_never_called_equal(gap):
    # Ratios (2, 2 + 2·gap) of component 1 to component 0: distinct exactly, so S1 holds; no "fails" within the tolerance.
    prior = _diagonal_prior([[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [2.0, 2.0 * (1 + gap)]])
    _assert_never_fails(check_distinct_variance_ratios(prior))
    equal = check_distinct_variance_ratios(_diagonal_prior([[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [2.0, 2.0]]))
    assert equal.holds is False and equal.statistic == 0.0


@pytest.mark.parametrize("correlation", [1e-15, 1e-10, 1e-7])
def test_a_tiny_correlation_never_counts_as_diagonal(correlation):
    # One covariance has a (tiny) correlation: exactly not diagonal, so S1 does not hold; never "holds".
    covs = torch.stack([torch.diag(torch.tensor([1.0, 1.0], dtype=D)), torch.tensor([[2.0, correlation], [correlation, 3.0]], dtype=D)])
    prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=D), torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=D), covs)
    assert check_distinct_variance_ratios(prior).holds is not True


@pytest.mark.parametrize("gap", [1e-14, 1e-11, 1e-10])
def test_coordinates_whose_components_nearly_coincide_are_not_gaussian(gap):
    # Each coordinate a mixture of two distinct components closer than the tolerance: exactly no coordinate
    # is Gaussian and the prior is a product, so S2 holds; within the tolerance both look Gaussian.
    first = _diagonal_prior([[0.0], [gap]], [[1.0], [1.0]])
    second = _diagonal_prior([[0.0], [0.0]], [[1.0], [1.0 + gap]])
    result = check_independent_coordinates(product_mixture([first, second]))
    _assert_never_fails(result)
    if result.holds is None:
        assert result.details["nearly_gaussian_coordinates"] == [0, 1]
    two_gaussian = check_independent_coordinates(_diagonal_prior([[0.0, 0.0]], [[1.0, 2.0]]))
    assert two_gaussian.holds is False and two_gaussian.witness == [0, 1]


def _exactly_invariant(prior: GaussianMixture, h: AffineMap) -> bool:
    """h#P = P in rationals: h permutes the components (weights, means, covariances) exactly."""
    from fractions import Fraction

    A = [[Fraction(v) for v in row] for row in h.matrix.tolist()]
    b = [Fraction(v) for v in h.offset.tolist()]
    m = len(b)
    pushed = []
    for w, mu, cov in zip(prior.weights.tolist(), prior.means.tolist(), prior.covariances.tolist()):
        mean = tuple(sum(A[r][k] * Fraction(mu[k]) for k in range(m)) + b[r] for r in range(m))
        ac = [[sum(A[r][k] * Fraction(cov[k][t]) for k in range(m)) for t in range(m)] for r in range(m)]
        pushed.append((Fraction(w), mean, tuple(tuple(sum(ac[r][t] * A[s][t] for t in range(m)) for s in range(m)) for r in range(m))))
    own = [(Fraction(w), tuple(map(Fraction, mu)), tuple(tuple(map(Fraction, row)) for row in cov))
           for w, mu, cov in zip(prior.weights.tolist(), prior.means.tolist(), prior.covariances.tolist())]
    return sorted(pushed) == sorted(own)


@pytest.mark.parametrize("gap", [0.0, 1e-13, 1e-10])
def test_a_nearly_symmetric_prior_is_never_given_a_symmetry(gap):
    # Mirror images in y, one of them moved by `gap`: a symmetry exists iff gap = 0 (then exactly y -> -y).
    prior = _diagonal_prior([[2.0, 1.0], [2.0, -1.0 - gap], [-3.0, 0.0]], [[1.0, 1.0]] * 3, [0.3, 0.3, 0.4])
    result = check_trivial_symmetry(prior)
    if gap == 0.0:
        assert result.holds is False and result.verified and _exactly_invariant(prior, result.witness)
        assert result.witness.matrix.tolist() == [[1.0, 0.0], [0.0, -1.0]]
    else:
        _assert_never_fails(result)


# ---------------------------------------------------------------------- near-parallel hyperplanes
ANGLES = [1e-3, 1e-9, 1e-11, 1e-12, 1e-14, 1e-15, 1e-300]


def _lines(rows, offsets) -> LeakyReLUNetwork:
    """One hidden layer whose units' lines are a·z + b = 0 for the given rows, identity output."""
    W = torch.tensor(rows, dtype=D)
    return LeakyReLUNetwork([W, torch.eye(len(rows), dtype=D)], [torch.tensor(offsets, dtype=D), torch.zeros(len(rows), dtype=D)], 0.2)


def _assert_regions_exactly_placed(net: LeakyReLUNetwork, regions) -> None:
    """Each region's interior point has the region's pattern with every pre-activation nonzero, in rationals."""
    exact = ExactNetwork.of(net)
    for pattern, point in zip(regions.arrays.patterns, regions.arrays.interior):
        _, pre = exact.forward(qcol(point))
        values = [v for layer in pre for v in layer]
        assert all(v != 0 for v in values)
        assert [bool(v > 0) for v in values] == [bool(b) for b in pattern]


@pytest.mark.parametrize("angle", ANGLES)
@pytest.mark.parametrize("box", [None, 1.0])
def test_two_lines_at_a_tiny_angle_make_four_regions_or_say_not_exact(angle, box):
    # Two distinct lines through the origin: 4 regions of R^2 and of the box, however small the angle.
    net = _lines([[1.0, 0.0], [1.0, angle]], [0.0, 0.0])
    count, exact = region_count(net, box)
    assert (count, exact) == (4, True) or not exact, (count, exact)
    if angle >= 1e-12:  # slivers that float64 coordinates carry are resolved, not only flagged
        assert (count, exact) == (4, True)
        _assert_regions_exactly_placed(net, linear_regions(net, box))


@pytest.mark.parametrize("angle", ANGLES)
def test_nearly_parallel_lines_meeting_inside_or_outside_the_box(angle):
    # x = 0, x + angle·y + c·angle = 0 and y = 0: they meet at y = −c. Three lines in general position make 7
    # regions of R^2; on [-1, 1]^2 7 when c = 0.5 (every crossing inside), 6 when c = 2.
    for c, (expect_plane, expect_box) in ((0.5, (7, 7)), (2.0, (7, 6))):
        net = _lines([[1.0, 0.0], [1.0, angle], [0.0, 1.0]], [0.0, c * angle, 0.0])
        for box, expect in ((None, expect_plane), (1.0, expect_box)):
            count, exact = region_count(net, box)
            assert (count, exact) == (expect, True) or not exact, (angle, c, box, count)


@pytest.mark.parametrize("angle", [1e-3, 1e-9, 1e-11, 1e-12, 1e-15])
def test_a_sliver_made_by_a_bent_hyperplane_of_the_second_layer(angle):
    # Layer 1: h = (σ(x), y + 2) on the box; layer 2: u = h_x + angle·(h_y − 2) = σ(x) + angle·y, whose zero set
    # bends at x = 0 into two rays at angles about `angle` and 5·angle from it: 4 regions of the box.
    w1, b1 = torch.eye(2, dtype=D), torch.tensor([0.0, 2.0], dtype=D)
    w2, b2 = torch.tensor([[1.0, angle]], dtype=D), torch.tensor([-2.0 * angle], dtype=D)
    net = LeakyReLUNetwork([w1, w2, torch.ones(1, 1, dtype=D)], [b1, b2, torch.zeros(1, dtype=D)], 0.2)
    count, exact = region_count(net, 1.0)
    assert (count, exact) == (4, True) or not exact, (count, exact)
    if angle >= 1e-12:
        assert (count, exact) == (4, True)
        _assert_regions_exactly_placed(net, linear_regions(net, 1.0))


# ---------------------------------------------------------------------- arrangements far from the origin
def test_a_line_that_clips_a_corner_of_a_far_box_by_a_hair():
    # The box [1e8 + 0.1, 1e8 + 0.3]^2, whose float centre ± half-width misses its upper corner by 1.5e-8; the line
    # x + 0.9 y + b = 0 moved ulp by ulp across that corner: 2 regions exactly while the corner is strictly above it.
    low, high = torch.full((2,), 1e8 + 0.1, dtype=D), torch.full((2,), 1e8 + 0.3, dtype=D)
    b0 = -(float(high[0]) + 0.9 * float(high[1]))
    for k in range(-3, 4):
        b = b0 + k * math.ulp(b0)
        corner = Fraction(float(high[0])) + Fraction(0.9) * Fraction(float(high[1])) + Fraction(b)
        net = LeakyReLUNetwork([torch.tensor([[1.0, 0.9]], dtype=D), torch.ones(1, 1, dtype=D)],
                               [torch.tensor([b], dtype=D), torch.zeros(1, dtype=D)], 0.1)
        assert region_count(net, (low, high)) == ((2 if corner > 0 else 1), True), k


def test_lines_meeting_far_from_the_origin_on_the_plane():
    # 3x = 3e8 + 1 and x + 7y = 8e8 + 3 meet near (1e8, 1e8) at a point no float represents; with x − y = 0.5,
    # three lines in general position: 7 regions of R^2, each placed exactly.
    net = _lines([[3.0, 0.0], [1.0, 7.0], [1.0, -1.0]], [-(3e8 + 1), -(8e8 + 3), -0.5])
    assert region_count(net, None) == (7, True)
    _assert_regions_exactly_placed(net, linear_regions(net, None))


@pytest.mark.parametrize("scale", [1.0, 1e-100, 1e-200, 1e-300])
@pytest.mark.parametrize("box", [None, 1.0, 2.0])
def test_a_first_layer_of_tiny_weights_keeps_its_arrangement(scale, box):
    # The lines x = 0, y = 0 and x + y = −1, with every weight and bias times `scale`: 7 regions of R^2 and of
    # [-2, 2]^2, 5 of [-1, 1]^2 (the third line cuts a corner), whatever the scale (the squares of the weights underflow).
    net = _lines([[scale, 0.0], [0.0, scale], [scale, scale]], [0.0, 0.0, scale])
    assert region_count(net, box) == ({None: 7, 1.0: 5, 2.0: 7}[box], True)
    _assert_regions_exactly_placed(net, linear_regions(net, box))


# ---------------------------------------------------------------------- cancellation in the composed layers
@pytest.mark.parametrize("crossing", [1.5, 1.2, 0.9, 0.5])
def test_a_second_layer_whose_terms_cancel_is_placed_exactly(crossing):
    # Layer 2 reads 0.1 h + 0.2 h − 0.3 h of the same unit h = x + 2: exactly (0.1 + 0.2 − 0.3) (x + 2), a gradient
    # of 2.8e-17 that float64 computes as 5.6e-17. Its offset puts the exact zero at x = crossing: it cuts [-1, 1]^2
    # iff crossing < 1 (4 regions with y = 0, else 2).
    gradient = Fraction(0.1) + Fraction(0.2) - Fraction(0.3)
    offset = float(-gradient * (Fraction(crossing) + 2))
    w1, b1 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=D), torch.tensor([2.0, 2.0, 2.0, 0.0], dtype=D)
    net = LeakyReLUNetwork([w1, torch.tensor([[0.1, 0.2, -0.3, 0.0]], dtype=D), torch.ones(1, 1, dtype=D)],
                           [b1, torch.tensor([offset], dtype=D), torch.zeros(1, dtype=D)], 0.1)
    assert region_count(net, 1.0) == (4 if crossing < 1 else 2, True)
    _assert_regions_exactly_placed(net, linear_regions(net, 1.0))


def test_a_second_layer_constant_on_some_cells_of_the_plane():
    # Integer weights whose second-layer unit is exactly constant on some first-layer cells (float64 gives it
    # gradients of 1e-18 in the rotated frame of R^2): the regions of R^2 are those of a box large enough to hold
    # every vertex, and each is placed exactly.
    w1 = torch.tensor([[1.0, -1.0], [-1.0, 2.0], [-2.0, 2.0], [2.0, 0.0]], dtype=D)
    b1 = torch.tensor([-1.0, 1.0, -0.5, -0.5], dtype=D)
    net = LeakyReLUNetwork([w1, torch.tensor([[0.0, 2.0, -2.0, -1.0]], dtype=D), torch.ones(1, 1, dtype=D)],
                           [b1, torch.tensor([0.5], dtype=D), torch.zeros(1, dtype=D)], 0.1)
    plane = region_count(net, None)
    assert plane.exact and plane.count == region_count(net, 1e4).count == region_count(net, 1e6).count
    _assert_regions_exactly_placed(net, linear_regions(net, None))


@pytest.mark.parametrize("gap", [1e-8, 1e-10])
def test_thin_cones_whose_apex_is_far_away_get_interior_points_inside(gap):
    # x + y = 0, x + (1 + gap) y = −1 and 2x + 2y = 1 on R^2: the first two meet near 1e8 / gap at an angle of
    # about gap, so the cones between them are thinner, one scale from their apex, than the floats there; their
    # interior points are taken farther along their rays, and each is inside exactly.
    rng = np.random.default_rng(5)
    first = _lines([[1.0, 1.0], [1.0, 1.0 + gap], [2.0, 2.0]], [0.0, 1.0, -1.0])
    net = LeakyReLUNetwork([first.weights[0], torch.tensor(rng.normal(size=(3, 3)), dtype=D), torch.ones(1, 3, dtype=D)],
                           [first.biases[0], torch.tensor(rng.normal(size=3), dtype=D), torch.zeros(1, dtype=D)], 0.1)
    regions = linear_regions(net, None)
    assert regions.exact
    _assert_regions_exactly_placed(net, regions)


def test_a_count_that_is_not_exact_is_reported_as_unknown():
    # Two lines at an angle of 1e-15: the sliver between them is below float64's reach, so the count (2) is
    # flagged; the result says unknown with the number found, never "holds".
    from verify.analysis import linear_regions_result

    flagged = linear_regions_result(_lines([[1.0, 0.0], [1.0, 1e-15]], [0.0, 0.0]), 1.0)
    assert flagged.holds is None and flagged.statistic == 2.0 and "not exact" in flagged.method
    exact = linear_regions_result(_lines([[1.0, 0.0], [1.0, 1e-3]], [0.0, 0.0]), 1.0)
    assert exact.holds is True and exact.verified and exact.statistic == 4.0
