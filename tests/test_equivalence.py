"""Affine recovery and the affine-equivalence check (T2's conclusion)."""

from __future__ import annotations

import torch
from hypothesis import given, settings

from models import AffineMap, GenerativeModel, random_model
from models.strategies import affine_maps, generative_models
from verify.equivalence import check_affine_equivalence, fit_affine, recover_affine_map
from verify.trials import equivalent_model, random_invertible_affine

import pytest


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
    assert result.details["n_points"] > 500  # prior samples plus one interior point per region met


def test_check_rejects_a_different_network_with_a_witness():
    model, _, _ = _pair(4)
    other = random_model(2, 4, hidden=(3,), n_components=2, generator=99)
    result = check_affine_equivalence(model, other, n=500)
    assert not result.holds
    assert result.witness is not None


def test_check_rejects_a_slightly_shifted_decoder():
    # f_b = f ∘ h⁻¹ + 1e-3 in one output: the image moves off f_a's, and the check says where.
    model, other, _ = _pair(5)
    weights, biases = other.decoder.weights, other.decoder.biases
    biases[-1] = biases[-1] + 1e-3
    shifted = GenerativeModel(type(other.decoder)(weights, biases, other.decoder.negative_slope), other.prior)
    result = check_affine_equivalence(model, shifted, n=500)
    assert not result.holds
    assert result.witness is not None


def test_check_rejects_a_wrong_prior_with_the_mismatch():
    model, other, _ = _pair(6)
    moved = other.prior.affine(torch.eye(2, dtype=torch.float64), torch.tensor([0.5, 0.0], dtype=torch.float64))
    result = check_affine_equivalence(model, GenerativeModel(other.decoder, moved), n=500)
    assert not result.holds
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
