"""Exact rational arithmetic for certificates and witnesses (python-flint).

A float64 number is an exact binary rational, so a network with float64 weights is an
exact rational map, and its forward pass at a rational point can be carried out without
rounding. Every conclusive verdict of the injectivity checks rests on such a re-check:

- a collision (z1, z2) is accepted only when f(z1) = f(z2) holds exactly and z1 != z2
  (``is_collision``); candidates from a solver are first moved onto the exact solution
  set of their two affine pieces (``exact_collision``);
- ranks, determinants and memberships are decided in rationals (``rank``, ``det``);
- a linear program's infeasibility is certified from an approximate dual by a bound that
  is itself computed exactly (``infeasible_in_box``), so an inexact dual can only make
  the certificate fail, never make a wrong one pass.

Nothing here tolerates: every comparison is exact.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from models.exact import ExactNetwork, q, qcol, qmat, rank, to_float, to_floats

__all__ = ["ExactNetwork", "as_strings", "exact_collision", "infeasible_in_box", "inside_box", "is_collision", "nullspace", "q",
           "qcol", "qmat", "rank", "solve_near", "to_float", "to_floats"]


def is_collision(net: ExactNetwork, z1: fmpq_mat, z2: fmpq_mat) -> bool:
    """f(z1) = f(z2) exactly, with z1 != z2."""
    return z1 != z2 and net.forward(z1)[0] == net.forward(z2)[0]


def solve_near(matrix: fmpq_mat, rhs: fmpq_mat, near: np.ndarray) -> fmpq_mat | None:
    """An exact solution x of matrix · x = rhs close to the float point ``near``, or None when the
    system has no exact solution.

    The free variables of the reduced row echelon form keep their rational values from
    ``near``; the pivot variables are solved for, so x differs from ``near`` only by what the
    equations force (for a float point on the solution set, a few ulps).
    """
    rows, cols = matrix.nrows(), matrix.ncols()
    augmented = fmpq_mat(rows, cols + 1, [matrix[i, j] if j < cols else rhs[i, 0] for i in range(rows) for j in range(cols + 1)])
    reduced, r = augmented.rref()
    pivots = []
    for i in range(r):
        j = next(j for j in range(cols + 1) if reduced[i, j] != 0)
        if j == cols:
            return None  # a row 0 = nonzero: inconsistent
        pivots.append(j)
    x = [q(v) for v in near]
    pivot_set = set(pivots)
    for i, j in enumerate(pivots):
        value = reduced[i, cols]
        for k in range(cols):
            if k not in pivot_set and reduced[i, k] != 0:
                value -= reduced[i, k] * x[k]
        x[j] = value
    return fmpq_mat(cols, 1, x)


def exact_collision(net: ExactNetwork, z1: np.ndarray, z2: np.ndarray) -> tuple[fmpq_mat, fmpq_mat] | None:
    """An exact collision near the float candidate (z1, z2), or None.

    The candidate itself is tried first; then the points are moved onto the exact solution
    set of A1 z1 + c1 = A2 z2 + c2, the affine pieces of the exact patterns at z1 and z2.
    The result is returned only when ``is_collision`` confirms it.
    """
    q1, q2 = qcol(z1), qcol(z2)
    if is_collision(net, q1, q2):
        return q1, q2
    (a1, c1), (a2, c2) = net.piece(net.pattern(q1)), net.piece(net.pattern(q2))
    m, n = net.in_dim, net.out_dim
    joint = fmpq_mat(n, 2 * m, [a1[i, j] if j < m else -a2[i, j - m] for i in range(n) for j in range(2 * m)])
    x = solve_near(joint, c2 - c1, np.concatenate([z1, z2]))
    if x is None:
        return None
    p1 = fmpq_mat(m, 1, [x[i, 0] for i in range(m)])
    p2 = fmpq_mat(m, 1, [x[m + i, 0] for i in range(m)])
    return (p1, p2) if is_collision(net, p1, p2) else None


def infeasible_in_box(A: np.ndarray, b: np.ndarray, lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> bool:
    """Is {x : A x <= b, lower <= x <= upper} empty, by the multipliers y >= 0?  Exact.

    For any feasible x, yᵀA x <= yᵀb; and yᵀA x >= Σ_k min(r_k l_k, r_k u_k) with r = Aᵀy.
    If that minimum exceeds yᵀb, no feasible x exists. y may be approximate (a float dual):
    the bound is evaluated exactly, so an inaccurate y can only fail to certify.
    """
    y = np.maximum(np.asarray(y, dtype=np.float64), 0.0)
    keep = np.flatnonzero(y > 0)
    if keep.size == 0 or not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        return False
    yq = fmpq_mat(1, keep.size, [q(v) for v in y[keep]])
    r = yq * qmat(A[keep])
    bound = (yq * qcol(b[keep]))[0, 0]
    least = sum((min(r[0, k] * q(lower[k]), r[0, k] * q(upper[k])) for k in range(A.shape[1])), fmpq(0))
    return least > bound


def nullspace(matrix: fmpq_mat) -> list[fmpq_mat]:
    """A basis of {v : matrix · v = 0}, as exact columns (empty when the matrix has full column rank)."""
    cols = matrix.ncols()
    reduced, r = matrix.rref()
    pivots = [next(j for j in range(cols) if reduced[i, j] != 0) for i in range(r)]
    basis = []
    for free in (j for j in range(cols) if j not in pivots):
        v = [fmpq(0)] * cols
        v[free] = fmpq(1)
        for i, j in enumerate(pivots):
            v[j] = -reduced[i, free]
        basis.append(fmpq_mat(cols, 1, v))
    return basis


def inside_box(z: fmpq_mat, low, high) -> bool:
    """low <= z <= high, exactly (None bounds: all of R^m)."""
    if low is None:
        return True
    return all(q(lo) <= v <= q(hi) for v, lo, hi in zip(z.entries(), np.asarray(low), np.asarray(high)))


def as_strings(column: fmpq_mat) -> list[str]:
    """An exact column as strings "p/q", for reports."""
    return [str(v) for v in column.entries()]
