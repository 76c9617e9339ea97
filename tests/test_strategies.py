"""Tests of the hypothesis strategies in ``models.strategies``: bounds and shrinking."""

from __future__ import annotations

import pytest
import torch
from hypothesis import find, given, settings

from models import AffineMap, GaussianMixture, GenerativeModel, LeakyReLUNetwork
from models.strategies import (
    affine_maps,
    full_rank_matrices,
    gaussian_mixtures,
    generative_models,
    injective_networks,
    networks,
    orthogonal_matrices,
    spectra,
)

F64 = torch.float64
COND_RTOL = 1e-9  # bounds on condition numbers hold up to rounding
# ``find`` settings: no example database, a fixed budget, reproducible.
FIND = settings(database=None, max_examples=500, derandomize=True)


def condition_number(w: torch.Tensor) -> float:
    s = torch.linalg.svdvals(w)
    return float(s.max() / s.min())


# ---------------------------------------------------------------------------------- bounds
@given(gaussian_mixtures(min_dim=2, max_dim=4, min_components=2, max_components=3, max_condition=5.0, mean_range=2.0, separation=1.5))
def test_gaussian_mixtures_respect_bounds(mixture):
    assert isinstance(mixture, GaussianMixture) and mixture.dtype == F64
    assert 2 <= mixture.dim <= 4 and 2 <= mixture.n_components <= 3
    for cov in mixture.covariances:
        eig = torch.linalg.eigvalsh(cov)
        assert float(eig.min()) > 0 and float(eig.max() / eig.min()) <= 5.0 * (1 + COND_RTOL)
    means = mixture.means
    assert bool((means[:, 1:].abs() <= 2.0).all())
    for j in range(mixture.n_components):
        assert j * 1.5 <= float(means[j, 0]) <= (j + 0.5) * 1.5
    # weights come from raw values in [1, 4]: every ratio is at most 4
    assert float(mixture.weights.max() / mixture.weights.min()) <= 4.0 + 1e-12


@given(gaussian_mixtures(dim=3, diagonal=True))
def test_gaussian_mixtures_diagonal_and_fixed_dim(mixture):
    assert mixture.dim == 3
    for cov in mixture.covariances:
        assert torch.equal(cov, torch.diag(torch.diagonal(cov)))


@given(affine_maps(min_dim=2, max_dim=4, max_condition=20.0, offset_range=1.5))
def test_affine_maps_respect_bounds(h):
    assert isinstance(h, AffineMap)
    assert 2 <= h.in_dim == h.out_dim <= 4
    assert condition_number(h.matrix) <= 20.0 * (1 + COND_RTOL)
    assert bool((h.offset.abs() <= 1.5).all())


@given(affine_maps(dim=3, orthogonal=True))
def test_orthogonal_affine_maps(h):
    assert h.in_dim == 3 and h.is_orthogonal()
    assert torch.equal(h.offset, torch.zeros(3, dtype=F64))


def test_affine_maps_reach_both_orientations():
    """Orientation-reversing maps are drawn too: ``find`` raises NoSuchExample otherwise."""
    reversing = find(affine_maps(dim=2), lambda h: float(torch.linalg.det(h.matrix)) < 0, settings=FIND)
    assert float(torch.linalg.det(reversing.matrix)) < 0
    rotation = find(affine_maps(dim=2, orthogonal=True), lambda h: float(torch.linalg.det(h.matrix)) < 0, settings=FIND)
    assert rotation.is_orthogonal()


@given(networks(min_in_dim=2, max_in_dim=3, max_out_dim=2, max_depth=4, max_width=5, weight_range=0.5, bias_range=0.25))
def test_networks_respect_bounds(net):
    assert isinstance(net, LeakyReLUNetwork) and net.dtype == F64
    assert 2 <= net.in_dim <= 3 and 1 <= net.out_dim <= 2
    assert 1 <= net.depth <= 4
    assert all(1 <= width <= 5 for width in net.widths[1:-1])
    for w, b in zip(net.weights, net.biases):
        identity = torch.eye(w.shape[0], w.shape[1], dtype=F64)
        assert bool(((w - identity).abs() <= 0.5).all())
        assert bool((b.abs() <= 0.25).all())
    assert len(net.slopes) == net.depth - 1
    assert all(s == 0.0 or 0.05 <= s <= 2.0 for s in net.slopes)


@given(networks(in_dim=2, allow_relu=False))
def test_networks_without_relu(net):
    assert net.in_dim == 2
    assert all(0.05 <= s <= 2.0 for s in net.slopes)


@given(injective_networks(min_in_dim=1, max_in_dim=3, max_depth=4, max_growth=2, max_condition=8.0, bias_range=0.5))
def test_injective_networks_respect_bounds(net):
    assert 1 <= net.in_dim <= 3 and 1 <= net.depth <= 4
    for a, b in zip(net.widths, net.widths[1:]):
        assert a <= b <= a + 2
    for w in net.weights:
        assert int(torch.linalg.matrix_rank(w)) == w.shape[1]
        assert condition_number(w) <= 8.0 * (1 + COND_RTOL)
    assert all(bool((b.abs() <= 0.5).all()) for b in net.biases)
    assert all(0.05 <= s <= 2.0 for s in net.slopes)


@given(injective_networks(in_dim=2, out_dim=7, max_depth=3))
def test_injective_networks_fixed_output(net):
    assert net.in_dim == 2 and net.out_dim == 7
    assert all(int(torch.linalg.matrix_rank(w)) == w.shape[1] for w in net.weights)


