"""Tests of ``models.GenerativeModel``: sampling, the exact density on the image, reparametrisation."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from models import (
    AffineMap,
    GaussianMixture,
    GenerativeModel,
    LeakyReLUNetwork,
    NotInjectiveError,
    random_gmm,
    random_model,
    random_network,
)
from models.strategies import affine_maps, gaussian_mixtures, generative_models, injective_networks

F64 = torch.float64
seeds = st.integers(0, 2**31 - 1)
N_SIGMA = 5.0  # statistical tolerance, in standard errors; every sampling test is seeded


def autograd_jacobian(net: LeakyReLUNetwork, z: torch.Tensor) -> torch.Tensor:
    return torch.func.vmap(torch.func.jacrev(net.to_torch()))(z).detach()


def reference_log_prob(model: GenerativeModel, z: torch.Tensor) -> torch.Tensor:
    """log P(z) − ½ log det(JᵀJ) at x = f(z), J the autograd Jacobian: no inverse, no SVD."""
    jac = autograd_jacobian(model.decoder, z)
    gram = jac.transpose(1, 2) @ jac
    return model.prior.log_prob(z) - 0.5 * torch.linalg.slogdet(gram).logabsdet


def left_null_vector(w: torch.Tensor) -> torch.Tensor:
    u, _, _ = torch.linalg.svd(w)
    return u[:, -1]


# ---------------------------------------------------------------------------------- sampling
def test_sample_shapes_and_reproducibility():
    model = random_model(2, 5, hidden=(3, 4), n_components=3, generator=0)
    z, x = model.sample(300, generator=1)
    assert z.shape == (300, 2) and x.shape == (300, 5)
    assert z.dtype == x.dtype == F64
    z2, x2 = model.sample(300, generator=torch.Generator().manual_seed(1))
    assert torch.equal(z, z2) and torch.equal(x, x2)
    assert not torch.equal(z, model.sample(300, generator=2)[0])
    assert torch.equal(x, model.decoder(z))  # noise-free: x = f(z) exactly
    z3, x3, labels = model.sample(300, generator=1, return_labels=True)
    assert torch.equal(z3, z) and torch.equal(x3, x)
    assert labels.shape == (300,) and int(labels.max()) < 3
    assert torch.equal(z, model.prior.sample(300, generator=1))


def test_sample_with_noise():
    sigma = 0.3
    model = random_model(2, 4, hidden=(3,), noise_scale=sigma, generator=3)
    n = 40_000
    z, x = model.sample(n, generator=4)
    assert torch.equal(z, model.sample(n, generator=4)[0]) and torch.equal(x, model.sample(n, generator=4)[1])
    eps = (x - model.decoder(z)).flatten()
    # mean 0 and variance σ²: standard errors σ/√N and σ²√(2/N) for Gaussian noise.
    count = eps.numel()
    assert abs(float(eps.mean())) <= N_SIGMA * sigma / math.sqrt(count)
    assert abs(float(eps.var()) - sigma**2) <= N_SIGMA * sigma**2 * math.sqrt(2.0 / count)


# ---------------------------------------------------------------------------------- log_prob
@st.composite
def square_models(draw):
    """Noise-free models whose decoder is a square (n = m) injective network."""
    m = draw(st.integers(1, 4))
    prior = draw(gaussian_mixtures(dim=m))
    decoder = draw(injective_networks(in_dim=m, max_growth=0, max_depth=3))
    return GenerativeModel(decoder, prior)


@given(square_models(), seeds)
def test_log_prob_square_change_of_variables(model, seed):
    """n = m: log p(f(z)) = log P(z) − log|det J_f(z)|, J from autograd, z known (no inverse)."""
    z = model.prior.sample(32, generator=seed)
    jac = autograd_jacobian(model.decoder, z)
    expected = model.prior.log_prob(z) - torch.linalg.slogdet(jac).logabsdet
    torch.testing.assert_close(model.log_prob(model.decoder(z)), expected, rtol=1e-9, atol=1e-9)


@given(generative_models(max_latent_dim=4, max_depth=3), seeds)
def test_log_prob_matches_autograd_reference(model, seed):
    """n >= m: log p(f(z)) = log P(z) − ½ log det(JᵀJ), J from autograd."""
    z = model.prior.sample(32, generator=seed)
    torch.testing.assert_close(model.log_prob(model.decoder(z)), reference_log_prob(model, z), rtol=1e-9, atol=1e-9)


def test_log_prob_hand_computed():
    """f(z) = (z, 2z) on R: the image is a line, arc-length density p(z) / √5."""
    decoder = LeakyReLUNetwork([torch.tensor([[1.0], [2.0]], dtype=F64)], [torch.zeros(2, dtype=F64)])
    prior = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    model = GenerativeModel(decoder, prior)
    z = torch.tensor([[0.0], [1.5], [-3.0]], dtype=F64)
    expected = -0.5 * math.log(2 * math.pi) - 0.5 * z[:, 0] ** 2 - 0.5 * math.log(5.0)
    torch.testing.assert_close(model.log_prob(decoder(z)), expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_prob_integrates_to_one_on_a_curve(seed):
    """m = 1, n = 2: ∫ p ds over the image curve is 1 (midpoint rule over a fine latent grid).

    The arc length of each grid segment is measured from the decoder's outputs, so the check
    uses neither ``local_affine`` nor the inverse at the grid points. On a segment whose two
    ends share an activation pattern the decoder is affine, so there p(f(mid))·length equals
    P(mid)·h to rounding; segments across a kink are approximated, so the total is 1 up to O(h).
    """
    decoder = random_network((1, 2, 2), 0.3, generator=seed)
    prior = random_gmm(1, 2, generator=seed + 10)
    model = GenerativeModel(decoder, prior)
    spread = float(prior.means.abs().max()) + 12.0 * math.sqrt(float(prior.covariances.max()))
    grid = torch.linspace(-spread, spread, 200_001, dtype=F64).unsqueeze(1)
    step = float(grid[1, 0] - grid[0, 0])
    x = decoder(grid)
    lengths = (x[1:] - x[:-1]).norm(dim=1)
    mid = 0.5 * (grid[1:] + grid[:-1])
    mass = torch.exp(model.log_prob(decoder(mid))) * lengths

    pattern = decoder.activation_pattern(grid)
    one_region = (pattern[1:] == pattern[:-1]).all(dim=1)
    assert 0 < int((~one_region).sum()) <= 2 * pattern.shape[1]  # a few kinks, each crossed once
    prior_mass = torch.exp(prior.log_prob(mid)) * step
    torch.testing.assert_close(mass[one_region], prior_mass[one_region], rtol=1e-9, atol=1e-300)
    assert abs(float(mass.sum()) - 1.0) <= 1e-4


def test_log_prob_integrates_to_one_on_a_surface():
    """m = 2, n = 3: ∫ p dA over the image surface is 1.

    The latent square [−11, 11]² is cut into cells; each image cell's area is measured from the
    decoder's outputs at the corners (two triangles). A cell whose four corners share one
    activation pattern lies in one convex linear region, so its image is a parallelogram whose
    area is exact: there p(f(centre))·area = P(centre)·h² must hold to rounding. Cells cut by
    a region boundary are only approximated, so the total is 1 up to O(h).
    """
    decoder = random_network((2, 3, 3), 0.4, generator=5)
    prior = random_gmm(2, 2, mean_scale=1.0, max_condition=3.0, generator=6)
    model = GenerativeModel(decoder, prior)
    k, spread = 601, 11.0
    axis = torch.linspace(-spread, spread, k, dtype=F64)
    step = float(axis[1] - axis[0])
    uu, vv = torch.meshgrid(axis, axis, indexing="ij")
    corners = torch.stack([uu.flatten(), vv.flatten()], dim=1)
    x = decoder(corners).reshape(k, k, 3)
    x00, x10, x01, x11 = x[:-1, :-1], x[1:, :-1], x[:-1, 1:], x[1:, 1:]
    area = 0.5 * (torch.linalg.cross(x10 - x00, x11 - x00).norm(dim=-1) + torch.linalg.cross(x11 - x00, x01 - x00).norm(dim=-1))
    centres = 0.5 * (axis[1:] + axis[:-1])
    cu, cv = torch.meshgrid(centres, centres, indexing="ij")
    centre_points = torch.stack([cu.flatten(), cv.flatten()], dim=1)
    density = torch.exp(model.log_prob(decoder(centre_points))).reshape(k - 1, k - 1)
    mass = density * area

    pattern = decoder.activation_pattern(corners).reshape(k, k, -1)
    p00, p10, p01, p11 = pattern[:-1, :-1], pattern[1:, :-1], pattern[:-1, 1:], pattern[1:, 1:]
    one_region = ((p00 == p10) & (p00 == p01) & (p00 == p11)).all(dim=-1)
    assert 0.9 < float(one_region.to(F64).mean()) < 1.0  # the grid does cross region boundaries
    prior_mass = (torch.exp(prior.log_prob(centre_points)) * step**2).reshape(k - 1, k - 1)
    torch.testing.assert_close(mass[one_region], prior_mass[one_region], rtol=1e-9, atol=1e-300)
    assert abs(float(mass.sum()) - 1.0) <= 2e-3


def test_log_prob_minus_infinity_off_the_image():
    model = random_model(2, 4, hidden=(3,), generator=7)
    z = model.prior.sample(6, generator=8)
    x = model.decoder(z)
    normal = left_null_vector(model.decoder.weights[-1])
    x_off = x.clone()
    x_off[[0, 3]] += 0.1 * normal
    values = model.log_prob(x_off)
    assert bool(torch.isneginf(values[[0, 3]]).all())
    on_rows = [1, 2, 4, 5]
    assert bool(torch.isfinite(values[on_rows]).all())
    torch.testing.assert_close(values[on_rows], reference_log_prob(model, z[on_rows]), rtol=1e-9, atol=1e-9)
    assert float(model.log_prob(x_off[0])) == float("-inf")


def test_log_prob_single_point():
    model = random_model(2, 3, generator=1)
    z = model.prior.sample(1, generator=2)
    value = model.log_prob(model.decoder(z)[0])
    assert value.shape == ()
    assert float(value) == pytest.approx(float(reference_log_prob(model, z)[0]), rel=1e-10)


def test_log_prob_with_noise_not_implemented():
    model = random_model(2, 3, noise_scale=0.1, generator=1)
    with pytest.raises(NotImplementedError, match="noise"):
        model.log_prob(torch.zeros(1, 3, dtype=F64))


def test_log_prob_relu_decoder_not_injective():
    decoder = random_network((2, 4, 5), 0.0, injective=False, generator=1)
    model = GenerativeModel(decoder, random_gmm(2, 2, generator=2))
    with pytest.raises(NotInjectiveError):
        model.log_prob(torch.zeros(1, 5, dtype=F64))


# ---------------------------------------------------------------------------------- reparametrize
@st.composite
def models_with_maps(draw):
    model = draw(generative_models(max_latent_dim=3, max_depth=3))
    return model, draw(affine_maps(dim=model.latent_dim))


@given(models_with_maps(), seeds)
def test_reparametrize_leaves_log_prob_unchanged(pair, seed):
    model, h = pair
    other = model.reparametrize(h)
    z = model.prior.sample(24, generator=seed)
    x = model.decoder(z)
    torch.testing.assert_close(other.log_prob(x), model.log_prob(x), rtol=1e-8, atol=1e-8)
    # The decoders agree along h: (f ∘ h⁻¹)(h(z)) = f(z).
    scale = 1.0 + float(x.abs().max())
    assert float((other.decoder(h(z)) - x).abs().max()) <= 1e-10 * scale
    assert other.noise_scale == model.noise_scale


@given(models_with_maps())
def test_reparametrize_pushes_the_prior(pair):
    model, h = pair
    other = model.reparametrize(h)
    expected = model.prior.affine(h)
    torch.testing.assert_close(other.prior.means, expected.means, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(other.prior.covariances, expected.covariances, rtol=1e-14, atol=1e-14)
    assert torch.equal(other.prior.weights, model.prior.weights)


def test_reparametrize_off_image_stays_off():
    model = random_model(2, 4, hidden=(3,), generator=9)
    h = AffineMap(torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=F64), torch.tensor([3.0, -1.0], dtype=F64))
    other = model.reparametrize(h)
    x = model.decoder(model.prior.sample(4, generator=1)) + 0.1 * left_null_vector(model.decoder.weights[-1])
    assert bool(torch.isneginf(other.log_prob(x)).all())


@pytest.mark.parametrize("seed", [0, 1])
def test_reparametrize_same_law_of_x(seed):
    """Moments of x under the two models agree within the two-sample standard error."""
    model = random_model(2, 3, hidden=(3,), n_components=3, generator=seed)
    h = AffineMap(torch.tensor([[0.5, 2.0], [-1.5, 1.0]], dtype=F64), torch.tensor([4.0, -2.0], dtype=F64))
    other = model.reparametrize(h)
    n = 100_000
    _, x_a = model.sample(n, generator=100 + seed)
    _, x_b = other.sample(n, generator=200 + seed)
    se_mean = torch.sqrt((x_a.var(dim=0) + x_b.var(dim=0)) / n)
    assert bool(((x_a.mean(dim=0) - x_b.mean(dim=0)).abs() <= N_SIGMA * se_mean).all())
    prod_a = (x_a - x_a.mean(0)).unsqueeze(2) * (x_a - x_a.mean(0)).unsqueeze(1)
    prod_b = (x_b - x_b.mean(0)).unsqueeze(2) * (x_b - x_b.mean(0)).unsqueeze(1)
    se_cov = torch.sqrt((prod_a.var(dim=0) + prod_b.var(dim=0)) / n)
    assert bool(((prod_a.mean(0) - prod_b.mean(0)).abs() <= N_SIGMA * se_cov).all())
    # A sharper check of the same law: the mean log density of the other model's samples
    # under this model matches that of this model's own samples.
    la, lb = model.log_prob(x_a), model.log_prob(x_b)
    se_ll = math.sqrt((float(la.var()) + float(lb.var())) / n)
    assert abs(float(la.mean() - lb.mean())) <= N_SIGMA * se_ll


def test_reparametrize_with_identity_is_the_same_model():
    model = random_model(3, 4, generator=2)
    other = model.reparametrize(AffineMap.identity(3))
    z = model.prior.sample(10, generator=3)
    assert torch.equal(other.decoder(z), model.decoder(z))
    assert torch.equal(other.prior.log_prob(z), model.prior.log_prob(z))


# ---------------------------------------------------------------------------------- attributes
def test_attributes_and_to():
    model = random_model(2, 3, noise_scale=0.5, generator=0)
    assert model.latent_dim == 2 and model.observed_dim == 3 and model.noise_scale == 0.5
    assert isinstance(model.decoder, LeakyReLUNetwork) and isinstance(model.prior, GaussianMixture)
    single = model.to(dtype=torch.float32)
    assert single.decoder.dtype == single.prior.dtype == torch.float32
    z, x = single.sample(5, generator=1)
    assert z.dtype == x.dtype == torch.float32
