"""The LP-based enumeration of linear regions that ``models.region_engine`` replaced.

Kept as the baseline of ``bench_regions.py`` and as an independent reference for the engine's
tests: it splits cells with Qhull vertices and Chebyshev linear programs (HiGHS), sharing no
splitting code with the engine.

Linear regions of a leaky-ReLU network, enumerated exactly in float64.

A linear region is a full-dimensional cell on which every hidden unit keeps one
side of its threshold, so that f is one affine map A z + c there. The cells are
found by layer-by-layer splitting: the domain (a box, or all of R^m) is one
cell; on a cell the pre-activation of every unit of the next layer is affine,
so each unit either keeps one sign on the cell or cuts it into two cells, one
per side. A pattern fixes every pre-activation as an affine function, so each
cell is convex and is keyed by its pattern.

Decisions. On a bounded cell the vertices are known (Qhull, from an interior
point), and a unit is *stable* when its hyperplane leaves at most a sliver of
depth ``radius_tol`` on one side (depth measured at the vertices); otherwise it
cuts the cell. Unbounded cells (``box=None``), and the rare cells where Qhull
fails, are decided by Chebyshev linear programs (HiGHS) instead. A cell counts
as a region when its Chebyshev radius exceeds ``radius_tol``; the default is
``RADIUS_RTOL`` (1e-9) times the scale of the domain, ``box_scale``: the largest
|coordinate| of the box, or for ``box=None`` max(1, the largest distance of a
first-layer hyperplane from the origin). Slivers thinner than that are dropped,
so points within about ``radius_tol`` of a region's boundary may be assigned to
a neighbour; sampled points land there with negligible probability.

Units that are constant on a cell (slope-0 units behind a dead layer, zero rows)
are stable by the same vertex test; a constant 0 counts as active, as in
``LeakyReLUNetwork.activation_pattern``.

Sizes reached (one process on a two-core machine, float64, networks from
``models.random.random_network((m, *hidden, m + 1), 0.2, injective=False)``,
seeds 0-2, box [-3, 3]^m):

    m  hidden          regions          seconds
    2  (16,)           83-110           0.03
    2  (16, 16)        266-285          0.1-0.2
    2  (16, 16, 16)    406-628          0.2-0.25
    3  (16,)           336-515          0.1-0.16
    3  (16, 16)        1516-2285        0.6-0.8
    3  (16, 16, 16)    2593-5590        1.2-2.4
    4  (16, 16)        7152-13060       3-6

The time is about 0.4 ms per region; the number of regions grows like
width^(m·depth) at worst, so m <= 3 with widths <= 16 and up to three hidden
layers is practical, and higher m only for narrow networks. ``box=None`` (all of
R^m) runs on linear programs alone and is about ten times slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.spatial import HalfspaceIntersection, QhullError

from models.deadline import Deadline
from models.leaky_relu_network import LeakyReLUNetwork
from models.solver import chebyshev_center, chebyshev_centers
from models.validation import check_box, check_instance, check_real

__all__ = ["EXACT_MAX_DIM", "RADIUS_RTOL", "Region", "box_scale", "count_linear_regions", "default_radius_tolerance",
           "linear_regions"]

RADIUS_RTOL = 1e-9
"""Relative Chebyshev radius below which a cell is not full-dimensional."""

EXACT_MAX_DIM = 3
"""Largest latent dimension for which the checks enumerate regions by default: the number of
regions grows like width^(m·depth), see the table above."""

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class Region:
    """One linear region: f(z) = A z + c for z in {G z <= g}.

    Attributes
    ----------
    pattern : Tensor, shape (H,), bool
        Active hidden units (pre-activation >= 0), over all hidden layers, as
        ``LeakyReLUNetwork.activation_pattern``.
    A : Tensor, shape (n, m)
    c : Tensor, shape (n,)
    halfspaces : tuple of Tensor
        (G of shape (k, m), g of shape (k,)), meaning G z <= g; rows have unit
        norm and include the faces of the box.
    interior_point : Tensor, shape (m,)
        A Chebyshev centre of the cell.
    radius : float
        Its Chebyshev radius (capped at the domain scale for unbounded cells).
    vertices : Tensor of shape (v, m), or None
        The vertices of a bounded cell (possibly repeated); None when unbounded
        or not computed.
    """

    pattern: torch.Tensor
    A: torch.Tensor
    c: torch.Tensor
    halfspaces: tuple[torch.Tensor, torch.Tensor]
    interior_point: torch.Tensor
    radius: float
    vertices: torch.Tensor | None = None

    def contains(self, z: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
        """Whether points z of shape (N, m) satisfy G z <= g + tol, shape (N,)."""
        G, g = self.halfspaces
        z = torch.as_tensor(z, dtype=G.dtype, device=G.device)
        return ((z.reshape(-1, G.shape[1]) @ G.T) <= g + tol).all(dim=1)


@dataclass
class _Cell:
    """A cell during splitting: H-representation, a point inside, and the layer-input map h = M z + d."""

    G: np.ndarray
    g: np.ndarray
    point: np.ndarray
    radius: float | None  # Chebyshev radius when known
    vertices: np.ndarray | None
    M: np.ndarray
    d: np.ndarray
    bits: list


# ---------------------------------------------------------------------- boxes
def box_scale(network: LeakyReLUNetwork, box: Any) -> float:
    """The length scale of a domain: max |coordinate| of the box, or for R^m
    max(1, largest distance of a first-layer hyperplane from the origin)."""
    bounds = check_box(box, network.in_dim)
    if bounds is not None:
        return max(float(torch.maximum(bounds[0].abs(), bounds[1].abs()).max()), 1e-300)
    w = network.weights[0].detach().cpu().double()
    b = network.biases[0].detach().cpu().double()
    norms = w.norm(dim=1)
    # Rows that are zero next to the others would put their (meaningless) hyperplane at infinity.
    usable = norms > 1e-8 * float(norms.max())
    offsets = torch.where(usable, b.abs() / norms.clamp_min(1e-300), torch.zeros_like(b))
    return max(1.0, float(offsets.max()))


def default_radius_tolerance(network: LeakyReLUNetwork, box: Any) -> float:
    """``RADIUS_RTOL`` × ``box_scale(network, box)``."""
    return RADIUS_RTOL * box_scale(network, box)


def _box_halfspaces(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eye = np.eye(low.shape[0])
    return np.vstack([eye, -eye]), np.concatenate([high, -low])


# ---------------------------------------------------------------------- vertices
def _vertices(G: np.ndarray, g: np.ndarray, point: np.ndarray) -> np.ndarray | None:
    """Vertices of the bounded polytope {G z <= g} from a strictly interior point, or None on failure."""
    if G.shape[1] == 1:
        col = G[:, 0]
        upper = g[col > 0] / col[col > 0]
        lower = g[col < 0] / col[col < 0]
        if upper.size == 0 or lower.size == 0:
            return None
        return np.array([[lower.max()], [upper.min()]])
    try:
        return HalfspaceIntersection(np.hstack([G, -g[:, None]]), point).intersections
    except (QhullError, ValueError):
        return None


# ---------------------------------------------------------------------- splitting
def _unit(a: np.ndarray, beta: float) -> tuple[np.ndarray, float] | None:
    """The hyperplane a·z + beta = 0 with a unit normal, or None when a = 0 (or a ≈ 0 next to beta).

    Scaled by max |a_k| first, so that tiny weights (whose squares underflow) keep their hyperplane.
    """
    top = np.abs(a).max() if a.size else 0.0
    if top == 0 or abs(beta) > 1e300 * top:
        return None  # constant, or a hyperplane beyond the floating-point range: the sign of beta decides
    a, beta = a / top, beta / top
    norm = np.linalg.norm(a)
    return a / norm, beta / norm


def _cut(cell: _Cell, a: np.ndarray, beta: float, active: bool) -> tuple[np.ndarray, np.ndarray]:
    """The H-representation of the cell's side where a·z + beta >= 0 (active) or <= 0; ‖a‖ = 1."""
    row, rhs = (-a, beta) if active else (a, -beta)
    return np.vstack([cell.G, row]), np.append(cell.g, rhs)


