"""The scales and tolerances of one injectivity check, derived from the problem.

Every tolerance is relative and scaled to the problem:

- ``rho``: the length scale of the domain, √m × max |coordinate| of the box
  (for all of R^m, √m × ``models.regions.box_scale``);
- ``lipschitz``: Π ‖W_l‖₂ × Π max(1, s_l), a Lipschitz bound of f;
- ``out`` = lipschitz × rho + ‖f(centre)‖ (at least 1e-12): a bound on |f| over
  the domain.

A pair (z1, z2) is a collision when ‖f(z1) − f(z2)‖ <= ``COLLISION_RTOL`` × out
(recomputed by the network in float64; larger for witnesses outside the box's
scale, see ``Tolerances.collision_at``) and z1 != z2. A piece is rank deficient
when σ_min(A) <= ``RANK_RTOL`` × lipschitz. Linear programs and MILPs count a
collision only when the separation w·(z − z') / rho exceeds ``SEPARATION_RTOL``.
``separation`` in ``Tolerances`` is that relative number; ``radius`` is the
absolute Chebyshev radius a region must exceed (``models.regions``). The
constants themselves live in ``verify.tolerances``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from models import LeakyReLUNetwork
from models.regions import box_scale, default_radius_tolerance
from models.validation import DTYPE, check_box, check_instance

from ..tolerances import COLLISION_RTOL, RANK_RTOL, SEPARATION_RTOL


@dataclass(frozen=True)
class Tolerances:
    """Scales and tolerances of one check (see the module docstring)."""

    rho: float
    lipschitz: float
    out: float
    collision: float
    rank: float
    separation: float
    radius: float

    def collision_at(self, *points: np.ndarray) -> float:
        """The collision tolerance for points possibly outside the domain's scale (unbounded domains)."""
        reach = max([self.rho] + [float(np.linalg.norm(p)) for p in points])
        return self.collision + COLLISION_RTOL * self.lipschitz * (reach - self.rho)

    def as_dict(self) -> dict:
        return asdict(self)


def check_network(network) -> LeakyReLUNetwork:
    """The network in float64 on the CPU, or ``ValueError`` naming ``network``."""
    check_instance(network, LeakyReLUNetwork, "network")
    return network.to(device="cpu", dtype=DTYPE)


def lipschitz_bound(network: LeakyReLUNetwork) -> float:
    norms = [float(torch.linalg.matrix_norm(w, ord=2)) for w in network.weights]
    return math.prod(norms) * math.prod(max(1.0, s) for s in network.slopes)


def tolerances(network: LeakyReLUNetwork, box) -> Tolerances:
    bounds = check_box(box, network.in_dim)
    rho = math.sqrt(network.in_dim) * box_scale(network, box)
    centre = torch.zeros(network.in_dim, dtype=DTYPE) if bounds is None else 0.5 * (bounds[0] + bounds[1])
    lipschitz = lipschitz_bound(network)
    # A network that is 0 everywhere has out = 0; a floor keeps the relative tolerances defined.
    out = max(lipschitz * rho + float(network(centre.to(network.device, network.dtype)).norm()), 1e-12)
    return Tolerances(rho, lipschitz, out, COLLISION_RTOL * out, RANK_RTOL * lipschitz, SEPARATION_RTOL,
                      default_radius_tolerance(network, box))


def domain_name(network: LeakyReLUNetwork, box) -> str:
    """``"R^m"`` or the box written out, for ``CheckResult.domain``."""
    bounds = check_box(box, network.in_dim)
    m = network.in_dim
    if bounds is None:
        return f"R^{m}"
    low, high = bounds
    if bool((low == low[0]).all()) and bool((high == high[0]).all()):
        return f"box [{float(low[0]):g}, {float(high[0]):g}]^{m}"
    return "box " + " × ".join(f"[{float(a):g}, {float(b):g}]" for a, b in zip(low, high))
