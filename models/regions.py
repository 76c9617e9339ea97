"""Linear regions of a leaky-ReLU network: the face of the region engine (``models.region_engine``).

A linear region is a full-dimensional cell on which every hidden unit keeps one side of its
threshold, so that f is one affine map A z + c there; regions are keyed by their activation
pattern (a unit at exactly 0 counts as active, as in ``LeakyReLUNetwork.activation_pattern``).
``linear_regions`` enumerates them once, by vertex representations and without linear
programs, and returns a ``RegionSet``: a sequence of ``Region`` objects over flat arrays that
the checks read directly (patterns, pieces, vertices, rays, facets, interior points, which
regions share a facet), so that a check enumerates once and shares the result.
``count_linear_regions`` streams, so its memory does not grow with the count.

Sizes reached (one process on a two-core machine, float64, random networks; see
``benchmarks/bench_regions.py``): m = 2 at 50-110 thousand regions per second (a 2-128-128-128-3
network's 36,667 regions in 0.7 s); m = 3 about a million regions in half a minute; m = 4 about
60 times the earlier LP-based enumeration. Every decision is relative to the domain's length
scale; a value within the tolerance of a hyperplane (a tie) is settled in rational arithmetic,
so nearly parallel hyperplanes keep the sliver between them. Only a sliver thinner than 1e-13
of the scale is left out, and its neighbours then say so (``RegionSet.exact``,
``RegionCount.exact``): the count is exact when that flag is set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from .deadline import Deadline
from .leaky_relu_network import LeakyReLUNetwork
from .region_engine import RegionArrays, enumerate_regions, iter_regions
from .validation import DTYPE, check_box, check_instance, check_points, check_real

__all__ = ["EXACT_MAX_DIM", "Region", "RegionCount", "RegionSet", "box_scale", "count_linear_regions", "linear_regions",
           "pattern_halfspaces", "region_at", "region_count"]

EXACT_MAX_DIM = 3
"""Largest latent dimension for which the checks enumerate all regions by default: the number of
regions grows like width^(m·depth)."""


@dataclass(frozen=True, eq=False)
class Region:
    """One linear region: f(z) = A z + c for z in {G z <= g} (float64 tensors on the network's device).

    Attributes
    ----------
    pattern : Tensor (H,) bool
        Active hidden units, over all hidden layers.
    A : Tensor (n, m)
    c : Tensor (n,)
    halfspaces : (G (k, m), g (k,))
        The non-redundant facets, G z <= g, unit rows, box faces included.
    interior_point : Tensor (m,)
    radius : float
        A ball of this radius around ``interior_point`` lies in the region.
    vertices : Tensor (v, m)
    rays : Tensor (r, m)
        The region is conv(vertices) + cone(rays) (no rays on a box).
    facet_units : Tensor (k,) int64
        The hidden unit of each facet, or -1 - k for box face k.
    bounded : bool
    """

    pattern: torch.Tensor
    A: torch.Tensor
    c: torch.Tensor
    halfspaces: tuple[torch.Tensor, torch.Tensor]
    interior_point: torch.Tensor
    radius: float
    vertices: torch.Tensor
    rays: torch.Tensor
    facet_units: torch.Tensor
    bounded: bool

    def contains(self, z: Any, tol: float = 0.0) -> torch.Tensor:
        """Whether points z of shape (N, m) satisfy G z <= g + tol, shape (N,)."""
        G, g = self.halfspaces
        points, _ = check_points(z, "z", G.shape[1], dtype=G.dtype, device=G.device)
        return ((points @ G.T) <= g + check_real(tol, "tol", low=0.0)).all(dim=1)


class RegionSet(Sequence):
    """All linear regions of a network on a domain: a sequence of ``Region`` over flat arrays.

    Attributes
    ----------
    arrays : models.region_engine.RegionArrays
        The regions as numpy arrays (patterns, A, c, CSR vertices, rays and facets, interior
        points, inner radii, adjacency); what vectorised checks read.
    box : (low, high) or None
        The domain (None: all of R^m).
    """

    def __init__(self, arrays: RegionArrays, box, device: torch.device):
        self.arrays = arrays
        self.box = box
        self._device = device

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        r = self.arrays.region(index)

        def tensor(x, dtype=DTYPE):
            return torch.as_tensor(np.array(x), dtype=dtype, device=self._device)

        return Region(tensor(r.pattern, torch.bool), tensor(r.A), tensor(r.c), (tensor(r.facet_normals), tensor(r.facet_rhs)),
                      tensor(r.interior), float(r.inradius), tensor(r.vertices), tensor(r.rays),
                      tensor(r.facet_units, torch.int64), bool(r.bounded))

    def __iter__(self) -> Iterator[Region]:
        return (self[i] for i in range(len(self)))

    @property
    def adjacency(self) -> np.ndarray:
        """Pairs (i, j), i < j, of regions sharing a facet, shape (E, 2)."""
        return self.arrays.adjacency

    @property
    def bounded(self) -> bool:
        return bool(self.arrays.bounded.all())

    @property
    def exact(self) -> bool:
        """Every region was decided exactly (no tie left unsettled): the set, and its size, are
        those of the exact arithmetic."""
        return bool(self.arrays.exact.all())

    def __repr__(self) -> str:
        return f"RegionSet({len(self)} regions, {'box' if self.box is not None else 'R^m'})"


def _engine_arguments(network: LeakyReLUNetwork, box):
    check_instance(network, LeakyReLUNetwork, "network")
    weights, biases, slopes = _network_arrays(network)
    bounds = check_box(box, network.in_dim)
    engine_box = None if bounds is None else (bounds[0].numpy(), bounds[1].numpy())
    return weights, biases, slopes, engine_box


def linear_regions(network: LeakyReLUNetwork, box: Any, *, time_limit=None) -> RegionSet:
    """All linear regions of ``network`` that meet ``box`` (full-dimensional cells of the box).

    Parameters
    ----------
    network : LeakyReLUNetwork
        f: R^m -> R^n; computed in float64 whatever its dtype.
    box : float, pair of array_like, or None
        r means [-r, r]^m; (low, high) of shape (m,); None means all of R^m (unbounded
        cells, with rays).
    time_limit : float or models.deadline.Deadline, optional
        Stop with ``TimeLimitExceeded`` past it (checked before every unit's cut).

    Returns
    -------
    RegionSet
        The last enumeration is kept: asking again for the same network (same weights,
        biases and slopes) and box returns the same RegionSet, which the checks only read.
    """
    weights, biases, slopes, engine_box = _engine_arguments(network, box)
    key = _fingerprint(weights, biases, slopes, engine_box)
    if _LAST[0] == key:
        arrays = _LAST[1]
    else:
        arrays = enumerate_regions(weights, biases, slopes, engine_box, deadline=Deadline.of(time_limit))
        _LAST[:] = [key, arrays]
    return RegionSet(arrays, engine_box, network.device)


# The last enumeration, by the fingerprint of its arguments: ``check`` and ``report`` ask for the
# regions of one network and box from several checks.
_LAST: list = [None, None]


def _fingerprint(weights, biases, slopes, box) -> str:
    digest = hashlib.sha256()
    for array in [*weights, *biases, *([] if box is None else box)]:
        array = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    digest.update(repr(tuple(float(s) for s in slopes)).encode())
    digest.update(b"R^m" if box is None else b"box")
    return digest.hexdigest()


class RegionCount(NamedTuple):
    """How many linear regions meet the domain, and whether that number is exact.

    count : int
    exact : bool
        False when a tie was left unsettled (a sliver thinner than 1e-13 of the domain's scale,
        which float64 coordinates cannot carry): ``count`` may then miss such slivers.
    """

    count: int
    exact: bool


def region_count(network: LeakyReLUNetwork, box: Any, *, time_limit=None) -> RegionCount:
    """The number of linear regions of ``network`` that meet ``box``, with its exactness (streamed:
    memory stays bounded)."""
    weights, biases, slopes, engine_box = _engine_arguments(network, box)
    count, exact = 0, True
    for part in iter_regions(weights, biases, slopes, engine_box, deadline=Deadline.of(time_limit)):
        count += len(part)
        exact &= bool(part.exact.all())
    return RegionCount(count, exact)


def count_linear_regions(network: LeakyReLUNetwork, box: Any, *, time_limit=None) -> int:
    """The number of linear regions of ``network`` that meet ``box`` (streamed: memory stays bounded);
    ``region_count`` also says whether the number is exact."""
    return region_count(network, box, time_limit=time_limit).count


def box_scale(network: LeakyReLUNetwork, box: Any) -> float:
    """The length scale of a domain: the largest half-width of the box, or for R^m max(1, the largest
    distance of a first-layer hyperplane from the origin)."""
    check_instance(network, LeakyReLUNetwork, "network")
    bounds = check_box(box, network.in_dim)
    if bounds is not None:
        return max(float(0.5 * (bounds[1] - bounds[0]).max()), 1e-300)
    w = network.weights[0].detach().cpu().double()
    b = network.biases[0].detach().cpu().double()
    norms = w.norm(dim=1)
    # Rows that are zero next to the others would put their (meaningless) hyperplane at infinity.
    usable = norms > 1e-8 * float(norms.max())
    offsets = torch.where(usable, b.abs() / norms.clamp_min(1e-300), torch.zeros_like(b))
    return max(1.0, float(offsets.max()))


def _box_halfspaces(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eye = np.eye(low.shape[0])
    return np.vstack([eye, -eye]), np.concatenate([high, -low])


def _unit_rows(a: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constraints a_k·z + beta_k <= 0 as rows G z <= g of unit norm; a constant row (a = 0, or a ≈ 0
    next to beta: a hyperplane beyond the floating-point range) is dropped when it holds and becomes
    0 <= -1 when it does not. Each row is scaled by its largest entry first, so that tiny weights
    (whose squares underflow) keep their hyperplane."""
    top = np.abs(a).max(axis=1) if a.shape[1] else np.zeros(len(a))
    plane = (top > 0) & ~(np.abs(beta) > 1e300 * top)
    safe = np.where(plane, top, 1.0)
    a, beta = a / safe[:, None], beta / safe
    norm = np.where(plane, np.linalg.norm(a, axis=1), 1.0)
    G = np.where(plane[:, None], a / norm[:, None], 0.0)
    g = np.where(plane, -beta / norm, -1.0)
    keep = plane | (beta > 0)
    return G[keep], g[keep]


def _network_arrays(network: LeakyReLUNetwork):
    check_instance(network, LeakyReLUNetwork, "network")
    weights = [w.detach().cpu().double().numpy() for w in network.weights]
    biases = [b.detach().cpu().double().numpy() for b in network.biases]
    return weights, biases, network.slopes


def pattern_halfspaces(network: LeakyReLUNetwork, pattern: Any, box: Any = None):
    """The cell of one activation pattern, with every unit's constraint (redundant ones included).

    Parameters
    ----------
    pattern : array_like of bool, shape (H,)
    box : optional
        As in ``linear_regions``; its faces are appended.

    Returns
    -------
    G : ndarray (k, m), g : ndarray (k,)
        The cell {G z <= g} (rows of unit norm; zero rows of constant units dropped
        unless violated, in which case the row 0 <= -1 makes the cell empty).
    A : ndarray (n, m), c : ndarray (n,)
        The affine piece on it.
    """
    check_instance(network, LeakyReLUNetwork, "network")
    weights, biases, slopes = _network_arrays(network)
    hidden = sum(w.shape[0] for w in weights[:-1])
    pattern = _check_pattern(pattern, hidden)
    check_box(box, network.in_dim)
    m = network.in_dim
    rows, rhs, M, d, start = [], [], np.eye(m), np.zeros(m), 0
    for W, b, slope in zip(weights[:-1], biases[:-1], slopes):
        P, p = W @ M, W @ d + b
        bits = pattern[start:start + W.shape[0]]
        start += W.shape[0]
        sign = np.where(bits, -1.0, 1.0)  # active: -(P z + p) <= 0
        layer_rows, layer_rhs = _unit_rows(sign[:, None] * P, sign * p)
        rows.extend(layer_rows)
        rhs.extend(layer_rhs)
        scale = np.where(bits, 1.0, slope)
        M, d = scale[:, None] * P, scale * p
    bounds = check_box(box, m)
    if bounds is not None:
        Gb, gb = _box_halfspaces(bounds[0].numpy(), bounds[1].numpy())
        rows.extend(Gb)
        rhs.extend(gb)
    G = np.array(rows).reshape(-1, m)
    return G, np.array(rhs), weights[-1] @ M, weights[-1] @ d + biases[-1]


def _check_pattern(pattern: Any, hidden: int) -> np.ndarray:
    """An activation pattern: ``hidden`` bits, as booleans or 0/1 integers (a float or a complex number is not a bit)."""
    try:
        bits = pattern.detach().cpu().numpy() if isinstance(pattern, torch.Tensor) else np.asarray(pattern)
    except (TypeError, ValueError):
        bits = np.asarray(None)
    if bits.dtype.kind not in "biu" or (bits.dtype.kind != "b" and not np.isin(bits, (0, 1)).all()):
        raise ValueError(f"pattern: expected {hidden} booleans (one per hidden unit), got {pattern!r}")
    if bits.shape != (hidden,):
        raise ValueError(f"pattern: expected {hidden} bits (one per hidden unit), got shape {bits.shape}")
    return bits.astype(bool)


def region_at(network: LeakyReLUNetwork, z: Any, box: Any = None) -> Region:
    """The cell of the activation pattern at the point z (shape (m,)), with every unit's constraint.

    Its half-spaces list every unit's constraint (see ``pattern_halfspaces``); its radius is z's
    distance to the nearest of them (0 when z lies on a boundary), and its interior point is z.
    """
    check_instance(network, LeakyReLUNetwork, "network")
    point, single = check_points(z, "z", network.in_dim)
    if not single:
        raise ValueError(f"z: expected one point of shape ({network.in_dim},), got shape {tuple(point.shape)}")
    point = point[0]
    pattern = network.to(dtype=DTYPE).activation_pattern(point.to(network.device)).cpu()
    G, g, A, c = pattern_halfspaces(network, pattern, box)
    slack = g - G @ point.numpy()
    device = network.device

    def tensor(x):
        return torch.as_tensor(np.ascontiguousarray(x), dtype=DTYPE, device=device)

    m = network.in_dim
    return Region(pattern.to(device), tensor(A), tensor(c), (tensor(G), tensor(g)), tensor(point.numpy()),
                  float(max(slack.min(), 0.0)) if slack.size else float("inf"), tensor(np.zeros((0, m))),
                  tensor(np.zeros((0, m))), torch.zeros(0, dtype=torch.int64, device=device), check_box(box, m) is not None)
