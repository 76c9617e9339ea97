"""Tests of verify.mixtures: closed-form L2 distance, matching, the same-mixture check and EM."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from models import GaussianMixture, random_gmm
from models.strategies import affine_maps, gaussian_mixtures
from verify.mixtures import (
    ConvergenceWarning,
    check_same_mixture,
    fit_gmm,
    gmm_inner_product,
    gmm_l2_distance,
    l2_resolution,
    match_mixtures,
)

sklearn_mixture = pytest.importorskip("sklearn.mixture")

FEW = settings(max_examples=15, deadline=None)
SOME = settings(max_examples=30, deadline=None)

# Monte-Carlo checks accept |closed form − estimate| <= MC_SIGMAS standard errors: the
# integrands are bounded, so by the CLT a correct closed form fails with probability < 1e-8.
MC_SIGMAS = 6.0
MC_SAMPLES = 20_000
# The normalised L2 distance resolves nothing below sqrt(64 ε) (see gmm_l2_distance).
NORMALIZED_RESOLUTION = math.sqrt(64 * torch.finfo(torch.float64).eps)


def _density(mixture: GaussianMixture, x: torch.Tensor) -> torch.Tensor:
    return mixture.log_prob(x).exp()


@st.composite
def mixture_pairs(draw, min_dim=1, max_dim=3):
    m = draw(st.integers(min_dim, max_dim))
    return draw(gaussian_mixtures(dim=m)), draw(gaussian_mixtures(dim=m))


@st.composite
def mixtures_with_permutation(draw, min_components=1, max_components=4):
    p = draw(gaussian_mixtures(min_components=min_components, max_components=max_components))
    return p, draw(st.permutations(range(p.n_components)))


def _perturb_mean(p: GaussianMixture, component: int, delta: float) -> GaussianMixture:
    means = p.means
    means[component, 0] += delta
    return GaussianMixture(p.weights, means, p.covariances)


# ---------------------------------------------------------------------------- L2 distance
@FEW
@given(mixture_pairs(max_dim=1))
def test_l2_distance_matches_quadrature_in_1d(pair):
    p, q = pair
    grid_points = torch.cat([p.means[:, 0], q.means[:, 0]]).tolist()

    def integrand(fn):
        return lambda t: fn(torch.tensor([[t]], dtype=torch.float64)).item()

    def squared_difference(x):
        return (_density(p, x) - _density(q, x)).square()

    def product(x):
        return _density(p, x) * _density(q, x)

    expected_sq, _ = integrate.quad(integrand(squared_difference), -40, 40, points=grid_points, limit=200, epsabs=1e-13)
    expected_pq, _ = integrate.quad(integrand(product), -40, 40, points=grid_points, limit=200, epsabs=1e-13)
    assert gmm_inner_product(p, q) == pytest.approx(expected_pq, rel=1e-8, abs=1e-12)
    assert gmm_l2_distance(p, q) ** 2 == pytest.approx(expected_sq, rel=1e-7, abs=1e-12)


@FEW
@given(mixture_pairs(), st.integers(0, 2**31))
def test_l2_distance_matches_monte_carlo(pair, seed):
    # ∫(p − q)² = E_p[p − q] − E_q[p − q], each expectation estimated from MC_SAMPLES draws.
    p, q = pair
    gen = torch.Generator().manual_seed(seed)
    x_p, x_q = p.sample(MC_SAMPLES, gen), q.sample(MC_SAMPLES, gen)
    g_p = _density(p, x_p) - _density(q, x_p)
    g_q = _density(p, x_q) - _density(q, x_q)
    estimate = float(g_p.mean() - g_q.mean())
    stderr = math.sqrt(float(g_p.var()) / MC_SAMPLES + float(g_q.var()) / MC_SAMPLES)
    assert abs(gmm_l2_distance(p, q) ** 2 - estimate) <= MC_SIGMAS * stderr + 1e-12
    # ⟨p, q⟩ = E_p[q].
    inner = _density(q, x_p)
    inner_stderr = float(inner.std()) / math.sqrt(MC_SAMPLES)
    assert abs(gmm_inner_product(p, q) - float(inner.mean())) <= MC_SIGMAS * inner_stderr + 1e-12


@SOME
@given(mixtures_with_permutation())
def test_permuted_copy_is_at_distance_zero(case):
    p, permutation = case
    q = p.permute(permutation)
    assert gmm_l2_distance(p, q) <= l2_resolution(p, q)
    assert gmm_l2_distance(p, q, normalized=True) <= NORMALIZED_RESOLUTION


@SOME
@given(gaussian_mixtures(), st.data())
def test_perturbed_mean_is_at_positive_distance(p, data):
    j = data.draw(st.integers(0, p.n_components - 1))
    q = _perturb_mean(p, j, 0.05)
    distance = gmm_l2_distance(p, q)
    assert distance > 10 * l2_resolution(p, q)
    assert 0 < gmm_l2_distance(p, q, normalized=True) <= 1


@FEW
@given(mixture_pairs(), st.data())
def test_normalized_distance_is_affine_invariant(pair, data):
    p, q = pair
    h = data.draw(affine_maps(dim=p.dim))
    before = gmm_l2_distance(p, q, normalized=True)
    after = gmm_l2_distance(p.affine(h), q.affine(h), normalized=True)
    assert after == pytest.approx(before, rel=1e-6, abs=2 * NORMALIZED_RESOLUTION)


def test_l2_distance_of_two_unit_gaussians_has_the_textbook_value():
    # ‖N(0,1) − N(d,1)‖² = 2 (4π)^{-1/2} (1 − exp(−d²/4)).
    d = 1.5
    p = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    q = GaussianMixture([1.0], [[d]], [[[1.0]]])
    expected = math.sqrt(2 / math.sqrt(4 * math.pi) * (1 - math.exp(-d * d / 4)))
    assert gmm_l2_distance(p, q) == pytest.approx(expected, rel=1e-13)


# ---------------------------------------------------------------------------- matching
def _inverse(permutation):
    inverse = [0] * len(permutation)
    for i, j in enumerate(permutation):
        inverse[j] = i
    return tuple(inverse)


def _assert_same_parameters(p: GaussianMixture, q: GaussianMixture, atol: float) -> None:
    for a, b in ((p.weights, q.weights), (p.means, q.means), (p.covariances, q.covariances)):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)


@SOME
@given(mixtures_with_permutation())
def test_match_recovers_a_random_permutation(case):
    p, permutation = case
    q = p.permute(permutation)
    match = match_mixtures(p, q)
    assert match.permutation == _inverse(permutation)
    assert match.error <= 1e-12
    _assert_same_parameters(p, q.permute(match.permutation), atol=0)


@SOME
@given(mixtures_with_permutation(min_components=2), st.data())
def test_match_survives_a_small_affine_distortion(case, data):
    p, permutation = case
    m = p.dim
    distortion = torch.eye(m, dtype=torch.float64) + 1e-4 * torch.tensor(
        data.draw(st.lists(st.floats(-1, 1), min_size=m * m, max_size=m * m)), dtype=torch.float64
    ).reshape(m, m)
    q = p.affine(distortion).permute(permutation)
    match = match_mixtures(p, q)
    assert match.permutation == _inverse(permutation)
    assert match.error <= 1e-2


@SOME
@given(gaussian_mixtures(), st.data())
def test_match_errors_are_affine_invariant(p, data):
    j = data.draw(st.integers(0, p.n_components - 1))
    q = _perturb_mean(p, j, 0.05)
    h = data.draw(affine_maps(dim=p.dim))
    before, after = match_mixtures(p, q), match_mixtures(p.affine(h), q.affine(h))
    assert after.permutation == before.permutation
    assert after.error == pytest.approx(before.error, rel=1e-6, abs=1e-9)


def test_match_reports_different_numbers_of_components():
    p = random_gmm(2, 3, generator=0)
    q = random_gmm(2, 2, generator=1)
    match = match_mixtures(p, q)
    assert match.permutation is None and match.error == math.inf
    assert match.n_components == (3, 2) and not match.same_n_components


def test_match_errors_have_their_documented_values():
    cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=torch.float64)
    p = GaussianMixture([0.25, 0.75], [[0.0, 0.0], [5.0, 0.0]], torch.stack([cov, cov]))
    q = GaussianMixture([0.3, 0.7], [[0.1, 0.0], [5.0, 0.0]], torch.stack([cov, 1.5 * cov]))
    match = match_mixtures(p, q)
    assert match.permutation == (0, 1)
    assert match.weight_error == pytest.approx(max(abs(math.log(0.25 / 0.3)), abs(math.log(0.75 / 0.7))))
    assert match.mean_error == pytest.approx(0.1 * math.sqrt(float(torch.linalg.inv(cov)[0, 0])))
    assert match.covariance_error == pytest.approx(math.log(1.5))


# ---------------------------------------------------------------------------- same-mixture check
@SOME
@given(mixtures_with_permutation(), st.data())
def test_check_holds_for_a_relabelled_affine_image(case, data):
    # T1': h#P and h#(P relabelled) are the same mixture.
    p, permutation = case
    h = data.draw(affine_maps(dim=p.dim))
    result = check_same_mixture(p.affine(h), p.permute(permutation).affine(h))
    assert result.holds, result
    assert result.witness["permutation"] == _inverse(permutation)
    assert result.statistic <= result.tolerance == 1e-6
    assert result.details["l2_distance"] <= 10 * result.details["l2_resolution"]


@SOME
@given(gaussian_mixtures(), st.data())
def test_check_fails_on_a_perturbed_mean_and_names_the_component(p, data):
    j = data.draw(st.integers(0, p.n_components - 1))
    delta = 0.05
    q = _perturb_mean(p, j, delta)
    result = check_same_mixture(p, q)
    assert result.holds is False
    assert result.witness["component"] == j and result.witness["matched_component"] == j
    # The mean error is the Mahalanobis length of delta·e_1 in component j's covariance.
    expected = delta * math.sqrt(float(torch.linalg.inv(p.covariances[j])[0, 0]))
    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert result.details["l2_distance"] > 0
    result.to_dict()  # the witness serialises


def test_check_fails_on_different_numbers_of_components():
    p = random_gmm(2, 3, generator=0)
    result = check_same_mixture(p, random_gmm(2, 2, generator=0))
    assert result.holds is False and result.statistic == math.inf
    assert result.witness["n_components"] == (3, 2)


def test_check_fails_on_perturbed_weights():
    p = GaussianMixture([0.5, 0.5], [[0.0], [3.0]], [[[1.0]], [[1.0]]])
    q = GaussianMixture([0.5 + 1e-4, 0.5 - 1e-4], [[0.0], [3.0]], [[[1.0]], [[1.0]]])
    assert check_same_mixture(p, q).holds is False
    assert check_same_mixture(p, q, rtol=1e-3).holds


# ---------------------------------------------------------------------------- EM
def _sklearn_fit(x: torch.Tensor, k, **kwargs):
    return sklearn_mixture.GaussianMixture(k, covariance_type="full", **kwargs).fit(x.numpy())


@pytest.mark.parametrize("dim, n_components, seed", [(1, 2, 0), (2, 3, 1), (3, 4, 2)])
def test_em_reaches_sklearn_log_likelihood(dim, n_components, seed):
    # Stated tolerance: our mean log-likelihood is at most 1e-3 nats per sample below sklearn's.
    x = random_gmm(dim, n_components, generator=seed).sample(4000, generator=seed + 100)
    ours = fit_gmm(x, n_components, n_init=3, tol=1e-6, max_iter=2000, generator=seed)
    theirs = _sklearn_fit(x, n_components, n_init=3, tol=1e-6, max_iter=2000, random_state=seed)
    assert ours.converged
    assert ours.log_likelihood >= theirs.score(x.numpy()) - 1e-3
    assert ours.log_likelihood == pytest.approx(float(ours.mixture.log_prob(x).mean()), rel=1e-12)


def test_em_bic_agrees_with_sklearn_formula():
    x = random_gmm(2, 3, generator=3).sample(2000, generator=4)
    fit = fit_gmm(x, 3, generator=0)
    reference = sklearn_mixture.GaussianMixture(3, covariance_type="full")
    mixture = fit.mixture
    reference.weights_ = mixture.weights.numpy()
    reference.means_ = mixture.means.numpy()
    reference.covariances_ = mixture.covariances.numpy()
    cholesky = torch.linalg.cholesky(mixture.covariances)
    reference.precisions_cholesky_ = torch.linalg.inv(cholesky).transpose(1, 2).numpy()
    assert fit.bic == pytest.approx(reference.bic(x.numpy()), rel=1e-10)
    assert fit.n_parameters == reference._n_parameters()


@pytest.mark.parametrize("seed", [0, 1])
def test_bic_picks_the_same_number_of_components_as_sklearn(seed):
    true = random_gmm(2, 3, mean_scale=6.0, generator=seed)
    x = true.sample(3000, generator=seed + 7)
    candidates = range(1, 6)
    ours = fit_gmm(x, candidates, n_init=2, generator=seed)
    sklearn_bics = [_sklearn_fit(x, k, n_init=2, random_state=seed).bic(x.numpy()) for k in candidates]
    assert ours.mixture.n_components == candidates[int(np.argmin(sklearn_bics))] == 3
    assert sorted(ours.bic_by_n_components) == list(candidates)
    assert ours.bic == min(ours.bic_by_n_components.values())


def test_em_recovers_the_true_mixture():
    # With N = 50 000 the standard error of every matched parameter error is below 0.02;
    # 0.1 is five of them.
    true = random_gmm(2, 3, mean_scale=6.0, generator=5)
    x = true.sample(50_000, generator=6)
    fit = fit_gmm(x, 3, generator=0)
    result = check_same_mixture(fit.mixture, true, rtol=0.1)
    assert result.holds, result.details


@FEW
@given(gaussian_mixtures(max_components=2), st.integers(0, 2**31))
def test_one_component_fit_is_the_sample_moments(p, seed):
    x = p.sample(500, generator=seed)
    reg = 1e-6
    fit = fit_gmm(x, 1, reg_covar=reg, generator=seed)
    centred = x - x.mean(0)
    expected = centred.T @ centred / x.shape[0] + reg * torch.eye(p.dim, dtype=torch.float64)
    torch.testing.assert_close(fit.mixture.means[0], x.mean(0), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fit.mixture.covariances[0], expected, rtol=1e-10, atol=1e-12)
    assert fit.converged


def test_em_is_translation_equivariant_far_from_the_origin():
    x = random_gmm(2, 2, generator=8).sample(2000, generator=9)
    shift = torch.tensor([1e6, -3e6], dtype=torch.float64)
    near, far = fit_gmm(x, 2, generator=0), fit_gmm(x + shift, 2, generator=0)
    assert far.log_likelihood == pytest.approx(near.log_likelihood, abs=1e-8)
    torch.testing.assert_close(far.mixture.means - shift, near.mixture.means, rtol=0, atol=1e-6)


def test_em_is_deterministic_given_a_seed():
    x = random_gmm(3, 3, generator=10).sample(1000, generator=11)
    a = fit_gmm(x, 3, generator=12)
    b = fit_gmm(x, 3, generator=torch.Generator().manual_seed(12))
    _assert_same_parameters(a.mixture, b.mixture, atol=0)


def test_em_warns_when_max_iter_is_too_small():
    x = random_gmm(2, 3, mean_scale=1.0, generator=0).sample(3000, generator=10)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        fit = fit_gmm(x, 3, max_iter=2, generator=0)
    assert not fit.converged and fit.n_iter == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert fit_gmm(x, 3, generator=0).converged


def test_em_accepts_numpy_and_float32_samples():
    x = random_gmm(2, 2, generator=13).sample(500, generator=14)
    from_numpy = fit_gmm(x.numpy(), 2, generator=0)
    from_float32 = fit_gmm(x.float(), 2, generator=0)
    assert from_numpy.mixture.dtype == from_float32.mixture.dtype == torch.float64
    assert from_numpy.log_likelihood == pytest.approx(fit_gmm(x, 2, generator=0).log_likelihood, rel=1e-12)
    assert sorted(fit_gmm(x, np.arange(1, 3), generator=0).bic_by_n_components) == [1, 2]


def test_em_finds_rare_distinct_samples_that_the_k_means_subsample_misses():
    # 20 000 rows, all zero but two: the k-means subsample (10 000 rows) very likely holds
    # fewer than 3 distinct rows, and the start must fall back to the full sample.
    x = torch.zeros(20_000, 2, dtype=torch.float64)
    x[-1], x[-2] = torch.tensor([1.0, 1.0]), torch.tensor([2.0, 2.0])
    fit = fit_gmm(x, 3, generator=0)
    means = sorted(fit.mixture.means[:, 0].tolist())
    assert means == pytest.approx([0.0, 1.0, 2.0], abs=1e-9)
    with pytest.raises(ValueError, match="^n_components:.*distinct samples"):
        fit_gmm(x, 4, generator=0)


@pytest.mark.cuda
def test_em_on_cuda_matches_cpu():
    x = random_gmm(3, 3, generator=15).sample(5000, generator=16)
    cpu, cuda = fit_gmm(x, 3, generator=0), fit_gmm(x.cuda(), 3, generator=0)
    assert cuda.mixture.device.type == "cuda"
    assert cuda.log_likelihood == pytest.approx(cpu.log_likelihood, abs=1e-6)
    assert check_same_mixture(cuda.mixture.to("cpu"), cpu.mixture, rtol=1e-4).holds


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_em_against_sklearn_sweep(seed):
    gen = np.random.default_rng(seed)
    dim, k = int(gen.integers(1, 6)), int(gen.integers(1, 7))
    x = random_gmm(dim, k, generator=seed).sample(5000, generator=seed + 1000)
    ours = fit_gmm(x, k, n_init=3, tol=1e-6, max_iter=3000, generator=seed)
    theirs = _sklearn_fit(x, k, n_init=3, tol=1e-6, max_iter=3000, random_state=seed)
    assert ours.log_likelihood >= theirs.score(x.numpy()) - 1e-3


# ---------------------------------------------------------------------------- validation
P = GaussianMixture([1.0], [[0.0, 0.0]], [torch.eye(2, dtype=torch.float64).tolist()])
P1 = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
X = random_gmm(2, 2, generator=0).sample(50, generator=1)


@pytest.mark.parametrize("function", [gmm_l2_distance, gmm_inner_product, match_mixtures, check_same_mixture])
@pytest.mark.parametrize(
    "p, q, name",
    [("not a mixture", P, "p"), (P, np.zeros(3), "q"), (P, P1, "q")],
)
def test_comparisons_reject_bad_input(function, p, q, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        function(p, q)


@pytest.mark.parametrize("tol", [-1.0, float("nan"), "x"])
def test_check_rejects_bad_rtol(tol):
    with pytest.raises(ValueError, match="^rtol:"):
        check_same_mixture(P, P, rtol=tol)


NAN = X.clone()
NAN[3, 1] = float("nan")


@pytest.mark.parametrize(
    "samples, n_components, kwargs, name",
    [
        (X[:, 0], 2, {}, "samples"),
        (X[None], 2, {}, "samples"),
        (NAN, 2, {}, "samples"),
        (X[:0], 1, {}, "samples"),
        ("abc", 2, {}, "samples"),
        (X, 0, {}, "n_components"),
        (X, 51, {}, "n_components"),
        (X, 2.5, {}, "n_components"),
        (X, True, {}, "n_components"),
        (X, [], {}, "n_components"),
        (X, [0, 2], {}, "n_components"),
        (X, [1, "2"], {}, "n_components"),
        (torch.zeros(10, 2, dtype=torch.float64), 2, {}, "n_components"),
        (X, 2, {"n_init": 0}, "n_init"),
        (X, 2, {"max_iter": 0}, "max_iter"),
        (X, 2, {"tol": -1.0}, "tol"),
        (X, 2, {"reg_covar": float("nan")}, "reg_covar"),
        (X, 2, {"generator": "seed"}, "generator"),
    ],
)
def test_fit_gmm_rejects_bad_input(samples, n_components, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        fit_gmm(samples, n_components, **kwargs)
