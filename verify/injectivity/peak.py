"""Condition (i) of weak injectivity on a box at a peak: a point where a linear functional of f peaks.

Take a corner z0 of the box strictly inside a region whose exact piece (A0, c0) has rank m, and v
with A0ᵀ v = g, g the signs of the corner (so that near z0, v · f(z) = g · z + const is largest at z0
among the box's points). Cover the box by boxes of two kinds: those on which every unit is proved to
keep its sign at z0 (f = A0 z + c0 there: their union U is mapped injectively), and those on which
v · f is proved below v · f(z0). With δ = (v · f(z0) − max over the second kind) / ‖v‖₁, every point
of the image within ∞-distance δ of x0 = f(z0) has all its preimages in U, hence exactly one:
condition (i) holds, and (ii) holds by the full-rank piece.

The cover is found by branch and bound: a box is settled when the linear back-substitution bounds
(``bounds``) prove it of either kind, and halved along its longest side otherwise. The certificate
is proved on the network and the box as given, not on the normalized ones: v · f(z0) is computed in
rationals, the bounds are sound with every rounding bounded, and the boxes are float boxes that
cover the box exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from flint import fmpq

from models.deadline import Deadline, TimeLimitExceeded
from models.regions import pattern_halfspaces
from models.validation import DTYPE

from ..exact import q, qcol, qmat, rank, to_float
from . import bigm
from .bounds import crown_bounds, objective_bounds
from .tolerances import Frame

# A corner is tried only when no sampled point is higher by this fraction of the peak's size (a guide:
# the certificate itself compares sound bounds with the exact peak, with no margin).
PEAK_MARGIN = 1e-10
# Boxes narrower than this fraction of the box's widest side that cannot be pruned show a far point
# as high as the peak, up to rounding.
MIN_WIDTH = 1e-12
# Boxes bounded together: enough to amortise numpy's per-call cost.
BATCH = 256
# Points sampled to see whether a corner is the highest point of its functional before branching.
PEAK_SAMPLES = 2048


@dataclass(frozen=True)
class Peak:
    """A certified peak: the corner (normalized units, and as given), the functional v, v · f at the corner (rounded down)
    and the bound of v · f away from it (network as given), δ in the network's output units, the
    distance r from the corner to its region's boundary (normalized), the boxes examined, those proved
    on the corner's piece, and the corner's activation pattern."""

    u0: np.ndarray
    z0: np.ndarray
    v: np.ndarray
    peak: float
    far_bound: float
    delta: float
    radius: float
    boxes: int
    on_piece: int
    pattern: np.ndarray


def _region_radius(frame: Frame, u0: np.ndarray, pattern: np.ndarray) -> float:
    """u0's distance to the nearest unit hyperplane of its region (box faces excluded)."""
    G, g, _, _ = pattern_halfspaces(frame.unit, pattern, None)
    if G.shape[0] == 0:
        return math.inf
    return float((g - G @ u0).min())


def dominant_functional(frame: Frame, generator: torch.Generator) -> np.ndarray:
    """A functional v whose v · f is as close to affine as samples show: the direction that maximises the
    affine part of f against what the affine fit leaves (a generalised eigenvector), so that v · f has a
    clear highest corner."""
    low, high = frame.box
    z = low + (high - low) * torch.rand(PEAK_SAMPLES, frame.unit.in_dim, generator=generator, dtype=DTYPE)
    x = frame.unit(z).numpy()
    design = np.c_[z.numpy(), np.ones(len(z))]
    coefficients = np.linalg.lstsq(design, x, rcond=None)[0]
    A = coefficients[:-1].T
    residual = x - design @ coefficients
    n = x.shape[1]
    spread = residual.T @ residual / len(residual) + 1e-12 * np.eye(n)
    _, vectors = scipy.linalg.eigh(A @ A.T, spread)
    return vectors[:, -1]


def highest_corner(frame: Frame, v: np.ndarray) -> np.ndarray:
    """A corner of the box where v · f is highest among its neighbours (greedy flips of one sign at a time),
    starting from the corner of the signs of the affine part."""
    m = frame.unit.in_dim
    low, high = frame.box[0].numpy(), frame.box[1].numpy()
    signs = np.ones(m)
    for _ in range(4 * m):
        candidates = np.vstack([signs, signs * (1 - 2 * np.eye(m))])
        values = frame.unit(torch.as_tensor(np.where(candidates > 0, high, low), dtype=DTYPE)).numpy() @ v
        best = int(np.argmax(values))
        if best == 0:
            break
        signs = candidates[best]
    return signs