def _side_point(vertices: np.ndarray, values: np.ndarray, active: bool) -> np.ndarray:
    """A point inside one side of a cut: the mean of the side's vertices and of the crossings of
    the hyperplane with every segment between vertices on opposite sides; their hull is the
    side, so a mean with positive weights lies in its interior."""
    sign = 1.0 if active else -1.0
    v = sign * values
    keep, other = v > 0, v < 0
    pv, nv = vertices[keep], vertices[other]
    t = v[keep][:, None] / (v[keep][:, None] - v[other][None, :])
    crossings = pv[:, None, :] + t[..., None] * (nv[None, :, :] - pv[:, None, :])
    return np.vstack([pv, crossings.reshape(-1, vertices.shape[1])]).mean(axis=0)


def _child(cell: _Cell, a, beta, active, tol, cap, values) -> _Cell | None:
    G, g = _cut(cell, a, beta, active)
    point, radius, vertices = None, None, None
    if cell.vertices is not None:
        point = _side_point(cell.vertices, values, active)
        vertices = _vertices(G, g, point)
    if vertices is None:
        point, radius = chebyshev_center(G, g, cap)
        if point is None or radius <= tol:
            return None
        if cell.vertices is not None:
            vertices = _vertices(G, g, point)
    return _Cell(G, g, point, radius, vertices, cell.M, cell.d, cell.bits)


