"""Preimages of one point: solve A_i z = x − c_i inside every linear region.

The regions and the solves are those of the check's normalized frame (``tolerances.frame``),
so that points far from the origin, large offsets or rescalings change nothing: two
preimages are merged only when they are closer than ``SEPARATION_RTOL`` of the frame's
length scale, not of their distance from the origin.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from models.regions import linear_regions
from models.solver import chebyshev_center
from models.validation import DTYPE, check_box, check_tensor

from . import _lp
from ._shared import image_boxes, pieces_of
from .tolerances import Tolerances, check_network, frame, tolerances


class InfinitePreimagesError(ValueError):
    """A point has infinitely many preimages, so they cannot be listed."""


def _check_point(net, x) -> np.ndarray:
    return check_tensor(x, "x", shape=(net.out_dim,)).numpy()


def _solution_set(p: _lp.Piece, x: np.ndarray, tol: Tolerances, resolution: float):
    """Solutions of A z + c = x in the piece: ("none" | "point" | "infinite", point or None)."""
    u, sv, vh = np.linalg.svd(p.A, full_matrices=True)
    rank = int((sv > tol.rank).sum())
    z = vh[:rank].T @ ((u[:, :rank].T @ (x - p.c)) / sv[:rank])
    if np.linalg.norm(p.A @ z + p.c - x) > max(tol.collision, resolution):
        return "none", None
    if rank == p.A.shape[1]:
        inside = np.all(p.G @ z <= p.g + tol.radius)
        return ("point", z) if inside else ("none", None)
    null = vh[rank:].T  # (m, m − rank)
    GN = p.G @ null
    norms = np.linalg.norm(GN, axis=1)
    slack = p.g - p.G @ z
    if np.any((norms <= 1e-14) & (slack < -tol.radius)):
        return "none", None
    keep = norms > 1e-14
    centre, radius = chebyshev_center(GN[keep] / norms[keep, None], slack[keep] / norms[keep], tol.rho)
    if centre is None or radius < -tol.radius:
        return "none", None
    # A positive radius in the null-space coordinates: a positive-dimensional set of preimages.
    return ("infinite", z + null @ centre) if radius > tol.radius else ("point", z + null @ centre)


def unit_preimages(net, x: np.ndarray, box, regions=None, resolution: float = 0.0) -> np.ndarray:
    """The preimages of x under a network already in normalized units (raises when infinitely many)."""
    found, infinite, _ = preimage_scan(net, x, box, regions, resolution)
    if infinite:
        raise InfinitePreimagesError(f"x: has infinitely many preimages (a positive-dimensional set in region {infinite[0]})")
    return found


def preimage_scan(net, x: np.ndarray, box, regions=None, resolution: float = 0.0):
    """(points (k, m), regions with a positive-dimensional solution set, tolerances), all in the units
    of ``net`` (a frame's normalized network). ``resolution``: how precisely x itself is known (a
    float x far from 0 is known to its rounding only), added to the residual tolerance."""
    tol = tolerances(net, box)
    regions = linear_regions(net, box) if regions is None else regions
    pieces = pieces_of(regions)
    boxes = image_boxes(regions, pieces)
    points, infinite = [], []
    for i, p in enumerate(pieces):
        slack = max(tol.collision, resolution)
        if boxes is not None and (np.any(x < boxes[0][i] - slack) or np.any(x > boxes[1][i] + slack)):
            continue
        kind, z = _solution_set(p, x, tol, resolution)
        if kind == "point":
            points.append(z)
        elif kind == "infinite":
            infinite.append(i)
    return _distinct(points, net.in_dim, tol), infinite, tol


def _distinct(points: list[np.ndarray], m: int, tol: Tolerances) -> np.ndarray:
    """Points merged when closer than the separation tolerance (boundary points found in several regions)."""
    kept: list[np.ndarray] = []
    for z in points:
        if all(np.linalg.norm(z - k) > tol.separation * tol.rho for k in kept):
            kept.append(z)
    return np.array(kept).reshape(len(kept), m)


def _resolution(fr, x: np.ndarray) -> float:
    """How precisely a float x and the frame's offset f(anchor) are known, in normalized output units:
    64 ulps of the larger (a point computed as f(z) in float64 carries rounding of that size)."""
    size = max(float(np.abs(x).max()), float(np.abs(fr.f_anchor).max()))
    return 64 * float(np.finfo(np.float64).eps) * size * np.sqrt(x.shape[0]) / fr.out


def preimages(network, x, *, box=None) -> torch.Tensor:
    """All preimages of one point x, as a (k, m) float64 tensor (k = 0 off the image).

    Solves A_i z = x − c_i inside every linear region (of the box, or of R^m when
    ``box`` is None). Points on region boundaries found twice are merged.

    Raises
    ------
    InfinitePreimagesError
        When some region holds a positive-dimensional set of solutions.
    """
    net = check_network(network)
    point = _check_point(net, x)
    check_box(box, net.in_dim)
    fr = frame(net, box)
    found = unit_preimages(fr.unit, fr.output_to_unit(point), fr.box, resolution=_resolution(fr, point))
    return torch.as_tensor(fr.to_latent(found), dtype=DTYPE).reshape(-1, net.in_dim)


def count_preimages(network, x, *, box=None) -> int | float:
    """The number of preimages of x (in the box, or in R^m); ``math.inf`` when infinite."""
    net = check_network(network)
    point = _check_point(net, x)
    check_box(box, net.in_dim)
    fr = frame(net, box)
    found, infinite, _ = preimage_scan(fr.unit, fr.output_to_unit(point), fr.box, resolution=_resolution(fr, point))
    return math.inf if infinite else int(found.shape[0])
