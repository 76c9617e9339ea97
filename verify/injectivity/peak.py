"""Condition (i) of weak injectivity on a box at a peak: a point where a linear functional of f peaks.

Take a corner z0 of the box inside a region whose exact piece A0 has rank m, and v with A0ᵀ v = g,
g the signs of the corner (so that near z0, v · f(z) = g · z + const is largest at z0 among the
box's points). If v · f(z) < v · f(z0) for every z of the box outside the cube C of half-width
r / √m around z0 (r: z0's distance to the nearest hyperplane of its region, so that f is affine,
injective, on C), then with δ = (v · f(z0) − max_far v · f) / ‖v‖ every point of the image within δ
of x0 = f(z0) has all its preimages in C, hence exactly one: condition (i) holds, and (ii) holds by
the full-rank piece.

The maximum of v · f away from C is bounded by branch and bound over the box: a box is pruned when
the linear back-substitution bound (``bounds.objective_bound``) of v · f on it is below v · f(z0),
and split along its longest side otherwise. The bounds are sound in exact arithmetic and computed
in float64 with a margin; they are not re-checked in rationals.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch

from models.deadline import Deadline
from models.regions import pattern_halfspaces
from models.validation import DTYPE

from ..exact import qcol, rank
from . import bigm
from .bounds import objective_bounds
from .tolerances import Frame

# A box's bound must fall below the peak by this fraction of the peak's size (float64 rounding of the
# back-substitution is ~1e-13 of the terms).
PEAK_MARGIN = 1e-10
# Boxes narrower than this (normalized units) that cannot be pruned show a far point as high as the peak.
MIN_WIDTH = 1e-12
# Boxes bounded together: enough to amortise numpy's per-call cost, few enough to keep the order best-first.
BATCH = 64
# Points sampled to see whether a corner is the highest point of its functional before branching.
PEAK_SAMPLES = 2048


@dataclass(frozen=True)
class Peak:
    """A certified peak: z0 (normalized), the functional v, the peak value, the far bound and δ (normalized)."""

    u0: np.ndarray
    v: np.ndarray
    peak: float
    far_bound: float
    delta: float
    radius: float
    boxes: int
    pattern: np.ndarray


def _corner(frame: Frame, signs: np.ndarray) -> np.ndarray:
    low, high = frame.box[0].numpy(), frame.box[1].numpy()
    return np.where(signs > 0, high, low)


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
    by default the one that makes the corner a local peak (A0ᵀ v = signs)."""
    net = frame.unit
    u0 = _corner(frame, signs)
    pattern = frame.exact.pattern(qcol(frame.to_latent(u0)))
    radius = _region_radius(frame, u0, pattern)
    a0, _ = frame.exact.piece(pattern)
    if not radius > 0 or rank(a0) != net.in_dim:
        return None
    A0 = net.local_affine(torch.as_tensor(u0, dtype=DTYPE))[0].numpy()
    if v is None or np.any(signs * (A0.T @ v) <= 0):
        v = np.linalg.lstsq(A0.T, signs.astype(np.float64), rcond=None)[0]
    peak = float(net(torch.as_tensor(u0, dtype=DTYPE)).numpy() @ v)
    if _sampled_max(frame, v, generator) > peak + PEAK_MARGIN * max(abs(peak), 1.0):
        return None
    far = _far_maximum(frame, u0, v, peak, radius / math.sqrt(net.in_dim), deadline)
    if far is None:
        return None
    far_bound, boxes = far
    return Peak(u0, v, peak, far_bound, (peak - far_bound) / float(np.linalg.norm(v)), radius, boxes, pattern)


def _sampled_max(frame: Frame, v: np.ndarray, generator: torch.Generator) -> float:
    low, high = frame.box
    m = frame.unit.in_dim
    z = low + (high - low) * torch.rand(PEAK_SAMPLES, m, generator=generator, dtype=DTYPE)
    # Corners too: the highest values of a nearly affine function sit there.
    corners = torch.where(torch.rand(PEAK_SAMPLES, m, generator=generator) < 0.5, low, high)
    return float((frame.unit(torch.cat([z, corners])).numpy() @ v).max())


def _far_maximum(frame: Frame, u0: np.ndarray, v: np.ndarray, peak: float, half: float, deadline: Deadline):
    """(an upper bound of v · f on the box outside the cube of half-width ``half`` around u0, boxes
    examined), or None when some far box cannot be pushed below the peak.

    The far part of the box is the union of m slabs (the box with one coordinate kept at least
    ``half`` away from the corner's), none of which contains the peak, so a nearly affine f is
    settled by a few boxes. Boxes are taken highest bound first, ``BATCH`` at a time, and halved
    along their longest side.
    """
    layers = bigm.Layers.of(frame.unit)
    low, high = frame.box[0].numpy(), frame.box[1].numpy()
    margin = PEAK_MARGIN * max(abs(peak), 1.0)
    heap, counter = [], 0
    for k in range(len(u0)):
        lo, hi = low.copy(), high.copy()
        if u0[k] >= high[k]:
            hi[k] = u0[k] - half
        else:
            lo[k] = u0[k] + half
        if lo[k] < hi[k]:
            heap.append((-math.inf, counter, lo, hi))
            counter += 1
    far_bound, boxes = -math.inf, 0
    while heap:
        deadline.check(f"the branch and bound of a peak ({boxes} boxes examined, {len(heap)} open)")
        batch = [heapq.heappop(heap)[2:] for _ in range(min(BATCH, len(heap)))]
        lo = np.stack([b[0] for b in batch])
        hi = np.stack([b[1] for b in batch])
        boxes += len(batch)
        bound, _ = objective_bounds(layers.weights, layers.biases, layers.slopes, lo, hi, v)
        pruned = bound < peak - margin
        if pruned.any():
            far_bound = max(far_bound, float(bound[pruned].max()))
        for i in np.flatnonzero(~pruned):
            widths = hi[i] - lo[i]
            k = int(np.argmax(widths))
            if widths[k] <= MIN_WIDTH:
                return None  # a far point as high as the peak: not a strict peak
            mid = 0.5 * (lo[i, k] + hi[i, k])
            left_hi, right_lo = hi[i].copy(), lo[i].copy()
            left_hi[k], right_lo[k] = mid, mid
            for child in ((lo[i], left_hi), (right_lo, hi[i])):
                heapq.heappush(heap, (-float(bound[i]), counter, *child))
                counter += 1
    return far_bound, boxes


def find_peak(frame: Frame, deadline: Deadline, generator: torch.Generator, *, attempts: int = 6) -> Peak | None:
    """A certified peak, trying functionals and corners in turn: the dominant functional at its highest
    corner, the functional that makes that corner a local peak, then random corners."""
    m = frame.unit.in_dim
    v = dominant_functional(frame, generator)
    signs = highest_corner(frame, v)
    candidates = [(signs, v), (signs, None)]
    for _ in range(attempts - 2):
        candidates.append((np.where(torch.rand(m, generator=generator).numpy() < 0.5, -1.0, 1.0), None))
    for signs, functional in candidates:
        found = certify_peak(frame, signs, deadline, generator, functional)
        if found is not None:
            return found
    return None
