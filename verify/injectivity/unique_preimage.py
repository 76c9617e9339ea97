"""Condition (i) of weak injectivity at one point, by one mixed-integer program with a single copy of the network.

At z0 strictly inside a region whose exact piece has full rank m, f is affine and injective on the
ball B(z0, r) inside that region. If moreover no z of the domain with ‖z − z0‖∞ >= r has
‖f(z) − f(z0)‖∞ <= δ, then every point of the image within δ of x0 = f(z0) has exactly one preimage:
condition (i) holds. That is one program, in the frame's normalized units:

    find z in the box, ‖z − z0‖∞ >= r (2m binaries: one face of the cube around z0),
         |f(z) − x0| <= δ componentwise (one copy of the network, big-M on its unstable units).

Infeasible: (i) holds at x0 with that δ (the solver's proof of infeasibility; it is not re-checked in
rationals). Feasible: a far point z1 whose image is within δ of x0, tried as an exact second
preimage (``verify.exact``); an exact one shows that x0 has two preimages, and another z0 is tried.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from models.regions import pattern_halfspaces
from models.solver import solve_milp
from models.validation import DTYPE

from ..exact import exact_collision, rank
from . import bigm
from .bounds import crown_bounds
from .tolerances import Frame

# ‖f(z) − x0‖∞ allowed of a far point, in normalized output units: far below any gap of a generic
# image, far above the solver's feasibility tolerance (1e-9) on variables of order 1.
UNIQUENESS_DELTA = 1e-6
# The radius around z0 is this fraction of z0's distance to its region's boundary.
RADIUS_FRACTION = 0.5


@dataclass(frozen=True)
class FarPreimage:
    """The outcome at one z0: status "none" (infeasible: unique), "exact" (an exact second preimage),
    "near" (a far point within δ that is not an exact preimage) or "unknown" (not solved)."""

    status: str
    z0: np.ndarray
    radius: float
    delta: float
    second: np.ndarray | None
    seconds: float
    solver_status: int


def interior_radius(frame: Frame, u0: np.ndarray) -> tuple[float, np.ndarray]:
    """(distance from u0 to the boundary of its region within the box, its pattern), normalized units."""
    pattern = frame.unit.activation_pattern(torch.as_tensor(u0, dtype=DTYPE)).numpy()
    G, g, _, _ = pattern_halfspaces(frame.unit, pattern, frame.box)
    slack = g - G @ u0
    return float(slack.min()) if slack.size else math.inf, pattern


def full_rank_at(frame: Frame, pattern: np.ndarray) -> bool:
    """Whether the exact piece of the pattern has rank m."""
    return rank(frame.exact.piece(pattern)[0]) == frame.network.in_dim


def far_preimage(frame: Frame, u0: np.ndarray, radius: float, *, delta: float = UNIQUENESS_DELTA,
                 time_limit: float | None = None) -> FarPreimage:
    """Solve the program of the module docstring at u0 (normalized units, the frame needs a box)."""
    net, box = frame.unit, frame.box
    low, high = box[0].numpy(), box[1].numpy()
    layers = bigm.Layers.of(net)
    start = time.perf_counter()
    bounds = crown_bounds(layers.weights, layers.biases, layers.slopes, low, high)
    builder = bigm.Builder()
    copy = bigm.network_copy(builder, layers, bounds, low, high)
    x0 = net(torch.as_tensor(u0, dtype=DTYPE)).numpy()
    W, b = layers.weights[-1], layers.biases[-1]
    for i in range(W.shape[0]):
        builder.row(copy.y, W[i], x0[i] - delta - b[i], x0[i] + delta - b[i])
    _far_from(builder, copy.z, u0, radius, low, high)
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    result = solve_milp(np.zeros(len(builder.lb)), integrality=builder.integer, lower=builder.lb, upper=builder.ub,
                        matrix=builder.matrix(), row_lower=builder.lo, row_upper=builder.hi, options=options)
    seconds = time.perf_counter() - start
    if result.status == 2:
        return FarPreimage("none", u0, radius, delta, None, seconds, result.status)
    if result.x is None:
        return FarPreimage("unknown", u0, radius, delta, None, seconds, result.status)
    u1 = result.x[copy.z]
    exact = exact_collision(frame.exact, frame.to_latent(u0), frame.to_latent(u1))
    return FarPreimage("exact" if exact is not None else "near", u0, radius, delta, u1, seconds, result.status)


def _far_from(builder, z, u0: np.ndarray, radius: float, low: np.ndarray, high: np.ndarray) -> None:
    """‖z − u0‖∞ >= radius: binaries choose a face of the cube around u0 (2m of them, exactly one on)."""
    m = len(z)
    choice = [builder.var(0.0, 1.0, integer=True)[0] for _ in range(2 * m)]
    builder.row(choice, np.ones(2 * m), 1.0, 1.0)
    for k in range(m):
        up, down = choice[2 * k], choice[2 * k + 1]
        big_up = radius + u0[k] - low[k]    # z_k − u0_k >= radius − big_up (1 − up) always holds when up = 0
        big_down = radius + high[k] - u0[k]
        builder.row([z[k], up], [1.0, -big_up], u0[k] + radius - big_up, math.inf)
        builder.row([z[k], down], [-1.0, -big_down], -u0[k] + radius - big_down, math.inf)