@given(generative_models(min_latent_dim=2, max_latent_dim=3, max_components=2, max_depth=2, max_condition=4.0))
def test_generative_models_respect_bounds(model):
    assert isinstance(model, GenerativeModel) and model.noise_scale == 0.0
    assert 2 <= model.latent_dim <= 3 and model.prior.dim == model.decoder.in_dim
    assert 1 <= model.prior.n_components <= 2 and model.decoder.depth <= 2
    assert all(condition_number(w) <= 4.0 * (1 + COND_RTOL) for w in model.decoder.weights)


@given(generative_models(injective=False, noise_scale=0.5, max_latent_dim=2))
def test_generative_models_non_injective_with_noise(model):
    assert model.noise_scale == 0.5 and model.latent_dim <= 2


@given(orthogonal_matrices(4), spectra(4, max_condition=3.0), full_rank_matrices(5, 3, max_condition=6.0))
def test_matrix_building_blocks(q, s, w):
    torch.testing.assert_close(q.T @ q, torch.eye(4, dtype=F64), rtol=0, atol=1e-12)
    assert bool((s > 0).all()) and float(s.max() / s.min()) <= 3.0 * (1 + COND_RTOL)
    assert w.shape == (5, 3) and condition_number(w) <= 6.0 * (1 + COND_RTOL)


# ---------------------------------------------------------------------------------- shrinking
def test_gaussian_mixtures_shrink_to_standard_normal():
    mixture = find(gaussian_mixtures(), lambda g: True, settings=FIND)
    assert mixture.dim == 1 and mixture.n_components == 1
    assert torch.equal(mixture.means, torch.zeros(1, 1, dtype=F64))
    assert torch.equal(mixture.covariances, torch.eye(1, dtype=F64)[None])


def test_gaussian_mixtures_shrink_to_minimal_dim_and_components():
    mixture = find(gaussian_mixtures(min_dim=3, max_dim=5, min_components=2), lambda g: True, settings=FIND)
    assert mixture.dim == 3 and mixture.n_components == 2
    torch.testing.assert_close(mixture.weights, torch.tensor([0.5, 0.5], dtype=F64), rtol=0, atol=0)
    assert torch.equal(mixture.covariances, torch.eye(3, dtype=F64).expand(2, 3, 3))
    # distinct by construction: the second mean sits at the separation
    assert torch.equal(mixture.means, torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=F64))


def test_gaussian_mixtures_shrink_under_a_condition():
    """The smallest mixture with two components in 2-D is still identity-like."""
    mixture = find(gaussian_mixtures(max_dim=4), lambda g: g.n_components >= 2 and g.dim >= 2, settings=FIND)
    assert mixture.dim == 2 and mixture.n_components == 2
    assert torch.equal(mixture.covariances, torch.eye(2, dtype=F64).expand(2, 2, 2))


def test_affine_maps_shrink_to_identity():
    h = find(affine_maps(min_dim=2), lambda h: True, settings=FIND)
    assert h.in_dim == 2
    assert torch.equal(h.matrix, torch.eye(2, dtype=F64))
    assert torch.equal(h.offset, torch.zeros(2, dtype=F64))


def test_networks_shrink_to_identity_like():
    net = find(networks(min_in_dim=2), lambda n: True, settings=FIND)
    assert net.widths == (2, 1) and net.depth == 1
    assert torch.equal(net.weights[0], torch.eye(1, 2, dtype=F64))
    assert torch.equal(net.biases[0], torch.zeros(1, dtype=F64))


def test_deep_networks_shrink_to_identity_like_relu():
    net = find(networks(), lambda n: n.depth >= 3, settings=FIND)
    assert net.widths == (1, 1, 1, 1)
    assert all(torch.equal(w, torch.eye(1, dtype=F64)) for w in net.weights)
    assert all(torch.equal(b, torch.zeros(1, dtype=F64)) for b in net.biases)
    assert net.slopes == (0.0, 0.0)  # the plain ReLU is the simplest slope


def test_injective_networks_shrink_to_identity():
    net = find(injective_networks(min_in_dim=2), lambda n: True, settings=FIND)
    assert net.widths == (2, 2)
    assert torch.equal(net.weights[0], torch.eye(2, dtype=F64))
    assert torch.equal(net.biases[0], torch.zeros(2, dtype=F64))


def test_deep_injective_networks_shrink_to_square_identities():
    net = find(injective_networks(), lambda n: n.depth >= 2, settings=FIND)
    assert net.widths == (1, 1, 1)
    assert all(torch.equal(w, torch.eye(1, dtype=F64)) for w in net.weights)
    assert all(0.05 <= s <= 2.0 for s in net.slopes)


def test_generative_models_shrink_to_identity_decoder_and_standard_prior():
    model = find(generative_models(), lambda m: True, settings=FIND)
    assert model.latent_dim == 1 and model.decoder.widths == (1, 1)
    assert torch.equal(model.decoder.weights[0], torch.eye(1, dtype=F64))
    assert torch.equal(model.prior.covariances, torch.eye(1, dtype=F64)[None])
    assert torch.equal(model.prior.means, torch.zeros(1, 1, dtype=F64))


# ---------------------------------------------------------------------------------- misuse
def test_full_rank_matrices_reject_wide_shapes():
    with pytest.raises(ValueError, match="rows"):
        find(full_rank_matrices(2, 3), lambda w: True, settings=FIND)


def test_injective_networks_reject_narrow_output():
    with pytest.raises(ValueError, match="out_dim"):
        find(injective_networks(in_dim=3, out_dim=2), lambda n: True, settings=FIND)
