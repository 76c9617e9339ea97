"""Tests of ``models.AffineMap``: inverse, composition, orthogonality, identity."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from models import AffineMap
from models.strategies import affine_maps

F64 = torch.float64
seeds = st.integers(0, 2**31 - 1)


def points(n: int, dim: int, seed: int) -> torch.Tensor:
    return 3.0 * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


@given(affine_maps(max_dim=5), seeds)
def test_inverse_undoes_the_map(h, seed):
    z = points(20, h.in_dim, seed)
    inverse = h.inverse()
    torch.testing.assert_close(inverse(h(z)), z, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h(inverse(z)), z, rtol=1e-12, atol=1e-12)
    eye = torch.eye(h.in_dim, dtype=F64)
    torch.testing.assert_close(h.compose(inverse).matrix, eye, rtol=0, atol=1e-12)
    torch.testing.assert_close(h.compose(inverse).offset, torch.zeros(h.in_dim, dtype=F64), rtol=0, atol=1e-12)


@st.composite
def composable_pairs(draw):
    g = draw(affine_maps(max_dim=4))
    return g, draw(affine_maps(dim=g.in_dim))


@given(composable_pairs(), seeds)
def test_compose_is_function_composition(pair, seed):
    g, h = pair
    z = points(20, h.in_dim, seed)
    composed = g.compose(h)
    torch.testing.assert_close(composed(z), g(h(z)), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(composed.matrix, g.matrix @ h.matrix, rtol=1e-14, atol=1e-14)
    # (g ∘ h)⁻¹ = h⁻¹ ∘ g⁻¹
    torch.testing.assert_close(composed.inverse().matrix, h.inverse().compose(g.inverse()).matrix, rtol=1e-10, atol=1e-10)


def test_compose_non_square():
    g = AffineMap(torch.tensor([[1.0, 2.0, 3.0]], dtype=F64), torch.tensor([1.0], dtype=F64))  # R^3 -> R
    h = AffineMap(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=F64), torch.tensor([0.0, 1.0, 2.0], dtype=F64))
    composed = g.compose(h)
    assert (composed.out_dim, composed.in_dim) == (1, 2)
    z = torch.tensor([[1.0, -1.0], [2.0, 0.5]], dtype=F64)
    assert torch.equal(composed(z), g(h(z)))
    # g(h(1, −1)) = 1·1 + 2·0 + 3·2 + 1 = 8
    assert float(composed(z)[0, 0]) == 8.0


@given(affine_maps(max_dim=5, orthogonal=True))
def test_orthogonal_maps_are_orthogonal(h):
    assert h.is_orthogonal()
    assert h.orthogonality_error() <= 1e-12
    torch.testing.assert_close(h.inverse().matrix, h.matrix.T, rtol=0, atol=1e-12)


@given(affine_maps(max_dim=5, orthogonal=True), st.floats(1.01, 3.0))
def test_scaled_map_is_not_orthogonal(h, factor):
    scaled = AffineMap(factor * h.matrix)
    assert not scaled.is_orthogonal()
    assert scaled.orthogonality_error() >= factor**2 - 1 - 1e-12


def test_translation_is_not_orthogonal():
    """docs/theory.md: up to an orthogonal map means A orthogonal and b = 0."""
    assert AffineMap.identity(3).is_orthogonal()
    assert not AffineMap(torch.eye(3, dtype=F64), torch.tensor([0.0, 1e-3, 0.0], dtype=F64)).is_orthogonal()


def test_is_orthogonal_tolerance():
    nearly = AffineMap(torch.diag(torch.tensor([1.0, 1.0 + 1e-7], dtype=F64)))
    assert not nearly.is_orthogonal()
    assert nearly.is_orthogonal(tol=1e-6)


def test_reflection_is_orthogonal_and_non_square_is_not():
    assert AffineMap(torch.diag(torch.tensor([-1.0, 1.0], dtype=F64))).is_orthogonal()
    assert not AffineMap(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=F64)).is_orthogonal()


def test_identity():
    identity = AffineMap.identity(4)
    z = points(10, 4, seed=0)
    assert torch.equal(identity(z), z)
    assert torch.equal(identity.matrix, torch.eye(4, dtype=F64))
    assert torch.equal(identity.offset, torch.zeros(4, dtype=F64))
    assert identity.is_orthogonal() and identity.orthogonality_error() == 0.0
    h = AffineMap(torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=F64), torch.tensor([1.0, -1.0], dtype=F64))
    for composed in (h.compose(AffineMap.identity(2)), AffineMap.identity(2).compose(h)):
        assert torch.equal(composed.matrix, h.matrix) and torch.equal(composed.offset, h.offset)
    assert AffineMap.identity(2, dtype=torch.float32).dtype == torch.float32


def test_inverse_hand_computed():
    h = AffineMap(torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64))
    inverse = h.inverse()
    assert torch.equal(inverse.matrix, torch.tensor([[0.5, 0.0], [0.0, 0.25]], dtype=F64))
    assert torch.equal(inverse.offset, torch.tensor([-0.5, -0.5], dtype=F64))


def test_inverse_rejects_singular_and_non_square():
    with pytest.raises(ValueError, match="matrix.*singular"):
        AffineMap(torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64)).inverse()
    with pytest.raises(ValueError, match="matrix.*square"):
        AffineMap(torch.ones(2, 3, dtype=F64)).inverse()


def test_single_point_and_defaults():
    h = AffineMap([[1.0, 2.0], [3.0, 4.0]])
    assert h.dtype == F64
    assert torch.equal(h.offset, torch.zeros(2, dtype=F64))
    assert torch.equal(h(torch.tensor([1.0, 1.0], dtype=F64)), torch.tensor([3.0, 7.0], dtype=F64))


def test_attributes_are_copies():
    h = AffineMap(torch.eye(2, dtype=F64), torch.ones(2, dtype=F64))
    h.matrix.zero_()
    h.offset.zero_()
    assert torch.equal(h(torch.zeros(2, dtype=F64)), torch.ones(2, dtype=F64))
    source = torch.eye(2, dtype=F64)
    g = AffineMap(source)
    source[0, 0] = 5.0
    assert float(g.matrix[0, 0]) == 1.0


def test_to_float32():
    h = AffineMap(torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=F64), torch.tensor([0.5, 0.25], dtype=F64))
    single = h.to(dtype=torch.float32)
    assert single.dtype == torch.float32 and single.matrix.dtype == torch.float32
    assert torch.equal(single.matrix.double(), h.matrix)
    # compose moves the other map onto this one's dtype
    assert h.compose(single).dtype == F64