def certify_peak(frame: Frame, signs: np.ndarray, deadline: Deadline, generator: torch.Generator, v: np.ndarray | None = None) -> Peak | None:
    """The certificate at the corner of ``signs`` (±1 per coordinate), or None when it does not hold
    there (a rank-deficient or ambiguous corner, or a higher point elsewhere). ``v``: the functional,
    by default the one that makes the corner a local peak (A0ᵀ v = signs).

    The functional is found in the frame's normalized units; the certificate is then proved on the
    network as given, on the box as given (``Frame.latent_box``): the corner z0 is a float corner of
    that box, v · f(z0) is exact, and the bounds are sound (``bounds``)."""
    m = frame.unit.in_dim
    low, high = (t.numpy() for t in frame.latent_box)
    z0 = np.where(signs > 0, high, low)
    u0 = frame.to_unit(z0)
    pattern = frame.exact.pattern(qcol(z0))
    radius = _region_radius(frame, u0, pattern)
    if not radius > 0 or rank(frame.exact.piece(pattern)[0]) != m:
        return None
    A0 = frame.unit.local_affine(torch.as_tensor(u0, dtype=DTYPE))[0].numpy()
    if v is None or np.any(signs * (A0.T @ v) <= 0):
        v = np.linalg.lstsq(A0.T, signs.astype(np.float64), rcond=None)[0]
    guess = float(frame.unit(torch.as_tensor(u0, dtype=DTYPE)).numpy() @ v)
    if _sampled_max(frame, v, generator) > guess + PEAK_MARGIN * max(abs(guess), 1.0):
        return None
    peak = (qmat(v[None, :]) * frame.exact.forward(qcol(z0))[0])[0, 0]
    far = _far_maximum(frame, pattern, v, peak, deadline)
    if far is None:
        return None
    far_bound, boxes, on_piece = far
    # ‖x − x0‖∞ <= δ < (peak − far) / ‖v‖₁ gives v · x > far, above every pruned box: δ is rounded strictly below.
    norm = sum((q(abs(float(x))) for x in v), fmpq(0))
    delta = math.inf if far_bound == -math.inf else float(np.nextafter(to_float_below((peak - q(far_bound)) / norm), -np.inf))
    return Peak(u0, z0, v, to_float_below(peak), far_bound, delta, radius, boxes, on_piece, pattern)


def to_float_below(value: fmpq) -> float:
    """The largest float64 not above an exact rational."""
    x = to_float(value)
    return float(np.nextafter(x, -np.inf)) if q(x) > value else x


def _sampled_max(frame: Frame, v: np.ndarray, generator: torch.Generator) -> float:
    low, high = frame.box
    m = frame.unit.in_dim
    z = low + (high - low) * torch.rand(PEAK_SAMPLES, m, generator=generator, dtype=DTYPE)
    # Corners too: the highest values of a nearly affine function sit there.
    corners = torch.where(torch.rand(PEAK_SAMPLES, m, generator=generator) < 0.5, low, high)
    return float((frame.unit(torch.cat([z, corners])).numpy() @ v).max())


def _on_piece(bounds, pattern: np.ndarray) -> np.ndarray:
    """Boxes (B,) on which every unit is proved to keep the sign it has in ``pattern`` (so f is that piece)."""
    l = np.concatenate([b[0] for b in bounds], axis=1)
    u = np.concatenate([b[1] for b in bounds], axis=1)
    return np.where(pattern[None, :], l >= 0, u <= 0).all(axis=1)


