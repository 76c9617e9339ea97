"""Bounds of every hidden unit's pre-activation over boxes: interval arithmetic, then linear
back-substitution (the CROWN / DeepPoly relaxation), so that most units are proved stable.

A leaky ReLU σ(x) = x (x >= 0), s x (x < 0) with 0 <= s <= 1 is convex, so on [l, u] with
l < 0 < u it lies between the lines

    tangent:  σ(x) >= α x,  α = 1 if u >= −l else s      (any α between s and 1 is valid)
    chord:    σ(x) <= λ x + μ,  λ = (u − s l) / (u − l),  μ = (s − λ) l

and is exact on stable units. A slope s > 1 makes σ concave: the chord is then the lower line
and the tangent the upper one. A unit's pre-activation W h + b is bounded by substituting these
relations layer by layer back to the latent z, keeping the sign of each coefficient (upper
relation under positive coefficients of an upper bound, and so on), and maximising the final
linear form over the box in closed form.

The bounds are sound for the float64 network as given, rounding included: every sum of k
products computed in float64 (in any order, with or without fused multiply-add) is within
γ_k = k u / (1 − k u) of its exact value relative to the sum of the terms' magnitudes, plus k
times the smallest subnormal (u = 2^-53, the unit roundoff of round to nearest). Each
computed quantity carries that bound (``_rounding``, with room for the additions that follow),
a coefficient rounded in a product moves its error into the offset through a bound on the
variable it multiplies (the underflow of a subnormal coefficient too: ``_coefficient_rounding``),
and the chord's offset is raised until the line is above σ at both ends in exact arithmetic. An
overflow gives infinite bounds, never NaN: a NaN is read as the side that proves nothing. So ``max over the box <= bound`` is a theorem about the exact
network, not an estimate: the peak and fiber certificates rest on it. They decide which units
need integers in a mixed-integer program, how large its big-M constants are, and which boxes a
branch and bound can discard.

Every function takes a batch of boxes: ``low`` and ``high`` of shape (B, m), and works on all
of them at once (the per-box work is small matrix products that numpy batches well).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["box_maximum", "crown_bounds", "interval_bounds", "objective_bounds", "output_relaxation"]

_EPS = np.finfo(np.float64).eps  # 2u
_TINY = np.finfo(np.float64).tiny  # 2^-1022, above any sum of k < 2^52 subnormal rounding errors
# The spacing of the subnormals: a product that underflows is off by at most half of it, in absolute
# terms. A rounded *coefficient* later multiplies a variable, so that error is scaled by the
# variable's reach (``_coefficient_rounding``); a rounded *value* is covered by ``_TINY``.
_ETA = 2.0 ** -1074


def _rounding(magnitude: np.ndarray, terms: int) -> np.ndarray:
    """A bound of the rounding error of a float64 sum of ``terms`` products whose magnitudes sum to
    ``magnitude`` (itself computed in float64): γ_k (1 + γ_k) is below (k + 4) ε / 2 for k ε < 0.01,
    and the four extra ε cover the addition of the result to a running offset."""
    return (terms + 4) * _EPS * magnitude + (terms + 4) * _TINY


def _quiet(function):
    """Overflow and inf − inf are expected here and handled (``_finite_or``): numpy need not warn."""
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return function(*args, **kwargs)
    return wrapped


def _coefficient_rounding(products: int, reach_sum: np.ndarray) -> np.ndarray:
    """The underflow part of the error of coefficients each formed by ``products`` rounded products,
    multiplying variables whose reaches sum to ``reach_sum``."""
    return (products + 4) * _ETA * reach_sum


def _finite_or(x: np.ndarray, fill: float) -> np.ndarray:
    """NaN (from inf − inf or 0 · inf) replaced by ``fill``, the sound side for an upper (+inf) or lower
    (−inf) bound."""
    return np.where(np.isnan(x), fill, x)


def _act(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x >= 0, x, slope * x)


def _act_down(x: np.ndarray, slope: float) -> np.ndarray:
    """σ(x) rounded toward −∞ (the product s x is the only rounded operation)."""
    return np.where(x >= 0, x, np.nextafter(slope * x, -np.inf))


def _act_up(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x >= 0, x, np.nextafter(slope * x, np.inf))


def _batch(low, high) -> tuple[np.ndarray, np.ndarray, bool]:
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    single = low.ndim == 1
    return np.atleast_2d(low), np.atleast_2d(high), single


def _reach(l: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(l), np.abs(u))


@_quiet
def interval_bounds(weights, biases, slopes, low, high) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds (l, u) of every hidden layer over the boxes, by interval arithmetic.
    Shapes (B, width) per layer, or (width,) for one box."""
    lo, hi, single = _batch(low, high)
    out, yl, yu = [], lo, hi
    for W, b, s in zip(weights[:-1], biases[:-1], slopes):
        positive, negative = np.maximum(W, 0.0), np.minimum(W, 0.0)
        error = _rounding(_reach(yl, yu) @ np.abs(W).T + np.abs(b), W.shape[1] + 1)
        l = _finite_or(yl @ positive.T + yu @ negative.T + b - error, -np.inf)
        u = _finite_or(yu @ positive.T + yl @ negative.T + b + error, np.inf)
        out.append((l, u))
        yl, yu = _act_down(l, s), _act_up(u, s)
    return [(l[0], u[0]) for l, u in out] if single else out


