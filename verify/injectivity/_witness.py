"""Witnesses re-checked by a forward pass of the network in float64.

A candidate collision from a solver is polished by Newton steps on f(z1) = f(z2) and
accepted only when the forward pass confirms it (``collision_witness``); a
rank-deficient piece collapses a chord along its least singular direction
(``null_chord``).
"""

from __future__ import annotations

import numpy as np
import torch

from models import LeakyReLUNetwork

from .tolerances import Tolerances


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
