"""Big-M mixed-integer programs for collisions f(z1) = f(z2) of a leaky-ReLU network on a box.

Two copies of the network share the output; every hidden unit whose
pre-activation bounds straddle 0 gets one binary per copy (1: active). With
pre-activation x in [l, u], l < 0 < u, slope s and output y the encoding

    x <= u δ,  x >= l (1 − δ),
    min(0, (s−1) l)(1 − δ) <= y − x <= max(0, (s−1) l)(1 − δ),
    min(0, (1−s) u) δ      <= y − s x <= max(0, (1−s) u) δ

is exact (δ = 1 forces y = x >= 0, δ = 0 forces y = s x <= 0) for every slope s >= 0.
Stable units are affine. Bounds come from linear back-substitution on the box
(``bounds``), or, tighter, from the linear relaxation (one program per bound,
solved as one block-diagonal program per layer).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.solver import Block, solve_blocks, solve_milp

from .bounds import _act, crown_bounds


@dataclass
class Layers:
    """Float64 arrays of a network: weights (out, in), biases, slopes of the hidden layers."""

    weights: list
    biases: list
    slopes: tuple

    @classmethod
    def of(cls, network) -> "Layers":
        return cls([w.detach().cpu().double().numpy() for w in network.weights],
                   [b.detach().cpu().double().numpy() for b in network.biases], tuple(network.slopes))


class Builder:
    """Accumulates variables, bounds, integrality and sparse rows lo <= A x <= hi."""

    def __init__(self):
        self.lb, self.ub, self.integer = [], [], []
        self.rows, self.cols, self.vals, self.lo, self.hi = [], [], [], [], []

    def var(self, lb, ub, integer=False) -> np.ndarray:
        lb, ub = np.atleast_1d(lb), np.atleast_1d(ub)
        start = len(self.lb)
        self.lb.extend(lb)
        self.ub.extend(ub)
        self.integer.extend([int(integer)] * lb.shape[0])
        return np.arange(start, start + lb.shape[0])

    def row(self, index, coef, lo, hi):
        r = len(self.lo)
        self.rows.extend([r] * len(index))
        self.cols.extend(index)
        self.vals.extend(coef)
        self.lo.append(lo)
        self.hi.append(hi)

    def matrix(self):
        return sp.csr_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.lo), len(self.lb)))


@dataclass
class Copy:
    """One copy of the network in a program: variable indices and how to read its pattern.

    ``units[l][j]`` is the binary of unit j of hidden layer l, or −1 for a stable unit,
    whose activity is ``stable[l][j]``.
    """

    z: np.ndarray
    y: np.ndarray
    binaries: list
    units: list
    stable: list

    def pattern(self, x: np.ndarray) -> np.ndarray:
        """The activation pattern (over all hidden units) that a solution x fixes."""
        bits = [np.where(u >= 0, x[np.maximum(u, 0)] > 0.5, a) for u, a in zip(self.units, self.stable)]
        return np.concatenate(bits) if bits else np.zeros(0, dtype=bool)


def network_copy(builder: Builder, layers: Layers, bounds, low, high, relax: bool = False, z: np.ndarray | None = None) -> Copy:
    """One copy of the hidden layers, its input z (new variables, or the given ones) and its last hidden output y."""
    z = builder.var(low, high) if z is None else z
    y, binaries, units, stable = z, [], [], []
    for (W, b, s), (l, u) in zip(zip(layers.weights[:-1], layers.biases[:-1], layers.slopes), bounds):
        x = builder.var(l, u)
        y_next = builder.var(_act(l, s), _act(u, s))
        unit = np.full(W.shape[0], -1)
        for j in range(W.shape[0]):
            builder.row(np.r_[x[j], y], np.r_[1.0, -W[j]], b[j], b[j])
            if l[j] >= 0:
                builder.row([y_next[j], x[j]], [1.0, -1.0], 0.0, 0.0)
            elif u[j] <= 0:
                builder.row([y_next[j], x[j]], [1.0, -s], 0.0, 0.0)
            else:
                unit[j] = builder.var(0.0, 1.0, integer=not relax)[0]
                binaries.append(unit[j])
                _unstable_rows(builder, x[j], y_next[j], unit[j], l[j], u[j], s)
        units.append(unit)
        stable.append(l >= 0)
        y = y_next
    return Copy(z, y, binaries, units, stable)


def exclude(builder: Builder, binaries: list, x: np.ndarray) -> None:
    """A no-good cut: the binaries may not take their values in x again (all together)."""
    on = np.array([x[d] > 0.5 for d in binaries], dtype=bool)
    index = np.array(binaries)
    builder.row(index, np.where(on, -1.0, 1.0), 1.0 - on.sum(), math.inf)


def _unstable_rows(builder, x, y, d, l, u, s):
    inf = math.inf
    builder.row([x, d], [1.0, -u], -inf, 0.0)                      # x <= u δ
    builder.row([x, d], [1.0, l], l, inf)                           # x >= l (1 − δ)
    lo_e, hi_e = min(0.0, (s - 1) * l), max(0.0, (s - 1) * l)
    builder.row([y, x, d], [1.0, -1.0, lo_e], lo_e, inf)            # y − x >= lo_e (1 − δ)
    builder.row([y, x, d], [1.0, -1.0, hi_e], -inf, hi_e)           # y − x <= hi_e (1 − δ)
    lo_a, hi_a = min(0.0, (1 - s) * u), max(0.0, (1 - s) * u)
    builder.row([y, x, d], [1.0, -s, -lo_a], 0.0, inf)              # y − s x >= lo_a δ
    builder.row([y, x, d], [1.0, -s, -hi_a], -inf, 0.0)             # y − s x <= hi_a δ


def collision_program(layers: Layers, bounds, low, high, out_scale: float, relax: bool = False):
    """Two copies with equal outputs (rows divided by ``out_scale``): (builder, copy 1, copy 2)."""
    builder = Builder()
    first = network_copy(builder, layers, bounds, low, high, relax)
    second = network_copy(builder, layers, bounds, low, high, relax)
    W = layers.weights[-1]
    for i in range(W.shape[0]):
        builder.row(np.r_[first.y, second.y], np.r_[W[i], -W[i]] / out_scale, 0.0, 0.0)
    return builder, first, second


@dataclass
class MilpOutcome:
    value: float          # max of the objective (z1_k − z2_k), −inf if infeasible, nan if unsolved
    x: np.ndarray | None  # the whole solution
    z1: np.ndarray | None
    z2: np.ndarray | None
    status: int
    seconds: float


def maximise_separation(builder: Builder, z1, z2, direction: np.ndarray, time_limit: float | None) -> MilpOutcome:
    """max direction·(z1 − z2) over the program (z1, z2: variable indices)."""
    cost = np.zeros(len(builder.lb))
    cost[z1] -= direction
    cost[z2] += direction
    options = {"mip_rel_gap": 1e-9}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    start = time.perf_counter()
    result = solve_milp(cost, integrality=builder.integer, lower=builder.lb, upper=builder.ub, matrix=builder.matrix(),
                        row_lower=builder.lo, row_upper=builder.hi, options=options)
    seconds = time.perf_counter() - start
    if result.x is None:
        return MilpOutcome(-math.inf if result.status == 2 else math.nan, None, None, None, result.status, seconds)
    return MilpOutcome(-float(result.fun), result.x, result.x[z1], result.x[z2], result.status, seconds)


def relaxation_bounds(layers: Layers, low: np.ndarray, high: np.ndarray, deadline=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds from the linear relaxation of one copy, layer by layer.

    Starts from the back-substitution bounds (``bounds.crown_bounds``); the bounds of layer l are the minima and maxima of its
    pre-activations over the relaxation built with the (already tightened) bounds of layers < l.
    All 2·width programs of a layer are one block-diagonal program.
    """
    bounds = crown_bounds(layers.weights, layers.biases, layers.slopes, low, high)
    for l_index in range(1, len(bounds)):
        if deadline is not None:
            deadline.check(f"the linear-relaxation bounds of layer {l_index + 1}")
        # The layers before l, with layer l as the (affine) output.
        sub = Layers(layers.weights[:l_index + 1], layers.biases[:l_index + 1], layers.slopes[:l_index])
        builder = Builder()
        y = network_copy(builder, sub, bounds[:l_index], low, high, relax=True).y
        A = builder.matrix()
        lb, ub = np.array(builder.lb), np.array(builder.ub)
        lo, hi = np.array(builder.lo), np.array(builder.hi)
        W, b = layers.weights[l_index], layers.biases[l_index]
        A_ub, b_ub = _range_rows(A, lo, hi)  # one sparse matrix, shared by the 2·width programs
        blocks = []
        for j in range(W.shape[0]):
            for sign in (1.0, -1.0):
                cost = np.zeros(A.shape[1])
                cost[y] = sign * W[j]
                blocks.append(Block(cost, A_ub, b_ub, lb, ub))
        # Past the deadline the program stops and the bounds stay as they are (valid, only looser).
        solutions = solve_blocks(blocks, deadline=deadline)
        l_old, u_old = bounds[l_index]
        l_new, u_new = l_old.copy(), u_old.copy()
        for j in range(W.shape[0]):
            lo_x, hi_x = solutions[2 * j], solutions[2 * j + 1]
            if lo_x is not None:
                l_new[j] = max(l_old[j], W[j] @ lo_x[y] + b[j] - 1e-9 * (1 + abs(b[j])))
            if hi_x is not None:
                u_new[j] = min(u_old[j], W[j] @ hi_x[y] + b[j] + 1e-9 * (1 + abs(b[j])))
        bounds[l_index] = (l_new, u_new)
    return bounds


def _range_rows(A, lo, hi):
    """lo <= A x <= hi written as A_ub x <= b_ub (equalities as two rows), A_ub sparse."""
    finite_hi, finite_lo = np.isfinite(hi), np.isfinite(lo)
    A_ub = sp.vstack([A[finite_hi], -A[finite_lo]], format="csr")
    b_ub = np.concatenate([hi[finite_hi], -lo[finite_lo]])
    return A_ub, b_ub