def _split_by_vertices(cell: _Cell, a, beta, tol, cap):
    values = cell.vertices @ a + beta
    thr = tol + 16 * _EPS * (abs(beta) + np.abs(cell.vertices).max())
    low, high = values.min(), values.max()
    if low >= -thr and high <= thr:
        return [(cell, bool(cell.point @ a + beta >= 0))]
    if low >= -thr:
        return [(cell, True)]
    if high <= thr:
        return [(cell, False)]
    return [(child, side) for side in (True, False) if (child := _child(cell, a, beta, side, tol, cap, values)) is not None]


def _split_by_programs(cell: _Cell, a, beta, tol, cap):
    if cell.radius is None:
        cell.point, cell.radius = chebyshev_center(cell.G, cell.g, cap)
    value = cell.point @ a + beta
    if abs(value) >= cell.radius:
        # The cell's inscribed ball lies on one side, so that side is as big as the cell.
        side = bool(value >= 0)
        other = _child(cell, a, beta, not side, tol, cap, None)
        if other is None:
            return [(cell, side)]
        G, g = _cut(cell, a, beta, side)
        return [(_Cell(G, g, cell.point, cell.radius, None, cell.M, cell.d, cell.bits), side), (other, not side)]
    return [(child, side) for side in (True, False) if (child := _child(cell, a, beta, side, tol, cap, None)) is not None]


def _split_unit(cell: _Cell, a: np.ndarray, beta: float, tol: float, cap: float):
    """Children of a cell cut by the unit a·z + beta, each with its activation bit."""
    plane = _unit(a, beta)
    if plane is None:
        return [(cell, bool(beta >= 0))]
    if cell.vertices is not None:
        return _split_by_vertices(cell, *plane, tol, cap)
    return _split_by_programs(cell, *plane, tol, cap)


def _split_layer(cell: _Cell, W: np.ndarray, b: np.ndarray, slope: float, tol: float, cap: float, deadline=None) -> list[_Cell]:
    P, p = W @ cell.M, W @ cell.d + b
    pieces = [(cell, np.zeros(W.shape[0], dtype=bool))]
    for j in range(W.shape[0]):
        if deadline is not None:
            deadline.check(f"the enumeration of linear regions (unit {j + 1} of a layer of {W.shape[0]})")
        next_pieces = []
        for piece, bits in pieces:
            for child, bit in _split_unit(piece, P[j], p[j], tol, cap):
                child_bits = bits.copy()
                child_bits[j] = bit
                next_pieces.append((child, child_bits))
        pieces = next_pieces
    out = []
    for piece, bits in pieces:
        scale = np.where(bits, 1.0, slope)
        out.append(_Cell(piece.G, piece.g, piece.point, piece.radius, piece.vertices, scale[:, None] * P, scale * p, [*cell.bits, bits]))
    return out


