"""Tests of verify.metrics: MCC, affine MCC and affine R² between true and learned latents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models import random_gmm
from models.strategies import affine_maps, gaussian_mixtures
from verify.metrics import affine_mcc, affine_r2, mcc

SOME = settings(max_examples=30, deadline=None)


def _latents(n: int, dim: int, seed: int) -> torch.Tensor:
    """Latents from a random Gaussian-mixture prior, as in the models this toolkit checks."""
    return random_gmm(dim, 3, generator=seed).sample(n, generator=seed + 1)


@st.composite
def latent_samples(draw, min_dim=1, max_dim=4, n=400):
    prior = draw(gaussian_mixtures(min_dim=min_dim, max_dim=max_dim))
    return prior.sample(n, generator=draw(st.integers(0, 2**31)))


# ---------------------------------------------------------------------------- MCC
@SOME
@given(latent_samples(), st.data())
def test_mcc_is_one_for_a_permutation_and_scaling(z, data):
    m = z.shape[1]
    permutation = data.draw(st.permutations(range(m)))
    magnitudes = data.draw(st.lists(st.floats(0.1, 10), min_size=m, max_size=m))
    signs = data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=m, max_size=m))
    scales = torch.tensor(magnitudes, dtype=torch.float64) * torch.tensor(signs, dtype=torch.float64)
    offset = torch.tensor(data.draw(st.lists(st.floats(-5, 5), min_size=m, max_size=m)), dtype=torch.float64)
    learned = z[:, permutation] * scales + offset
    score, matching = mcc(z, learned, return_matching=True)
    assert score == pytest.approx(1.0, abs=1e-12)
    # learned column j is true column permutation[j]: true i is matched to j with permutation[j] = i.
    assert all(permutation[matching[i]] == i for i in range(m))


@SOME
@given(latent_samples(), latent_samples())
def test_mcc_is_symmetric_and_in_the_unit_interval(a, b):
    m = min(a.shape[1], b.shape[1])
    a, b = a[:, :m], b[:, :m]
    score = mcc(a, b)
    assert 0.0 <= score <= 1.0
    assert mcc(b, a) == pytest.approx(score, abs=1e-12)


def test_mcc_of_a_rotation_is_below_one():
    # Independent coordinates of equal variance rotated by 45°: every correlation is 1/√2.
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(20_000, 2, generator=gen, dtype=torch.float64)
    c = math.sqrt(0.5)
    rotated = z @ torch.tensor([[c, -c], [c, c]], dtype=torch.float64).T
    assert mcc(z, rotated) == pytest.approx(c, abs=0.02)
    assert affine_mcc(z, rotated) == pytest.approx(1.0, abs=1e-12)


def test_mcc_accepts_numpy_and_one_dimensional_input():
    z = _latents(300, 1, 0)
    assert mcc(z.numpy()[:, 0], 2 * z.numpy()[:, 0] + 1) == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------------------- affine scores
@SOME
@given(latent_samples(n=600), st.data())
def test_affine_scores_are_one_for_an_affine_map(z, data):
    h = data.draw(affine_maps(dim=z.shape[1]))
    learned = h(z)
    assert affine_mcc(z, learned) == pytest.approx(1.0, abs=1e-9)
    assert affine_r2(z, learned) == pytest.approx(1.0, abs=1e-9)
    fresh = z.flip(0) * 1.5 + 0.25  # any other sample of the same relation
    assert affine_r2(z, learned, fresh, h(fresh)) == pytest.approx(1.0, abs=1e-9)


def test_affine_r2_allows_extra_and_collapsed_learned_coordinates():
    # A learned space of higher dimension with a dead (constant) coordinate, as a VAE may learn.
    z = _latents(2000, 2, 3)
    learned = torch.cat([z @ torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64), torch.zeros(2000, 1)], dim=1)
    assert affine_r2(z, learned) == pytest.approx(1.0, abs=1e-9)
    assert affine_mcc(z, learned) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "transform, r2_upper, mcc_upper",
    # Measured on this sample: tanh 0.84 and 0.92; the square (even, so uncorrelated) about 0 and 0.02.
    [(lambda z: torch.tanh(2 * z), 0.9, 0.95), (lambda z: z.square(), 0.1, 0.1)],
)
def test_affine_scores_are_well_below_one_for_a_non_affine_map(transform, r2_upper, mcc_upper):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(10_000, 3, generator=gen, dtype=torch.float64)
    learned = transform(z)
    assert affine_r2(z, learned) < r2_upper
    assert affine_mcc(z, learned) < mcc_upper


def test_affine_r2_has_its_textbook_value_under_noise():
    # z_true = z_learned + σ ε with unit-variance z_learned: the best affine fit is the
    # identity and R² = 1 / (1 + σ²) (here 0.8), up to sampling error far below 0.02.
    gen = torch.Generator().manual_seed(2)
    learned = torch.randn(40_000, 2, generator=gen, dtype=torch.float64)
    true = learned + 0.5 * torch.randn(40_000, 2, generator=gen, dtype=torch.float64)
    scores = affine_r2(true, learned, per_coordinate=True)
    assert scores.shape == (2,)
    torch.testing.assert_close(scores, torch.full((2,), 0.8, dtype=torch.float64), atol=0.02, rtol=0)
    assert affine_r2(true, learned) == pytest.approx(float(scores.mean()), abs=1e-15)


def test_affine_r2_split_is_deterministic_and_interleaved():
    z = _latents(1001, 2, 4)
    learned = torch.tanh(z)
    expected = affine_r2(z[0::2], learned[0::2], z[1::2], learned[1::2])
    assert affine_r2(z, learned) == expected == affine_r2(z, learned)


def test_affine_r2_is_held_out():
    # Pure noise: an in-sample fit would score above 0; held out it scores about −k/N, below 0.
    gen = torch.Generator().manual_seed(5)
    z = torch.randn(200, 1, generator=gen, dtype=torch.float64)
    noise = torch.randn(200, 20, generator=gen, dtype=torch.float64)
    assert affine_r2(z, noise) < 0.05


# ---------------------------------------------------------------------------- validation
Z = _latents(40, 2, 6)
L = Z @ torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)
NAN = Z.clone()
NAN[5, 0] = float("nan")
CONSTANT = Z.clone()
CONSTANT[:, 1] = 3.0


@pytest.mark.parametrize("function", [mcc, affine_mcc, affine_r2])
@pytest.mark.parametrize(
    "z_true, z_learned, name",
    [
        (Z[None], L, "z_true"),
        (Z, L[None], "z_learned"),
        (NAN, L, "z_true"),
        (Z, NAN, "z_learned"),
        (Z, L[:-1], "z_learned"),
        (Z[:1], L[:1], "z_true|z_learned"),
        (CONSTANT, L, "z_true"),
        ("text", L, "z_true"),
        (Z, np.zeros((40, 0)), "z_learned"),
    ],
)
def test_scores_reject_bad_input(function, z_true, z_learned, name):
    with pytest.raises(ValueError, match=f"^({name}):"):
        function(z_true, z_learned)


def test_mcc_rejects_a_constant_learned_column_and_a_width_mismatch():
    with pytest.raises(ValueError, match="^z_learned:.*constant"):
        mcc(Z, CONSTANT)
    with pytest.raises(ValueError, match="^z_learned:.*coordinates"):
        mcc(Z, torch.cat([L, L[:, :1] ** 2], dim=1))


def test_affine_scores_reject_too_few_samples_for_the_fit():
    with pytest.raises(ValueError, match="^z_learned:.*more than"):
        affine_mcc(Z[:3], L[:3])
    with pytest.raises(ValueError, match="^z_learned:.*more than"):
        affine_r2(Z[:6], L[:6])


@pytest.mark.parametrize(
    "tests, name",
    [
        ((Z, None), "z_learned_test"),
        ((None, L), "z_true_test"),
        ((Z[:, :1], L), "z_true_test"),
        ((Z, L[:, :1]), "z_learned_test"),
        ((Z, L[:-1]), "z_learned_test"),
        ((Z[:1], L[:1]), "z_true_test"),
        ((CONSTANT, L), "z_true_test"),
        ((NAN, L), "z_true_test"),
    ],
)
def test_affine_r2_rejects_bad_test_samples(tests, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        affine_r2(Z, L, *tests)
