"""Counterexamples (docs/theory.md, CE1–CE5): every piece of evidence holds, in the base form and
embedded in R^n; every check behind the evidence fails on a planted violation with a witness."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from models import GaussianMixture, LeakyReLUNetwork, random_gmm, random_network
from verify.check_result import CheckResult
from verify.counterexamples import (
    LIMIT_NAMES,
    NAMES,
    Counterexample,
    catalog,
    check_continuous,
    check_full_rank_somewhere,
    check_full_support,
    check_nondegenerate_covariance,
    check_piecewise_affine,
    dropped,
    get,
)
from verify.counterexamples import evidence as ev
from verify.counterexamples.maps import (
    QUAD_VERTICES,
    SQUARE_VERTICES,
    GaussianizingMap,
    SampledModel,
    abs_network,
    ce3_phi_inverse_network,
    ce3_phi_network,
    ce5_decoder_inverse,
    ce5_decoder_network,
    compose_networks,
    flip_inside,
    gaussian,
    identity_network,
    pieces_1d,
    preimages_1d,
    pushforward_density_1d,
    swirl,
    uniform_polygon_log_prob,
    uniform_polygon_sampler,
)

D = torch.float64


# --------------------------------------------------------------------------- the catalog
def test_catalog_lists_every_entry_of_theory():
    entries = catalog()
    assert [e.name for e in entries] == list(NAMES)
    theory = (Path(__file__).resolve().parents[1] / "docs" / "theory.md").read_text()
    # The catalogue is the theory document's list of counterexamples, in its order.
    assert re.findall(r"^- \*\*(CE\w+)\*\*", theory, flags=re.M) == [*NAMES, *LIMIT_NAMES]
    for entry in entries:
        assert isinstance(entry, Counterexample)
        assert entry.drops and entry.description
        for model in (entry.model_a, entry.model_b):
            z, x = model.sample(5, 0)
            assert z.shape == (5, model.latent_dim) and x.shape == (5, model.observed_dim)


@pytest.mark.parametrize("name", NAMES)
def test_every_piece_of_evidence_holds(name):
    entry = get(name)
    results = entry.evidence()
    failing = [r.name for r in results if r.holds is False]
    assert not failing, f"{name}: {failing}"
    kinds = {r.name.split(":")[0] for r in results}
    assert {"same_law", "no_affine_relation", "dropped"} <= kinds
    for r in results:
        assert isinstance(r, CheckResult)
        if r.name.startswith("dropped:"):
            assert r.witness is not None, f"{name}: {r.name} carries no witness"


@pytest.mark.parametrize("name", NAMES)
def test_evidence_holds_embedded_in_higher_dimension(name):
    entry = get(name).embedded(6, seed=3)
    assert entry.observed_dim == 6 and entry.embedding is not None
    results = entry.evidence(n_samples=300, seed=1)
    assert results[0].name == "embedding_injective"
    failing = [r.name for r in results if r.holds is False]
    assert not failing, f"{name} in R^6: {failing}"


def test_catalog_embed_dim_builds_every_entry_there():
    entries = catalog(embed_dim=5, seed=2)
    assert all(e.observed_dim == 5 for e in entries)
    assert all(e.model_a.observed_dim == e.model_b.observed_dim == 5 for e in entries)


def test_sample_is_reproducible_and_shaped():
    entry = get("CE3")
    x_a, x_b = entry.sample(50, 7)
    y_a, y_b = entry.sample(50, 7)
    assert x_a.shape == x_b.shape == (50, 2)
    assert torch.equal(x_a, y_a) and torch.equal(x_b, y_b)


def test_model_types_follow_the_construction():
    from models import GenerativeModel

    entries = {e.name: e for e in catalog()}
    for name in ("CE1", "CE1b"):
        assert isinstance(entries[name].model_a, GenerativeModel) and isinstance(entries[name].model_b, GenerativeModel)
    for name in ("CE2a", "CE2b", "CE4"):
        assert isinstance(entries[name].model_a, GenerativeModel) and isinstance(entries[name].model_b, SampledModel)
    for name in ("CE3", "CE5"):
        assert isinstance(entries[name].model_a, SampledModel) and isinstance(entries[name].model_b, SampledModel)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="name"):
        get("CE9")
    with pytest.raises(ValueError, match="n"):
        get("CE3").embedded(2)  # n must exceed the latent dimension 2
    with pytest.raises(ValueError, match="embed_dim"):
        catalog(embed_dim=2)
    with pytest.raises(ValueError, match="n_samples"):
        get("CE1").evidence(n_samples=5)
    with pytest.raises(ValueError, match="seed"):
        get("CE1").evidence(seed=1.5)
    with pytest.raises(ValueError, match="n"):
        get("CE1").sample(0)


# --------------------------------------------------------------------------- the assumption checks
def test_piecewise_affine_is_unknown_for_networks_and_fails_for_smooth_maps():
    points = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=D)
    net = random_network((2, 6, 6, 3), injective=False, generator=4)
    # Affine near every point seen does not show it everywhere: the verdict is unknown, never "holds".
    network_result = check_piecewise_affine(net, points)
    assert network_result.holds is None and network_result.statistic <= 1.0
    smooth = check_piecewise_affine(lambda z: swirl(z, 1.0), points)
    assert smooth.holds is False and smooth.statistic > 100
    witness = smooth.witness
    assert witness["z"].shape == (2,)
    # Curvature: the second difference scales as h², so D(h) / h² settles to a constant.
    ratio = witness["second_difference_over_h2"]
    assert float((ratio[-1] / ratio[-2] - 1).abs()) < 0.01
    one_d = check_piecewise_affine(torch.tanh, torch.linspace(-2, 2, 9, dtype=D).unsqueeze(1) + 0.01)
    assert one_d.holds is False


def test_piecewise_affine_validates():
    with pytest.raises(ValueError, match="points"):
        check_piecewise_affine(torch.tanh, torch.zeros(0, 2))
    with pytest.raises(ValueError, match="h_max"):
        check_piecewise_affine(torch.tanh, torch.zeros(3, 2), h_max=-1.0)


def test_continuity_is_unknown_for_networks_and_finds_the_jump_of_ce4():
    net = random_network((1, 5, 4), injective=False, generator=1)
    smooth = check_continuous(net, torch.tensor([-3.0]), torch.tensor([3.1]))
    assert smooth.holds is None and smooth.statistic <= smooth.tolerance
    jump = check_continuous(flip_inside, torch.tensor([-3.0]), torch.tensor([3.1]))
    assert jump.holds is False
    assert abs(abs(float(jump.witness["z"][0])) - 1.0) < 1e-9
    assert abs(jump.witness["jump"] - 2.0) < 1e-6
    with pytest.raises(ValueError, match="end"):
        check_continuous(flip_inside, torch.tensor([1.0]), torch.tensor([1.0]))


def test_full_support_is_unknown_for_mixtures_and_fails_for_uniform_priors():
    grid = ev.grid_2d(-1.0, 2.0, 11)
    positive = check_full_support(random_gmm(2, 3, generator=0).log_prob, grid)
    assert positive.holds is None and positive.statistic == 0.0
    square = check_full_support(uniform_polygon_log_prob(SQUARE_VERTICES), grid)
    assert square.holds is False and square.statistic > 0.5
    w = square.witness["z"]
    assert not (0 <= float(w[0]) <= 1 and 0 <= float(w[1]) <= 1)


def test_nondegenerate_covariance():
    assert check_nondegenerate_covariance(torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=D)).holds
    degenerate = check_nondegenerate_covariance(torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=D))
    assert degenerate.holds is False and degenerate.details["rank"] == 1
    assert torch.allclose(degenerate.witness["direction"].abs(), torch.tensor([0.0, 1.0], dtype=D))
    with pytest.raises(ValueError, match="covariance"):
        check_nondegenerate_covariance(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=D))


def test_full_rank_piece():
    points = torch.randn(20, 2, dtype=D)
    assert check_full_rank_somewhere(random_network((2, 3, 3), generator=0), points).holds
    projection = LeakyReLUNetwork([torch.tensor([[1.0, 0.0]], dtype=D)], [torch.zeros(1, dtype=D)])
    result = check_full_rank_somewhere(projection, points)
    assert result.holds is False and result.statistic == 1.0 and "local_matrix" in result.witness


def test_dropped_inverts_the_verdict_and_keeps_the_witness():
    failing = CheckResult("x", False, 3.0, 1.0, witness="here")
    assert dropped("x", failing).holds and dropped("x", failing).witness == "here"
    assert dropped("x", CheckResult("x", True, 0.0, 1.0)).holds is False
    assert dropped("x", CheckResult("x", None, 0.0, 1.0)).holds is None


# --------------------------------------------------------------------------- evidence blocks fail when the claim is false
def test_density_comparison_fails_for_different_priors():
    f = abs_network(1)
    x = f(torch.linspace(0.1, 4.0, 50, dtype=D).unsqueeze(1))
    other = gaussian(1, [1.2])
    result = ev.same_density_1d(f, gaussian(1, [1.0]).log_prob, other.log_prob, x)
    assert result.holds is False and result.witness.shape == (1,)


def test_prior_preservation_fails_for_a_map_that_moves_the_prior():
    off_centre = gaussian(2, [1.0, 0.0])
    grid = ev.grid_2d(-2.0, 2.0, 11)
    result = ev.prior_preserved(lambda w: swirl(w, 1.0), lambda w: swirl(w, -1.0), off_centre.log_prob, off_centre.log_prob, grid, "swirl")
    assert result.holds is False and result.witness.shape == (2,)
    scaled = ev.prior_preserved(lambda w: 1.1 * w, lambda w: w / 1.1, gaussian(2).log_prob, gaussian(2).log_prob, grid, "scaling")
    assert scaled.holds is False


def test_latents_not_affine_fails_for_an_affine_relation():
    z = torch.randn(100, 2, dtype=D)
    result = ev.latents_not_affine(z, z @ torch.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=D) + 3.0, "affine")
    assert result.holds is False and result.statistic < 1e-10


def test_component_count_fails_when_equal():
    assert ev.different_components(2, 2).holds is False


def test_area_preservation_fails_for_a_scaled_map():
    phi = ce3_phi_network()
    w, b = phi.weights, phi.biases
    scaled = LeakyReLUNetwork([w[0], 1.1 * w[1]], [b[0], b[1]], 0.0)
    result = ev.area_preserving_bijection(scaled, 1.1 * torch.tensor([[1.5, -0.5], [0.5, 0.5]], dtype=D))
    assert result.holds is False and result.statistic > 0.1
    assert torch.allclose(result.witness["determinants"], torch.full((2,), 1.21, dtype=D))


def test_parallelogram_defect_is_zero_for_the_square():
    assert ev.not_a_parallelogram(SQUARE_VERTICES).holds is False
    assert ev.not_a_parallelogram(QUAD_VERTICES).holds


def test_decoder_mismatch_fails_when_the_decoders_agree():
    grid = torch.linspace(-3, 3, 50, dtype=D).unsqueeze(1)
    f = identity_network(1)
    assert ev.decoder_mismatch_under_symmetries(f, f, grid).holds is False


def test_decoders_agree_fails_off_the_support():
    off = torch.stack([torch.linspace(-2, 2, 9, dtype=D), torch.ones(9, dtype=D)], dim=1)
    result = ev.decoders_agree(identity_network(2), ce5_decoder_network(), off)
    assert result.holds is False and float(result.witness[1]) == 1.0


def test_two_sample_evidence_fails_for_different_laws():
    class Shifted:
        def sample(self, n, generator):
            gen = torch.Generator().manual_seed(generator)
            return torch.randn(n, 1, generator=gen, dtype=D), torch.randn(n, 1, generator=gen, dtype=D) + 1.0

    result = ev.two_sample(Shifted(), 300, 0)
    assert result.holds is False and result.statistic < 0.01


# --------------------------------------------------------------------------- the constructions
def test_abs_network_pieces_and_preimages():
    f = abs_network(1)
    pieces = pieces_1d(f)
    assert len(pieces) == 2
    found = preimages_1d(pieces, torch.tensor([[0.5], [2.0]], dtype=D))
    assert sorted(z for z, _ in found[0]) == pytest.approx([-0.5, 0.5])
    assert all(norm == pytest.approx(1.0) for _, norm in found[1])
    density, counts = pushforward_density_1d(f, gaussian(1).log_prob, torch.tensor([[1.0]], dtype=D))
    assert float(counts[0]) == 2.0
    assert float(density[0]) == pytest.approx(2 * math.exp(-0.5) / math.sqrt(2 * math.pi))


def test_abs_network_in_two_dimensions():
    f = abs_network(2)
    z = torch.randn(30, 2, dtype=D)
    assert torch.allclose(f(z), torch.stack([z[:, 0].abs(), z[:, 1]], dim=1))


def test_pieces_of_a_deep_network_reproduce_it():
    net = random_network((1, 4, 5, 2), injective=False, generator=3)
    z = torch.linspace(-4, 4, 200, dtype=D)
    for low, high, a, c in pieces_1d(net):
        inside = z[(z > low) & (z < high)]
        if len(inside):
            assert torch.allclose(net(inside.unsqueeze(1)), inside.unsqueeze(1) * a + c, atol=1e-12)


def test_compose_networks_is_composition():
    inner, outer = random_network((2, 3, 4), 0.0, injective=False, generator=0), random_network((4, 5, 6), generator=1)
    z = torch.randn(40, 2, dtype=D)
    assert torch.allclose(compose_networks(outer, inner)(z), outer(inner(z)), atol=1e-12)
    with pytest.raises(ValueError, match="outer"):
        compose_networks(inner, inner)


def test_ce3_maps():
    z = torch.rand(500, 2, dtype=D)
    phi, inverse = ce3_phi_network(), ce3_phi_inverse_network()
    assert torch.allclose(inverse(phi(z)), z, atol=1e-14)
    below = z[:, 1] <= z[:, 0]
    expected = torch.where(below.unsqueeze(1), z @ torch.tensor([[1.5, -0.5], [0.5, 0.5]], dtype=D).T, z)
    assert torch.allclose(phi(z), expected, atol=1e-14)
    samples = uniform_polygon_sampler(QUAD_VERTICES)(4000, torch.Generator().manual_seed(0))
    assert bool(torch.isfinite(uniform_polygon_log_prob(QUAD_VERTICES)(samples)).all())
    # The centroid of Q is φ's image of the square's centroid distribution: E[φ(U)].
    assert torch.allclose(samples.mean(0), phi(torch.rand(200000, 2, dtype=D)).mean(0), atol=0.02)


def test_gaussianizing_map_round_trips_into_the_tails():
    mixture = GaussianMixture(torch.tensor([0.5, 0.5], dtype=D), torch.tensor([[-2.0], [2.0]], dtype=D),
                              torch.tensor([[[0.25]], [[0.25]]], dtype=D))
    transform = GaussianizingMap(mixture)
    u = torch.linspace(-8, 8, 33, dtype=D).unsqueeze(1)
    assert torch.allclose(transform(transform.inverse(u)), u, atol=1e-12)


def test_ce5_decoder_and_inverse():
    w = torch.randn(100, 2, dtype=D)
    f = ce5_decoder_network()
    assert torch.allclose(f(w), torch.stack([w[:, 0], w[:, 1] + w[:, 1].clamp_min(0)], dim=1), atol=1e-14)
    assert torch.allclose(ce5_decoder_inverse(f(w)), w, atol=1e-14)


def test_flip_is_an_involution():
    z = torch.linspace(-3, 3, 61, dtype=D)
    assert torch.equal(flip_inside(flip_inside(z)), z)


def test_sampled_model_validates():
    with pytest.raises(ValueError, match="prior"):
        SampledModel("uniform", identity_network(1), latent_dim=1, observed_dim=1, description="")
    with pytest.raises(ValueError, match="decoder"):
        SampledModel(gaussian(1), "f", latent_dim=1, observed_dim=1, description="")
    model = SampledModel(lambda n, g: torch.zeros(n, 1, dtype=D), identity_network(1), latent_dim=1, observed_dim=1, description="d")
    with pytest.raises(ValueError, match="z"):
        model.latent_log_prob(torch.zeros(3, 1))


# --------------------------------------------------------------------------- CE6: a limit
def test_ce6_laws_merge_while_latents_stay_non_affine():
    from verify.counterexamples import LIMIT_NAMES

    assert LIMIT_NAMES == ("CE6",) and [e.name for e in catalog(include_limits=True)][-1] == "CE6"
    entry = get("CE6")
    results = {r.name: r for r in entry.evidence()}
    assert all(r.holds for r in results.values()), results
    merge = results["weak_limit:laws_of_x_merge"].witness["distance"]
    assert merge[-1] < merge[0] / 10
    assert results["no_affine_relation:latents"].statistic > 0.1
    x_a, x_b = entry.sample(20, 0)
    assert x_a.shape == x_b.shape == (20, 2)


def test_ce6_embedded():
    results = get("CE6", embed_dim=4, seed=1).evidence()
    assert all(r.holds for r in results), [(r.name, r.holds) for r in results]


def test_ce6_evidence_fails_when_the_approximation_gets_worse():
    from verify.counterexamples.ce6 import weak_limit_evidence

    results = {r.name: r for r in weak_limit_evidence((8, 2), None, 200, 0)}
    assert results["weak_limit:mixtures_to_uniform"].holds is False
    assert results["weak_limit:laws_of_x_merge"].holds is False
    assert results["weak_limit:laws_of_x_merge"].witness["k"] == [8, 2]