def _relaxation(l: np.ndarray, u: np.ndarray, s: float):
    """Per unit, (slope, offset) of the lower line and (slope, offset) of the upper line of σ on [l, u],
    each valid in exact arithmetic for the floats returned."""
    unstable = (l < 0) & (u > 0)
    width = np.where(unstable, u - l, 1.0)
    stable_slope = np.where(l >= 0, 1.0, s)
    lam = np.where(unstable, (u - s * l) / width, stable_slope)
    mu = np.where(unstable, (s - lam) * l, 0.0)
    # The float chord misses the ends by rounding: move it past them, by what the float gaps show plus
    # a bound of the gaps' own rounding (the line is above, or below, σ at both ends, hence between).
    gap_l, gap_u = _act(l, s) - (lam * l + mu), u - (lam * u + mu)
    room = _rounding(np.abs(lam) * _reach(l, u) + np.abs(mu) + _reach(l, u), 4)
    alpha = np.where(unstable, np.where(u >= -l, 1.0, s), stable_slope)
    zero = np.zeros_like(mu)
    if s <= 1.0:
        mu = np.where(unstable, mu + np.maximum(np.maximum(gap_l, gap_u), 0.0) + room, 0.0)
        return (alpha, zero), (lam, mu)
    mu = np.where(unstable, mu + np.minimum(np.minimum(gap_l, gap_u), 0.0) - room, 0.0)
    return (lam, mu), (alpha, zero)


