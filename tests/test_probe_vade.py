"""The VaDE engine on small cases: a decoder that is an injective leaky-ReLU network gives fitted
latents affine in the true ones; a seed fixes the fit; the likelihood estimates are right where they
can be computed exactly; bad arguments are named."""

from __future__ import annotations

import math

import pytest
import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork, random_model
from verify import check_injective
from verify.affine_fit import fit_affine
from verify.metrics import affine_r2
from verify.probe import FittedVAE, fit_vade, ground_truth, importance_log_likelihood
from verify.probe.vade import VAERestart

D = torch.float64
SMALL = dict(hidden=(16, 16), steps=300, restarts=1, batch_size=256)


def _injective_model(latent_dim: int, seed: int) -> GenerativeModel:
    """An injective leaky-ReLU decoder R^m -> R^4 (widths m, 4, 4) and a 2-component mixture, σ = 0.05."""
    return random_model(latent_dim, 4, hidden=(4,), n_components=2, noise_scale=0.05, generator=seed)


@pytest.fixture(scope="module")
def one_dim():
    model = _injective_model(1, 0)
    _, x = model.sample(2000, 11)
    z_test, x_test = model.sample(1000, 12)
    return model, x, z_test, x_test


@pytest.fixture(scope="module")
def one_dim_fit(one_dim):
    _, x, _, _ = one_dim
    return fit_vade(x, 1, 2, seed=0, **SMALL)


def test_a_known_affine_relation_is_recovered(one_dim, one_dim_fit):
    model, x, z_test, x_test = one_dim
    assert check_injective(model.decoder).holds
    z_fit = one_dim_fit.latents(x_test)
    assert affine_r2(z_test, z_fit) >= 0.95
    assert fit_affine(z_test, z_fit).r2 >= 0.95


def test_two_dimensional_latents_are_affine_in_the_true_ones():
    # A mildly bent decoder: the strongly bent truths of the experiments are where the refit falls short.
    model = _injective_model(2, 4)
    _, x = model.sample(2000, 21)
    z_test, x_test = model.sample(1000, 22)
    fit = fit_vade(x, 2, 2, seed=1, **SMALL)
    assert affine_r2(z_test, fit.latents(x_test)) >= 0.95


def test_a_seed_fixes_the_fit(one_dim, one_dim_fit):
    _, x, _, x_test = one_dim
    again = fit_vade(x, 1, 2, seed=0, **SMALL)
    assert again.log_likelihood == one_dim_fit.log_likelihood and again.elbo == one_dim_fit.elbo
    assert torch.equal(again.latents(x_test[:50]), one_dim_fit.latents(x_test[:50]))
    other = fit_vade(x, 1, 2, seed=1, **SMALL)
    assert other.restarts[0].seed != one_dim_fit.restarts[0].seed


def test_the_fit_is_a_model_of_the_toolkit(one_dim, one_dim_fit):
    _, x, _, _ = one_dim
    fit = one_dim_fit
    assert isinstance(fit, FittedVAE) and isinstance(fit.best, VAERestart)
    model = fit.model
    assert isinstance(model, GenerativeModel) and isinstance(model.decoder, LeakyReLUNetwork)
    assert model.decoder.widths == (1, 16, 16, 4) and fit.encoder.widths == (4, 16, 16, 2)
    assert model.prior.n_components == 2 and float(model.prior.weights.sum()) == pytest.approx(1.0)
    assert model.noise_scale > 0 and model.prior.n_components == 2
    mean, log_var = fit.posterior(x[:5])
    assert mean.shape == (5, 1) and log_var.shape == (5, 1)
    # The ranking estimate is the model's importance-weighted likelihood, in the data's units.
    estimate = float(importance_log_likelihood(model, fit.encoder, x, samples=64, generator=0).mean())
    assert estimate == pytest.approx(fit.log_likelihood, abs=0.05)
    assert fit.elbo <= fit.log_likelihood + 0.05
    assert len(fit.history) == 300 // 50


def test_restarts_are_reported_and_the_best_is_the_most_likely(one_dim):
    _, x, _, _ = one_dim
    fit = fit_vade(x[:600], 1, 2, seed=2, hidden=(8,), steps=60, restarts=3)
    spread = fit.spread()
    assert len(fit.restarts) == 3 and len(set(spread["seeds"])) == 3
    assert spread["log_likelihood"][fit.best_index] == max(spread["log_likelihood"])
    assert spread["log_likelihood_range"] >= 0 and fit.options["restarts"] == 3


