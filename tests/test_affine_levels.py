"""The stronger identifiability levels: permutation-scaling, orthogonal, identity."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given

from models import AffineMap
from models.strategies import affine_maps
from verify.affine_levels import check_identity, check_orthogonal, check_permutation_scaling


def test_permutation_scaling_holds_with_the_permutation():
    matrix = torch.tensor([[0.0, -2.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    result = check_permutation_scaling(AffineMap(matrix, torch.ones(3, dtype=torch.float64)))
    assert result.holds
    assert result.witness["permutation"] == [1, 0, 2]
    assert result.witness["scales"] == [-2.0, 0.5, 3.0]


def test_permutation_scaling_fails_on_a_mixing_entry():
    matrix = torch.tensor([[1.0, 1e-3], [0.0, 2.0]], dtype=torch.float64)
    result = check_permutation_scaling(AffineMap(matrix))
    assert result.holds is False
    assert result.statistic == pytest.approx(1e-3)
    assert torch.equal(result.witness, matrix)


def test_permutation_scaling_fails_when_rows_share_a_column():
    result = check_permutation_scaling(AffineMap(torch.tensor([[1.0, 0.1], [2.0, 0.2]], dtype=torch.float64)))
    assert result.holds is False and result.statistic == math.inf


@given(affine_maps(orthogonal=True))
def test_orthogonal_maps_pass(h):
    assert check_orthogonal(h).holds


def test_orthogonal_fails_on_scaling_and_on_offset():
    scaled = check_orthogonal(AffineMap(1.01 * torch.eye(2, dtype=torch.float64)))
    assert scaled.holds is False and scaled.witness is not None
    shifted = check_orthogonal(AffineMap(torch.eye(2, dtype=torch.float64), torch.tensor([0.0, 1e-3], dtype=torch.float64)))
    assert shifted.holds is False and shifted.statistic == pytest.approx(1e-3)


def test_identity_holds_and_fails():
    assert check_identity(AffineMap.identity(3)).holds
    off = check_identity(AffineMap(torch.eye(2, dtype=torch.float64), torch.tensor([1e-5, 0.0], dtype=torch.float64)))
    assert off.holds is False and isinstance(off.witness, AffineMap)


def test_bad_input_names_h():
    with pytest.raises(ValueError, match="h"):
        check_identity("map")
    with pytest.raises(ValueError, match="h"):
        check_orthogonal(AffineMap(torch.ones(2, 3, dtype=torch.float64)))


def test_offsets_count_relative_to_the_latent_scale():
    shift = AffineMap(torch.eye(2, dtype=torch.float64), torch.tensor([1e-3, 0.0], dtype=torch.float64))
    assert check_identity(shift).holds is False
    assert check_identity(shift, scale=1e6).holds  # a shift of 1e-9 latent spreads
    assert check_orthogonal(shift, scale=1.0).holds is False and check_orthogonal(shift, scale=1e6).holds
    with pytest.raises(ValueError, match="scale"):
        check_identity(shift, scale=0.0)
    with pytest.raises(ValueError, match="rtol"):
        check_permutation_scaling(shift, rtol=-1.0)
