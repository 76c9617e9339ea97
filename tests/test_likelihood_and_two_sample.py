"""Equality of laws: exact log-likelihoods and the energy two-sample test."""

from __future__ import annotations

import pytest
import torch

from models import random_model
from verify.likelihood import check_laws_differ, check_same_law
from verify.suite import equivalent_model, random_invertible_affine
from verify.two_sample import check_same_distribution, energy_distance


def _equivalent_pair(seed=0):
    gen = torch.Generator().manual_seed(seed)
    model = random_model(2, 4, hidden=(3,), n_components=3, generator=gen)
    return model, equivalent_model(model, random_invertible_affine(2, gen), gen)


def test_same_law_holds_pointwise_for_an_equivalent_model():
    model, other = _equivalent_pair()
    result = check_same_law(model, other, n=500)
    assert result.holds and result.statistic <= result.tolerance


def test_same_law_fails_for_a_different_model_with_witness():
    model, _ = _equivalent_pair()
    different = random_model(2, 4, hidden=(3,), n_components=3, generator=123)
    result = check_same_law(model, different, n=500)
    assert result.holds is False and result.witness.shape == (4,)
    assert check_laws_differ(model, different, n=500).holds


def test_laws_differ_fails_for_an_equivalent_model():
    model, other = _equivalent_pair(1)
    result = check_laws_differ(model, other, n=500)
    assert result.holds is False and result.witness is None


def test_laws_differ_measures_a_finite_gap_for_square_decoders():
    # Square decoders have the same image (R^m): the gap is a finite KL estimate, not −inf.
    model = random_model(2, 2, hidden=(2,), n_components=2, generator=3)
    other = random_model(2, 2, hidden=(2,), n_components=2, generator=4)
    result = check_laws_differ(model, other, n=2000)
    assert result.holds
    assert 0 < result.details["mean_gap"] < float("inf")


def test_energy_test_accepts_same_law_and_rejects_a_shift():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    assert check_same_distribution(x, y).holds
    shifted = check_same_distribution(x, y + 0.5)
    assert shifted.holds is False and shifted.statistic < 0.01
    assert shifted.witness["energy_distance"] > shifted.witness["largest_permuted_energy"]
    assert energy_distance(x, y + 0.5) > energy_distance(x, y)


def test_bad_input_names_the_argument():
    model, _ = _equivalent_pair()
    with pytest.raises(ValueError, match="model_b"):
        check_same_law(model, None)
    with pytest.raises(ValueError, match="y"):
        check_same_distribution(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="n_permutations"):
        check_same_distribution(torch.randn(5, 2), torch.randn(5, 2), alpha=0.01, n_permutations=50)
    with pytest.raises(ValueError, match="alpha"):
        check_same_distribution(torch.randn(5, 2), torch.randn(5, 2), alpha=1.5)


def test_laws_differ_never_calls_equivalent_models_different():
    for seed in range(30):
        model, other = _equivalent_pair(seed)
        result = check_laws_differ(model, other, n=300, generator=seed)
        assert result.holds is False, (seed, result.details)


def test_same_law_rejects_noise_and_mismatched_latents():
    model, _ = _equivalent_pair()
    with pytest.raises(ValueError, match="model_b"):
        check_same_law(model, random_model(3, 4, hidden=(3,), generator=1))
    with pytest.raises(ValueError, match="model_a"):
        check_same_law(random_model(2, 4, noise_scale=0.1, generator=2), model)