# ---------------------------------------------------------------------- public API
def _network_arrays(network: LeakyReLUNetwork):
    check_instance(network, LeakyReLUNetwork, "network")
    weights = [w.detach().cpu().double().numpy() for w in network.weights]
    biases = [b.detach().cpu().double().numpy() for b in network.biases]
    return weights, biases, network.slopes


def _root(bounds, m: int) -> _Cell:
    if bounds is None:
        return _Cell(np.zeros((0, m)), np.zeros(0), np.zeros(m), None, None, np.eye(m), np.zeros(m), [])
    low, high = bounds[0].numpy(), bounds[1].numpy()
    G, g = _box_halfspaces(low, high)
    centre = 0.5 * (low + high)
    return _Cell(G, g, centre, None, _vertices(G, g, centre), np.eye(m), np.zeros(m), [])


def _check_tolerance(network, box, radius_tol) -> float:
    if radius_tol is None:
        return default_radius_tolerance(network, box)
    return check_real(radius_tol, "radius_tol", low=0.0)


def linear_regions(network: LeakyReLUNetwork, box: Any, *, radius_tol: float | None = None, time_limit=None) -> list[Region]:
    """All linear regions of ``network`` that meet ``box`` (full-dimensional cells of the box).

    Parameters
    ----------
    network : LeakyReLUNetwork
        f: R^m -> R^n; computed in float64 whatever its dtype.
    box : float, pair of array_like, or None
        r means [-r, r]^m; (low, high) of shape (m,); None means all of R^m
        (unbounded cells, Chebyshev radii capped at the domain scale).
    radius_tol : float, optional
        Chebyshev radius a region must exceed; default ``default_radius_tolerance``.
    time_limit : float or models.deadline.Deadline, optional
        Stop with ``TimeLimitExceeded`` past it (checked after every cell split).

    Returns
    -------
    list of Region
        Tensors are float64 on the network's device; cells restricted to the box.
    """
    weights, biases, slopes = _network_arrays(network)
    bounds = check_box(box, network.in_dim)
    tol = _check_tolerance(network, box, radius_tol)
    cap = box_scale(network, box)
    deadline = Deadline.of(time_limit)
    cells = [_root(bounds, network.in_dim)]
    for layer, (W, b, slope) in enumerate(zip(weights[:-1], biases[:-1], slopes)):
        split = []
        for cell in cells:
            deadline.check(f"the enumeration of linear regions (layer {layer + 1}, {len(split)} cells so far)")
            split.extend(_split_layer(cell, W, b, slope, tol, cap, deadline))
        cells = split
    return _finish(cells, weights[-1], biases[-1], tol, cap, network.device)


def _finish(cells: list[_Cell], W: np.ndarray, b: np.ndarray, tol: float, cap: float, device) -> list[Region]:
    missing = [cell for cell in cells if cell.radius is None]
    if missing:
        centres, radii = chebyshev_centers([(cell.G, cell.g) for cell in missing], cap)
        for cell, centre, radius in zip(missing, centres, radii):
            cell.point, cell.radius = centre, float(radius)
    regions = []

    def tensor(x):
        return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float64, device=device)

    for cell in cells:
        if cell.radius <= tol:
            continue
        pattern = np.concatenate(cell.bits) if cell.bits else np.zeros(0, dtype=bool)
        regions.append(Region(
            pattern=torch.as_tensor(pattern, dtype=torch.bool, device=device),
            A=tensor(W @ cell.M), c=tensor(W @ cell.d + b),
            halfspaces=(tensor(cell.G), tensor(cell.g)),
            interior_point=tensor(cell.point), radius=float(cell.radius),
            vertices=None if cell.vertices is None else tensor(cell.vertices),
        ))
    return regions


def count_linear_regions(network: LeakyReLUNetwork, box: Any, *, radius_tol: float | None = None, time_limit=None) -> int:
    """The number of linear regions of ``network`` that meet ``box`` (see ``linear_regions``)."""
    return len(linear_regions(network, box, radius_tol=radius_tol, time_limit=time_limit))