def _matvec(C: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B, r, w) against (B, w): (B, r)."""
    return np.matmul(C, x[:, :, None])[:, :, 0]


def _through_activation(C, c, error, relaxation, reach_h):
    """C · σ(h) + c <= D · h + c' + error' for h in its bounds (D: the relaxation's slopes under C's signs)."""
    (low_slope, low_offset), (up_slope, up_offset) = relaxation  # (B, width) each
    positive = np.maximum(C, 0.0)
    D = C * low_slope[:, None, :] + positive * (up_slope - low_slope)[:, None, :]
    c = c + _matvec(C, low_offset) + _matvec(positive, up_offset - low_offset)
    # One bound for the rounding of those sums and of D's entries (two products and a sum each:
    # D* h = D h + (D* − D) h with |h| <= reach_h): |C| against each unit's offsets and slopes.
    reach = 2 * (np.abs(up_offset) + np.abs(low_offset) + (up_slope + low_slope) * reach_h)
    error = error + _rounding(_matvec(np.abs(C), reach) + np.abs(c), C.shape[2])
    error = error + _coefficient_rounding(3, reach_h.sum(axis=1))[:, None]
    return D, c, error


def _through_linear(C, c, error, W, b, reach_in):
    """C · (W a + b) + c <= (C W) a + c' + error' for |a| <= reach_in (the float product's rounding bounded)."""
    terms = W.shape[0]
    c = c + C @ b
    absolute = np.abs(C)
    magnitude = absolute @ np.abs(b) + np.abs(c) + _matvec(absolute, reach_in @ np.abs(W).T)
    return C @ W, c, error + _rounding(magnitude, terms) + _coefficient_rounding(terms, reach_in.sum(axis=1))[:, None]


@_quiet
def box_maximum(A, c, low, high) -> np.ndarray:
    """Upper bounds (B, r) of A z + c over each box (A: (B, r, m), c: (B, r)), sound in exact arithmetic."""
    lo, hi, _ = _batch(low, high)
    positive, negative = np.maximum(A, 0.0), np.minimum(A, 0.0)
    value = np.einsum("brm,bm->br", positive, hi) + np.einsum("brm,bm->br", negative, lo) + c
    magnitude = np.einsum("brm,bm->br", np.abs(A), _reach(lo, hi)) + np.abs(c)
    return _finite_or(value + _rounding(magnitude, A.shape[2] + 1), np.inf)


def _shared_step(C, c, relaxation, W, b, reach_in):
    """The first step of ``_upper_form`` when C (r, width) and c (r,) are the same for every box: through
    σ and the layer below at once, as matrix products that never form the (B, r, width) coefficients.

    C σ(h) + c <= Σ_w C_rw (S_bw h_w + o_bw) + c with h = W a + b, S and o the slope and offset of the
    relaxation chosen by the sign of C_rw; the float products are bounded with |a| <= reach_in."""
    (low_slope, low_offset), (up_slope, up_offset) = relaxation  # (B, width) each
    positive = np.maximum(C, 0.0)
    negative = C - positive
    P = np.matmul(positive, up_slope[:, :, None] * W) + np.matmul(negative, low_slope[:, :, None] * W)
    q = (up_slope * b + up_offset) @ positive.T + (low_slope * b + low_offset) @ negative.T + c
    spread = reach_in @ np.abs(W).T + np.abs(b)
    magnitude = ((up_slope + low_slope) * spread + np.abs(up_offset) + np.abs(low_offset)) @ np.abs(C).T + np.abs(q)
    # The slope-times-weight products underflow too, and C scales them: |C| η per product, per variable.
    weight = np.abs(C).sum(axis=1)[None, :] + C.shape[1]
    underflow = _coefficient_rounding(2, 1.0) * weight * (reach_in.sum(axis=1)[:, None] + 1.0)
    return P, q, _rounding(magnitude, C.shape[1] + 4) + underflow


def _upper_form(C, c, weights, biases, relaxations, reaches, k, low, high):
    """An affine upper bound P z + q of C h_{k−1} + c on each box, valid in exact arithmetic, where
    h_{k−1} is the output of hidden layer k − 1 (after σ). C: (B, r, width_{k−1}) and c: (B, r), or
    C: (r, width_{k−1}) and c: (r,) or (B, r) when C is the same for every box.
    ``reaches[j]``: bounds of |h_j| before and after σ, (B, width_j) each."""
    def reach_below(j):
        return reaches[j - 1][1] if j > 0 else _reach(low, high)

    top = k - 1
    if C.ndim == 2:
        C, c, error = _shared_step(C, c, relaxations[top], weights[top], biases[top], reach_below(top))
        top -= 1
    else:
        error = np.zeros_like(c)
    for j in range(top, -1, -1):
        C, c, error = _through_activation(C, c, error, relaxations[j], reaches[j][0])
        C, c, error = _through_linear(C, c, error, weights[j], biases[j], reach_below(j))
    return C, c + error * (1.0 + 16 * _EPS)


def _pair_of_forms(C, c, weights, biases, relaxations, reaches, k, low, high):
    """Affine bounds (lower, upper) of C h_{k−1} + c, each as (P, q): the lower from the upper of −C."""
    P_up, q_up = _upper_form(C, c, weights, biases, relaxations, reaches, k, low, high)
    P_neg, q_neg = _upper_form(-C, -c, weights, biases, relaxations, reaches, k, low, high)
    return (-P_neg, -q_neg), (P_up, q_up)


def _layer_reach(l: np.ndarray, u: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    return _reach(l, u), _reach(_act_down(l, s), _act_up(u, s))


@_quiet
def crown_bounds(weights, biases, slopes, low, high) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds of every hidden layer over the boxes by linear back-substitution,
    intersected with the interval bounds (each is valid, so both are)."""
    lo, hi, single = _batch(low, high)
    bounds = interval_bounds(weights, biases, slopes, lo, hi)
    relaxations, reaches = [], []
    for k, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        l_old, u_old = bounds[k]
        # Only units that the intervals leave unstable on some box of the batch gain from substitution.
        rows = np.flatnonzero(((l_old < 0) & (u_old > 0)).any(axis=0)) if k > 0 else np.zeros(0, dtype=np.int64)
        if len(rows):
            (P_lo, q_lo), (P_up, q_up) = _pair_of_forms(W[rows], b[rows], weights, biases, relaxations, reaches, k, lo, hi)
            l_new, u_new = l_old.copy(), u_old.copy()
            l_new[:, rows] = np.fmax(l_old[:, rows], -box_maximum(-P_lo, -q_lo, lo, hi))
            u_new[:, rows] = np.fmin(u_old[:, rows], box_maximum(P_up, q_up, lo, hi))
            bounds[k] = (l_new, u_new)
        relaxations.append(_relaxation(*bounds[k], slopes[k]))
        reaches.append(_layer_reach(*bounds[k], slopes[k]))
    return [(l[0], u[0]) for l, u in bounds] if single else bounds


def _prepared(weights, biases, slopes, low, high, bounds):
    lo, hi, _ = _batch(low, high)
    bounds = crown_bounds(weights, biases, slopes, lo, hi) if bounds is None else bounds
    relaxations = [_relaxation(l, u, s) for (l, u), s in zip(bounds, slopes)]
    reaches = [_layer_reach(l, u, s) for (l, u), s in zip(bounds, slopes)]
    return lo, hi, relaxations, reaches


@_quiet
def objective_bounds(weights, biases, slopes, low, high, v: np.ndarray, bounds=None) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of v · f(z) over each box (B,), sound in exact arithmetic, and the final
    coefficients on z (B, m), which say which side of a box the bound is most sensitive to.

    ``bounds``: the boxes' hidden pre-activation bounds, if already computed (``crown_bounds``).
    """
    lo, hi, relaxations, reaches = _prepared(weights, biases, slopes, low, high, bounds)
    B, k = lo.shape[0], len(weights) - 1
    v = np.asarray(v, dtype=np.float64)
    W, b = weights[-1], biases[-1]
    # v · (W h + b) = (vᵀW) h + v · b, the float product's rounding bounded with |h| <= its reach.
    reach = reaches[-1][1] if k else _reach(lo, hi)
    C, c = (v @ W)[None, :], np.array([v @ b])
    error = _rounding(reach @ (np.abs(v) @ np.abs(W))[:, None] + np.abs(v) @ np.abs(b) + np.abs(c), W.shape[0])
    error = error + _coefficient_rounding(W.shape[0], reach.sum(axis=1))[:, None]
    if k:
        P, q = _upper_form(C, c + error, weights, biases, relaxations, reaches, k, lo, hi)
    else:
        P, q = np.broadcast_to(C, (B, *C.shape)), c + error
    return box_maximum(P, q, lo, hi)[:, 0], P[:, 0, :]


@_quiet
def output_relaxation(weights, biases, slopes, low, high, bounds=None):
    """Linear functions that sandwich f on each box: A_lo z + c_lo <= f(z) <= A_up z + c_up for every
    z of box b, in exact arithmetic. Returns (A_lo, c_lo, A_up, c_up) of shapes (B, n, m) and (B, n)."""
    lo, hi, relaxations, reaches = _prepared(weights, biases, slopes, low, high, bounds)
    B, k = lo.shape[0], len(weights) - 1
    W, b = weights[-1], biases[-1]
    if not k:
        C = np.broadcast_to(W, (B, *W.shape))
        c = np.broadcast_to(b, (B, b.shape[0]))
        return C, c, C, c
    (A_lo, c_lo), (A_up, c_up) = _pair_of_forms(W, b, weights, biases, relaxations, reaches, k, lo, hi)
    return A_lo, c_lo, A_up, c_up
