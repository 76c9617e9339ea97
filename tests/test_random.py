"""Tests of the seeded factories in ``models.random``."""

from __future__ import annotations

import pytest
import torch

from models import GenerativeModel, random_gmm, random_model, random_network
from models.random import random_orthogonal

F64 = torch.float64
COND_RTOL = 1e-9  # a condition-number bound holds up to rounding of the SVD


def same_mixture(p, q) -> bool:
    return torch.equal(p.weights, q.weights) and torch.equal(p.means, q.means) and torch.equal(p.covariances, q.covariances)


def same_network(f, g) -> bool:
    return (
        f.widths == g.widths
        and f.slopes == g.slopes
        and all(torch.equal(a, b) for a, b in zip(f.weights, g.weights))
        and all(torch.equal(a, b) for a, b in zip(f.biases, g.biases))
    )


def condition_number(w: torch.Tensor) -> float:
    s = torch.linalg.svdvals(w)
    return float(s.max() / s.min())


# ---------------------------------------------------------------------------------- reproducibility
def test_same_seed_same_mixture():
    assert same_mixture(random_gmm(3, 4, generator=7), random_gmm(3, 4, generator=7))
    assert same_mixture(random_gmm(3, 4, generator=7), random_gmm(3, 4, generator=torch.Generator().manual_seed(7)))
    assert not same_mixture(random_gmm(3, 4, generator=7), random_gmm(3, 4, generator=8))


def test_same_seed_same_network():
    for injective in (True, False):
        f = random_network((2, 5, 6), 0.3, injective=injective, generator=11)
        assert same_network(f, random_network((2, 5, 6), 0.3, injective=injective, generator=11))
        assert not same_network(f, random_network((2, 5, 6), 0.3, injective=injective, generator=12))


def test_same_seed_same_model():
    a = random_model(2, 4, hidden=(3,), n_components=3, noise_scale=0.1, generator=5)
    b = random_model(2, 4, hidden=(3,), n_components=3, noise_scale=0.1, generator=5)
    assert isinstance(a, GenerativeModel)
    assert same_mixture(a.prior, b.prior) and same_network(a.decoder, b.decoder)
    assert a.noise_scale == b.noise_scale == 0.1
    c = random_model(2, 4, hidden=(3,), n_components=3, noise_scale=0.1, generator=6)
    assert not same_mixture(a.prior, c.prior)


def test_shared_generator_advances():
    gen = torch.Generator().manual_seed(3)
    first, second = random_gmm(2, 2, generator=gen), random_gmm(2, 2, generator=gen)
    assert not same_mixture(first, second)
    gen = torch.Generator().manual_seed(3)
    assert same_mixture(first, random_gmm(2, 2, generator=gen))


def test_dtype_does_not_change_the_draw():
    """Numbers are drawn in float64 and then cast: float32 objects are the rounded float64 ones."""
    p64 = random_gmm(3, 2, generator=1)
    p32 = random_gmm(3, 2, generator=1, dtype=torch.float32)
    assert p32.dtype == torch.float32
    assert torch.equal(p32.means, p64.means.float()) and torch.equal(p32.covariances, p64.covariances.float())
    f64 = random_network((2, 4, 4), 0.2, generator=1)
    f32 = random_network((2, 4, 4), 0.2, generator=1, dtype=torch.float32)
    assert all(torch.equal(a, b.float()) for a, b in zip(f32.weights, f64.weights))
    m32 = random_model(2, 3, generator=2, dtype=torch.float32)
    assert m32.decoder.dtype == m32.prior.dtype == torch.float32


def test_unseeded_calls_use_torch_global_state():
    torch.manual_seed(123)
    a = random_gmm(2, 2)
    torch.manual_seed(123)
    b = random_gmm(2, 2)
    assert same_mixture(a, b)


# ---------------------------------------------------------------------------------- injective networks
@pytest.mark.parametrize("max_condition", [1.0, 2.0, 10.0, 1e3])
def test_injective_layers_are_well_conditioned_and_full_rank(max_condition):
    for seed in range(50):
        gen = torch.Generator().manual_seed(seed)
        m = int(torch.randint(1, 5, (), generator=gen))
        widths = [m]
        for _ in range(int(torch.randint(1, 4, (), generator=gen))):
            widths.append(widths[-1] + int(torch.randint(0, 4, (), generator=gen)))
        net = random_network(widths, 0.2, max_condition=max_condition, generator=gen)
        assert net.widths == tuple(widths)
        for w in net.weights:
            assert int(torch.linalg.matrix_rank(w)) == w.shape[1]
            assert condition_number(w) <= max_condition * (1 + COND_RTOL)
        # The layerwise inverse exists.
        z = torch.randn(5, m, generator=gen, dtype=F64)
        torch.testing.assert_close(net.inverse(net(z)), z, rtol=1e-9, atol=1e-9)


