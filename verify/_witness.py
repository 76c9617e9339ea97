"""Tolerances of the injectivity checks, and witnesses re-checked by a forward pass.

Every tolerance is relative and scaled to the problem:

- ``rho``: the length scale of the domain, √m × max |coordinate| of the box
  (for all of R^m, √m × ``models.regions.box_scale``);
- ``lipschitz``: Π ‖W_l‖₂ × Π max(1, s_l), a Lipschitz bound of f;
- ``out`` = lipschitz × rho + ‖f(centre)‖ (at least 1e-12): a bound on |f| over
  the domain.

A pair (z1, z2) is a collision when ‖f(z1) − f(z2)‖ <= ``COLLISION_RTOL`` × out
(recomputed by the network in float64; larger for witnesses outside the box's
scale, see ``Tolerances.collision_at``) and z1 != z2. A piece is rank deficient
when σ_min(A) <= ``RANK_RTOL`` × lipschitz; its witness is a chord along the
least singular direction no longer than COLLISION_RTOL × out / (2 σ_min), so it
collides within the collision tolerance. Linear programs and MILPs count a
collision only when the separation w·(z − z') / rho exceeds ``SEPARATION_RTOL``:
smaller ones are below what their solvers' tolerances resolve. ``separation`` in
``Tolerances`` is that relative number; ``radius`` is the absolute Chebyshev
radius a region must exceed (``models.regions``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from models.leaky_relu_network import LeakyReLUNetwork
from models.regions import box_scale, default_radius_tolerance, parse_box

COLLISION_RTOL = 1e-9
RANK_RTOL = 1e-9
SEPARATION_RTOL = 1e-6


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
    if not isinstance(network, LeakyReLUNetwork):
        raise ValueError(f"network: expected a LeakyReLUNetwork, got {type(network).__name__}")
    return network.to(device="cpu", dtype=torch.float64)


def lipschitz_bound(network: LeakyReLUNetwork) -> float:
    norms = [float(torch.linalg.matrix_norm(w, ord=2)) for w in network.weights]
    return math.prod(norms) * math.prod(max(1.0, s) for s in network.slopes)


def tolerances(network: LeakyReLUNetwork, box) -> Tolerances:
    bounds = parse_box(box, network.in_dim)
    rho = math.sqrt(network.in_dim) * box_scale(network, box)
    centre = torch.zeros(network.in_dim, dtype=torch.float64) if bounds is None else 0.5 * (bounds[0] + bounds[1])
    lipschitz = lipschitz_bound(network)
    # A network that is 0 everywhere has out = 0; a floor keeps the relative tolerances defined.
    out = max(lipschitz * rho + float(network(centre.to(network.device, network.dtype)).norm()), 1e-12)
    return Tolerances(rho, lipschitz, out, COLLISION_RTOL * out, RANK_RTOL * lipschitz, SEPARATION_RTOL,
                      default_radius_tolerance(network, box))


def polish(network: LeakyReLUNetwork, z1: np.ndarray, z2: np.ndarray, tol: float, steps: int = 6):
    """Newton steps on f(z1) = f(z2) with the local affine pieces (least-norm corrections).

    Returns (z1, z2, residual) with residual = ‖f(z1) − f(z2)‖ from a forward pass in float64.
    """
    a = torch.as_tensor(np.asarray(z1, dtype=np.float64))
    b = torch.as_tensor(np.asarray(z2, dtype=np.float64))
    residual = float((network(a) - network(b)).norm())
    for _ in range(steps):
        if residual <= tol:
            break
        (A1, _), (A2, _) = network.local_affine(a), network.local_affine(b)
        gap = network(a) - network(b)
        step = torch.linalg.pinv(torch.cat([A1, -A2], dim=1)) @ gap
        a_new, b_new = a - step[: a.shape[0]], b - step[a.shape[0]:]
        new_residual = float((network(a_new) - network(b_new)).norm())
        if new_residual >= residual:
            break
        a, b, residual = a_new, b_new, new_residual
    return a.numpy(), b.numpy(), residual


def collision_witness(network: LeakyReLUNetwork, z1, z2, tol: Tolerances) -> dict:
    """A candidate collision re-checked (and polished if needed) by forward passes.

    Returns a dict with ``z1``, ``z2`` (tensors), ``residual`` ‖f(z1) − f(z2)‖, ``tolerance``,
    ``separation`` ‖z1 − z2‖ and ``verified`` (residual <= tolerance and z1 != z2).
    """
    z1, z2 = np.asarray(z1, dtype=np.float64), np.asarray(z2, dtype=np.float64)
    limit = tol.collision_at(z1, z2)
    p1, p2, residual = polish(network, z1, z2, limit)
    separation = float(np.linalg.norm(p1 - p2))
    return {
        "z1": torch.as_tensor(p1), "z2": torch.as_tensor(p2), "residual": residual, "tolerance": limit,
        "separation": separation, "verified": bool(residual <= limit and separation > 0),
    }


def null_chord(G: np.ndarray, g: np.ndarray, centre: np.ndarray, A: np.ndarray, max_length: float):
    """Two points of {G z <= g} on a line through ``centre`` along the least singular direction v of A.

    f differs between them by their distance × σ_min(A). Each point lies 3/4 of the way from
    the centre to the cell's boundary along ±v, or to ``max_length`` / 2 if that is nearer
    (or the cell unbounded), so both are interior and at most ``max_length`` apart.

    Returns
    -------
    z1, z2 : ndarray (m,)
    """
    v = np.linalg.svd(A, full_matrices=True)[2][-1]
    slack = g - G @ centre
    rate = G @ v
    reach = 0.5 * max_length
    forward = min(reach, np.min(slack[rate > 1e-15] / rate[rate > 1e-15])) if np.any(rate > 1e-15) else reach
    backward = min(reach, np.min(slack[rate < -1e-15] / -rate[rate < -1e-15])) if np.any(rate < -1e-15) else reach
    return centre - 0.75 * backward * v, centre + 0.75 * forward * v
