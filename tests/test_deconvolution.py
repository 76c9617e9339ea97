"""Deconvolution (docs/theory.md, T5): characteristic functions of x = f(z) + ε against f(z) times the noise's."""

from __future__ import annotations

import math

import pytest
import torch

from models import GenerativeModel, random_gmm, random_network
from verify.deconvolution import (
    RADIUS_HIGH,
    RADIUS_LOW,
    check_deconvolution,
    default_frequencies,
    empirical_cf,
    hoeffding_radius,
)

D = torch.float64
SIGMA = 0.5
N = 5000


@pytest.fixture(scope="module")
def samples():
    prior = random_gmm(2, 2, mean_scale=1.0, generator=0)
    decoder = random_network((2, 3, 3), generator=1)
    noisy = GenerativeModel(decoder, prior, SIGMA).sample(N, 10)[1]
    clean = GenerativeModel(decoder, prior).sample(N, 11)[1]
    other = GenerativeModel(random_network((2, 3, 3), generator=2), prior).sample(N, 12)[1]
    return noisy, clean, other


def test_holds_for_the_right_noise(samples):
    noisy, clean, _ = samples
    result = check_deconvolution(noisy, clean, SIGMA)
    assert result.holds and result.statistic <= 1.0 and result.witness is None
    assert result.details["n_frequencies"] == 32 and result.details["eps_noisy"] == pytest.approx(hoeffding_radius(N, 32, 0.01))


@pytest.mark.parametrize("wrong", [2 * SIGMA, 0.5 * SIGMA, 0.0])
def test_fails_for_a_wrong_noise_scale(samples, wrong):
    noisy, clean, _ = samples
    result = check_deconvolution(noisy, clean, wrong)
    assert result.holds is False and result.statistic > 1.0
    witness = result.witness
    assert witness["frequency"].shape == (3,)
    assert witness["difference"] > witness["bound"]


def test_fails_for_a_different_decoder(samples):
    noisy, _, other = samples
    result = check_deconvolution(noisy, other, SIGMA)
    assert result.holds is False and result.witness["difference"] > result.witness["bound"]


def test_without_noise_it_compares_two_samples_of_one_law(samples):
    _, clean, _ = samples
    prior = random_gmm(2, 2, mean_scale=1.0, generator=0)
    again = GenerativeModel(random_network((2, 3, 3), generator=1), prior).sample(N, 13)[1]
    assert check_deconvolution(again, clean, 0.0).holds


def test_holds_across_seeds_at_the_stated_confidence():
    prior = random_gmm(1, 2, mean_scale=1.0, generator=5)
    decoder = random_network((1, 2, 2), generator=6)
    verdicts = []
    for seed in range(10):
        noisy = GenerativeModel(decoder, prior, 0.3).sample(2000, 100 + seed)[1]
        clean = GenerativeModel(decoder, prior).sample(2000, 200 + seed)[1]
        verdicts.append(check_deconvolution(noisy, clean, 0.3, generator=seed).holds)
    # Each fails with probability at most δ = 0.01; the Hoeffding bound is conservative.
    assert all(verdicts)


def test_custom_frequencies(samples):
    noisy, clean, _ = samples
    t = torch.tensor([[0.5, 0.0, 0.0], [0.0, 1.0, 0.5]], dtype=D)
    result = check_deconvolution(noisy, clean, SIGMA, t)
    assert result.holds and result.details["n_frequencies"] == 2


def test_default_frequencies_depend_only_on_sigma_dimension_and_seed():
    a = default_frequencies(3, 0.5, 16, generator=4)
    b = default_frequencies(3, 0.5, 16, generator=4)
    assert torch.equal(a, b) and a.shape == (16, 3)
    radii = a.norm(dim=1)
    assert float(radii.min()) == pytest.approx(RADIUS_LOW / 0.5) and float(radii.max()) == pytest.approx(RADIUS_HIGH / 0.5)


def test_empirical_cf_and_radius():
    x = torch.zeros(10, 2, dtype=D)
    cf = empirical_cf(x, torch.randn(4, 2, dtype=D))
    assert torch.allclose(cf.real, torch.ones(4, dtype=D)) and torch.allclose(cf.imag, torch.zeros(4, dtype=D))
    assert hoeffding_radius(1000, 8, 0.05) == pytest.approx(math.sqrt(2 * math.log(8 * 8 / 0.05) / 1000))


def test_bad_arguments_are_named(samples):
    noisy, clean, _ = samples
    with pytest.raises(ValueError, match="x_clean"):
        check_deconvolution(noisy, clean[:, :2], SIGMA)
    with pytest.raises(ValueError, match="noise_scale"):
        check_deconvolution(noisy, clean, -1.0)
    with pytest.raises(ValueError, match="delta"):
        check_deconvolution(noisy, clean, SIGMA, delta=1.5)
    with pytest.raises(ValueError, match="frequencies"):
        check_deconvolution(noisy, clean, SIGMA, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="x_noisy"):
        check_deconvolution(torch.full((5, 3), float("nan")), clean, SIGMA)