def test_condition_number_one_gives_scaled_orthonormal_columns():
    net = random_network((3, 3, 5), 0.2, max_condition=1.0, generator=4)
    for w in net.weights:
        s = torch.linalg.svdvals(w)
        torch.testing.assert_close(s, torch.ones_like(s), rtol=1e-12, atol=1e-12)


def test_injective_per_layer_slopes():
    net = random_network((2, 3, 4, 4), [0.1, 1.5], generator=0)
    assert net.slopes == (0.1, 1.5)


def test_non_injective_networks_allow_any_shape():
    net = random_network((4, 2, 6, 1), 0.0, injective=False, generator=0)
    assert net.widths == (4, 2, 6, 1) and net.slopes == (0.0, 0.0)


def test_bias_scale():
    assert all(torch.equal(b, torch.zeros_like(b)) for b in random_network((2, 3, 4), bias_scale=0.0, generator=0).biases)
    big = random_network((2, 300), bias_scale=10.0, generator=1).biases[0]
    assert 8.0 < float(big.std()) < 12.0


def test_random_orthogonal():
    gen = torch.Generator().manual_seed(0)
    for n in (1, 2, 5):
        q = random_orthogonal(n, gen)
        torch.testing.assert_close(q.T @ q, torch.eye(n, dtype=F64), rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------------- mixtures
@pytest.mark.parametrize("covariance_type", ["full", "diagonal", "isotropic"])
@pytest.mark.parametrize("max_condition", [1.0, 5.0, 100.0])
def test_mixture_covariances(covariance_type, max_condition):
    for seed in range(20):
        p = random_gmm(3, 3, max_condition=max_condition, covariance_type=covariance_type, generator=seed)
        assert p.dim == 3 and p.n_components == 3
        assert bool((p.weights > 0).all()) and abs(float(p.weights.sum()) - 1.0) <= 1e-12
        for cov in p.covariances:
            eig = torch.linalg.eigvalsh(cov)
            assert float(eig.min()) > 0
            assert float(eig.max() / eig.min()) <= max_condition * (1 + COND_RTOL)
            if covariance_type != "full":
                assert torch.equal(cov, torch.diag(torch.diagonal(cov)))
            if covariance_type == "isotropic":
                assert torch.equal(cov, cov[0, 0] * torch.eye(3, dtype=F64))


def test_mean_scale():
    assert torch.equal(random_gmm(2, 3, mean_scale=0.0, generator=0).means, torch.zeros(3, 2, dtype=F64))
    means = random_gmm(2, 500, mean_scale=7.0, generator=1).means
    assert 6.0 < float(means.std()) < 8.0


def test_model_shapes():
    model = random_model(3, 6, hidden=(4, 5), n_components=2, negative_slope=[0.3, 0.6], generator=0)
    assert model.decoder.widths == (3, 4, 5, 6) and model.decoder.slopes == (0.3, 0.6)
    assert model.prior.dim == 3 and model.prior.n_components == 2 and model.noise_scale == 0.0


def test_model_non_injective_decoder():
    model = random_model(3, 2, hidden=(5,), injective=False, negative_slope=0.0, generator=0)
    assert model.decoder.widths == (3, 5, 2)


def test_random_affine_map_is_seeded_invertible_and_bounded():
    from models import random_affine_map

    first, second = random_affine_map(3, max_condition=4.0, generator=11), random_affine_map(3, max_condition=4.0, generator=11)
    assert torch.equal(first.matrix, second.matrix) and torch.equal(first.offset, second.offset)
    assert float(torch.linalg.cond(first.matrix)) <= 4.0 * (1 + 1e-12)
    z = torch.randn(5, 3, dtype=torch.float64)
    assert torch.allclose(first.inverse()(first(z)), z, atol=1e-12)
    with pytest.raises(ValueError, match="max_condition"):
        random_affine_map(2, max_condition=0.5)
    with pytest.raises(ValueError, match="dim"):
        random_affine_map(0)
