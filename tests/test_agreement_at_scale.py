"""Decoder agreement above the enumeration limit: unit matching with its perturbation bound, the
mixed-integer program, and affine equivalence decided on the prior's box."""

import numpy as np
import torch

from models import LeakyReLUNetwork, random_model, random_network
from models.deadline import Deadline
from verify.agreement_program import difference_reaches
from verify.decoder_agreement import check_same_decoder
from verify.equivalence import check_affine_equivalence
from verify.suite import equivalent_model, random_invertible_affine
from verify.unit_matching import difference_bound, difference_growth, match_units

F64 = torch.float64


def _relabelled(net: LeakyReLUNetwork, seed: int) -> LeakyReLUNetwork:
    """The same map with every hidden layer's units permuted and scaled by positive factors."""
    gen = torch.Generator().manual_seed(seed)
    weights, biases = [w.clone() for w in net.weights], [b.clone() for b in net.biases]
    for k in range(len(weights) - 1):
        perm = torch.randperm(weights[k].shape[0], generator=gen)
        scale = 0.5 + torch.rand(weights[k].shape[0], generator=gen, dtype=F64)
        weights[k], biases[k] = weights[k][perm] * scale[:, None], biases[k][perm] * scale
        weights[k + 1] = weights[k + 1][:, perm] / scale
    return LeakyReLUNetwork(weights, biases, list(net.slopes))


def test_relabelled_units_are_matched_and_the_maps_agree_on_all_of_the_space():
    f = random_network((5, 24, 24, 8), 0.2, injective=False, generator=1)
    g = _relabelled(f, 2)
    z = torch.randn(300, 5, dtype=F64)
    assert torch.allclose(f(z), g(z), rtol=1e-12, atol=1e-12)
    matching = match_units(f, g)
    assert matching is not None
    bound = difference_bound(f, g, matching, -3 * np.ones(5), 3 * np.ones(5))
    assert 0 < bound < 1e-10
    alpha, beta = difference_growth(f, g, matching, np.zeros(5))
    assert 0 < alpha < 1e-10 and 0 < beta < 1e-10
    # The growth bound decides on all of R^5, which is more than the box asked for.
    result = check_same_decoder(f, g, latent_scale=1.0, points=z, box=3.0)
    assert result.holds is True and result.domain == "R^5" and result.details["by"] == "unit matching"
    assert result.verified and result.details["certificate"].startswith("rigorous")


def test_the_bound_grows_with_a_planted_weight_change():
    f = random_network((5, 24, 24, 8), 0.2, injective=False, generator=1)
    g = _relabelled(f, 2)
    low, high = -3 * np.ones(5), 3 * np.ones(5)
    tight = difference_bound(f, g, match_units(f, g), low, high)
    biases = [b.clone() for b in g.biases]
    biases[-1][0] += 1e-7  # too small to unmatch, large against rounding
    moved = LeakyReLUNetwork(g.weights, biases, list(g.slopes))
    loose = difference_bound(f, moved, match_units(f, moved), low, high)
    assert loose >= 1e-7 > tight
    alpha, _ = difference_growth(f, moved, match_units(f, moved), np.zeros(5))
    assert alpha >= 1e-7


def test_a_planted_offset_defeats_the_growth_bound_and_fails_at_a_point():
    f = random_network((5, 24, 24, 8), 0.2, injective=False, generator=1)
    g = _relabelled(f, 2)
    biases = [b.clone() for b in g.biases]
    biases[-1][0] += 1e-3  # the units still match; the maps differ by 1e-3 everywhere
    moved = LeakyReLUNetwork(g.weights, biases, list(g.slopes))
    z = torch.randn(50, 5, dtype=F64, generator=torch.Generator().manual_seed(0))
    result = check_same_decoder(f, moved, latent_scale=1.0, points=z)
    assert result.holds is False and result.verified and result.witness is not None
    assert float((f(result.witness[None]) - moved(result.witness[None])).abs().max()) >= 1e-3 * (1 - 1e-9)


def test_a_moved_unit_is_found_by_the_program_and_re_checked():
    f = random_network((4, 8, 8, 3), 0.2, injective=False, generator=3)
    biases = [b.clone() for b in f.biases]
    biases[1][2] += 0.05  # one unit of the second layer moves: f and g differ where it is active
    g = LeakyReLUNetwork(f.weights, biases, list(f.slopes))
    assert match_units(f, g) is None
    result = check_same_decoder(f, g, latent_scale=1.0, box=3.0, time_limit=60)
    assert result.holds is False and result.verified
    z = result.witness
    assert bool((z.abs() <= 3.0).all())
    assert float((f(z) - g(z)).abs().max()) >= result.details["threshold"]


def test_the_program_proves_agreement_of_identical_maps_written_differently():
    # g computes f with a zero-weight unit added to the first layer: no unit matching, same map.
    f = random_network((4, 6, 3), 0.2, injective=False, generator=5)
    w0 = torch.cat([f.weights[0], torch.ones(1, 4, dtype=F64)])
    b0 = torch.cat([f.biases[0], torch.zeros(1, dtype=F64)])
    w1 = torch.cat([f.weights[1], torch.zeros(3, 1, dtype=F64)], dim=1)
    g = LeakyReLUNetwork([w0, w1], [b0, f.biases[1]], list(f.slopes))
    found = difference_reaches(f, g, -2 * np.ones(4), 2 * np.ones(4), 1e-3, Deadline(60))
    assert found.reaches is False and found.by == "program"
    # With a threshold above any difference the bounds decide alone.
    assert difference_reaches(f, f, -2 * np.ones(4), 2 * np.ones(4), 1e6, Deadline(60)).by == "bounds"


def _with_a_dead_unit(f):
    """f with a unit added to the first layer whose outgoing weights are 0: the same map, no unit matching."""
    m, n = f.in_dim, f.out_dim
    w0 = torch.cat([f.weights[0], torch.ones(1, m, dtype=F64)])
    b0 = torch.cat([f.biases[0], torch.zeros(1, dtype=F64)])
    w1 = torch.cat([f.weights[1], torch.zeros(n, 1, dtype=F64)], dim=1)
    return LeakyReLUNetwork([w0, w1], [b0, f.biases[1]], list(f.slopes))


def test_the_programs_no_is_not_a_proof_and_leaves_agreement_unknown():
    f = random_network((4, 6, 3), 0.2, injective=False, generator=5)
    g = _with_a_dead_unit(f)
    result = check_same_decoder(f, g, latent_scale=1.0, box=2.0, time_limit=60)
    assert result.holds is None and not result.verified
    assert "not re-checked" in result.details["reason"] and result.details["by"] == "program"


def test_sound_output_bounds_alone_prove_agreement_within_a_loose_tolerance():
    f = random_network((4, 6, 3), 0.2, injective=False, generator=5)
    g = _with_a_dead_unit(f)
    result = check_same_decoder(f, g, latent_scale=1.0, box=2.0, rtol=10.0, time_limit=60)
    assert result.holds is True and result.verified and result.details["by"] == "bounds"


def test_affine_equivalence_is_decided_on_all_of_the_space_for_m_above_three():
    gen = torch.Generator().manual_seed(7)
    model = random_model(5, 12, hidden=(8,), n_components=2, generator=gen)
    h = random_invertible_affine(5, gen)
    other = equivalent_model(model, h, gen)
    result = check_affine_equivalence(model, other, n=400, time_limit=60)
    assert result.holds is True, result.method
    assert result.domain == "R^5" and "units permuted" in result.method
