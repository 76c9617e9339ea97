"""Injectivity and weak injectivity: exact verdicts, witnesses re-checked by forward passes."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import AffineMap, LeakyReLUNetwork
from models.random import random_network
from models.strategies import injective_networks, networks
from verify.check_result import CheckResult
from verify.injectivity import (
    METHODS,
    InfinitePreimagesError,
    check_injective,
    check_weakly_injective,
    count_preimages,
    find_collision,
    preimages,
)

F64 = torch.float64

weak_module = importlib.import_module("verify.injectivity.weak")


def _net(weights, biases, slope=0.0) -> LeakyReLUNetwork:
    return LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases], slope)


def abs_net() -> LeakyReLUNetwork:
    """f(z) = |z| = ReLU(z) + ReLU(−z): folds R onto [0, ∞)."""
    return _net([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])


def abs_first_coordinate() -> LeakyReLUNetwork:
    """The square map f(z) = (|z1|, z2) of R^2: determinants +1 and −1."""
    return _net([[[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, 1, 0, 0], [0, 0, 1, -1]]], [[0, 0, 0, 0], [0, 0]])


def relu_net() -> LeakyReLUNetwork:
    """f(z) = ReLU(z) on R^2: the negative quadrant collapses to 0, the positive one is the identity."""
    return _net([[[1, 0], [0, 1]], [[1, 0], [0, 1]]], [[0, 0], [0, 0]])


def folded(net: LeakyReLUNetwork) -> LeakyReLUNetwork:
    """net(|z1|, z2, ..., zm): a planted fold in front of any network."""
    m = net.in_dim
    first = torch.zeros(2 * m, m, dtype=F64)
    for k in range(m):
        first[2 * k, k], first[2 * k + 1, k] = 1.0, -1.0
    gather = torch.zeros(m, 2 * m, dtype=F64)
    gather[0, 0] = gather[0, 1] = 1.0
    for k in range(1, m):
        gather[k, 2 * k], gather[k, 2 * k + 1] = 1.0, -1.0
    weights, biases = net.weights, net.biases
    slopes = [0.0, *net.slopes]
    return LeakyReLUNetwork([first, weights[0] @ gather, *weights[1:]], [torch.zeros(2 * m, dtype=F64), *biases], slopes)


def assert_collision(net: LeakyReLUNetwork, result: CheckResult):
    """A failing result whose witness is a genuine collision, re-checked here by a forward pass."""
    assert result.holds is False
    z1, z2 = result.witness
    assert z1.shape == z2.shape == (net.in_dim,)
    # Distinct points; a confirmed collision may be narrower than the separation tolerance (a flat
    # interval 1e-7 wide between two kinks is one), since the exact check, not a float, decides it.
    assert float((z1 - z2).norm()) > 0
    scale = 1.0 + float(net(z1).norm())
    assert float((net(z1) - net(z2)).norm()) <= 1e-9 * scale * 10
    assert result.details["witness_verified"]


# ---------------------------------------------------------------------- injective networks
@pytest.mark.parametrize("widths", [(2, 2), (2, 3, 5), (3, 4, 4, 6), (2, 8, 16, 16)])
def test_expansive_leaky_networks_are_certified(widths):
    net = random_network(widths, 0.2, generator=1)
    result = check_injective(net)
    assert result.holds is True and result.verdict == "holds" and result.domain == f"R^{widths[0]}"
    assert result.details["decided_by"] == "injective/rank"
    assert result.witness["criterion"].startswith("every slope > 0")


@settings(max_examples=15, deadline=None)
@given(injective_networks(max_in_dim=2, max_depth=3, max_growth=1))
def test_property_injective_networks_hold_for_every_exact_method(net):
    assert check_injective(net, method="rank").holds
    regions = check_injective(net, box=2.0, method="regions")
    # "holds" needs the exact certificate. Entries below float64's resolution of the others (biases
    # of 1e-218, a rotation by 1e-252) can leave the enumeration not exact, or the float programs blind
    # to the rows an exact certificate needs: then the verdict is unknown, with the reason, never "fails".
    if _has_negligible_entries(net):
        assert regions.holds is not False and (regions.holds or "exact" in regions.details["reason"]), regions
    else:
        assert regions.holds is True and regions.verified, regions
    search = check_injective(net, box=2.0, method="search", n_samples=256)
    # A search that finds no collision proves nothing: unknown, never "holds".
    assert search.holds is None and search.method.startswith("sampled")


def _has_negligible_entries(net, ratio: float = 1e-100) -> bool:
    values = torch.cat([t.abs().reshape(-1) for t in (*net.weights, *net.biases)])
    return bool(((values > 0) & (values < ratio * values.max())).any())


def test_injective_relu_network_that_rank_cannot_certify():
    # [I; −I] then [I, −I] is the identity: injective, though the ReLU layer is not.
    net = _net([[[1, 0], [0, 1], [-1, 0], [0, -1]], [[1, 0, -1, 0], [0, 1, 0, -1]]], [[0] * 4, [0, 0]])
    assert check_injective(net, method="rank").holds is None
    for method in ["auto", *(name for name, m in METHODS.items() if m.KIND == "exact")]:
        result = check_injective(net, box=2.0, method=method)
        assert result.holds is True and result.method.startswith("exact"), method
    assert check_injective(net, box=None, method="regions").holds


def test_square_coherent_map_is_certified_by_orientation():
    net = random_network((2, 2, 2), 0.5, generator=3)
    assert check_injective(net, box=None, method="orientation").holds
    result = check_injective(net, box=2.0, method="orientation")
    assert result.holds and "coherently oriented" in result.witness["criterion"]


# ---------------------------------------------------------------------- collisions
NON_SQUARE_METHODS = ["auto", *(name for name, m in METHODS.items() if m.KIND != "sufficient" and not m.SQUARE_ONLY)]


def test_the_method_table_describes_every_method():
    assert METHODS and any(m.KIND == "exact" for m in METHODS.values())
    for name, module in METHODS.items():
        assert module.NAME == f"injective/{name}" and module.KIND in ("exact", "sufficient", "refutes")


@pytest.mark.parametrize("method", NON_SQUARE_METHODS)
def test_abs_fails_with_a_verified_collision(method):
    net = abs_net()
    result = check_injective(net, box=2.0, method=method)
    assert_collision(net, result)
    assert result.verdict == "fails" and result.domain == "box [-2, 2]^1"
    assert result.details["tolerances"]["collision"] > 0


def test_abs_fails_on_all_of_r():
    net = abs_net()
    assert_collision(net, check_injective(net, box=None, method="regions"))
    assert_collision(net, find_collision(net, box=None))


def test_mixed_orientation_fails_with_a_witness():
    net = abs_first_coordinate()
    result = check_injective(net, box=2.0, method="orientation")
    assert_collision(net, result)
    assert result.details["determinant_signs"]["positive"] > 0 and result.details["determinant_signs"]["negative"] > 0
    assert_collision(net, check_injective(net, box=None, method="orientation"))


def test_rank_is_inconclusive_not_a_refutation():
    result = check_injective(abs_net(), method="rank")
    assert result.holds is None and result.witness is None and result.verdict == "unknown"
    assert "sufficient" in result.details["reason"]
    with pytest.raises(ValueError, match="unknown"):
        bool(result)


def test_relu_zeroing_a_region_is_weakly_injective_but_not_injective():
    net = relu_net()
    result = check_injective(net, box=2.0, method="regions")
    assert_collision(net, result)
    assert result.details["criterion"] == "rank-deficient region"
    weak = check_weakly_injective(net, box=2.0)
    assert weak.holds and "(i)" in weak.details["rests_on"]
    z0 = weak.witness["z0"]
    assert count_preimages(net, net(z0), box=2.0) == 1
    assert weak.witness["delta"] > 0 and weak.witness["forward_check"] <= 1e-12
    assert count_preimages(net, torch.zeros(2, dtype=F64), box=2.0) == math.inf


def test_collapsing_network_is_not_weakly_injective():
    # f(z1, z2) = z1 as a ReLU network: every region has rank 1 < 2.
    net = _net([[[1, 0], [-1, 0]], [[1, -1]]], [[0, 0], [0]])
    weak = check_weakly_injective(net, box=2.0)
    assert weak.holds is False and weak.witness["condition"] == "(ii)"
    assert_collision(net, check_injective(net, box=2.0))


def test_abs_is_not_weakly_injective_by_exact_difference():
    weak = check_weakly_injective(abs_net(), box=2.0)
    assert weak.holds is False and weak.witness["condition"] == "(i)"
    assert weak.method.startswith("exact") and "exact difference" in weak.details["rests_on"]
    example = weak.witness["example"]
    assert example["residual"] <= 1e-12 and example["separation"] > 0.1
    assert check_weakly_injective(abs_net()).holds is False  # all of R as well


def test_weak_injectivity_found_by_exact_difference(monkeypatch):
    # f = ReLU(z) − 2 ReLU(z − 1): z <= 0 -> 0, [0, 1] rises, [1, ∞) falls; on [-3, 3] the points
    # of (2, 3] are the only ones with a unique preimage, which one candidate does not find.
    monkeypatch.setattr(weak_module, "PEAK_FIRST_SHARE", 0.0)  # the regions' path, not the peak
    net = _net([[[1.0], [1.0]], [[1.0, -2.0]]], [[0.0, -1.0], [0.0]])
    weak = check_weakly_injective(net, box=3.0, max_candidates=1)
    assert weak.holds and "exact polyhedral difference" in weak.details["rests_on"]
    z0 = weak.witness["z0"]
    assert 2.0 < float(z0) <= 3.0
    assert count_preimages(net, net(z0), box=3.0) == 1


def test_a_peak_at_the_box_corner_decides_weak_injectivity_first_at_small_m():
    # The same map: f falls on [1, 3], so f is lowest at the corner 3 and −f peaks there.
    net = _net([[[1.0], [1.0]], [[1.0, -2.0]]], [[0.0, -1.0], [0.0]])
    weak = check_weakly_injective(net, box=3.0)
    assert weak.holds is True and weak.verified and "peak" in weak.method
    assert float(weak.witness["z0"]) == 3.0 and weak.witness["delta"] > 0
    assert count_preimages(net, net(weak.witness["z0"]), box=3.0) == 1
    assert check_weakly_injective(net, box=3.0).holds


def test_weak_injectivity_of_injective_networks_needs_no_enumeration():
    weak = check_weakly_injective(random_network((3, 5, 7), 0.1, generator=0))
    assert weak.holds and "rank criterion" in weak.details["rests_on"]


# ---------------------------------------------------------------------- planted violations
@pytest.mark.parametrize("seed", [0, 1])
def test_every_method_fails_on_a_planted_fold(seed):
    net = folded(random_network((2, 3, 4), 0.3, generator=seed))
    for method in NON_SQUARE_METHODS:
        assert_collision(net, check_injective(net, box=2.0, method=method))


def test_planted_fold_in_a_square_map_fails_orientation():
    net = folded(random_network((2, 2, 2), 0.5, generator=5))
    assert_collision(net, check_injective(net, box=2.0, method="orientation"))


def test_planted_collapse_fails_weak_injectivity():
    net = random_network((2, 4, 5), 0.2, generator=2).precompose(AffineMap(torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=F64)))
    weak = check_weakly_injective(net, box=2.0)
    assert weak.holds is False and weak.witness["condition"] == "(ii)"
    assert_collision(net, check_injective(net, box=2.0))


# ---------------------------------------------------------------------- exact methods agree
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_in_dim=2, max_width=4, max_depth=3, max_out_dim=3))
def test_property_regions_and_milp_agree(net):
    by_regions = check_injective(net, box=1.5, method="regions")
    by_milp = check_injective(net, box=1.5, method="milp")
    # They never contradict each other; one may stay unknown where a float candidate fails the exact
    # re-check (a piece of slope 1e-282 is injective in rationals and flat in float64).
    assert {by_regions.holds, by_milp.holds} != {True, False}
    for result in (by_regions, by_milp):
        assert result.holds is not None or result.details.get("reason")
    for result in (by_regions, by_milp):
        if result.holds is False:
            assert_collision(net, result)


# ---------------------------------------------------------------------- preimages
def test_preimages_of_abs():
    net = abs_net()
    found = preimages(net, torch.tensor([1.5], dtype=F64))
    assert sorted(found.flatten().tolist()) == pytest.approx([-1.5, 1.5])
    assert count_preimages(net, [0.0]) == 1
    assert count_preimages(net, [-1.0]) == 0
    assert count_preimages(net, [1.5], box=1.0) == 0


def test_preimages_of_an_injective_network_invert_it():
    net = random_network((2, 3, 4), 0.2, generator=6)
    z = torch.tensor([0.3, -0.7], dtype=F64)
    found = preimages(net, net(z), box=2.0)
    assert found.shape == (1, 2) and torch.allclose(found[0], z, atol=1e-9)


def test_infinitely_many_preimages():
    with pytest.raises(InfinitePreimagesError, match="x"):
        preimages(relu_net(), torch.zeros(2, dtype=F64), box=1.0)


# ---------------------------------------------------------------------- bad input
def test_bad_input_raises_naming_the_argument():
    net = abs_net()
    cases = [
        (lambda: check_injective("net"), "network"),
        (lambda: check_injective(net, box=-1.0), "box"),
        (lambda: check_injective(net, box=1.0, method="guess"), "method"),
        (lambda: check_injective(net, box=None, method="milp"), "box"),
        (lambda: check_injective(net, box=1.0, method="milp", time_limit=-1), "time_limit"),
        (lambda: check_injective(net, box=1.0, generator="seed"), "generator"),
        (lambda: check_injective(random_network((2, 3), 0.2, generator=0), box=1.0, method="orientation"), "network"),
        (lambda: find_collision(net, box=1.0, n_samples=1), "n_samples"),
        (lambda: find_collision(net, box=1.0, max_pairs=0), "max_pairs"),
        (lambda: preimages(net, torch.zeros(2)), "x"),
        (lambda: count_preimages(net, [float("nan")]), "x"),
        (lambda: count_preimages(net, [1.0], box=(1.0, 0.0)), "box"),
        (lambda: check_weakly_injective(net, box="wide"), "box"),
        (lambda: check_weakly_injective(net, box=1.0, max_candidates=0), "max_candidates"),
        (lambda: check_weakly_injective(net, box=1.0, budget=0), "budget"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=name):
            call()


def test_results_serialise():
    result = check_injective(abs_net(), box=1.0, method="regions")
    assert result.to_dict()["holds"] is False
    assert check_weakly_injective(relu_net(), box=1.0).to_dict()["holds"] is True


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_sweep_regions_and_milp_agree_on_wider_networks(seed):
    net = random_network((2, 6, 6, 3), 0.0, injective=False, generator=seed)
    assert check_injective(net, box=2.0, method="regions").holds == check_injective(net, box=2.0, method="milp").holds


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(networks(max_in_dim=3, max_width=5, max_depth=3, max_out_dim=4), st.integers(0, 3))
def test_sweep_search_never_contradicts_regions(net, seed):
    search = check_injective(net, box=1.5, method="search", n_samples=512, generator=seed)
    if search.holds is False:
        assert check_injective(net, box=1.5, method="regions").holds is False


def test_milp_finds_the_flat_end_of_a_box():
    """The first unit is off on the box's last 0.066 (z < -1.4338): f is constant there. Solver
    feasibility tolerances tightened to 1e-9 made HiGHS call this program infeasible."""
    weights = [[[1.0]], [[0.60204477792688], [1.4345312980336837], [1.1], [-0.7644445998617317]],
               [[1.0, 1.193427006600353, -0.32021743922902735, 1.957746516695237]]]
    biases = [[1.433782158790053], [1e-07, 1.8398876503136714, -1.311143234931663, 7.511150790339796e-09],
              [-1.7903585513606926]]
    net = LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases],
                           [0.0, 0.0])
    result = check_injective(net, box=1.5, method="milp")
    assert_collision(net, result)
    assert float(result.witness[0].max()) <= -1.43 and float(result.witness[1].max()) <= -1.43


@pytest.mark.parametrize("method", ["regions", "milp", "search"])
@pytest.mark.parametrize("weights, biases", [
    ([[[0.0]], [[1.0], [0.0], [0.0]], [[2.5, 0.0, 0.0]]], [[0.3125], [0.0, 0.0, 0.0], [0.0]]),
    ([[[0.0]], [[1.0]]], [[0.0], [0.0]]),
])
def test_a_constant_network_collides_by_every_method(weights, biases, method):
    """A zero first layer: f is constant and its Lipschitz bound 0. The output unit of the normalized
    frame once became 1e-300, so that the programs' rows overflowed or misled the solver."""
    net = LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases],
                           [0.0] * (len(weights) - 1))
    assert_collision(net, check_injective(net, box=1.5, method=method))


