"""Linear programs behind the injectivity checks: collisions between pieces and preimages.

A *piece* is a polyhedron {G z <= g} on which f(z) = A z + c. Programs run in
scaled variables u = z / rho (rho: the length scale of the domain), with
output rows divided by the output scale ``out``, so that every slack and every
residual is relative. Many independent small programs are solved as one
block-diagonal program (``models.solver.solve_blocks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.solver import TIGHT_OPTIONS, Block, solve_blocks

from ..tolerances import FEASIBILITY_RTOL

# Pairs per block-diagonal program.
PAIR_BATCH = 256
# How far inside both pieces (relative to rho) a collision candidate is placed before its exact check:
# far above the ~1e-15 that the exact correction moves it, far below any piece the enumeration keeps.
INTERIOR_MARGIN = 1e-7


@dataclass(frozen=True)
class Piece:
    """f = A z + c on {G z <= g}: G (k, m), g (k,), A (n, m), c (n,), float64 arrays."""

    G: np.ndarray
    g: np.ndarray
    A: np.ndarray
    c: np.ndarray

    @classmethod
    def from_region(cls, region) -> "Piece":
        G, g = region.halfspaces
        return cls(*(t.detach().cpu().double().numpy() for t in (G, g, region.A, region.c)))


@dataclass(frozen=True)
class Scales:
    """rho: length scale of z; out: scale of f's values."""

    rho: float
    out: float


