"""Two networks that are the same up to a relabelling of their units, and how far apart that leaves them.

A leaky ReLU commutes with positive scaling, σ(c x) = c σ(x) for c > 0, so permuting the units of
a hidden layer and scaling each by c_j > 0 (dividing its outgoing weights by c_j) does not change
the map. ``match_units`` finds, layer by layer, the permutation π and the scales c under which g's
units follow f's: h_g[π] ≈ c ⊙ h_f, by an optimal assignment of the normalized rows (w, b).

``difference_bound`` then bounds |f(z) − g(z)|∞ over a box without solving anything: with
e = h_g[π] − c ⊙ h_f the error of the matched hidden values,

    x_g[π] − c ⊙ x_f = (Ŵ − diag(c) W_f) h_f + (b_g[π] − c ⊙ b_f) + W' e,   |e_next| <= max(1, s) |·|

where Ŵ = W_g[π][:, π_prev] diag(c_prev) and W' = W_g[π][:, π_prev]; |h_f| is bounded over the box
by linear back-substitution (``injectivity.bounds``). On all of R^m, ``difference_growth`` carries
every bound as a + b t, t = ‖z − z̄‖∞: |h_f(z)| <= |h_f(z̄)| + (max(1, s)|W|)···1 t, and each step
is linear in the reaches, so |f(z) − g(z)|∞ <= α + β ‖z − z̄‖∞ everywhere. The bound is sound in exact arithmetic for
the float64 networks: every float64 sum carries a bound of its rounding (the magnitudes of its
terms, as in ``injectivity.bounds``), so ``max |f − g|∞ <= bound`` is a theorem, not an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .injectivity import bigm
from .injectivity.bounds import _coefficient_rounding, _layer_reach, _rounding, crown_bounds

__all__ = ["Matching", "difference_bound", "difference_growth", "match_units"]

# Rows whose normalized (w, b) differ by more than this (relative) are not the same unit.
MATCH_RTOL = 1e-6


@dataclass(frozen=True)
class Matching:
    """Per hidden layer, the permutation (g's unit of each of f's) and the positive scales."""

    permutations: tuple[np.ndarray, ...]
    scales: tuple[np.ndarray, ...]


def match_units(f, g, *, rtol: float = MATCH_RTOL) -> Matching | None:
    """The relabelling under which g's hidden units follow f's, or None when the networks differ in
    shape or slopes, or some unit of f has no counterpart in g within ``rtol``."""
    if f.widths != g.widths or tuple(f.slopes) != tuple(g.slopes):
        return None
    lf, lg = bigm.Layers.of(f), bigm.Layers.of(g)
    perm_prev, scale_prev = np.arange(f.in_dim), np.ones(f.in_dim)
    permutations, scales = [], []
    for Wf, bf, Wg, bg in zip(lf.weights[:-1], lf.biases[:-1], lg.weights[:-1], lg.biases[:-1]):
        rows_f = np.c_[Wf, bf]
        rows_g = np.c_[Wg[:, perm_prev] * scale_prev, bg]
        with np.errstate(over="ignore"):
            norm_f, norm_g = np.linalg.norm(rows_f, axis=1), np.linalg.norm(rows_g, axis=1)
        if (norm_f == 0).any() or (norm_g == 0).any():
            return None  # a dead unit carries no direction to match
        if not (np.isfinite(norm_f).all() and np.isfinite(norm_g).all()):
            return None  # rows too large to normalize in float64
        unit_f, unit_g = rows_f / norm_f[:, None], rows_g / norm_g[:, None]
        _, perm = linear_sum_assignment(-(unit_f @ unit_g.T))  # largest total cosine
        if np.abs(unit_f - unit_g[perm]).max() > rtol:
            return None
        scale = norm_g[perm] / norm_f
        permutations.append(perm)
        scales.append(scale)
        perm_prev, scale_prev = perm, scale
    return Matching(tuple(permutations), tuple(scales))


def _gap(Wg: np.ndarray, scale_in: np.ndarray, Wf: np.ndarray, scale_out: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """An upper bound of |(W_g diag(scale_in) − diag(scale_out) W_f) h| for |h| <= reach, in exact
    arithmetic: the entries' two products and difference, then the sum, each with its rounding bounded."""
    magnitude = (np.abs(Wg) * scale_in + scale_out[:, None] * np.abs(Wf)) @ reach
    return (np.abs(Wg * scale_in - scale_out[:, None] * Wf) @ reach + _rounding(magnitude, Wf.shape[1] + 3)
            + _coefficient_rounding(3, reach.sum()))