def test_milp_confirms_a_collision_whose_binaries_sit_on_a_tie():
    """f = relu(relu(z − 0.54)) is 0 left of 0.54. The program's optimum lies on the kink, and its
    binaries set a unit of pre-activation −2e-62 active, a pattern with an empty region: the
    pattern of a forward pass at the program's latents gives the collision."""
    weights = [[[1.0], [0.0]], [[1.0, 0.0], [1.0, 1.0]], [[1.0, 0.0]]]
    biases = [[-0.539380149854537, 0.0], [0.0, -2.1854392235244096e-62], [0.0]]
    net = LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases],
                           [0.0, 0.0])
    assert_collision(net, check_injective(net, box=1.5, method="milp"))


def test_a_milp_witness_is_never_closer_than_the_separation_tolerance():
    """f(z) = 1e-14 · relu(z) on [-1.5, 1.5]: moving the program's pair onto the exact solution set
    once brought it to 1.5e-7 apart, below the separation tolerance, and it was reported."""
    weights = [[[0.5], [0.0], [1.0], [1.0]], [[1.0, 0.0, 0.0, 1e-14]], [[1.0]]]
    biases = [[-1.0, 0.0, 0.0, 0.0], [0.0], [0.0]]
    net = LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases],
                           [0.0, 0.0])
    assert_collision(net, check_injective(net, box=1.5, method="milp"))


def test_milp_finds_a_collapse_by_a_weight_of_1e_307():
    """On z1 < 0, f = (0, 1.3e-307 z1 + z2 + 2) has rank 1, a collapse no float pair shows: the
    program's candidates fail the exact check, and the exact null space of their piece is the witness."""
    weights = [[[1.0, 0.0], [1.3202033509109336e-307, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]
    biases = [[0.0, 2.0], [0.0, 0.0]]
    net = LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases], [0.0])
    assert_collision(net, check_injective(net, box=1.5, method="milp"))