def _halves(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Both halves of every box (B, m) along its longest side, at the float midpoint (so that they cover
    the box), as (2B, m) arrays; None when some side can no longer be halved."""
    rows = np.arange(lo.shape[0])
    k = np.argmax(hi - lo, axis=1)
    mid = 0.5 * (lo[rows, k] + hi[rows, k])
    if not np.all((lo[rows, k] < mid) & (mid < hi[rows, k])):
        return None
    left_hi, right_lo = hi.copy(), lo.copy()
    left_hi[rows, k], right_lo[rows, k] = mid, mid
    return np.vstack([lo, right_lo]), np.vstack([left_hi, hi])


def _far_maximum(frame: Frame, pattern: np.ndarray, v: np.ndarray, peak: fmpq, deadline: Deadline):
    """(an upper bound of v · f on the box away from the piece of ``pattern``, below the exact ``peak``;
    boxes examined; boxes proved on the piece), or None when some box can be neither pushed below the
    peak nor proved on the piece.

    Open boxes are kept as a stack of arrays, ``BATCH`` bounded at a time (depth first, so that a box
    that cannot be settled is met early), and halved along their longest side. At the deadline the
    ``TimeLimitExceeded`` raised carries ``remaining``: the fraction of the box's volume still open.
    """
    layers = bigm.Layers.of(frame.network)
    low, high = (t.numpy() for t in frame.latent_box)
    below = to_float_below(peak)
    open_lo, open_hi = low[None, :], high[None, :]
    far_bound, boxes, on_piece = -math.inf, 0, 0
    narrowest = MIN_WIDTH * float((high - low).max())
    while len(open_lo):
        try:
            deadline.check(f"the branch and bound of a peak ({boxes} boxes examined, {len(open_lo)} open)")
        except TimeLimitExceeded as stop:
            stop.remaining = float(np.prod((open_hi - open_lo) / np.where(high > low, high - low, 1.0), axis=1).sum())
            raise
        lo, hi = open_lo[-BATCH:], open_hi[-BATCH:]
        open_lo, open_hi = open_lo[:-BATCH], open_hi[:-BATCH]
        boxes += len(lo)
        hidden = crown_bounds(layers.weights, layers.biases, layers.slopes, lo, hi)
        bound, _ = objective_bounds(layers.weights, layers.biases, layers.slopes, lo, hi, v, bounds=hidden)
        pruned = bound < below
        settled = pruned | _on_piece(hidden, pattern)
        on_piece += int((settled & ~pruned).sum())
        if pruned.any():
            far_bound = max(far_bound, float(bound[pruned].max()))
        lo, hi = lo[~settled], hi[~settled]
        if not len(lo):
            continue
        halves = _halves(lo, hi) if float((hi - lo).max(axis=1).min()) > narrowest else None
        if halves is None:
            return None  # a point as high as the peak off its piece, up to rounding: not a strict peak
        open_lo, open_hi = np.vstack([open_lo, halves[0]]), np.vstack([open_hi, halves[1]])
    return far_bound, boxes, on_piece


# Rounds of nudging a functional toward a local peak at its highest corner, and the least slope (a
# fraction of the mean) it keeps along each coordinate there.
NUDGE_ROUNDS = 8
NUDGE_FLOOR = 0.1


def nudged_functional(frame: Frame, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signs, v'): v moved as little as possible (least squares) so that its highest corner is a local
    peak of v' · f within the corner's piece (every coordinate's slope pointing into the box), the
    corner found again after each move. A dominant functional rarely has that by itself in high m."""
    low, high = frame.box[0].numpy(), frame.box[1].numpy()
    signs = highest_corner(frame, v)
    for _ in range(NUDGE_ROUNDS):
        A0 = frame.unit.local_affine(torch.as_tensor(np.where(signs > 0, high, low), dtype=DTYPE))[0].numpy()
        g = A0.T @ v
        if np.all(signs * g > 0):
            break
        target = signs * np.maximum(signs * g, NUDGE_FLOOR * float(np.abs(g).mean()))
        v = v + A0 @ np.linalg.lstsq(A0.T @ A0, target - g, rcond=None)[0]
        signs = highest_corner(frame, v)
    return signs, v


def find_peak(frame: Frame, deadline: Deadline, generator: torch.Generator, *, attempts: int = 6) -> Peak | None:
    """A certified peak, trying functionals and corners in turn: the dominant functional at its highest
    corner, the same functional nudged into a local peak, the functional that makes the first corner a
    local peak, then random corners."""
    m = frame.unit.in_dim
    v = dominant_functional(frame, generator)
    signs = highest_corner(frame, v)
    candidates = [(signs, v), nudged_functional(frame, v), (signs, None)]
    for _ in range(attempts - 3):
        candidates.append((np.where(torch.rand(m, generator=generator).numpy() < 0.5, -1.0, 1.0), None))
    for signs, functional in candidates:
        found = certify_peak(frame, signs, deadline, generator, functional)
        if found is not None:
            return found
    return None
