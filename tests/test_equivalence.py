"""Affine recovery and the affine-equivalence check (T2's conclusion)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings

from models import AffineMap, GenerativeModel, LeakyReLUNetwork, random_model, random_network
from models.joint_network import joint_network
from models.strategies import affine_maps, generative_models
from verify.decoder_agreement import check_same_decoder
from verify.equivalence import check_affine_equivalence, fit_affine, recover_affine_map
from verify.suite import equivalent_model, random_invertible_affine


def _pair(seed: int, latent_dim: int = 2):
    gen = torch.Generator().manual_seed(seed)
    model = random_model(latent_dim, 4, hidden=(3,), n_components=2, generator=gen)
    h = random_invertible_affine(latent_dim, gen)
    return model, equivalent_model(model, h, gen), h


def _map_error(found: AffineMap, true: AffineMap) -> float:
    scale = float(true.matrix.abs().max() + true.offset.abs().max())
    return max(float((found.matrix - true.matrix).abs().max()), float((found.offset - true.offset).abs().max())) / scale


def test_fit_affine_is_exact_on_affine_data():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    h = random_invertible_affine(3, gen)
    fit = fit_affine(z, h(z))
    assert fit.relative_residual < 1e-12
    assert _map_error(fit.map, h) < 1e-12


def test_fit_affine_reports_nonaffine_residual():
    z = torch.randn(500, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fit = fit_affine(z, torch.tanh(3 * z) + z**2)
    assert fit.relative_residual > 0.3 and fit.r2 < 0.95


def test_affine_recovery_over_thousands_of_seeded_models():
    worst = 0.0
    for seed in range(2000):
        gen = torch.Generator().manual_seed(seed)
        model = random_model(1 + seed % 3, 4, hidden=(3,), n_components=2, generator=gen)
        h = random_invertible_affine(model.latent_dim, gen)
        other = equivalent_model(model, h, gen)
        worst = max(worst, _map_error(recover_affine_map(model, other, n=40, generator=seed).map, h))
    assert worst < 1e-8, worst


@settings(max_examples=200)
@given(generative_models(max_latent_dim=3), affine_maps(dim=None))
def test_affine_recovery_property(model, h):
    if h.in_dim != model.latent_dim:
        h = AffineMap(torch.eye(model.latent_dim, dtype=torch.float64) * 2.0, torch.ones(model.latent_dim, dtype=torch.float64))
    other = model.reparametrize(h)
    fit = recover_affine_map(model, other, n=3 * model.latent_dim + 10, generator=0)
    assert fit.relative_residual < 1e-8
    assert _map_error(fit.map, h) < 1e-8


def test_check_holds_and_returns_the_map():
    model, other, h = _pair(3)
    result = check_affine_equivalence(model, other, n=500)
    assert result.holds, result.details
    assert result.statistic <= result.tolerance
    assert _map_error(result.witness, h) < 1e-8
    assert result.details["decoder"]["details"]["exact"]  # every cell of the common refinement on R^m


def test_check_rejects_a_different_network_with_a_witness():
    model, _, _ = _pair(4)
    other = random_model(2, 4, hidden=(3,), n_components=2, generator=99)
    result = check_affine_equivalence(model, other, n=500)
    assert result.holds is False
    assert result.witness is not None


def test_check_rejects_a_slightly_shifted_decoder():
    # f_b = f ∘ h⁻¹ + 1e-3 in one output: the image moves off f_a's, and the check says where.
    model, other, _ = _pair(5)
    weights, biases = other.decoder.weights, other.decoder.biases
    biases[-1] = biases[-1] + 1e-3
    shifted = GenerativeModel(type(other.decoder)(weights, biases, other.decoder.negative_slope), other.prior)
    result = check_affine_equivalence(model, shifted, n=500)
    assert result.holds is False
    assert result.witness is not None


def test_check_rejects_a_wrong_prior_with_the_mismatch():
    model, other, _ = _pair(6)
    moved = other.prior.affine(torch.eye(2, dtype=torch.float64), torch.tensor([0.5, 0.0], dtype=torch.float64))
    result = check_affine_equivalence(model, GenerativeModel(other.decoder, moved), n=500)
    assert result.holds is False
    assert result.witness is not None
    assert not result.details["prior"]["holds"]


def test_bad_input_names_the_argument():
    model, other, _ = _pair(7)
    with pytest.raises(ValueError, match="model_b"):
        check_affine_equivalence(model, "not a model")
    with pytest.raises(ValueError, match="model_b"):
        check_affine_equivalence(model, random_model(3, 4, generator=0))
    with pytest.raises(ValueError, match="z_to"):
        fit_affine(torch.zeros(5, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="z_from"):
        fit_affine(torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="n"):
        recover_affine_map(model, other, n=1)


def _line(t: float, s: float) -> LeakyReLUNetwork:
    """z -> z − (1 − s)·ReLU(z − t): the identity up to t, slope s beyond (ReLU units z, −z, z − t)."""
    hidden = torch.tensor([[1.0], [-1.0], [1.0]], dtype=torch.float64)
    readout = torch.tensor([[1.0, -1.0, -(1.0 - s)]], dtype=torch.float64)
    return LeakyReLUNetwork([hidden, readout], [torch.tensor([0.0, 0.0, -t], dtype=torch.float64), torch.zeros(1, dtype=torch.float64)], 0.0)


def test_a_kink_far_in_the_tail_is_found():
    # f_a = id and f_b = id up to 4.5, slope 0.5 beyond: no prior sample reaches the kink,
    # but the cells of the common refinement on all of R^m do.
    identity = LeakyReLUNetwork([torch.ones(1, 1, dtype=torch.float64)], [torch.zeros(1, dtype=torch.float64)])
    kinked = _line(4.5, 0.5)
    assert torch.allclose(kinked(torch.tensor([[6.0]], dtype=torch.float64)), torch.tensor([[5.25]], dtype=torch.float64))
    result = check_same_decoder(identity, kinked, latent_scale=1.0)
    assert result.holds is False and result.details["exact"]
    assert float(result.witness[0]) > 4.5


def test_decoder_agreement_is_scale_invariant():
    tiny = LeakyReLUNetwork([1e-10 * torch.eye(2, dtype=torch.float64)], [torch.zeros(2, dtype=torch.float64)])
    flipped = LeakyReLUNetwork([-1e-10 * torch.eye(2, dtype=torch.float64)], [torch.zeros(2, dtype=torch.float64)])
    assert check_same_decoder(tiny, flipped, latent_scale=1.0).holds is False
    assert check_same_decoder(tiny, tiny.to(), latent_scale=1e6).holds
    nearly = LeakyReLUNetwork([1e-10 * (1 + 1e-12) * torch.eye(2, dtype=torch.float64)], [torch.zeros(2, dtype=torch.float64)])
    assert check_same_decoder(tiny, nearly, latent_scale=1.0).holds


def test_joint_network_computes_both_maps_across_depths():
    f = random_network((2, 3, 4), 0.2, generator=0)
    g = random_network((2, 2, 3, 5, 4), 0.2, injective=False, generator=1)
    joint = joint_network(f, g)
    z = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = joint(z)
    assert torch.allclose(out[:, :4], f(z), atol=1e-12) and torch.allclose(out[:, 4:], g(z), atol=1e-12)
    assert joint_network(f, random_network((2, 3, 4), 0.3, generator=2)) is None  # slopes differ in one layer


def test_float32_models_are_compared_in_float64():
    model, _, _ = _pair(8)
    single = model.to(dtype=torch.float32)
    result = check_affine_equivalence(single, single)
    assert result.holds, result.details
    assert result.witness.dtype == torch.float64
