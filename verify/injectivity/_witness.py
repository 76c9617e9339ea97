"""Witnesses: candidates from the normalized frame, mapped back and confirmed exactly.

A candidate collision (u1, u2) is polished by Newton steps on f̃(u1) = f̃(u2) in the
frame's units, mapped to latents z = anchor + scale · u, moved onto the exact solution set
of its two affine pieces and accepted only when an exact rational forward pass of the
original network gives f(z1) = f(z2) with z1 != z2, inside the box
(``collision_witness``). A rank-deficient piece collapses an exact null direction of its
exact matrix (``chord_witness``). Floats in a witness are the nearest floats of its exact
points, which ``details`` also carry as rationals "p/q".
"""

from __future__ import annotations

import numpy as np
import torch

from models import LeakyReLUNetwork
from models.regions import pattern_halfspaces
from models.validation import DTYPE

from ..exact import as_strings, exact_collision, inside_box, is_collision, nullspace, q, qcol, to_floats
from .tolerances import Frame, Tolerances

# Halvings of a chord that leaves its region before it is given up.
CHORD_HALVINGS = 30


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


def _box_bounds(frame: Frame):
    if frame.box is None:
        return None, None
    return frame.to_latent(frame.box[0].numpy()), frame.to_latent(frame.box[1].numpy())


def _evidence(frame: Frame, exact, z1: np.ndarray, z2: np.ndarray) -> dict:
    """The witness dict: floats of the exact points when confirmed, the candidate otherwise."""
    low, high = _box_bounds(frame)
    verified = exact is not None and all(inside_box(p, low, high) for p in exact)
    if verified:
        z1, z2 = to_floats(exact[0]), to_floats(exact[1])
    t1, t2 = torch.as_tensor(z1, dtype=DTYPE), torch.as_tensor(z2, dtype=DTYPE)
    return {
        "z1": t1, "z2": t2, "residual": float((frame.network(t1) - frame.network(t2)).norm()),
        "separation": float((t1 - t2).norm()), "verified": verified,
        "exact": [as_strings(p) for p in exact] if verified else None,
        "reason": None if verified else "the candidate did not survive the exact rational re-check",
    }


def collision_witness(frame: Frame, u1, u2, tol: Tolerances) -> dict:
    """A candidate collision (normalized units) confirmed exactly on the original network.

    Returns a dict with ``z1``, ``z2`` (tensors, original units), ``residual`` ‖f(z1) − f(z2)‖,
    ``separation`` ‖z1 − z2‖, ``verified`` (the exact check) and ``exact`` (the rationals).
    """
    u1, u2 = np.asarray(u1, dtype=np.float64), np.asarray(u2, dtype=np.float64)
    p1, p2, _ = polish(frame.unit, u1, u2, tol.collision_at(u1, u2))
    candidates = [(frame.to_latent(p1), frame.to_latent(p2)), (frame.to_latent(u1), frame.to_latent(u2))]
    # Polishing, or moving onto the exact solution set, may pull the two points together: a pair
    # within the separation tolerance is no witness.
    least = tol.separation * tol.rho * frame.scale
    for z1, z2 in candidates:
        exact = exact_collision(frame.exact, z1, z2)
        if exact is not None and np.linalg.norm(to_floats(exact[0]) - to_floats(exact[1])) > least:
            return _evidence(frame, exact, z1, z2)
    return _evidence(frame, None, *candidates[0])


def chord_witness(frame: Frame, pattern, centre_u: np.ndarray, length_u: float) -> dict | None:
    """Two points of the region of ``pattern`` along an exact null direction of its exact matrix.

    None when the exact piece has full column rank (numerically small singular values are
    not a collapse). The chord starts at ``length_u`` (normalized units) around the centre
    and is halved until both ends stay in the region and the exact check confirms f(z1) = f(z2).
    """
    a, _ = frame.exact.piece(pattern)
    directions = nullspace(a)
    if not directions:
        return None
    v = directions[0]
    centre = qcol(frame.to_latent(centre_u))
    step = q(0.5 * length_u * frame.scale / max(float(np.abs(to_floats(v)).max()), 1e-300))
    low, high = _box_bounds(frame)
    for _ in range(CHORD_HALVINGS):
        z1, z2 = centre - step * v, centre + step * v
        same = (frame.exact.pattern(z1) == np.asarray(pattern)).all() and (frame.exact.pattern(z2) == np.asarray(pattern)).all()
        if same and is_collision(frame.exact, z1, z2) and inside_box(z1, low, high) and inside_box(z2, low, high):
            return _evidence(frame, (z1, z2), to_floats(z1), to_floats(z2))
        step = step / 2
    return None


def region_halfspaces(frame: Frame, pattern):
    """The cell of a pattern in normalized units (every unit's constraint and the box faces)."""
    return pattern_halfspaces(frame.unit, pattern, frame.box)
