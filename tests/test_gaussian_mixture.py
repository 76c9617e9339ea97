"""Tests of ``models.GaussianMixture``: density, moments, pushforwards, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from models import AffineMap, GaussianMixture, random_gmm
from models.strategies import affine_maps, gaussian_mixtures

F64 = torch.float64
seeds = st.integers(0, 2**31 - 1)
# Statistical tolerances: a sample statistic must lie within this many standard errors
# of its exact value. Every sampling test below uses a fixed seed, so it is deterministic;
# 5 standard errors would be exceeded by chance with probability < 1e-6 per statistic.
N_SIGMA = 5.0


def scipy_log_prob(mixture: GaussianMixture, z: np.ndarray) -> np.ndarray:
    """Reference log density: logsumexp over components of log λ_j + scipy's Gaussian log pdf."""
    weights = mixture.weights.numpy()
    means = mixture.means.numpy()
    covs = mixture.covariances.numpy()
    terms = np.stack(
        [np.log(w) + multivariate_normal(mean=mu, cov=cov).logpdf(z).reshape(-1) for w, mu, cov in zip(weights, means, covs)],
        axis=1,
    )
    return logsumexp(terms, axis=1)


def mixture_moments_numpy(mixture: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a mixture, from E[z] and E[z zᵀ] summed over components."""
    w = mixture.weights.numpy()
    mu = mixture.means.numpy()
    cov = mixture.covariances.numpy()
    mean = sum(wj * mj for wj, mj in zip(w, mu))
    second = sum(wj * (cj + np.outer(mj, mj)) for wj, mj, cj in zip(w, mu, cov))
    return mean, second - np.outer(mean, mean)


def assert_moments_match(samples: torch.Tensor, mean: torch.Tensor, covariance: torch.Tensor) -> None:
    """Sample mean and covariance within ``N_SIGMA`` standard errors (estimated from the sample)."""
    n = samples.shape[0]
    centred = samples - mean
    se_mean = samples.std(dim=0) / math.sqrt(n)
    assert bool(((samples.mean(dim=0) - mean).abs() <= N_SIGMA * se_mean).all())
    products = centred.unsqueeze(2) * centred.unsqueeze(1)  # (n, m, m), unbiased for the covariance with the exact mean
    se_cov = products.std(dim=0) / math.sqrt(n)
    assert bool(((products.mean(dim=0) - covariance).abs() <= N_SIGMA * se_cov).all())


# ---------------------------------------------------------------------------------- log_prob
@given(gaussian_mixtures(max_dim=4, max_components=4), seeds)
def test_log_prob_matches_scipy(mixture, seed):
    gen = torch.Generator().manual_seed(seed)
    near = mixture.sample(30, generator=gen)
    far = 20.0 * torch.randn(10, mixture.dim, generator=gen, dtype=F64)
    z = torch.cat([near, far])
    ours = mixture.log_prob(z).numpy()
    reference = scipy_log_prob(mixture, z.numpy())
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-10)


def test_log_prob_single_point_is_a_scalar():
    mixture = random_gmm(3, 2, generator=0)
    z = torch.tensor([0.1, -0.2, 0.3], dtype=F64)
    value = mixture.log_prob(z)
    assert value.shape == ()
    assert float(value) == pytest.approx(float(scipy_log_prob(mixture, z.numpy()[None])[0]), rel=1e-12)


@pytest.mark.parametrize("distance", [1e3, 1e5])
def test_log_prob_far_away_one_component(distance):
    """N(μ, Σ) with Σ = diag(2, 0.5) at μ + (d, 0): log p = −log 2π − ½ log det Σ − d² / 4."""
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    mixture = GaussianMixture([1.0], mean[None], torch.diag(torch.tensor([2.0, 0.5], dtype=F64))[None])
    z = mean + torch.tensor([distance, 0.0], dtype=F64)
    value = float(mixture.log_prob(z))
    expected = -math.log(2 * math.pi) - 0.5 * math.log(1.0) - distance**2 / 4.0
    assert math.isfinite(value)
    assert value == pytest.approx(expected, rel=1e-14)


def test_log_prob_far_away_two_components():
    """½ N(1, 1) + ½ N(−1, 1) at z = 1000: log ½ − ½ log 2π − (z − 1)² / 2 (the other term underflows)."""
    mixture = GaussianMixture([0.5, 0.5], [[1.0], [-1.0]], [[[1.0]], [[1.0]]])
    z = torch.tensor([[1000.0], [-1000.0]], dtype=F64)
    values = mixture.log_prob(z)
    expected = math.log(0.5) - 0.5 * math.log(2 * math.pi) - 999.0**2 / 2
    assert bool(torch.isfinite(values).all())
    torch.testing.assert_close(values, torch.tensor([expected, expected], dtype=F64), rtol=1e-14, atol=0)


def test_log_prob_ill_conditioned_far_away():
    """A thin component (condition number 1e8) stays accurate along its thin axis."""
    cov = torch.diag(torch.tensor([1e4, 1e-4], dtype=F64))
    mixture = GaussianMixture([1.0], torch.zeros(1, 2, dtype=F64), cov[None])
    z = torch.tensor([[0.0, 10.0]], dtype=F64)
    expected = -math.log(2 * math.pi) - 0.5 * math.log(1.0) - 0.5 * 100.0 / 1e-4
    assert float(mixture.log_prob(z)[0]) == pytest.approx(expected, rel=1e-13)


def test_posterior_is_normalised_and_consistent():
    mixture = random_gmm(2, 3, generator=5)
    z = mixture.sample(100, generator=6)
    post = mixture.posterior(z)
    torch.testing.assert_close(post.sum(dim=1), torch.ones(100, dtype=F64), rtol=1e-12, atol=1e-12)
    expected = torch.exp(mixture.component_log_prob(z) - mixture.log_prob(z).unsqueeze(1))
    torch.testing.assert_close(post, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------- affine pushforward
@st.composite
def mixtures_with_maps(draw):
    mixture = draw(gaussian_mixtures(max_dim=4))
    return mixture, draw(affine_maps(dim=mixture.dim))


@given(mixtures_with_maps(), seeds)
def test_affine_change_of_variables(pair, seed):
    """log p_{h#P}(A z + b) = log p_P(z) − log|det A| for square invertible A."""
    mixture, h = pair
    pushed = mixture.affine(h.matrix, h.offset)
    z = mixture.sample(20, generator=seed)
    log_det = float(torch.linalg.slogdet(h.matrix).logabsdet)
    expected = mixture.log_prob(z) - log_det
    torch.testing.assert_close(pushed.log_prob(h(z)), expected, rtol=1e-9, atol=1e-9)


@given(mixtures_with_maps())
def test_affine_is_componentwise(pair):
    """Lemma A: weights unchanged, means A μ_j + b, covariances A Σ_j Aᵀ; AffineMap accepted too."""
    mixture, h = pair
    pushed = mixture.affine(h)
    a, b = h.matrix, h.offset
    assert torch.equal(pushed.weights, mixture.weights)
    torch.testing.assert_close(pushed.means, mixture.means @ a.T + b, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pushed.covariances, a @ mixture.covariances @ a.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_affine_agrees_with_transformed_samples(seed):
    mixture = random_gmm(3, 3, generator=seed)
    gen = torch.Generator().manual_seed(100 + seed)
    a = torch.randn(3, 3, generator=gen, dtype=F64) + 2 * torch.eye(3, dtype=F64)
    b = torch.randn(3, generator=gen, dtype=F64)
    pushed = mixture.affine(a, b)
    z, labels = mixture.sample(100_000, generator=gen, return_labels=True)
    x = z @ a.T + b
    assert_moments_match(x, pushed.mean(), pushed.covariance())
    # Component by component (the labels are kept by the pushforward).
    for j in range(3):
        assert_moments_match(x[labels == j], pushed.means[j], pushed.covariances[j])


def test_affine_to_lower_dimension():
    """A full-row-rank (k, m) matrix with k < m gives a nondegenerate mixture on R^k."""
    mixture = random_gmm(3, 2, generator=3)
    a = torch.tensor([[1.0, 0.5, -1.0], [0.0, 2.0, 1.0]], dtype=F64)
    b = torch.tensor([1.0, -1.0], dtype=F64)
    pushed = mixture.affine(a, b)
    assert pushed.dim == 2 and pushed.n_components == 2
    z = mixture.sample(100_000, generator=4)
    assert_moments_match(z @ a.T + b, pushed.mean(), pushed.covariance())


def test_affine_rejects_rank_deficient_matrix():
    mixture = random_gmm(2, 2, generator=0)
    with pytest.raises(ValueError, match="matrix"):
        mixture.affine(torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64))


# ---------------------------------------------------------------------------------- moments
@given(gaussian_mixtures(max_dim=4, max_components=4))
def test_mean_and_covariance_closed_form(mixture):
    mean, cov = mixture_moments_numpy(mixture)
    np.testing.assert_allclose(mixture.mean().numpy(), mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mixture.covariance().numpy(), cov, rtol=1e-10, atol=1e-10)
    covariance = mixture.covariance()
    torch.testing.assert_close(covariance, covariance.T, rtol=0, atol=1e-14)
    assert float(torch.linalg.eigvalsh(covariance).min()) > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_and_covariance_against_samples(seed):
    mixture = random_gmm(3, 4, generator=seed)
    z = mixture.sample(200_000, generator=seed + 50)
    assert_moments_match(z, mixture.mean(), mixture.covariance())


def test_covariance_includes_between_component_spread():
    """½ N(−3, 1) + ½ N(3, 1): variance 1 + 9 = 10, mean 0."""
    mixture = GaussianMixture([0.5, 0.5], [[-3.0], [3.0]], [[[1.0]], [[1.0]]])
    assert float(mixture.mean()[0]) == 0.0
    assert float(mixture.covariance()[0, 0]) == pytest.approx(10.0, rel=1e-15)


# ---------------------------------------------------------------------------------- sampling
def test_sample_reproducible_with_seed():
    mixture = random_gmm(3, 3, generator=1)
    first = mixture.sample(500, generator=7)
    assert first.shape == (500, 3) and first.dtype == F64
    assert torch.equal(first, mixture.sample(500, generator=7))
    assert torch.equal(first, mixture.sample(500, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(first, mixture.sample(500, generator=8))


def test_sample_generator_advances():
    mixture = random_gmm(2, 2, generator=1)
    gen = torch.Generator().manual_seed(3)
    assert not torch.equal(mixture.sample(10, generator=gen), mixture.sample(10, generator=gen))


def test_sample_labels():
    mixture = random_gmm(2, 3, generator=2)
    n = 60_000
    z, labels = mixture.sample(n, generator=9, return_labels=True)
    assert z.shape == (n, 2) and labels.shape == (n,) and labels.dtype == torch.long
    assert int(labels.min()) >= 0 and int(labels.max()) < 3
    # Same draw with and without labels.
    assert torch.equal(z, mixture.sample(n, generator=9))
    weights = mixture.weights
    counts = torch.bincount(labels, minlength=3).to(F64)
    se = torch.sqrt(n * weights * (1 - weights))
    assert bool(((counts - n * weights).abs() <= N_SIGMA * se).all())
    for j in range(3):
        assert_moments_match(z[labels == j], mixture.means[j], mixture.covariances[j])


def test_sample_zero_points():
    mixture = random_gmm(2, 2, generator=0)
    z, labels = mixture.sample(0, generator=1, return_labels=True)
    assert z.shape == (0, 2) and labels.shape == (0,)


# ---------------------------------------------------------------------------------- permute, to, attributes
@given(gaussian_mixtures(max_dim=3, max_components=4).flatmap(lambda g: st.tuples(st.just(g), st.permutations(range(g.n_components)))), seeds)
def test_permute_leaves_log_prob_unchanged(pair, seed):
    mixture, permutation = pair
    permuted = mixture.permute(permutation)
    for i, j in enumerate(permutation):
        assert torch.equal(permuted.means[i], mixture.means[j])
        assert torch.equal(permuted.covariances[i], mixture.covariances[j])
        assert permuted.weights[i] == mixture.weights[j]
    z = torch.cat([mixture.sample(20, generator=seed), 10 * torch.randn(5, mixture.dim, dtype=F64, generator=torch.Generator().manual_seed(seed))])
    torch.testing.assert_close(permuted.log_prob(z), mixture.log_prob(z), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(permuted.mean(), mixture.mean(), rtol=1e-13, atol=1e-13)


def test_permute_rejects_non_permutation():
    mixture = random_gmm(2, 3, generator=0)
    with pytest.raises(ValueError, match="permutation"):
        mixture.permute([0, 0, 1])


def test_to_float32():
    mixture = random_gmm(3, 3, generator=4)
    single = mixture.to(dtype=torch.float32)
    assert single.dtype == torch.float32 and single.device == mixture.device
    assert single.weights.dtype == single.means.dtype == single.covariances.dtype == torch.float32
    z = mixture.sample(100, generator=5)
    values = single.log_prob(z.float())
    assert values.dtype == torch.float32
    torch.testing.assert_close(values.double(), mixture.log_prob(z), rtol=1e-5, atol=1e-4)
    samples = single.sample(10, generator=6)
    assert samples.dtype == torch.float32 and samples.shape == (10, 3)


def test_to_float32_and_back_to_float64():
    """Up-casting a float32 mixture keeps it valid: the float32-rounded weights are accepted in float64."""
    mixture = random_gmm(3, 3, generator=4)
    back = mixture.to(dtype=torch.float32).to(dtype=F64)
    assert back.dtype == F64
    torch.testing.assert_close(back.weights, mixture.weights, rtol=1e-6, atol=0)
    z = mixture.sample(50, generator=5)
    torch.testing.assert_close(back.log_prob(z), mixture.log_prob(z), rtol=1e-5, atol=1e-5)


def test_attributes_are_read_only_copies():
    mixture = random_gmm(2, 2, generator=0)
    z = mixture.sample(5, generator=1)
    before = mixture.log_prob(z)
    mixture.means.zero_()
    mixture.weights.zero_()
    mixture.covariances.zero_()
    assert torch.equal(mixture.log_prob(z), before)
    assert mixture.dim == 2 and mixture.n_components == 2


def test_constructor_accepts_lists_as_float64():
    mixture = GaussianMixture([0.25, 0.75], [[0.0, 0.0], [1.0, 1.0]], np.stack([np.eye(2), 2 * np.eye(2)]))
    assert mixture.dtype == F64 and mixture.dim == 2 and mixture.n_components == 2


def test_affine_map_inverse_round_trip_on_mixture():
    """Pushing forward by h and then by h⁻¹ returns the original parameters."""
    mixture = random_gmm(3, 2, generator=0)
    h = AffineMap(torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]], dtype=F64), torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    back = mixture.affine(h).affine(h.inverse())
    torch.testing.assert_close(back.means, mixture.means, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(back.covariances, mixture.covariances, rtol=1e-12, atol=1e-12)
