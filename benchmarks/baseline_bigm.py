"""An independent baseline for exact injectivity: the plain big-M MILP, written from scratch.

Two copies of the network share the output; every hidden unit whose interval bounds straddle 0
gets one binary per copy; the program maximises ±(z1_k − z2_k) over the box for every k, solved
by HiGHS through ``scipy.optimize.milp``. Interval bounds only, no tightening, no cuts, no
pruning: the textbook encoding the toolkit's methods are measured against. It shares no code
with the toolkit.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp


def _interval_bounds(weights, biases, slopes, low, high):
    out, lo, hi = [], low, high
    for W, b, s in zip(weights[:-1], biases[:-1], slopes):
        mid, rad = W @ (0.5 * (lo + hi)) + b, np.abs(W) @ (0.5 * (hi - lo))
        l, u = mid - rad, mid + rad
        out.append((l, u))
        lo, hi = np.where(l >= 0, l, s * l), np.where(u >= 0, u, s * u)
    return out


def _program(weights, biases, slopes, low, high):
    """Variables and rows of the two-copy program; returns (matrix, row_lo, row_hi, lb, ub, integrality, z1, z2)."""
    lb, ub, integer, rows, cols, vals, lo, hi = [], [], [], [], [], [], [], []

    def var(a, b, is_int=False):
        a, b = np.atleast_1d(a), np.atleast_1d(b)
        start = len(lb)
        lb.extend(a), ub.extend(b), integer.extend([int(is_int)] * len(a))
        return np.arange(start, start + len(a))

    def row(index, coef, l, h):
        r = len(lo)
        rows.extend([r] * len(index)), cols.extend(index), vals.extend(coef)
        lo.append(l), hi.append(h)

    if any(not 0 <= s <= 1 for s in slopes):
        raise ValueError("slopes: the baseline encodes leaky ReLUs of slope in [0, 1] (convex activations)")
    bounds = _interval_bounds(weights, biases, slopes, low, high)
    outputs = []
    copies = []
    for _ in range(2):
        z = var(low, high)
        h = z
        for (W, b, s), (l, u) in zip(zip(weights[:-1], biases[:-1], slopes), bounds):
            x = var(l, u)
            y = var(np.where(l >= 0, l, s * l), np.where(u >= 0, u, s * u))
            for j in range(W.shape[0]):
                row(np.r_[x[j], h], np.r_[1.0, -W[j]], b[j], b[j])
                if l[j] >= 0:
                    row([y[j], x[j]], [1.0, -1.0], 0.0, 0.0)
                elif u[j] <= 0:
                    row([y[j], x[j]], [1.0, -s], 0.0, 0.0)
                else:  # y = max(x, s x) with a binary d: d = 1 iff x >= 0
                    d = var(0.0, 1.0, True)[0]
                    row([x[j], d], [1.0, -u[j]], -np.inf, 0.0)
                    row([x[j], d], [1.0, l[j]], l[j], np.inf)
                    row([y[j], x[j]], [1.0, -1.0], 0.0, np.inf)
                    row([y[j], x[j]], [1.0, -s], 0.0, np.inf)
                    row([y[j], x[j], d], [1.0, -1.0, (s - 1) * l[j]], -np.inf, (s - 1) * l[j])
                    row([y[j], x[j], d], [1.0, -s, -(1 - s) * u[j]], -np.inf, 0.0)
            h = y
        outputs.append(h)
        copies.append(z)
    W = weights[-1]
    for i in range(W.shape[0]):
        row(np.r_[outputs[0], outputs[1]], np.r_[W[i], -W[i]], 0.0, 0.0)
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(len(lo), len(lb)))
    return matrix, np.array(lo), np.array(hi), np.array(lb), np.array(ub), np.array(integer), copies[0], copies[1]


def baseline_injective(weights, biases, slopes, low, high, *, time_limit: float, separation: float):
    """(verdict, seconds): False when some ±(z1_k − z2_k) exceeds ``separation``, True when every
    program is solved with optimum <= it, None when a program hit the time limit."""
    start = time.perf_counter()
    matrix, row_lo, row_hi, lb, ub, integer, z1, z2 = _program(weights, biases, slopes, np.asarray(low), np.asarray(high))
    undecided = False
    for k in range(len(z1)):
        for sign in (1.0, -1.0):
            cost = np.zeros(len(lb))
            cost[z1[k]], cost[z2[k]] = -sign, sign
            remaining = time_limit - (time.perf_counter() - start)
            if remaining <= 0:
                return None, time.perf_counter() - start
            result = milp(cost, integrality=integer, bounds=Bounds(lb, ub), constraints=LinearConstraint(matrix, row_lo, row_hi),
                          options={"time_limit": remaining})
            if result.x is not None and -result.fun > separation:
                return False, time.perf_counter() - start
            undecided |= result.status != 0
    return (None if undecided else True), time.perf_counter() - start
