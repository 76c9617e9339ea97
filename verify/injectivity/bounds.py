"""Bounds of every hidden unit's pre-activation over boxes: interval arithmetic, then linear
back-substitution (the CROWN / DeepPoly relaxation), so that most units are proved stable.

A leaky ReLU σ(x) = x (x >= 0), s x (x < 0) with 0 <= s <= 1 is convex, so on [l, u] with
l < 0 < u it lies between the lines

    tangent:  σ(x) >= α x,  α = 1 if u >= −l else s      (any α between s and 1 is valid)
    chord:    σ(x) <= λ x + μ,  λ = (u − s l) / (u − l),  μ = (s − λ) l

and is exact on stable units. A slope s > 1 makes σ concave: the chord is then the lower line
and the tangent the upper one. A unit's pre-activation W h + b is bounded by substituting these
relations layer by layer back to the latent z, keeping the sign of each coefficient (upper
relation under positive coefficients of an upper bound, and so on), and optimising the final
linear form over the box in closed form. The bounds are valid (sound) in exact arithmetic and
computed in float64; they decide which units need integers in a mixed-integer program, how
large its big-M constants are, and which boxes a branch and bound can discard.

Every function takes a batch of boxes: ``low`` and ``high`` of shape (B, m), and works on all
of them at once (the per-box work is small matrix products that numpy batches well).
"""

from __future__ import annotations

import numpy as np

__all__ = ["crown_bounds", "interval_bounds", "objective_bounds"]


def _act(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x >= 0, x, slope * x)


def _batch(low, high) -> tuple[np.ndarray, np.ndarray, bool]:
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    single = low.ndim == 1
    return np.atleast_2d(low), np.atleast_2d(high), single


def interval_bounds(weights, biases, slopes, low, high) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds (l, u) of every hidden layer over the boxes, by interval arithmetic.
    Shapes (B, width) per layer, or (width,) for one box."""
    lo, hi, single = _batch(low, high)
    out, yl, yu = [], lo, hi
    for W, b, s in zip(weights[:-1], biases[:-1], slopes):
        mid, rad = (0.5 * (yl + yu)) @ W.T + b, (0.5 * (yu - yl)) @ np.abs(W).T
        l, u = mid - rad, mid + rad
        out.append((l, u))
        yl, yu = _act(l, s), _act(u, s)
    return [(l[0], u[0]) for l, u in out] if single else out


def _relaxation(l: np.ndarray, u: np.ndarray, s: float):
    """Per unit, (slope, offset) of the lower line and (slope, offset) of the upper line of σ on [l, u]."""
    unstable = (l < 0) & (u > 0)
    width = np.where(unstable, u - l, 1.0)
    stable_slope = np.where(l >= 0, 1.0, s)
    lam = np.where(unstable, (u - s * l) / width, stable_slope)
    mu = np.where(unstable, (s - lam) * l, 0.0)
    alpha = np.where(unstable, np.where(u >= -l, 1.0, s), stable_slope)
    zero = np.zeros_like(mu)
    if s <= 1.0:
        return (alpha, zero), (lam, mu)
    return (lam, mu), (alpha, zero)


def _back_substitute(C, c, weights, biases, relaxations, k, low, high, *, upper: bool):
    """Bounds of C h_{k−1} + c over each box, substituting back to z.

    C: (B, r, width_{k−1}), c: (B, r). Returns the bounds (B, r) and the final coefficients on z (B, r, m).
    """
    for j in range(k - 1, -1, -1):
        (low_slope, low_offset), (up_slope, up_offset) = relaxations[j]  # (B, width_j) each
        positive, negative = np.maximum(C, 0.0), np.minimum(C, 0.0)
        # h = σ(x): an upper bound uses the upper line under positive coefficients, the lower under negative.
        if upper:
            c = c + np.einsum("brw,bw->br", positive, up_offset) + np.einsum("brw,bw->br", negative, low_offset)
            C = positive * up_slope[:, None, :] + negative * low_slope[:, None, :]
        else:
            c = c + np.einsum("brw,bw->br", positive, low_offset) + np.einsum("brw,bw->br", negative, up_offset)
            C = positive * low_slope[:, None, :] + negative * up_slope[:, None, :]
        c = c + C @ biases[j]
        C = C @ weights[j]
    mid, rad = 0.5 * (low + high), 0.5 * (high - low)
    spread = np.einsum("brm,bm->br", np.abs(C), rad)
    value = np.einsum("brm,bm->br", C, mid) + c
    return (value + spread if upper else value - spread), C


def crown_bounds(weights, biases, slopes, low, high) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds of every hidden layer over the boxes by linear back-substitution,
    intersected with the interval bounds (each is valid, so both are)."""
    lo, hi, single = _batch(low, high)
    bounds = interval_bounds(weights, biases, slopes, lo, hi)
    relaxations = []
    for k, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        if k > 0:
            C = np.broadcast_to(W, (lo.shape[0], *W.shape))
            c = np.broadcast_to(b, (lo.shape[0], b.shape[0]))
            lower, _ = _back_substitute(C, c, weights, biases, relaxations, k, lo, hi, upper=False)
            upper, _ = _back_substitute(C, c, weights, biases, relaxations, k, lo, hi, upper=True)
            l_old, u_old = bounds[k]
            bounds[k] = (np.maximum(l_old, lower), np.minimum(u_old, upper))
        relaxations.append(_relaxation(*bounds[k], slopes[k]))
    return [(l[0], u[0]) for l, u in bounds] if single else bounds


def objective_bounds(weights, biases, slopes, low, high, v: np.ndarray, bounds=None) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of v · f(z) over each box (B,), and the final coefficients on z (B, m), which say
    which side of a box the bound is most sensitive to.

    ``bounds``: the boxes' hidden pre-activation bounds, if already computed (``crown_bounds``).
    """
    lo, hi, _ = _batch(low, high)
    bounds = crown_bounds(weights, biases, slopes, lo, hi) if bounds is None else bounds
    relaxations = [_relaxation(l, u, s) for (l, u), s in zip(bounds, slopes)]
    B = lo.shape[0]
    C = np.broadcast_to((v @ weights[-1])[None, None, :], (B, 1, weights[-1].shape[1]))
    c = np.full((B, 1), float(v @ biases[-1]))
    value, coefficients = _back_substitute(C, c, weights, biases, relaxations, len(weights) - 1, lo, hi, upper=True)
    return value[:, 0], coefficients[:, 0, :]


def output_relaxation(weights, biases, slopes, low, high, bounds=None):
    """Linear functions that sandwich f on each box: A_lo z + c_lo <= f(z) <= A_up z + c_up for every
    z of box b. Returns (A_lo, c_lo, A_up, c_up) of shapes (B, n, m) and (B, n)."""
    lo, hi, _ = _batch(low, high)
    bounds = crown_bounds(weights, biases, slopes, lo, hi) if bounds is None else bounds
    relaxations = [_relaxation(l, u, s) for (l, u), s in zip(bounds, slopes)]
    B, k = lo.shape[0], len(weights) - 1
    C = np.broadcast_to(weights[-1], (B, *weights[-1].shape))
    c = np.broadcast_to(biases[-1], (B, biases[-1].shape[0]))
    mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
    out = []
    for upper in (False, True):
        value, A = _back_substitute(C, c, weights, biases, relaxations, k, lo, hi, upper=upper)
        spread = np.einsum("brm,bm->br", np.abs(A), rad)
        offset = value - (spread if upper else -spread) - np.einsum("brm,bm->br", A, mid)
        out += [A, offset]
    return tuple(out)
