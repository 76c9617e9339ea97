"""Prior assumptions of T3 and T4: standard normal, S1, S2."""

from __future__ import annotations

import pytest
import torch

from models import GaussianMixture, random_gmm
from verify.priors import (
    check_distinct_variance_ratios,
    check_independent_coordinates,
    check_standard_normal,
    marginals,
    product_mixture,
)

F64 = torch.float64


def _standard(dim):
    return GaussianMixture(torch.ones(1, dtype=F64), torch.zeros(1, dim, dtype=F64), torch.eye(dim, dtype=F64).unsqueeze(0))


def test_standard_normal_holds_and_fails_with_witness():
    assert check_standard_normal(_standard(3)).holds
    shifted = GaussianMixture(torch.ones(1, dtype=F64), torch.full((1, 2), 1e-6, dtype=F64), torch.eye(2, dtype=F64).unsqueeze(0))
    result = check_standard_normal(shifted)
    assert result.holds is False and result.statistic == pytest.approx(1e-6)
    assert result.witness is not None
    two = check_standard_normal(random_gmm(2, 2, generator=0))
    assert two.holds is False and two.witness == 2


def test_s1_holds_for_diagonal_prior_with_distinct_ratios():
    covs = torch.stack([torch.diag(torch.tensor([1.0, 1.0], dtype=F64)), torch.diag(torch.tensor([2.0, 3.0], dtype=F64))])
    prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64), covs)
    result = check_distinct_variance_ratios(prior)
    assert result.holds and result.witness in [(0, 1), (1, 0)]


def test_s1_fails_for_equal_ratios_and_for_full_covariances():
    covs = torch.stack([torch.eye(2, dtype=F64), 2 * torch.eye(2, dtype=F64)])
    prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64), covs)
    equal = check_distinct_variance_ratios(prior)
    assert equal.holds is False and equal.statistic == pytest.approx(0.0)
    full = check_distinct_variance_ratios(random_gmm(2, 2, covariance_type="full", generator=1))
    assert full.holds is False and full.witness > 1e-6


def test_s2_product_prior_factorizes():
    prior = product_mixture([random_gmm(1, 2, generator=s) for s in range(3)])
    assert prior.n_components == 8
    result = check_independent_coordinates(prior)
    assert result.holds, result.details
    assert result.statistic < 1e-12 and result.method.startswith("exact")
    z = prior.sample(100, 0)
    parts = marginals(prior)
    assert [p.n_components for p in parts] == [2, 2, 2]
    assert torch.allclose(prior.log_prob(z), sum(p.log_prob(z[:, i:i + 1]) for i, p in enumerate(parts)), atol=1e-10)


def test_s2_fails_for_a_rotated_product_with_its_mismatch():
    prior = product_mixture([random_gmm(1, 2, generator=s) for s in range(2)])
    c, s = 0.8, 0.6
    rotated = prior.affine(torch.tensor([[c, -s], [s, c]], dtype=F64))
    result = check_independent_coordinates(rotated)
    # The product of the rotated prior's marginals has 16 components, the prior 4.
    assert result.holds is False and result.witness["n_components"] == (4, 16)


def test_s2_fails_with_two_gaussian_coordinates():
    result = check_independent_coordinates(_standard(2))
    assert result.holds is False and result.witness == [0, 1]


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="prior"):
        check_standard_normal("N(0, I)")
    with pytest.raises(ValueError, match="marginals"):
        product_mixture([random_gmm(2, 2, generator=0)])
    with pytest.raises(ValueError, match="^rtol"):
        check_independent_coordinates(_standard(1), rtol=-1.0)


def test_s1_sees_a_correlation_in_a_small_component_beside_a_huge_one():
    covs = torch.stack([1e7 * torch.diag(torch.tensor([1.0, 2.0], dtype=F64)), torch.tensor([[1.0, 0.9], [0.9, 1.0]], dtype=F64)])
    prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=F64), torch.zeros(2, 2, dtype=F64) + torch.tensor([[0.0], [1.0]], dtype=F64), covs)
    result = check_distinct_variance_ratios(prior)
    assert result.holds is False and result.witness == pytest.approx(0.9)


def test_s2_counts_a_coordinate_as_gaussian_only_to_its_tolerance():
    means = torch.tensor([[0.0, 0.0], [1e-4, 1.0]], dtype=F64)
    covs = torch.stack([torch.eye(2, dtype=F64)] * 2)
    prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=F64), means, covs)
    strict = check_independent_coordinates(prior)
    assert strict.details["gaussian_coordinates"] == [] and strict.details["gaussian_rtol"] == 1e-9
    loose = check_independent_coordinates(prior, gaussian_rtol=1e-3)
    assert loose.details["gaussian_coordinates"] == [0]
