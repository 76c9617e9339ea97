"""The decoder analysis behind ``check`` and ``report``: the prior's box and collisions outside it."""

import math

import pytest
import torch

from models import GaussianMixture, LeakyReLUNetwork
from verify.analysis import DEFAULT_BOX, PRIOR_MASS, analyse_decoder, default_box, with_outside_collision
from verify.injectivity import check_injective

F64 = torch.float64


def _mixture():
    return GaussianMixture(torch.tensor([0.3, 0.7], dtype=F64), torch.tensor([[2.0, -1.0], [-3.0, 0.5]], dtype=F64),
                           torch.stack([torch.diag(torch.tensor([0.5, 2.0], dtype=F64)), torch.eye(2, dtype=F64)]))


def test_default_box_holds_the_prior_mass():
    prior = _mixture()
    r = default_box(prior)
    # The χ² quantile of 1 − 1e-6 in 2 dimensions is 27.63: the first component's second coordinate
    # (mean −1, variance 2) reaches −1 − √(2 · 27.63), the farthest of all.
    assert r == pytest.approx(1.0 + math.sqrt(2 * 27.631021115928547), rel=1e-9)
    z = prior.sample(200000, torch.Generator().manual_seed(0))
    assert bool((z.abs() <= r).all())
    # A smaller mass gives a smaller box, and one that misses samples.
    small = default_box(prior, mass=0.5)
    assert small < r and float((z.abs() > small).any(dim=1).double().mean()) > 1e-3
    assert default_box(None) == DEFAULT_BOX and PRIOR_MASS == pytest.approx(1 - 1e-6, abs=1e-15)


def test_default_box_names_a_bad_mass():
    with pytest.raises(ValueError, match="^mass"):
        default_box(_mixture(), mass=1.0)


def _fold_at(t: float) -> LeakyReLUNetwork:
    """f(z) = relu(z + 10) − 10 − 2 relu(z − t): increasing up to t, decreasing after, so f(t − 1) = f(t + 1)."""
    return LeakyReLUNetwork([torch.tensor([[1.0], [1.0]], dtype=F64), torch.tensor([[1.0, -2.0]], dtype=F64)],
                            [torch.tensor([10.0, -t], dtype=F64), torch.tensor([-10.0], dtype=F64)], [0.0])


def test_a_collision_outside_the_box_is_reported_as_such():
    net = _fold_at(5.0)
    on_box = check_injective(net, box=3.0)
    assert on_box.holds is True
    result = with_outside_collision(on_box, net, 3.0)
    assert result.holds is True, "a collision outside the box is not a no on the box"
    far = result.details["outside_collision"]
    assert far["reach"] > 3.0 and torch.allclose(net(far["z1"]), net(far["z2"]))
    assert "outside the box" in result.method


def test_no_outside_note_without_a_far_collision():
    net = LeakyReLUNetwork([torch.tensor([[2.0]], dtype=F64), torch.tensor([[1.0]], dtype=F64)],
                           [torch.zeros(1, dtype=F64), torch.zeros(1, dtype=F64)], 0.5)
    result = with_outside_collision(check_injective(net, box=3.0), net, 3.0)
    assert result.holds is True and "outside_collision" not in result.details


def test_analyse_decoder_decides_on_the_prior_box_in_higher_dimension():
    # A random decoder of m = 4 that widens then narrows, with a standard prior: every verdict is on its box.
    from models.random import random_network
    net = random_network((4, 16, 16, 6), 0.3, injective=False, generator=1)
    prior = GaussianMixture(torch.ones(1, dtype=F64), torch.zeros(1, 4, dtype=F64), torch.eye(4, dtype=F64)[None])
    results = {r.name.split("/")[0]: r for r in analyse_decoder(net, prior, time_limit=30)}
    box = f"box [-{default_box(prior):g}, {default_box(prior):g}]^4"
    assert results["injective"].domain == box and results["weakly_injective"].domain == box
    assert results["weakly_injective"].holds is True
    assert "linear_regions" not in results
