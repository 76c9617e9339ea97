"""Exact polyhedral difference: the part of a full-rank piece whose images no other piece reaches.

For pieces R_i and R_k with full-rank A_i, A_k and the same affine image plane,
S_ik = {z in R_i : A_i z + c_i in f(R_k)} = {z in R_i : G_k A_k⁺ (A_i z + c_i − c_k) <= g_k}
is a polyhedron. When the planes differ, or A_k is rank deficient, S_ik lies in a
lower-dimensional set and cannot cover an open part of R_i. So some point of the
interior of R_i has a unique preimage iff R_i minus the union of those S_ik has
non-empty interior, which the difference below decides cell by cell
(C \\ S is the disjoint union over the rows r of S of C ∩ {row r violated} ∩
{rows before r satisfied}), each cell tested by its Chebyshev radius.
"""

from __future__ import annotations

import numpy as np

from models.solver import chebyshev_center

from ._lp import Piece


def same_plane_cover(p: Piece, q: Piece, rank_tol: float, out_tol: float):
    """The H-representation (H, h) of S_pq in z, or None when S_pq cannot be full-dimensional."""
    if q.A.shape[0] < q.A.shape[1] or np.linalg.svd(q.A, compute_uv=False)[-1] <= rank_tol:
        return None
    pinv = np.linalg.pinv(q.A)
    residual = q.A @ (pinv @ p.A) - p.A
    offset = q.A @ (pinv @ (p.c - q.c)) - (p.c - q.c)
    if np.abs(residual).max() > rank_tol or np.linalg.norm(offset) > out_tol:
        return None
    H = q.G @ pinv @ p.A
    h = q.g - q.G @ pinv @ (p.c - q.c)
    norms = np.linalg.norm(H, axis=1)
    if np.any((norms <= 1e-14) & (h < 0)):
        return None  # a violated constant row: S is empty
    keep = norms > 1e-14
    return H[keep] / norms[keep, None], h[keep] / norms[keep]


def uncovered_cell(G: np.ndarray, g: np.ndarray, covers, radius_tol: float, cap: float, budget: int):
    """A full-dimensional part of {G z <= g} outside every cover, by exact difference.

    Returns
    -------
    cell : (centre, radius, G, g) or None
        None when the covers leave no full-dimensional part (or the budget ran out).
    programs : int
        Chebyshev programs solved.
    exhausted : bool
        True when the budget of programs ran out before a decision.
    """
    cells, programs = [(G, g)], 0
    for H, h in covers:
        next_cells = []
        for CG, Cg in cells:
            if programs >= budget:
                return None, programs, True
            programs += 1
            _, inside = chebyshev_center(np.vstack([CG, H]), np.r_[Cg, h], cap)
            if inside <= radius_tol:
                next_cells.append((CG, Cg))
                continue
            for r in range(H.shape[0]):
                PG = np.vstack([CG, -H[r:r + 1], H[:r]])
                Pg = np.r_[Cg, -h[r], h[:r]]
                programs += 1
                _, radius = chebyshev_center(PG, Pg, cap)
                if radius > radius_tol:
                    next_cells.append((PG, Pg))
        cells = next_cells
        if not cells:
            return None, programs, False
    CG, Cg = cells[0]
    centre, radius = chebyshev_center(CG, Cg, cap)
    return (centre, radius, CG, Cg), programs, False
