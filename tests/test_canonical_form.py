"""Canonical forms of affine classes."""

from __future__ import annotations

import pytest
import torch

from models import GaussianMixture, random_gmm, random_model
from verify.canonical_form import canonical_form
from verify.mixtures import check_same_mixture
from verify.suite import random_invertible_affine


@pytest.mark.parametrize("dim, n_components", [(3, 4), (2, 2), (3, 2)])
def test_equivalent_priors_share_the_canonical_form(dim, n_components):
    # J = 2 has means along one axis only: the other axes take their signs from cross moments.
    for seed in range(20):
        gen = torch.Generator().manual_seed(seed)
        prior = random_gmm(dim, n_components, generator=gen)
        moved = prior.affine(random_invertible_affine(dim, gen))
        a, b = canonical_form(prior), canonical_form(moved)
        assert a.unique and b.unique, a.reason
        assert check_same_mixture(a.model, b.model, rtol=1e-6).holds


def test_canonical_prior_is_whitened():
    form = canonical_form(random_model(2, 3, n_components=3, generator=1))
    prior = form.model.prior
    assert torch.allclose(prior.mean(), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(prior.covariance(), torch.eye(2, dtype=torch.float64), atol=1e-10)


def test_symmetric_prior_is_reported_not_unique():
    standard = GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)[None])
    form = canonical_form(standard)
    assert not form.unique and "symmetry" in form.reason


def test_reflection_symmetric_prior_is_not_unique():
    # Two components mirrored across the first axis: the reflection z2 -> -z2 preserves the prior.
    means = torch.tensor([[2.0, 1.0], [2.0, -1.0], [-3.0, 0.0]], dtype=torch.float64)
    covs = torch.stack([torch.eye(2, dtype=torch.float64)] * 3)
    prior = GaussianMixture(torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64), means, covs)
    assert not canonical_form(prior).unique


def test_bad_input_names_model():
    with pytest.raises(ValueError, match="model"):
        canonical_form(3)


def test_trivial_symmetry_holds_for_a_generic_prior_and_fails_with_a_verified_symmetry():
    from verify.canonical_form import check_trivial_symmetry

    assert check_trivial_symmetry(random_gmm(2, 3, generator=4)).holds
    means = torch.tensor([[2.0, 1.0], [2.0, -1.0], [-3.0, 0.0]], dtype=torch.float64)
    mirrored = GaussianMixture(torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64), means, torch.stack([torch.eye(2, dtype=torch.float64)] * 3))
    result = check_trivial_symmetry(mirrored)
    assert result.holds is False and result.details["symmetry"] == "verified"
    assert check_same_mixture(mirrored.affine(result.witness), mirrored, rtol=1e-9).holds
    assert float((result.witness.matrix - torch.eye(2, dtype=torch.float64)).abs().max()) > 0.5
    with pytest.raises(ValueError, match="prior"):
        check_trivial_symmetry("P")