# ---------------------------------------------------------------------- collisions
def _pair_rows(p: Piece, q: Piece, s: Scales, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rows in (u, u', t): both pieces' faces (moved inward by ``margin``) and |f_p(z) − f_q(z')| / out,
    each relaxed by t."""
    m = p.G.shape[1]
    eq = np.hstack([p.A, -q.A]) * (s.rho / s.out)
    rhs = (q.c - p.c) / s.out
    A = np.vstack([
        np.hstack([p.G, np.zeros((p.G.shape[0], m))]),
        np.hstack([np.zeros((q.G.shape[0], m)), q.G]),
        eq, -eq,
    ])
    b = np.concatenate([p.g / s.rho - margin, q.g / s.rho - margin, rhs, -rhs])
    return np.hstack([A, -np.ones((A.shape[0], 1))]), b


def pair_violations(pairs: list[tuple[Piece, Piece]], s: Scales, deadline=None) -> np.ndarray:
    """Smallest relative slack t making {z in P, z' in Q, f_P(z) = f_Q(z')} non-empty, per pair.

    t = 0 means the images of the two pieces meet; inf where a program failed or the deadline
    stopped it (not decided).
    """
    blocks = []
    for p, q in pairs:
        A, b = _pair_rows(p, q, s)
        n_var = A.shape[1]
        cost = np.zeros(n_var)
        cost[-1] = 1.0
        lower = np.r_[np.full(n_var - 1, -np.inf), 0.0]
        blocks.append(Block(cost, A, b, lower, np.full(n_var, np.inf)))
    return np.array([math.inf if x is None else x[-1] for x in solve_blocks(blocks, deadline=deadline)])


def directions(m: int) -> np.ndarray:
    """A positive spanning set of R^m (e_1, ..., e_m, −Σ e_k / √m): if max w·d <= 0 over a set D
    for every w in it, then D ⊆ {0}."""
    return np.vstack([np.eye(m), -np.ones((1, m)) / math.sqrt(m)])


def pair_separations(pairs: list[tuple[Piece, Piece]], slacks: np.ndarray, s: Scales, dirs: np.ndarray, margin: float = 0.0,
                     deadline=None):
    """For each pair and direction w: max w·(z − z') / rho over colliding (z, z'), slack <= ``slacks``,
    at least ``margin`` (relative to rho) inside both pieces; programs past ``deadline`` give −inf
    like infeasible ones, so a caller with a deadline must read −inf as "not decided".

    The separation is capped at 1 (so that unbounded pieces give bounded programs).

    Returns
    -------
    values : ndarray (P, D)
        −inf where a block is infeasible.
    points : ndarray (P, D, 2, m)
        The maximisers (z, z').
    """
    m = dirs.shape[1]
    blocks = []
    for (p, q), slack in zip(pairs, slacks):
        A, b = _pair_rows(p, q, s, margin)
        for w in dirs:
            row = np.r_[w, -w, 0.0]
            lower = np.r_[np.full(2 * m, -np.inf), 0.0]
            upper = np.r_[np.full(2 * m, np.inf), slack]
            blocks.append(Block(-row, np.vstack([A, row]), np.r_[b, 1.0], lower, upper))
    solutions = solve_blocks(blocks, deadline=deadline)
    values = np.full(len(blocks), -np.inf)
    points = np.full((len(blocks), 2, m), np.nan)
    for k, x in enumerate(solutions):
        if x is not None:
            values[k] = -blocks[k].cost @ x
            points[k] = s.rho * x[:2 * m].reshape(2, m)
    return values.reshape(len(pairs), len(dirs)), points.reshape(len(pairs), len(dirs), 2, m)


@dataclass
class CollisionSearch:
    """What ``largest_collision`` found.

    statistic: the largest separation seen (relative to rho; 0 when no pair touches);
    witness: (index of the pair, z, z') or None; touching: pairs whose images meet;
    unresolved: pairs whose programs failed (a verdict without them is not exact).
    """

    statistic: float = 0.0
    witness: tuple | None = None
    touching: int = 0
    unresolved: int = 0


def largest_collision(pairs, s: Scales, separation_tol: float, dirs: np.ndarray, *, deadline=None) -> CollisionSearch:
    """Search the pairs for a collision (z, z') with w·(z − z') / rho > ``separation_tol``.

    Phase 1 keeps the pairs whose images meet (relative slack <= FEASIBILITY_RTOL); phase 2
    maximises the separation with that slack; a candidate is confirmed by the exact program
    (no slack) before it is returned.
    """
    out = CollisionSearch()
    for start in range(0, len(pairs), PAIR_BATCH):
        if deadline is not None:
            deadline.check(f"the pair programs ({start} of {len(pairs)} pairs done, no collision so far)")
        batch = pairs[start:start + PAIR_BATCH]
        slack = pair_violations(batch, s, deadline)
        out.unresolved += int(np.isinf(slack).sum())
        touching = [k for k in range(len(batch)) if slack[k] <= FEASIBILITY_RTOL]
        if not touching:
            continue
        out.touching += len(touching)
        # The slack of phase 1 plus room for the solver's own tolerance, so that phase 2 is feasible.
        allowed = np.maximum(slack[touching], FEASIBILITY_RTOL) + 2 * TIGHT_OPTIONS["primal_feasibility_tolerance"]
        # Phase 1 found these images to meet, so −inf here (infeasible, failed or stopped) is "not decided".
        values, _ = pair_separations([batch[k] for k in touching], allowed, s, dirs, deadline=deadline)
        for row in np.flatnonzero(np.isneginf(values).any(axis=1)):
            values[row] = pair_separations([batch[touching[row]]], 10 * allowed[row:row + 1], s, dirs, deadline=deadline)[0][0]
        out.unresolved += int(np.isneginf(values).any(axis=1).sum())
        for row in np.argsort(-values.max(axis=1)):
            if values[row].max() <= separation_tol:
                out.statistic = max(out.statistic, float(values[row].max()))
                break
            exact_values, exact_points = _confirmed(batch[touching[row]], s, dirs, separation_tol)
            best = int(np.argmax(exact_values[0]))
            out.statistic = max(out.statistic, float(exact_values[0, best]))
            if exact_values[0, best] > separation_tol:
                out.witness = (start + touching[row], *exact_points[0, best])
                return out
    return out


def _confirmed(pair, s: Scales, dirs: np.ndarray, separation_tol: float):
    """The candidate re-solved without slack, preferably ``INTERIOR_MARGIN`` inside both pieces: a point
    strictly inside keeps its two patterns when the exact check moves it by a few ulps."""
    inside_values, inside_points = pair_separations([pair], np.zeros(1), s, dirs, margin=INTERIOR_MARGIN)
    if inside_values.max() > separation_tol:
        return inside_values, inside_points
    return pair_separations([pair], np.zeros(1), s, dirs)


# ---------------------------------------------------------------------- preimages
def image_distances(pieces: list[Piece], x: np.ndarray, s: Scales) -> tuple[np.ndarray, np.ndarray]:
    """Relative ∞-distance from x to f(piece) for every piece, and the nearest z in each.

    Returns
    -------
    distances : ndarray (K,)
        min over z in the piece of ‖A z + c − x‖_∞ / out (inf if the program fails).
    points : ndarray (K, m)
    """
    blocks = []
    for p in pieces:
        m = p.G.shape[1]
        eq = p.A * (s.rho / s.out)
        rhs = (x - p.c) / s.out
        A = np.vstack([np.hstack([p.G, np.zeros((p.G.shape[0], 1))]), np.hstack([eq, -np.ones((eq.shape[0], 1))]),
                       np.hstack([-eq, -np.ones((eq.shape[0], 1))])])
        b = np.concatenate([p.g / s.rho, rhs, -rhs])
        cost = np.r_[np.zeros(m), 1.0]
        blocks.append(Block(cost, A, b, np.r_[np.full(m, -np.inf), 0.0], np.full(m + 1, np.inf)))
    solutions = solve_blocks(blocks)
    m = pieces[0].G.shape[1] if pieces else 0
    distances = np.array([math.inf if x_ is None else x_[-1] for x_ in solutions])
    points = np.array([np.full(m, np.nan) if x_ is None else s.rho * x_[:m] for x_ in solutions]).reshape(-1, m)
    return distances, points
