"""Bad input raises ``ValueError`` naming the offending argument (every argument, before any computation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models import AffineMap, GaussianMixture, GenerativeModel, LeakyReLUNetwork, random_gmm, random_model, random_network
from models.solver import scip_available, solve_milp

F64 = torch.float64
NAN = float("nan")

EYE2 = torch.eye(2, dtype=F64)
GOOD_WEIGHTS = torch.tensor([0.4, 0.6], dtype=F64)
GOOD_MEANS = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64)
GOOD_COVS = torch.stack([EYE2, 2 * EYE2])


def mixture(weights=GOOD_WEIGHTS, means=GOOD_MEANS, covariances=GOOD_COVS):
    return GaussianMixture(weights, means, covariances)


def network(weights=None, biases=None, slope=0.2):
    weights = [torch.ones(3, 2, dtype=F64), torch.ones(4, 3, dtype=F64)] if weights is None else weights
    biases = [torch.zeros(3, dtype=F64), torch.zeros(4, dtype=F64)] if biases is None else biases
    return LeakyReLUNetwork(weights, biases, slope)


def with_entry(tensor: torch.Tensor, index, value) -> torch.Tensor:
    out = tensor.clone()
    out[index] = value
    return out


GOOD_MIXTURE = mixture()
GOOD_NETWORK = random_network((2, 3, 4), 0.2, generator=0)
GOOD_MODEL = random_model(2, 4, hidden=(3,), generator=0)
GOOD_MAP = AffineMap(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=F64))

CASES = {
    # ------------------------------------------------------------------ GaussianMixture
    "mixture: NaN weight": (lambda: mixture(weights=with_entry(GOOD_WEIGHTS, 0, NAN)), r"^weights:.*NaN"),
    "mixture: NaN mean": (lambda: mixture(means=with_entry(GOOD_MEANS, (1, 0), NAN)), r"^means:.*NaN"),
    "mixture: infinite covariance": (lambda: mixture(covariances=with_entry(GOOD_COVS, (0, 0, 0), math.inf)), r"^covariances:.*infinite"),
    "mixture: weights of wrong length": (lambda: mixture(weights=torch.tensor([0.2, 0.3, 0.5], dtype=F64)), r"^weights:.*shape"),
    "mixture: weights 2-D": (lambda: mixture(weights=GOOD_WEIGHTS[None]), r"^weights:.*dimensions"),
    "mixture: means 1-D": (lambda: mixture(means=GOOD_MEANS[0]), r"^means:.*dimensions"),
    "mixture: no components": (lambda: GaussianMixture(torch.zeros(0, dtype=F64), torch.zeros(0, 2, dtype=F64), torch.zeros(0, 2, 2, dtype=F64)), r"^means:"),
    "mixture: covariances of wrong size": (lambda: mixture(covariances=torch.stack([torch.eye(3, dtype=F64)] * 2)), r"^covariances:.*shape"),
    "mixture: covariances 2-D": (lambda: mixture(covariances=EYE2), r"^covariances:.*dimensions"),
    "mixture: non-SPD covariance": (
        lambda: mixture(covariances=torch.stack([EYE2, torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)])),
        r"^covariances: component 1 is not positive definite",
    ),
    "mixture: singular covariance": (
        lambda: mixture(covariances=torch.stack([torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=F64), EYE2])),
        r"^covariances: component 0 is not positive definite",
    ),
    "mixture: asymmetric covariance": (
        lambda: mixture(covariances=torch.stack([EYE2, torch.tensor([[2.0, 0.5], [0.4, 2.0]], dtype=F64)])),
        r"^covariances: component 1 is not symmetric",
    ),
    "mixture: negative weight": (lambda: mixture(weights=torch.tensor([-0.2, 1.2], dtype=F64)), r"^weights:.*component 0"),
    "mixture: zero weight": (lambda: mixture(weights=torch.tensor([1.0, 0.0], dtype=F64)), r"^weights:.*component 1"),
    "mixture: unnormalised weights": (lambda: mixture(weights=torch.tensor([0.4, 0.7], dtype=F64)), r"^weights:.*summing to 1"),
    "mixture: duplicate components": (
        lambda: GaussianMixture([0.3, 0.3, 0.4], [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]], torch.stack([EYE2, EYE2, EYE2])),
        r"components 1 and 2 are identical",
    ),
    "mixture: not a number": (lambda: mixture(weights="abc"), r"^weights:"),
    "mixture.log_prob: NaN point": (lambda: GOOD_MIXTURE.log_prob(torch.tensor([[0.0, NAN]], dtype=F64)), r"^z:.*NaN"),
    "mixture.log_prob: wrong dimension": (lambda: GOOD_MIXTURE.log_prob(torch.zeros(5, 3, dtype=F64)), r"^z:.*dimension 2"),
    "mixture.log_prob: 3-D input": (lambda: GOOD_MIXTURE.log_prob(torch.zeros(5, 2, 1, dtype=F64)), r"^z:.*dimensions"),
    "mixture.sample: negative n": (lambda: GOOD_MIXTURE.sample(-1), r"^n:"),
    "mixture.sample: float n": (lambda: GOOD_MIXTURE.sample(2.5), r"^n:"),
    "mixture.sample: bad generator": (lambda: GOOD_MIXTURE.sample(3, generator="seed"), r"^generator:"),
    "mixture.affine: wrong columns": (lambda: GOOD_MIXTURE.affine(torch.eye(3, dtype=F64)), r"^matrix:.*shape"),
    "mixture.affine: wrong offset": (lambda: GOOD_MIXTURE.affine(EYE2, torch.zeros(3, dtype=F64)), r"^offset:.*shape"),
    "mixture.affine: rank deficient": (lambda: GOOD_MIXTURE.affine(torch.ones(2, 2, dtype=F64)), r"^matrix:.*rank"),
    "mixture.affine: NaN matrix": (lambda: GOOD_MIXTURE.affine(with_entry(EYE2, (0, 1), NAN)), r"^matrix:.*NaN"),
    "mixture.permute: not a permutation": (lambda: GOOD_MIXTURE.permute([1, 1]), r"^permutation:"),
    # ------------------------------------------------------------------ AffineMap
    "map: NaN matrix": (lambda: AffineMap(with_entry(EYE2, (1, 1), NAN)), r"^matrix:.*NaN"),
    "map: 1-D matrix": (lambda: AffineMap(torch.ones(2, dtype=F64)), r"^matrix:.*dimensions"),
    "map: offset of wrong length": (lambda: AffineMap(EYE2, torch.zeros(3, dtype=F64)), r"^offset:.*shape"),
    "map: NaN offset": (lambda: AffineMap(EYE2, torch.tensor([0.0, NAN], dtype=F64)), r"^offset:.*NaN"),
    "map.__call__: wrong dimension": (lambda: GOOD_MAP(torch.zeros(4, 3, dtype=F64)), r"^z:.*dimension 2"),
    "map.inverse: not square": (lambda: AffineMap(torch.ones(3, 2, dtype=F64)).inverse(), r"^matrix:.*square"),
    "map.inverse: singular": (lambda: AffineMap(torch.ones(2, 2, dtype=F64)).inverse(), r"^matrix:.*singular"),
    "map.compose: dimensions": (lambda: GOOD_MAP.compose(AffineMap(torch.ones(3, 3, dtype=F64))), r"^other:.*dimension"),
    "map.compose: not a map": (lambda: GOOD_MAP.compose(EYE2), r"^other:.*AffineMap"),
    # ------------------------------------------------------------------ LeakyReLUNetwork
    "network: no layers": (lambda: LeakyReLUNetwork([], []), r"^weights:"),
    "network: weights a tensor": (lambda: LeakyReLUNetwork(torch.ones(3, 2), [torch.zeros(3)]), r"^weights:"),
    "network: bias count": (lambda: network(biases=[torch.zeros(3, dtype=F64)]), r"^biases:.*2"),
    "network: non-chaining weights": (
        lambda: network(weights=[torch.ones(3, 2, dtype=F64), torch.ones(4, 5, dtype=F64)]),
        r"^weights\[1\]:.*chain",
    ),
    "network: bias shape": (
        lambda: network(biases=[torch.zeros(2, dtype=F64), torch.zeros(4, dtype=F64)]),
        r"^biases\[0\]:.*shape",
    ),
    "network: NaN weight": (
        lambda: network(weights=[with_entry(torch.ones(3, 2, dtype=F64), (2, 1), NAN), torch.ones(4, 3, dtype=F64)]),
        r"^weights\[0\]:.*NaN",
    ),
    "network: NaN bias": (
        lambda: network(biases=[torch.zeros(3, dtype=F64), with_entry(torch.zeros(4, dtype=F64), 3, NAN)]),
        r"^biases\[1\]:.*NaN",
    ),
    "network: 1-D weight": (lambda: network(weights=[torch.ones(3, dtype=F64), torch.ones(4, 3, dtype=F64)]), r"^weights\[0\]:.*dimensions"),
    "network: empty weight": (lambda: LeakyReLUNetwork([torch.ones(0, 2, dtype=F64)], [torch.zeros(0, dtype=F64)]), r"^weights\[0\]:.*non-empty"),
    "network: negative slope": (lambda: network(slope=-0.1), r"^negative_slope:.*>= 0"),
    "network: NaN slope": (lambda: network(slope=NAN), r"^negative_slope:"),
    "network: infinite slope": (lambda: network(slope=math.inf), r"^negative_slope:"),
    "network: negative per-layer slope": (
        lambda: LeakyReLUNetwork([torch.ones(3, 2, dtype=F64), torch.ones(3, 3, dtype=F64), torch.ones(4, 3, dtype=F64)], [torch.zeros(3, dtype=F64)] * 2 + [torch.zeros(4, dtype=F64)], [0.2, -1.0]),
        r"^negative_slope:",
    ),
    "network: slope count": (lambda: network(slope=[0.1, 0.2]), r"^negative_slope:.*one slope per hidden layer \(1\)"),
    "network: boolean slope": (lambda: network(slope=True), r"^negative_slope:"),
    "network: string slope": (lambda: network(slope="leaky"), r"^negative_slope:"),
    "network.__call__: wrong dimension": (lambda: GOOD_NETWORK(torch.zeros(5, 3, dtype=F64)), r"^z:.*dimension 2"),
    "network.__call__: NaN": (lambda: GOOD_NETWORK(torch.tensor([[NAN, 0.0]], dtype=F64)), r"^z:.*NaN"),
    "network.local_affine: wrong dimension": (lambda: GOOD_NETWORK.local_affine(torch.zeros(5, 4, dtype=F64)), r"^z:"),
    "network.activation_pattern: NaN": (lambda: GOOD_NETWORK.activation_pattern(torch.tensor([[math.inf, 0.0]], dtype=F64)), r"^z:"),
    "network.inverse: wrong dimension": (lambda: GOOD_NETWORK.inverse(torch.zeros(5, 2, dtype=F64)), r"^x:.*dimension 4"),
    "network.inverse: NaN": (lambda: GOOD_NETWORK.inverse(torch.full((1, 4), NAN, dtype=F64)), r"^x:.*NaN"),
    "network.precompose: dimensions": (lambda: GOOD_NETWORK.precompose(AffineMap(torch.eye(3, dtype=F64))), r"^h:.*dimension"),
    "network.precompose: not a map": (lambda: GOOD_NETWORK.precompose(EYE2), r"^h:.*AffineMap"),
    # ------------------------------------------------------------------ GenerativeModel
    "model: prior and decoder dimensions": (lambda: GenerativeModel(GOOD_NETWORK, random_gmm(3, 2, generator=0)), r"^prior:.*dimension 3.*2"),
    "model: decoder not a network": (lambda: GenerativeModel(GOOD_NETWORK.to_torch(), GOOD_MIXTURE), r"^decoder:"),
    "model: prior not a mixture": (lambda: GenerativeModel(GOOD_NETWORK, GOOD_MIXTURE.means), r"^prior:"),
    "model: negative noise": (lambda: GenerativeModel(GOOD_NETWORK, GOOD_MIXTURE, noise_scale=-0.1), r"^noise_scale:"),
    "model: NaN noise": (lambda: GenerativeModel(GOOD_NETWORK, GOOD_MIXTURE, noise_scale=NAN), r"^noise_scale:"),
    "model: dtype mismatch": (lambda: GenerativeModel(GOOD_NETWORK, GOOD_MIXTURE.to(dtype=torch.float32)), r"^prior:.*float32"),
    "model.log_prob: wrong dimension": (lambda: GOOD_MODEL.log_prob(torch.zeros(3, 2, dtype=F64)), r"^x:.*dimension 4"),
    "model.log_prob: NaN": (lambda: GOOD_MODEL.log_prob(torch.full((2, 4), NAN, dtype=F64)), r"^x:.*NaN"),
    "model.sample: negative n": (lambda: GOOD_MODEL.sample(-3), r"^n:"),
    "model.reparametrize: dimensions": (lambda: GOOD_MODEL.reparametrize(AffineMap(torch.eye(3, dtype=F64))), r"^h:"),
    "model.reparametrize: not a map": (lambda: GOOD_MODEL.reparametrize(EYE2), r"^h:"),
    "model.reparametrize: singular map": (lambda: GOOD_MODEL.reparametrize(AffineMap(torch.ones(2, 2, dtype=F64))), r"^matrix:.*singular"),
    # ------------------------------------------------------------------ random factories
    "random_network: decreasing widths when injective": (lambda: random_network((3, 2), injective=True, generator=0), r"^widths:.*non-decreasing"),
    "random_network: decreasing hidden width when injective": (lambda: random_network((2, 4, 3, 5), injective=True, generator=0), r"^widths:.*non-decreasing"),
    "random_network: one width": (lambda: random_network((3,), generator=0), r"^widths:"),
    "random_network: zero width": (lambda: random_network((2, 0, 3), injective=False, generator=0), r"^widths:"),
    "random_network: float width": (lambda: random_network((2, 2.5, 3), generator=0), r"^widths:"),
    "random_network: slope 0 when injective": (lambda: random_network((2, 3, 4), 0.0, injective=True, generator=0), r"^negative_slope:.*> 0"),
    "random_network: one slope 0 when injective": (lambda: random_network((2, 3, 4, 4), [0.5, 0.0], injective=True, generator=0), r"^negative_slope:"),
    "random_network: negative slope": (lambda: random_network((2, 3, 4), -0.5, injective=False, generator=0), r"^negative_slope:"),
    "random_network: max_condition < 1": (lambda: random_network((2, 3), max_condition=0.5, generator=0), r"^max_condition:"),
    "random_network: NaN max_condition": (lambda: random_network((2, 3), max_condition=NAN, generator=0), r"^max_condition:"),
    "random_network: negative bias_scale": (lambda: random_network((2, 3), bias_scale=-1.0, generator=0), r"^bias_scale:"),
    "random_network: bad generator": (lambda: random_network((2, 3), generator="seed"), r"^generator:"),
    "random_gmm: zero dim": (lambda: random_gmm(0, 2, generator=0), r"^dim:"),
    "random_gmm: zero components": (lambda: random_gmm(2, 0, generator=0), r"^n_components:"),
    "random_gmm: covariance type": (lambda: random_gmm(2, 2, covariance_type="banded", generator=0), r"^covariance_type:"),
    "random_gmm: negative mean_scale": (lambda: random_gmm(2, 2, mean_scale=-1.0, generator=0), r"^mean_scale:"),
    "random_gmm: max_condition < 1": (lambda: random_gmm(2, 2, max_condition=0.1, generator=0), r"^max_condition:"),
    "random_model: negative noise": (lambda: random_model(2, 3, noise_scale=-1.0, generator=0), r"^noise_scale:"),
    "random_model: narrowing decoder": (lambda: random_model(3, 2, generator=0), r"^observed_dim:.*non-decreasing"),
    "random_model: narrowing hidden layer": (lambda: random_model(2, 4, hidden=(1,), generator=0), r"^hidden:.*non-decreasing"),
}


@pytest.mark.parametrize("call, pattern", list(CASES.values()), ids=list(CASES))
def test_bad_input_raises_value_error_naming_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_bad_input_is_rejected_before_any_state_changes():
    """A rejected call leaves the object usable and unchanged."""
    z = torch.zeros(3, 2, dtype=F64)
    before = GOOD_NETWORK(z)
    with pytest.raises(ValueError):
        GOOD_NETWORK(torch.full((3, 2), NAN, dtype=F64))
    assert torch.equal(GOOD_NETWORK(z), before)


@pytest.mark.parametrize("solver", ["highs", "scip"])
def test_solve_milp_gives_the_same_optimum_and_infeasibility_by_either_solver(solver):
    if solver == "scip" and not scip_available():
        pytest.skip("needs pyscipopt (the scip extra)")
    problem = dict(integrality=np.array([1, 0]), lower=np.zeros(2), upper=np.full(2, 10.0), matrix=np.array([[1.0, 2.0], [3.0, 1.0]]),
                   row_lower=np.full(2, -np.inf), row_upper=np.array([4.0, 6.0]), solver=solver)
    result = solve_milp(np.array([-1.0, -1.0]), **problem)  # max x + y: x = 1 (integer), y = 1.5
    assert result.status == 0 and np.allclose(result.x, [1.0, 1.5]) and np.isclose(result.fun, -2.5)
    infeasible = solve_milp(np.zeros(2), **{**problem, "row_lower": np.array([30.0, -np.inf]), "row_upper": np.array([np.inf, 6.0])})
    assert infeasible.status == 2 and infeasible.x is None
    with pytest.raises(ValueError, match="^solver"):
        solve_milp(np.zeros(2), **{**problem, "solver": "gurobi"})