def test_options_diagonal_prior_fixed_noise_and_given_codes(one_dim):
    z, x = _injective_model(2, 3).sample(600, 5)
    fit = fit_vade(x, 2, 2, covariance="diagonal", noise=0.05, hidden=(8,), steps=40, restarts=1, seed=0, init=z)
    covariances = fit.model.prior.covariances
    assert torch.allclose(covariances, torch.diag_embed(torch.diagonal(covariances, dim1=-2, dim2=-1)))
    assert fit.model.noise_scale == pytest.approx(0.05)
    assert fit.options["init"] == "given codes"
    auto = fit_vade(x, 2, 2, hidden=(8,), steps=40, restarts=1, seed=0, init="autoencoder")
    assert auto.options["init"] == "autoencoder"


def test_importance_likelihood_is_exact_for_a_linear_gaussian_model():
    # x = a z + b + σ ε, z ~ N(μ, s²): x ~ N(a μ + b, s² a aᵀ + σ² I), and the posterior of z is Gaussian.
    a = torch.tensor([[1.0], [-0.5], [2.0]], dtype=D)
    b = torch.tensor([0.3, 0.0, -1.0], dtype=D)
    mu, s2, sigma = 0.7, 1.5, 0.4
    decoder = LeakyReLUNetwork([a], [b])
    model = GenerativeModel(decoder, GaussianMixture(torch.ones(1, dtype=D), torch.tensor([[mu]], dtype=D),
                                                     torch.tensor([[[s2]]], dtype=D)), sigma)
    precision = 1 / s2 + float(a.T @ a) / sigma**2
    post_var = 1 / precision
    gain = post_var * a.T / sigma**2  # posterior mean = gain (x − b) + post_var μ / s2
    encoder = LeakyReLUNetwork([torch.cat([gain, torch.zeros(1, 3, dtype=D)])],
                               [torch.tensor([float(-gain @ b) + post_var * mu / s2, math.log(post_var)], dtype=D)])
    _, x = model.sample(50, 0)
    covariance = s2 * a @ a.T + sigma**2 * torch.eye(3, dtype=D)
    exact = torch.distributions.MultivariateNormal((a * mu).squeeze(1) + b, covariance).log_prob(x)
    estimate = importance_log_likelihood(model, encoder, x, samples=8, generator=1)
    # With the exact posterior as proposal every weight equals p(x): the estimate is exact.
    assert torch.allclose(estimate, exact, atol=1e-9)


def test_the_truths_likelihood_matches_quadrature():
    truth = ground_truth("all_hold", 1, 4, 4, n_components=2, noise=0.02)
    z, x = truth.sample(12, 8)
    estimate = truth.log_likelihood(x, z, samples=512, generator=0)
    grid = torch.linspace(float(z.min()) - 4, float(z.max()) + 4, 40001, dtype=D).unsqueeze(1)
    step = float(grid[1, 0] - grid[0, 0])
    prior = truth.generative_model().prior.log_prob(grid)
    clean = truth.decoder(grid)
    sigma2 = truth.noise_scale**2
    log_noise = -0.5 * (x.unsqueeze(1) - clean).square().sum(-1) / sigma2 - 2.0 * math.log(2 * math.pi * sigma2)
    quadrature = torch.logsumexp(prior + log_noise, 1) + math.log(step)
    # Each point's posterior may straddle a kink (slopes differ by 4 there): a few hundredths per point,
    # far less on the mean that the experiments report.
    assert torch.allclose(estimate, quadrature, atol=0.1)
    assert float(estimate.mean()) == pytest.approx(float(quadrature.mean()), abs=0.015)


def test_bad_arguments_are_named(one_dim):
    _, x, _, _ = one_dim
    cases = [
        (dict(x=torch.randn(5, 4, dtype=D)), "x"),
        (dict(x=torch.randn(100, 1, dtype=D), latent_dim=2), "x"),
        (dict(x=[[float("nan")] * 4] * 100), "x"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(n_components=0), "n_components"),
        (dict(hidden=16), "hidden"),
        (dict(negative_slope=0.0), "negative_slope"),
        (dict(covariance="spherical"), "covariance"),
        (dict(noise=-1.0), "noise"),
        (dict(restarts=0), "restarts"),
        (dict(steps=0), "steps"),
        (dict(batch_size=1), "batch_size"),
        (dict(learning_rate=2.0), "learning_rate"),
        (dict(init="random"), "init"),
        (dict(init=torch.zeros(3, 1, dtype=D)), "init"),
        (dict(seed=-1), "seed"),
    ]
    for changes, name in cases:
        arguments = dict(x=x[:200], latent_dim=1, n_components=2)
        arguments.update(changes)
        with pytest.raises(ValueError, match=name):
            fit_vade(arguments.pop("x"), arguments.pop("latent_dim"), arguments.pop("n_components"), **arguments)
    with pytest.raises(ValueError, match="x"):
        fit_vade(torch.ones(200, 4, dtype=D), 1, 2)
