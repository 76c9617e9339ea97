"""Where the preimages of a point lie: branch and bound over the latent box.

For x0 = f(z0) and δ > 0, the set S = {z in the box : ‖f(z) − x0‖∞ <= δ} holds every preimage of every
point of the image within δ of x0. On a sub-box, linear back-substitution (``bounds.output_relaxation``)
gives affine functions with A_lo z + c_lo <= f(z) <= A_up z + c_up, so S meets the sub-box only inside
the polytope

    P = {z in the sub-box : A_lo z + c_lo <= x0 + δ,  A_up z + c_up >= x0 − δ}.

A sub-box is discarded when P is empty, shrunk to P's bounding box (2m linear programs) otherwise,
accepted when it lies inside a given cube around z0, and halved along its widest side (at z0's
coordinate where that side straddles it) when shrinking stalls. When nothing is left, S lies inside
the cube: with the cube inside z0's region, where f is affine of rank m, every point of the image
within δ of x0 has exactly one preimage, condition (i) of weak injectivity.

The bounds and programs are computed in float64 with the margins below; they are sound in exact
arithmetic and not re-checked in rationals (the result says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from models.deadline import Deadline, TimeLimitExceeded
from models.solver import solve_lp
from models.validation import DTYPE

from . import bigm
from .bounds import crown_bounds, output_relaxation
from .tolerances import Frame

# A shrunk side is widened by this much (normalized units) so that the programs' rounding (~1e-9
# feasibility tolerance on variables of order one) never cuts a point of S.
SHRINK_MARGIN = 1e-7
# Shrinking is repeated while a round narrows the sub-box's sides by more than this fraction on
# geometric average (a volume fraction would never stop in high dimension).
SHRINK_GAIN = 0.1
# Sub-boxes bounded together by the cheap test before their programs.
BATCH = 64
# A sub-box narrower than this (normalized units) that is neither discarded nor inside the cube holds
# a point of S outside the cube, up to rounding: its centre is returned as a far point. (A sub-box on
# which f is affine returns a point of S as soon as one lies outside the cube.)
MIN_WIDTH = 1e-9

__all__ = ["Fiber", "localize_fiber"]


@dataclass(frozen=True)
class Fiber:
    """The outcome: ``inside`` True when S lies in the cube, False with ``far`` a point of S (up to
    rounding) outside it, None when the time ran out (``remaining``: the fraction of the box's volume
    still open then); ``boxes`` sub-boxes examined, ``programs`` linear programs solved."""

    inside: bool | None
    boxes: int
    programs: int
    remaining: float
    stopped: str | None = None
    far: np.ndarray | None = None


def _cheap_prune(relax, x0: np.ndarray, delta: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sub-boxes (B,) where some output's linear bounds miss [x0 − δ, x0 + δ] over the whole sub-box."""
    A_lo, c_lo, A_up, c_up = relax
    mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
    least = np.einsum("bnm,bm->bn", A_lo, mid) + c_lo - np.einsum("bnm,bm->bn", np.abs(A_lo), rad)
    most = np.einsum("bnm,bm->bn", A_up, mid) + c_up + np.einsum("bnm,bm->bn", np.abs(A_up), rad)
    return ((least > x0 + delta) | (most < x0 - delta)).any(axis=1)


def _shrink(relax_b, x0: np.ndarray, delta: float, lo: np.ndarray, hi: np.ndarray):
    """P's bounding box (widened by the margin, within the sub-box; None if P is empty), the programs
    solved and a point of P."""
    A_lo, c_lo, A_up, c_up = relax_b
    A = np.vstack([A_lo, -A_up])
    b = np.concatenate([x0 + delta - c_lo, c_up - x0 + delta])
    m = lo.shape[0]
    bounds = list(zip(lo, hi))
    new_lo, new_hi, programs, point = lo.copy(), hi.copy(), 0, None
    for k in range(m):
        for sign in (1.0, -1.0):
            cost = np.zeros(m)
            cost[k] = sign
            result = solve_lp(cost, A_ub=A, b_ub=b, bounds=bounds)
            programs += 1
            if result.status == 2:
                return None, programs, None
            if result.status != 0:
                continue  # not solved: the side stays as it was, which is sound
            point = result.x
            if sign > 0:
                new_lo[k] = max(lo[k], result.fun - SHRINK_MARGIN)
            else:
                new_hi[k] = min(hi[k], -result.fun + SHRINK_MARGIN)
    return (new_lo, new_hi), programs, point