def _offset_gap(bg: np.ndarray, bf: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.abs(bg - scale * bf) + _rounding(np.abs(bg) + scale * np.abs(bf), 2)


def _up(x: np.ndarray, terms: int) -> np.ndarray:
    """A nonnegative float sum of ``terms`` terms rounded up past its own rounding."""
    return x + _rounding(x, terms)


def difference_bound(f, g, matching: Matching, low: np.ndarray, high: np.ndarray) -> float:
    """An upper bound of max |f(z) − g(z)|∞ over the box [low, high], sound in exact arithmetic
    (module docstring)."""
    lf, lg = bigm.Layers.of(f), bigm.Layers.of(g)
    bounds = crown_bounds(lf.weights, lf.biases, lf.slopes, low, high)
    h_abs = np.maximum(np.abs(low), np.abs(high))
    error = np.zeros(f.in_dim)
    perm_prev, scale_prev = np.arange(f.in_dim), np.ones(f.in_dim)
    for k, (perm, scale) in enumerate(zip(matching.permutations, matching.scales)):
        Wg = lg.weights[k][perm][:, perm_prev]
        gap = _gap(Wg, scale_prev, lf.weights[k], scale, h_abs) + _offset_gap(lg.biases[k][perm], lf.biases[k], scale)
        gap = _up(gap + np.abs(Wg) @ error, Wg.shape[1] + 2)
        error = _up(max(1.0, lf.slopes[k]) * gap, 1)
        h_abs = _layer_reach(*bounds[k], lf.slopes[k])[1]
        perm_prev, scale_prev = perm, scale
    Wg = lg.weights[-1][:, perm_prev]
    ones = np.ones(Wg.shape[0])
    out = _gap(Wg, scale_prev, lf.weights[-1], ones, h_abs) + _offset_gap(lg.biases[-1], lf.biases[-1], ones)
    bound = float(_up(out + np.abs(Wg) @ error, Wg.shape[1] + 2).max())
    return bound if np.isfinite(bound) else np.inf  # NaN from infinite reaches bounds nothing


def difference_growth(f, g, matching: Matching, centre: np.ndarray) -> tuple[float, float]:
    """(α, β) with |f(z) − g(z)|∞ <= α + β ‖z − z̄‖∞ for every z in R^m (z̄ = ``centre``), sound in
    exact arithmetic (module docstring)."""
    lf, lg = bigm.Layers.of(f), bigm.Layers.of(g)
    centre = np.asarray(centre, dtype=np.float64)
    at_centre = crown_bounds(lf.weights, lf.biases, lf.slopes, centre, centre)
    reach, growth = np.abs(centre), np.ones(f.in_dim)  # |h(z)| <= reach + growth · t
    error, error_growth = np.zeros(f.in_dim), np.zeros(f.in_dim)
    perm_prev, scale_prev = np.arange(f.in_dim), np.ones(f.in_dim)
    for k, (perm, scale) in enumerate(zip(matching.permutations, matching.scales)):
        Wg = lg.weights[k][perm][:, perm_prev]
        terms = Wg.shape[1] + 2
        gap = _gap(Wg, scale_prev, lf.weights[k], scale, reach) + _offset_gap(lg.biases[k][perm], lf.biases[k], scale)
        gap_growth = _gap(Wg, scale_prev, lf.weights[k], scale, growth)
        gain = max(1.0, lf.slopes[k])
        error = _up(gain * _up(gap + np.abs(Wg) @ error, terms), 1)
        error_growth = _up(gain * _up(gap_growth + np.abs(Wg) @ error_growth, terms), 1)
        growth = _up(gain * _up(np.abs(lf.weights[k]) @ growth, lf.weights[k].shape[1]), 1)
        reach = _layer_reach(*at_centre[k], lf.slopes[k])[1]
        perm_prev, scale_prev = perm, scale
    Wg = lg.weights[-1][:, perm_prev]
    ones = np.ones(Wg.shape[0])
    terms = Wg.shape[1] + 2
    alpha = _up(_gap(Wg, scale_prev, lf.weights[-1], ones, reach) + _offset_gap(lg.biases[-1], lf.biases[-1], ones)
                + np.abs(Wg) @ error, terms).max()
    beta = _up(_gap(Wg, scale_prev, lf.weights[-1], ones, growth) + np.abs(Wg) @ error_growth, terms).max()
    alpha, beta = float(alpha), float(beta)
    return (alpha if np.isfinite(alpha) else np.inf), (beta if np.isfinite(beta) else np.inf)
