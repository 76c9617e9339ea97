"""Which pairs of pieces need a collision program: cheap exact tests first.

1. Separating directions: the images of bounded pieces are polytopes (their
   vertices mapped by A z + c); if their projections on some direction do not
   overlap, the images are disjoint. The directions are the coordinate axes and
   a fixed set of others; this only saves work, it never decides a collision.
2. Transversality: pieces i and j collide (A_i z + c_i = A_j z' + c_j) iff
   A_i (z − z') = −(D z' + δ) with D = A_i − A_j, δ = c_i − c_j. When
   range(A_i) meets range([D, δ]) only in 0, that forces z = z': no collision
   anywhere. Numerically, dropping the singular values of B = [D, δ/R] below
   η leaves B_r, and then ‖A_i (z − z')‖ sin θ <= √2 η R, where θ is the least
   principal angle between range(A_i) and range(B_r) and R bounds ‖z'‖; the
   pair is cleared when the implied separation √2 η R / (σ_min(A_i) sin θ) is
   below half the separation tolerance.
"""

from __future__ import annotations

import math

import numpy as np

# Directions of the projection test besides the axes.
N_DIRECTIONS = 24
_EPS = float(np.finfo(np.float64).eps)
# Principal angles below this count as 0 (the ranges meet), whatever the bound says.
MIN_SINE = 1e-8


def _directions(n: int) -> np.ndarray:
    rng = np.random.default_rng(20240611)
    extra = rng.standard_normal((N_DIRECTIONS, n))
    return np.vstack([np.eye(n), extra / np.linalg.norm(extra, axis=1, keepdims=True)])


def image_intervals(regions, pieces):
    """Projections of the images of bounded regions on the test directions: (lo, hi), each (N, K); None if unbounded."""
    if not len(regions):
        return None
    arrays = getattr(regions, "arrays", None)
    V = _directions(pieces[0].A.shape[0])
    if arrays is not None:
        if not arrays.bounded.all():
            return None
        offsets = arrays.vertex_offsets
        owner = np.repeat(np.arange(len(arrays)), np.diff(offsets))
        proj = (np.einsum("vnm,vm->vn", arrays.A[owner], arrays.vertices) + arrays.c[owner]) @ V.T
        return np.minimum.reduceat(proj, offsets[:-1], axis=0), np.maximum.reduceat(proj, offsets[:-1], axis=0)
    if any(not r.bounded for r in regions):
        return None
    lo, hi = [], []
    for r, p in zip(regions, pieces):
        proj = (r.vertices.cpu().numpy() @ p.A.T + p.c) @ V.T
        lo.append(proj.min(axis=0))
        hi.append(proj.max(axis=0))
    return np.array(lo), np.array(hi)


# Candidate pairs tested together in the sweep (bounds its memory: a few arrays of this many rows).
SWEEP_CHUNK = 1 << 20


def overlapping_pairs(n_regions: int, intervals, margin: float) -> np.ndarray:
    """Pairs i < j whose projected images overlap on every direction, shape (P, 2), sorted (all pairs
    without intervals).

    A sweep, not a loop over all pairs: along the direction where the images are narrowest against
    their spread, sorted by their lower ends, region i can only meet the regions that start before
    it ends (``searchsorted``); those candidates are then tested on every direction, in chunks.
    """
    if intervals is None:
        i, j = np.triu_indices(n_regions, k=1)
        return np.column_stack([i, j])
    lo, hi = intervals
    if n_regions < 2:
        return np.zeros((0, 2), dtype=np.int64)
    spread = np.maximum(hi.max(axis=0) - lo.min(axis=0), 1e-300)
    with np.errstate(invalid="ignore"):  # unbounded intervals (±inf) make a direction useless, not an error
        selectivity = np.nan_to_num((hi - lo).mean(axis=0) / spread, nan=np.inf)
    d = int(np.argmin(selectivity))
    order = np.argsort(lo[:, d], kind="stable")
    lo, hi = lo[order], hi[order]
    end = np.searchsorted(lo[:, d], hi[:, d] + margin, side="right")
    counts = np.maximum(end - np.arange(n_regions) - 1, 0)
    out, first = [], 0
    while first < n_regions:
        last = first + 1 + int(np.searchsorted(np.cumsum(counts[first:]), SWEEP_CHUNK, side="right"))
        last = min(max(last, first + 1), n_regions)
        rows = np.arange(first, last)
        I = np.repeat(rows, counts[first:last])
        starts = np.repeat(np.cumsum(counts[first:last]) - counts[first:last], counts[first:last])
        J = I + 1 + (np.arange(len(I)) - starts)
        for k in np.argsort(selectivity):  # the most selective directions first: the candidates shrink fast
            keep = (lo[I, k] <= hi[J, k] + margin) & (lo[J, k] <= hi[I, k] + margin)
            I, J = I[keep], J[keep]
        a, b = order[I], order[J]
        out.append(np.column_stack([np.minimum(a, b), np.maximum(a, b)]))
        first = last
    pairs = np.vstack(out) if out else np.zeros((0, 2), dtype=np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def transversal(pieces, pairs: np.ndarray, reach: float | None, separation: float) -> np.ndarray:
    """Pairs proved collision-free by transversality, a bool mask of shape (P,).

    Parameters
    ----------
    reach : float or None
        R, a bound on ‖z‖ over the pieces; None for unbounded pieces, where only
        singular values at rounding level are dropped.
    separation : float
        The absolute separation below which a collision does not count.
    """
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    A = np.stack([p.A for p in pieces])
    c = np.stack([p.c for p in pieces])
    n, m = A.shape[1], A.shape[2]
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    basis, sigma = u[:, :, :m], s[:, -1]
    I, J = pairs[:, 0], pairs[:, 1]
    scale_r = 1.0 if reach is None else reach
    B = np.concatenate([A[I] - A[J], ((c[I] - c[J]) / scale_r)[:, :, None]], axis=2)
    ub, sb, _ = np.linalg.svd(B, full_matrices=False)
    norm_b = np.maximum(sb[:, 0], 1e-300)
    cleared = np.zeros(len(pairs), dtype=bool)
    for r in range(sb.shape[1] + 1):
        if m + r > n:
            break
        eta = sb[:, r] if r < sb.shape[1] else np.zeros(len(pairs))
        if reach is None:
            usable = eta <= 64 * _EPS * norm_b
            eta = np.zeros_like(eta)
            reach_r = 1.0
        else:
            usable = np.ones(len(pairs), dtype=bool)
            reach_r = reach
        for side in (I, J):
            sin = _least_sine(basis[side], ub[:, :, :r])
            bound = math.sqrt(2) * eta * reach_r / np.maximum(sigma[side] * sin, 1e-300)
            cleared |= usable & (sin > MIN_SINE) & (bound <= 0.5 * separation)
    return cleared


def _least_sine(qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
    """sin of the least principal angle between the spans of orthonormal qa (P, n, a) and qb (P, n, b).

    The least singular value of (I − qb qbᵀ) qa, computed from the residual itself: going
    through the cosines would lose the small sines to rounding (1 − cos² near 0).
    """
    if qb.shape[2] == 0:
        return np.ones(qa.shape[0])
    residual = qa - qb @ (np.swapaxes(qb, 1, 2) @ qa)
    return np.linalg.svd(residual, compute_uv=False)[:, -1]