def localize_fiber(frame: Frame, u0: np.ndarray, half: float, delta: float, deadline: Deadline) -> Fiber:
    """Whether every z of the frame's box with ‖f(z) − f(u0)‖∞ <= delta lies in the cube of half-width
    ``half`` around u0 (normalized units; the frame needs a box). Stops at the deadline with ``inside`` None."""
    layers = bigm.Layers.of(frame.unit)
    x0 = frame.unit(torch.as_tensor(u0, dtype=DTYPE)).numpy()
    low, high = frame.box[0].numpy(), frame.box[1].numpy()
    total = float(np.prod(high - low))
    cube_lo, cube_hi = u0 - half, u0 + half
    open_boxes, boxes, programs = [(low, high)], 0, 0
    pending: list = []  # boxes taken from the open list and not yet settled
    try:
        while open_boxes:
            deadline.check(f"the branch and bound of a fiber ({boxes} boxes examined, {len(open_boxes)} open)")
            batch, open_boxes = open_boxes[-BATCH:], open_boxes[:-BATCH]
            lo, hi = np.stack([b[0] for b in batch]), np.stack([b[1] for b in batch])
            boxes += len(batch)
            relax = output_relaxation(layers.weights, layers.biases, layers.slopes, lo, hi)
            keep = ~_cheap_prune(relax, x0, delta, lo, hi) & ~((lo >= cube_lo).all(axis=1) & (hi <= cube_hi).all(axis=1))
            pending = [batch[i] for i in np.flatnonzero(keep)]
            for i in np.flatnonzero(keep):
                deadline.check(f"the branch and bound of a fiber ({boxes} boxes examined, {len(open_boxes) + len(pending)} open)")
                child, used = _settle(layers, [r[i] for r in relax], x0, delta, lo[i], hi[i], cube_lo, cube_hi, deadline)
                programs += used
                pending.pop(0)
                if isinstance(child, np.ndarray):
                    return Fiber(False, boxes, programs, math.nan, far=child)
                open_boxes += child
    except TimeLimitExceeded as stop:
        remaining = sum(float(np.prod(h - l)) for l, h in open_boxes + pending) / total
        return Fiber(None, boxes, programs, remaining, str(stop))
    return Fiber(True, boxes, programs, 0.0)


def _settle(layers, relax_b, x0, delta, lo, hi, cube_lo, cube_hi, deadline):
    """Shrink one sub-box while that pays; return its children to examine (none if discarded) and the programs used."""
    programs = 0
    while True:
        shrunk, used, point = _shrink(relax_b, x0, delta, lo, hi)
        programs += used
        if shrunk is None:
            return [], programs
        new_lo, new_hi = shrunk
        if (new_lo >= cube_lo).all() and (new_hi <= cube_hi).all():
            return [], programs
        if point is not None and _affine_on(layers, lo, hi) and ((point < cube_lo) | (point > cube_hi)).any():
            return point, programs  # the relaxation is f itself here: the point is in S, outside the cube
        ratios = np.maximum(new_hi - new_lo, 1e-300) / (hi - lo)
        gain = 1.0 - float(np.exp(np.mean(np.log(ratios))))
        lo, hi = new_lo, new_hi
        if float((hi - lo).max()) < MIN_WIDTH:
            return 0.5 * (lo + hi), programs
        if gain < SHRINK_GAIN:
            break
        deadline.check("the shrinking of a fiber's sub-box")
        relax_b = [r[0] for r in output_relaxation(layers.weights, layers.biases, layers.slopes, lo[None], hi[None])]
    return _halves(lo, hi, 0.5 * (cube_lo + cube_hi)), programs


def _affine_on(layers, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether every hidden unit keeps its sign on the box (then the linear bounds are f itself)."""
    return all(((l >= 0) | (u <= 0)).all() for l, u in crown_bounds(layers.weights, layers.biases, layers.slopes, lo, hi))


def _halves(lo: np.ndarray, hi: np.ndarray, centre: np.ndarray) -> list:
    k = int(np.argmax(hi - lo))
    cut = centre[k] if lo[k] < centre[k] < hi[k] else 0.5 * (lo[k] + hi[k])
    left_hi, right_lo = hi.copy(), lo.copy()
    left_hi[k], right_lo[k] = cut, cut
    return [(lo, left_hi), (right_lo, hi)]
