"""Linear regions of leaky-ReLU networks by vertex enumeration, without linear programs.

f(z) = W_L σ(... σ(W_1 z + b_1) ...) + b_L with σ(t) = t for t >= 0 and s·t for t < 0 (one
slope s >= 0 per hidden layer). A linear region is a full-dimensional cell on which every
hidden unit keeps one side (active: pre-activation >= 0), so f is one affine map A z + c
there; regions are keyed by their activation pattern (layer 1 first).

Two splitting engines produce the regions:

* ``"dd"`` (any input dimension m, a box or all of R^m): every cell carries its vertices
  and rays with the hyperplanes each lies on, and is cut unit by unit by the
  double-description step (``models._region_engine_dd``). Cells waiting on the same unit
  are cut together on flat arrays; cells descend the layers depth first in batches, so
  memory stays bounded (``iter_regions`` streams the regions in chunks).
* ``"planar"`` (m = 2 and a box): one planar subdivision of the box, split unit by unit
  over all of its edges at once (``models._region_engine_planar``), as Regioncam does.

Both work in coordinates centred on the domain (the box's centre; for R^m a vertex of the
first layer's arrangement), so that every tolerance, relative to the domain's length scale,
is unchanged when the domain is translated. On R^m a first layer of rank r < m makes every
region a cylinder over the null space of W_1: regions are enumerated in the row space and
lifted, with the null directions as pairs of opposite rays.

Exactness. Decisions are made in float64 where the value is clear of the tolerances named in
the engine modules (``DIST_RTOL``, ``ANGLE_RTOL``, ``VALUE_RTOL``: 1e-10 of the domain scale).
A value within them is a tie, settled in rational arithmetic from the hyperplanes the
generator lies on (``models._region_engine_ties``): exactly on the hyperplane (degenerate
arrangements: several hyperplanes through one vertex, coincident hyperplanes, dead units), or
off it, in which case the sliver between nearly parallel hyperplanes becomes a cell. The planar
engine has no incidences, so ``method="auto"`` hands a box with a tie to the double-description
engine. Only slivers thinner than ``SLIVER_RTOL`` (1e-13) of the scale, which float64
coordinates cannot carry, are left out; the regions beside them have ``exact`` False. On R^m
the rank of W_1 is read in rationals when it is numerically deficient. The first layer's
offset to local coordinates is rounded once from its exact value, so that translating the
domain far from the origin does not move the hyperplanes by more than rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np
import scipy.linalg

from . import _region_engine_dd as dd
from ._region_engine_planar import planar_regions
from ._region_engine_ties import SLIVER_RTOL, Ties
from .exact import ExactNetwork, qcol, qmat, rank, to_floats

RANK_RTOL = 1e-10
"""Singular values of W_1 below RANK_RTOL · (the largest) count as zero when all of R^m is
enumerated: the regions are then cylinders along those directions. The same relative
margin as the engines' angle tolerance: a direction along which the first layer changes by
less than 1e-10 of its largest rate is a direction along which no hyperplane of the first
layer can be told from parallel."""

CENTRAL_ULPS = 1024
"""A first-layer hyperplane whose distance from the root vertex is below CENTRAL_ULPS ulps of the
distances involved passes through it (the solve and the evaluation each cost a few ulps, times
the conditioning of the r chosen rows, which pivoting keeps moderate)."""

ADJACENT_STEP_RTOL = 1e-7
"""Step off a facet, relative to the domain scale, at which the pattern of the neighbouring
region is read when flipping the facet's unit alone finds no region (coincident
hyperplanes). Far above ``DIST_RTOL`` (1e-10), so the step crosses the facet for certain; far
below the size of any region a random network produces."""

ON_FACET_RTOL = 1e-8
"""A vertex of a region counts as on one of its facets when within ON_FACET_RTOL · L of the
facet's hyperplane (a ray as along it when |n · r| <= ON_FACET_RTOL). Used only to find a
point inside a facet where flipping one unit's bit finds no neighbour: vertices on the facet
are within rounding (about 1e-14 L) of it, and one taken in by mistake moves the mean by at
most 1e-8 L, well inside the step ``ADJACENT_STEP_RTOL`` (1e-7 L) taken to either side."""

DEFAULT_CHUNK = 16384
"""Cells per batch in the double-description engine: enough to amortise numpy's per-call
cost over many cells, small enough that a batch's arrays stay in the tens of megabytes."""

METHODS = ("auto", "dd", "planar")

# Entries per slice of the layer products in ``_next_block`` (2 MB of float64).
_ASSEMBLE_ROWS = 1 << 18


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Region:
    """One region: f(z) = A z + c on {z : facet_normals z <= facet_rhs}.

    Attributes
    ----------
    pattern : ndarray (H,) bool
    A : ndarray (n, m)
    c : ndarray (n,)
    vertices : ndarray (v, m)
    rays : ndarray (r, m)
        Unit directions of the recession cone (empty when bounded).
    interior : ndarray (m,)
    inradius : float
    facet_normals : ndarray (k, m)
        Unit outward normals of the non-redundant facets (box faces included).
    facet_rhs : ndarray (k,)
    facet_units : ndarray (k,) int
        The hidden unit of each facet, or -1 - k for box face k (2·coordinate, +1 for the
        upper face).
    bounded : bool
    """

    pattern: np.ndarray
    A: np.ndarray
    c: np.ndarray
    vertices: np.ndarray
    rays: np.ndarray
    interior: np.ndarray
    inradius: float
    facet_normals: np.ndarray
    facet_rhs: np.ndarray
    facet_units: np.ndarray
    bounded: bool


@dataclass(frozen=True, eq=False)
class RegionArrays:
    """All regions of a network on a domain, as flat arrays (R regions, H hidden units).

    Attributes
    ----------
    patterns : ndarray (R, H) bool
        Active hidden units, layer 1 first; distinct rows.
    A : ndarray (R, n, m)
    c : ndarray (R, n)
        The affine piece f(z) = A[i] z + c[i] on region i.
    vertex_offsets : ndarray (R + 1,) int64
    vertices : ndarray (V, m)
        Vertices of region i are ``vertices[vertex_offsets[i]:vertex_offsets[i + 1]]`` (for
        m = 2 and a box, the corners in counter-clockwise order).
    ray_offsets : ndarray (R + 1,) int64
    rays : ndarray (Q, m)
        Unit rays of region i (CSR as the vertices); none on a box. Region i is
        conv(its vertices) + cone(its rays). They are the extreme rays, except where a
        first layer of rank r < m makes the regions cylinders: then the m − r null
        directions of W_1 are added in both signs (and the vertices are those of the
        cross-section in the row space of W_1).
    interior : ndarray (R, m)
        A point strictly inside: the vertex centroid plus the domain scale times the sum of
        the rays.
    inradius : ndarray (R,)
        The least slack of ``interior`` over the region's facets: the ball of that radius
        around it lies in the region (inf for a region without facets).
    facet_offsets : ndarray (R + 1,) int64
    facet_normals : ndarray (F, m)
        Unit outward normals of the non-redundant facets, box faces included.
    facet_rhs : ndarray (F,)
        Region i is {z : facet_normals[k] · z <= facet_rhs[k] for its facets k}.
    facet_units : ndarray (F,) int64
        The hidden unit whose hyperplane carries the facet, or -1 - k for box face k
        (k = 2·coordinate for the lower face, 2·coordinate + 1 for the upper).
    bounded : ndarray (R,) bool
    exact : ndarray (R,) bool
        Every decision that made region i was exact: float64 values clear of the tolerance, and
        every tie within it settled in rational arithmetic (``models._region_engine_ties``).
        False where a tie could not be settled: the region may then differ from the exact one by
        less than the tolerance (a sliver beside it may be missing). All True means the
        enumeration, and so the count, is exact.
    adjacency : ndarray (E, 2) int64
        Pairs i < j of regions sharing a facet, sorted (empty in ``iter_regions`` chunks).
    """

    patterns: np.ndarray
    A: np.ndarray
    c: np.ndarray
    vertex_offsets: np.ndarray
    vertices: np.ndarray
    ray_offsets: np.ndarray
    rays: np.ndarray
    interior: np.ndarray
    inradius: np.ndarray
    facet_offsets: np.ndarray
    facet_normals: np.ndarray
    facet_rhs: np.ndarray
    facet_units: np.ndarray
    bounded: np.ndarray
    exact: np.ndarray
    adjacency: np.ndarray

    def __len__(self) -> int:
        return len(self.patterns)

    def region(self, i: int) -> Region:
        """The pieces of region i."""
        n = len(self)
        if not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise ValueError(f"i: expected an index in [-{n}, {n}), got {i!r}")
        i = int(i) % n
        v0, v1 = self.vertex_offsets[i], self.vertex_offsets[i + 1]
        r0, r1 = self.ray_offsets[i], self.ray_offsets[i + 1]
        f0, f1 = self.facet_offsets[i], self.facet_offsets[i + 1]
        return Region(
            self.patterns[i], self.A[i], self.c[i], self.vertices[v0:v1], self.rays[r0:r1], self.interior[i],
            float(self.inradius[i]), self.facet_normals[f0:f1], self.facet_rhs[f0:f1], self.facet_units[f0:f1],
            bool(self.bounded[i]),
        )


def concatenate(parts: Sequence[RegionArrays]) -> RegionArrays:
    """Regions of several ``RegionArrays`` as one (adjacency dropped: it is per enumeration)."""
    if len(parts) == 0:
        raise ValueError("parts: expected at least one RegionArrays")
    out = {}
    for f in fields(RegionArrays):
        name = f.name
        if name.endswith("_offsets"):
            shifted, base = [np.zeros(1, dtype=np.int64)], 0
            for p in parts:
                off = getattr(p, name)
                shifted.append(off[1:] + base)
                base += int(off[-1])
            out[name] = np.concatenate(shifted)
        elif name == "adjacency":
            out[name] = np.zeros((0, 2), dtype=np.int64)
        else:
            out[name] = np.concatenate([getattr(p, name) for p in parts])
    return RegionArrays(**out)


# ---------------------------------------------------------------------- inputs
def _check_network(weights, biases, slopes):
    if not isinstance(weights, (list, tuple)) or len(weights) == 0:
        raise ValueError("weights: expected a non-empty list of (out, in) arrays")
    if not isinstance(biases, (list, tuple)) or len(biases) != len(weights):
        raise ValueError(f"biases: expected a list of {len(weights)} vectors, one per layer")
    ws = [np.asarray(w, dtype=np.float64) for w in weights]
    bs = [np.asarray(b, dtype=np.float64) for b in biases]
    for i, (w, b) in enumerate(zip(ws, bs)):
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"weights: expected weights[{i}] to be a non-empty matrix, got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"biases: expected biases[{i}] of shape ({w.shape[0]},), got {b.shape}")
        if i and w.shape[1] != ws[i - 1].shape[0]:
            raise ValueError(f"weights: weights[{i}] has {w.shape[1]} columns, expected {ws[i - 1].shape[0]}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"weights: layer {i} has a non-finite weight or bias")
    try:
        slopes = tuple(float(s) for s in slopes)
    except TypeError:
        raise ValueError(f"slopes: expected a sequence of {len(ws) - 1} numbers, got {slopes!r}") from None
    if len(slopes) != len(ws) - 1:
        raise ValueError(f"slopes: expected one slope per hidden layer ({len(ws) - 1}), got {len(slopes)}")
    if any(not np.isfinite(s) or s < 0 for s in slopes):
        raise ValueError(f"slopes: expected finite slopes >= 0, got {slopes}")
    return ws, bs, slopes


def _check_box(box, m: int):
    if box is None:
        return None
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise ValueError(f"box: expected None or a pair (low, high) of shape-({m},) arrays, got {type(box).__name__}")
    low, high = (np.asarray(x, dtype=np.float64) for x in box)
    if low.shape != (m,) or high.shape != (m,):
        raise ValueError(f"box: expected low and high of shape ({m},), got {low.shape} and {high.shape}")
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
        raise ValueError("box: expected finite low < high in every coordinate")
    return low, high


def _check_method(method: str, m: int, box) -> str:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if method == "planar" and (m != 2 or box is None):
        raise ValueError("method: 'planar' needs a 2-D input and a box")
    if method == "auto":
        return "planar" if m == 2 and box is not None else "dd"
    return method


def _check_chunk(chunk, default: int | None) -> int | None:
    if chunk is None:
        return default
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk: expected a positive integer, got {chunk!r}")
    return int(chunk)


# ---------------------------------------------------------------------- public API
def enumerate_regions(weights, biases, slopes, box=None, *, chunk: int | None = None, method: str = "auto",
                      deadline=None) -> RegionArrays:
    """All linear regions of a leaky-ReLU network on a box or on all of R^m.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[i]`` of shape (out_i, in_i) (``torch.nn.Linear`` convention); the last
        layer is affine.
    biases : list of ndarray
        ``biases[i]`` of shape (out_i,).
    slopes : sequence of float
        One negative slope s >= 0 per hidden layer (0 is ReLU).
    box : None or (low, high)
        None for all of R^m, else two shape-(m,) arrays with low < high.
    chunk : int, optional
        Cells per batch of the double-description engine (default ``DEFAULT_CHUNK``); smaller
        bounds memory more tightly, larger amortises more.
    method : {"auto", "dd", "planar"}
        "auto" takes "planar" for m = 2 with a box (the double-description engine instead as soon
        as the planar one meets a tie, since it settles ties exactly), else "dd".
    deadline : models.deadline.Deadline, optional
        Checked before every unit's cut (raises ``TimeLimitExceeded`` past it).

    Returns
    -------
    RegionArrays
        With ``adjacency`` filled in.

    Raises
    ------
    ValueError
        Naming the offending argument.
    """
    weights, biases, slopes = _check_network(weights, biases, slopes)
    bounds = _check_box(box, weights[0].shape[1])
    auto = method == "auto"
    method = _check_method(method, weights[0].shape[1], bounds)
    chunk = _check_chunk(chunk, DEFAULT_CHUNK)
    if method == "planar":
        return _planar(weights, biases, slopes, bounds, deadline, fallback=auto)
    return _dd_regions(weights, biases, slopes, bounds, chunk, deadline)


def _dd_regions(weights, biases, slopes, bounds, chunk: int, deadline) -> RegionArrays:
    regions = concatenate(list(_dd_chunks(weights, biases, slopes, bounds, chunk, deadline)))
    adjacency = _adjacency(weights, biases, slopes, regions, _domain_frame(weights, biases, bounds)[0].scale)
    return _replace(regions, adjacency=adjacency)


def iter_regions(weights, biases, slopes, box=None, *, chunk: int = DEFAULT_CHUNK, method: str = "auto",
                 deadline=None) -> Iterator[RegionArrays]:
    """The regions of ``enumerate_regions`` as a stream of chunks of at most ``chunk`` regions.

    The double-description engine holds, besides the chunk, only the cells still being
    split on the current path down the layers: per layer at most ``chunk`` cells entering it
    and the cells that layer makes of them. Memory therefore does not grow with the number
    of regions (it does with ``chunk`` and with how finely one layer splits one cell; the
    first layer splits the whole domain at once). Chunks carry no adjacency (``adjacency``
    has shape (0, 2)). With ``method="planar"`` the whole subdivision is built first and
    then sliced.
    """
    weights, biases, slopes = _check_network(weights, biases, slopes)
    bounds = _check_box(box, weights[0].shape[1])
    auto = method == "auto"
    method = _check_method(method, weights[0].shape[1], bounds)
    chunk = _check_chunk(chunk, DEFAULT_CHUNK)
    if method == "planar":
        regions = _planar(weights, biases, slopes, bounds, deadline, fallback=auto)
        for r0 in range(0, len(regions), chunk):
            yield _take(regions, np.arange(r0, min(len(regions), r0 + chunk)))
        return
    pending: list[RegionArrays] = []
    count = 0
    for part in _dd_chunks(weights, biases, slopes, bounds, chunk, deadline):
        pending.append(part)
        count += len(part)
        while count >= chunk:
            merged = concatenate(pending)
            yield _take(merged, np.arange(chunk))
            rest = _take(merged, np.arange(chunk, len(merged)))
            pending, count = ([rest] if len(rest) else []), len(rest)
    if count:
        yield concatenate(pending)


def count_regions(weights, biases, slopes, box=None, *, method: str = "auto", deadline=None) -> int:
    """The number of linear regions (streams, so memory stays bounded)."""
    return sum(len(part) for part in iter_regions(weights, biases, slopes, box, method=method, deadline=deadline))


def _replace(regions: RegionArrays, **changes) -> RegionArrays:
    values = {f.name: getattr(regions, f.name) for f in fields(RegionArrays)}
    values.update(changes)
    return RegionArrays(**values)


def _take(regions: RegionArrays, idx: np.ndarray) -> RegionArrays:
    """Regions idx (sorted) of ``regions``, adjacency dropped."""
    out = {}
    for prefix, items in (("vertex", ("vertices",)), ("ray", ("rays",)), ("facet", ("facet_normals", "facet_rhs", "facet_units"))):
        off = getattr(regions, f"{prefix}_offsets")
        sizes = np.diff(off)[idx]
        _, rows = dd._ranges(off[idx], sizes)
        new = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(sizes, out=new[1:])
        out[f"{prefix}_offsets"] = new
        for name in items:
            out[name] = getattr(regions, name)[rows]
    for name in ("patterns", "A", "c", "interior", "inradius", "bounded", "exact"):
        out[name] = getattr(regions, name)[idx]
    out["adjacency"] = np.zeros((0, 2), dtype=np.int64)
    return RegionArrays(**out)


# ---------------------------------------------------------------------- domain
@dataclass
class _Frame:
    """Local coordinates u of the splitting: z = origin + basis u (basis (m, r) orthonormal),
    with the null directions (m, m - r) of W_1 when r < m."""

    origin: np.ndarray
    basis: np.ndarray
    null: np.ndarray
    scale: float
    exact: bool = True  # False: W_1 is numerically, not exactly, of rank r (see _frame_unbounded)


def _frame_unbounded(W1: np.ndarray, b1: np.ndarray) -> tuple[_Frame, np.ndarray | None]:
    """The frame for R^m and the r first-layer units whose hyperplanes meet at its origin."""
    m = W1.shape[1]
    _, s, vt = np.linalg.svd(W1)
    r = int(np.sum(s > RANK_RTOL * s[0])) if s.size and s[0] > 0 else 0
    exact = True
    if r < min(W1.shape):
        # Numerically rank deficient: the rank is read in rationals, so that hyperplanes at an
        # angle below RANK_RTOL are not taken for parallel ones. Directions along which W_1 changes
        # by less than SLIVER_RTOL of its largest rate stay null (float64 cannot place the far
        # crossings they make), and the regions are then marked as not exact.
        exact_rank = rank(qmat(W1))
        r = min(exact_rank, int(np.sum(s > SLIVER_RTOL * s[0])))
        exact = r == exact_rank
    basis, null = vt[:r].T, vt[r:].T
    if r == 0:
        return _Frame(np.zeros(m), basis, null, 1.0, exact), None
    Wr = W1 @ basis
    _, _, piv = scipy.linalg.qr(Wr.T, pivoting=True, mode="economic")
    sel = np.sort(piv[:r])
    u0 = np.linalg.solve(Wr[sel], -b1[sel])
    origin = basis @ u0
    norms = np.linalg.norm(Wr, axis=1)
    usable = norms > RANK_RTOL * norms.max()
    dist = np.abs(b1[usable] + W1[usable] @ origin) / norms[usable]
    # b + W·origin carries the rounding of its terms: below that a hyperplane passes through
    # the origin. A central first layer sets no length; then 1, or |origin| when larger (the
    # size that rounding is relative to).
    rounding = CENTRAL_ULPS * np.finfo(float).eps * (np.abs(b1[usable]) / norms[usable] + np.linalg.norm(origin))
    dist = np.where(dist > rounding, dist, 0.0)
    scale = float(dist.max()) if dist.size and dist.max() > 0 else max(1.0, float(np.linalg.norm(origin)))
    return _Frame(origin, basis, null, scale, exact), sel


def _domain_frame(weights, biases, bounds) -> tuple[_Frame, np.ndarray | None]:
    """The frame of the splitting: centred on the box, with L its largest half-width; or for
    R^m the frame of ``_frame_unbounded``."""
    if bounds is None:
        return _frame_unbounded(weights[0], biases[0])
    m = weights[0].shape[1]
    centre = 0.5 * (bounds[0] + bounds[1])
    half = 0.5 * (bounds[1] - bounds[0])
    return _Frame(centre, np.eye(m), np.zeros((m, 0)), float(half.max())), None


def _local_box(bounds, centre: np.ndarray):
    """The box in local coordinates, (low − centre, high − centre), and whether those floats are
    exact (they are when the bounds and the centre are within a factor 2 of each other, by
    Sterbenz's lemma, or small integers); if not, the regions are of a box rounded by an ulp."""
    low, high = bounds[0] - centre, bounds[1] - centre
    exact = all(Fraction(float(a)) == Fraction(float(b)) - Fraction(float(c))
                for local, bound in ((low, bounds[0]), (high, bounds[1])) for a, b, c in zip(local, bound, centre))
    return (low, high), exact


def _root_box(low: np.ndarray, high: np.ndarray, hidden: int, words: int) -> dd.Cells:
    m = len(low)
    corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * m, indexing="ij")).reshape(m, -1).T
    bits = np.zeros((len(corners), words), dtype=np.uint64)
    for k in range(m):
        dd.set_bit(bits, np.flatnonzero(corners[:, k] < 0), hidden + 2 * k)
        dd.set_bit(bits, np.flatnonzero(corners[:, k] > 0), hidden + 2 * k + 1)
    n = len(corners)
    return dd.Cells(np.where(corners < 0, low, high), np.zeros(n, bool), bits, np.array([0, n]), np.zeros(1, np.int64),
                    np.zeros((1, 0), bool), np.zeros(1, bool))


def _root_cones(Wr_sel: np.ndarray, b_sel: np.ndarray, sel: np.ndarray, hidden: int, words: int, inf_id: int) -> dd.Cells:
    """The 2^r simplicial cones cut out by r independent first-layer hyperplanes Wr_sel u + b_sel = 0.

    Their apex is where those hyperplanes meet: the origin of the frame up to rounding (the
    offsets b_sel, rounded from their exact values, are a few ulps of the origin's size), solved
    for so that the float problem keeps the apex on the hyperplanes it is made on.
    """
    r = len(sel)
    apex = np.linalg.solve(Wr_sel, -b_sel)
    inv = np.linalg.inv(Wr_sel)
    inv = inv / np.abs(inv).max(axis=0)  # first to order 1: nearly parallel hyperplanes give huge entries
    dirs = inv / np.linalg.norm(inv, axis=0)
    signs = np.array(np.meshgrid(*[[1.0, -1.0]] * r, indexing="ij")).reshape(r, -1).T
    n_cones = len(signs)
    x = np.zeros((n_cones, r + 1, r))
    x[:, 0, :] = apex
    x[:, 1:, :] = (signs[:, :, None] * dirs.T[None])
    ray = np.zeros((n_cones, r + 1), bool)
    ray[:, 1:] = True
    bits = np.zeros((n_cones, r + 1, words), dtype=np.uint64)
    apex = dd.bit_rows(1, words, [int(u) for u in sel])[0]
    bits[:, 0] = apex
    for i in range(r):
        row = dd.bit_rows(1, words, [int(u) for k, u in enumerate(sel) if k != i] + [inf_id])[0]
        bits[:, 1 + i] = row
    start = np.arange(n_cones + 1) * (r + 1)
    return dd.Cells(x.reshape(-1, r), ray.reshape(-1), bits.reshape(-1, words), start,
                    np.zeros(n_cones, np.int64), np.zeros((n_cones, 0), bool), np.zeros(n_cones, bool))


def _dd_chunks(weights, biases, slopes, bounds, chunk: int, deadline=None) -> Iterator[RegionArrays]:
    hidden_w, hidden_b = weights[:-1], biases[:-1]
    H = sum(w.shape[0] for w in hidden_w)
    frame, sel = _domain_frame(weights, biases, bounds)
    r = frame.basis.shape[1]
    if H == 0 or r == 0:
        yield _single_region(weights, biases, slopes, bounds, frame)
        return
    W1 = weights[0] @ frame.basis
    b1 = _shifted_bias(weights[0], biases[0], frame.origin)
    words = dd.n_words(H, r)
    ties = Ties(weights, biases, slopes, frame.origin, frame.basis, bounds, frame.scale)
    prob = dd.Problem([W1, *hidden_w[1:]], [b1, *hidden_b[1:]], slopes, r, frame.scale, words, deadline, ties)
    if bounds is not None:
        (low, high), exact_box = _local_box(bounds, frame.origin)
        cells = _root_box(low, high, H, words)
    else:
        exact_box = True
        cells = _root_cones(W1[sel], b1[sel], sel, H, words, prob.inf_id)
    cells.doubt[:] = not (frame.exact and exact_box)
    P0 = np.broadcast_to(np.concatenate([W1, b1[:, None]], axis=1), (len(cells), *W1.shape[:1], r + 1)).copy()
    for done, patterns in dd.descend(prob, cells, P0, np.zeros((len(cells), 0), bool), 0, chunk):
        yield _dd_finish(done, patterns, prob, frame, weights, biases, slopes, bounds)


# ---------------------------------------------------------------------- assembling regions
def _shifted_bias(W: np.ndarray, b: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """b + W · origin rounded once from its exact value: computed in float64 it would carry the
    rounding of W · origin, relative to |W| |origin| rather than to the domain, which far from
    the origin exceeds the engines' tolerances."""
    if not origin.any():
        return b.copy()
    exact = qmat(W) * qcol(origin) + qcol(b)
    return to_floats(exact)


def _dd_facets(cells: dd.Cells, prob: dd.Problem) -> tuple[np.ndarray, np.ndarray]:
    """Non-redundant facets (cell, hyperplane id), sorted by cell and id, from the incidences.

    Where every generator of a cell is simple (lies on exactly m hyperplanes) every
    hyperplane a generator lies on is a facet: one that only touched the cell would add a
    hyperplane to the generators it touches. Elsewhere a hyperplane is a facet when it carries
    at least m generators and the set of generators on it is contained in no other
    hyperplane's (for coincident hyperplanes, the first one's).
    """
    m = prob.m
    nb = prob.inf_id + 1
    union = np.bitwise_or.reduceat(cells.bits, cells.start[:-1], axis=0)
    fc, fid = np.nonzero(dd.unpack_bits(union)[:, :nb])
    deg = dd.popcount_rows(cells.bits)
    irregular = np.flatnonzero(np.logical_or.reduceat(deg > m, cells.start[:-1]))
    if len(irregular):
        keep = ~np.isin(fc, irregular)
        extra_c, extra_f = [fc[keep]], [fid[keep]]
        for c in irregular:
            M = dd.unpack_bits(cells.bits[cells.start[c]:cells.start[c + 1]])[:, :nb]
            ids = np.flatnonzero(M.sum(axis=0) >= m)
            M = M[:, ids].astype(np.int64)
            size = M.sum(axis=0)
            subset = (M.T @ M) == size[:, None]
            strict = subset & (size[None, :] > size[:, None])
            earlier_equal = subset & (size[None, :] == size[:, None]) & np.tri(len(ids), k=-1, dtype=bool)
            ids = ids[~(strict.any(axis=1) | earlier_equal.any(axis=1))]
            extra_c.append(np.full(len(ids), c))
            extra_f.append(ids)
        fc, fid = np.concatenate(extra_c), np.concatenate(extra_f)
        order = np.lexsort((fid, fc))
        fc, fid = fc[order], fid[order]
    real = fid != prob.inf_id
    return fc[real], fid[real]


def _dd_finish(cells, patterns, prob, frame, weights, biases, slopes, bounds) -> RegionArrays:
    C = len(cells)
    r = prob.m
    H = prob.hidden
    counts = np.diff(cells.start)
    gen_cell = np.repeat(np.arange(C), counts)
    is_v = ~cells.ray
    n_v = np.bincount(gen_cell[is_v], minlength=C)
    n_r = np.bincount(gen_cell[cells.ray], minlength=C)
    local_v = cells.x[is_v]
    centroid = np.stack([np.bincount(gen_cell[is_v], weights=local_v[:, k], minlength=C) for k in range(r)], axis=1)
    centroid /= np.maximum(n_v, 1)[:, None]
    ray_sum = np.stack([np.bincount(gen_cell[cells.ray], weights=cells.x[cells.ray, k], minlength=C) for k in range(r)], axis=1)
    interior = frame.origin + (centroid + frame.scale * ray_sum) @ frame.basis.T
    vertices = frame.origin + local_v @ frame.basis.T
    rays_local = cells.x[cells.ray] @ frame.basis.T
    extra = 2 * frame.null.shape[1]
    if extra:
        # Cylinders: every region contains the lines along the null space of W_1.
        lines = np.concatenate([frame.null.T, -frame.null.T])
        ray_cell = np.concatenate([gen_cell[cells.ray], np.repeat(np.arange(C), extra)])
        order = np.argsort(ray_cell, kind="stable")
        rays_local = np.concatenate([rays_local, np.tile(lines, (C, 1))])[order]
        n_r = n_r + extra
    fc, fid = _dd_facets(cells, prob)
    tags = np.where(fid < H, fid, -1 - (fid - H))
    out = _assemble(weights, biases, slopes, bounds, patterns, _offsets(n_v), vertices, _offsets(n_r), rays_local,
                    interior, fc, tags, ~cells.doubt)
    return _deeper_interiors(out, frame, centroid, ray_sum, weights, biases, slopes)


# Farther steps along the rays tried for the interior point of an unbounded region that the first
# step leaves outside (a thin cone whose apex is far from the origin is, one scale out, thinner than
# the floats there can tell).
INTERIOR_STEPS = (1e3, 1e6, 1e9, 1e12)
# An interior point whose float slack is below this many ulps of its size (plus the scale) is
# confirmed by an exact forward pass: the facets themselves are rounded by about that much.
INTERIOR_ULPS = 1e3


def _deeper_interiors(regions: RegionArrays, frame: _Frame, centroid, ray_sum, weights, biases, slopes) -> RegionArrays:
    """Interior points strictly inside every region. A point whose slack is within rounding of its
    facets is checked exactly (its exact pattern is the region's, no unit at 0); an unbounded
    region whose point fails is tried farther along its rays; a region left without one is marked
    not exact."""
    size = np.abs(regions.interior).max(axis=1) + frame.scale if len(regions) else np.zeros(0)
    doubtful = np.flatnonzero(~(regions.inradius > INTERIOR_ULPS * np.finfo(np.float64).eps * size))
    if len(doubtful) == 0:
        return regions
    exact_net = ExactNetwork.from_arrays(weights, biases, slopes)
    interior, exact = regions.interior.copy(), regions.exact.copy()
    for i in doubtful:
        steps = (0.0,) if regions.bounded[i] else (1.0, *INTERIOR_STEPS)
        for step in steps:
            point = interior[i] if step == 0.0 else frame.origin + (centroid[i] + frame.scale * step * ray_sum[i]) @ frame.basis.T
            if _strictly_inside(exact_net, point, regions.patterns[i]):
                interior[i] = point
                break
        else:
            exact[i] = False
    inradius = _inradius(regions.facet_offsets, regions.facet_normals, regions.facet_rhs, interior)
    return _replace(regions, interior=interior, inradius=inradius, exact=exact)


def _inradius(facet_offsets: np.ndarray, normals: np.ndarray, rhs: np.ndarray, interior: np.ndarray) -> np.ndarray:
    """The least slack of each region's interior point over its facets, shape (R,) (inf without facets)."""
    cell = np.repeat(np.arange(len(interior)), np.diff(facet_offsets))
    slack = rhs - np.einsum("fk,fk->f", normals, interior[cell])
    inradius = np.full(len(interior), np.inf)
    has = np.diff(facet_offsets) > 0
    if len(slack):
        inradius[has] = np.minimum.reduceat(slack, facet_offsets[:-1][has])
    return inradius


def _strictly_inside(net: ExactNetwork, point: np.ndarray, pattern: np.ndarray) -> bool:
    _, pre = net.forward(qcol(point))
    values = [v for layer in pre for v in layer]
    return all(v != 0 for v in values) and [v > 0 for v in values] == [bool(b) for b in pattern]


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _single_region(weights, biases, slopes, bounds, frame) -> RegionArrays:
    """The whole domain as one region (no hidden layer, or a first layer that is constant)."""
    m = weights[0].shape[1]
    pattern = _forward_patterns(weights, biases, slopes, frame.origin[None])
    if bounds is not None:
        corners = np.array(np.meshgrid(*[[0.0, 1.0]] * m, indexing="ij")).reshape(m, -1).T
        vertices = bounds[0] + corners * (bounds[1] - bounds[0])
        rays = np.zeros((0, m))
        tags = -1 - np.arange(2 * m)
    else:
        vertices = frame.origin[None].copy()
        rays = np.concatenate([np.eye(m), -np.eye(m)])
        tags = np.zeros(0, dtype=np.int64)
    return _assemble(weights, biases, slopes, bounds, pattern, np.array([0, len(vertices)]), vertices,
                     np.array([0, len(rays)]), rays, vertices.mean(axis=0)[None], np.zeros(len(tags), np.int64), tags,
                     np.array([frame.exact]))


def _forward_patterns(weights, biases, slopes, z: np.ndarray) -> np.ndarray:
    """Activation patterns (N, H) at points z (N, m), float64 forward pass."""
    h, bits = z, []
    for W, b, s in zip(weights[:-1], biases[:-1], slopes):
        pre = h @ W.T + b
        bits.append(pre >= 0)
        h = np.where(pre >= 0, pre, s * pre)
    return np.concatenate(bits, axis=1) if bits else np.zeros((len(z), 0), bool)


def _assemble(weights, biases, slopes, bounds, patterns, vertex_offsets, vertices, ray_offsets, rays, interior,
              facet_cell, facet_tags, exact=None) -> RegionArrays:
    """A, c and the facets' half-spaces from the patterns; inradius from the interior points.

    The pre-activation maps of layer l depend only on the pattern of the layers before it,
    so they are computed once per distinct prefix pattern (far fewer than regions but for
    the output layer), as (U, m + 1, w) blocks: each layer is one matrix product. A facet on
    unit u of layer l takes its half-space from row u of its prefix's block.
    """
    R = len(patterns)
    m = weights[0].shape[1]
    F = len(facet_cell)
    normals = np.zeros((F, m))
    rhs = np.zeros(F)
    block = np.concatenate([weights[0].T, biases[0][None]])[None]
    group = np.zeros(R, dtype=np.int64)
    offset = 0
    for layer, (W_next, b_next) in enumerate(zip(weights[1:], biases[1:])):
        w = block.shape[2]
        sel = np.flatnonzero((facet_tags >= offset) & (facet_tags < offset + w))
        if len(sel):
            unit = facet_tags[sel] - offset
            maps = block[group[facet_cell[sel]], :, unit]
            grad, value = maps[:, :m], maps[:, m]
            norm = dd.norms(grad)
            sign = np.where(patterns[facet_cell[sel], facet_tags[sel]], -1.0, 1.0) / np.where(norm > 0, norm, 1.0)
            normals[sel] = sign[:, None] * grad
            rhs[sel] = -sign * value
        if layer + 2 < len(weights):
            rep, group_next = _distinct_rows(np.packbits(patterns[:, :offset + w], axis=1))
        else:
            rep, group_next = np.arange(R), np.arange(R)
        block = _next_block(block, group[rep], patterns[rep, offset:offset + w], slopes[layer], W_next, b_next)
        group = group_next.reshape(-1)
        offset += w
    if len(weights) == 1:
        block = np.broadcast_to(block, (R, m + 1, block.shape[2]))
    box = np.flatnonzero(facet_tags < 0)
    if len(box):
        k = -1 - facet_tags[box]
        coord, upper = k // 2, k % 2 == 1
        normals[box, coord] = np.where(upper, 1.0, -1.0)
        rhs[box] = np.where(upper, bounds[1][coord], -bounds[0][coord])
    A = np.ascontiguousarray(block[:, :m].transpose(0, 2, 1))
    c = np.ascontiguousarray(block[:, m])
    facet_offsets = _offsets(np.bincount(facet_cell, minlength=R))  # facet_cell is sorted
    inradius = _inradius(facet_offsets, normals, rhs, interior)
    return RegionArrays(
        patterns=patterns, A=A, c=c, vertex_offsets=vertex_offsets, vertices=vertices, ray_offsets=ray_offsets,
        rays=rays, interior=interior, inradius=inradius, facet_offsets=facet_offsets, facet_normals=normals,
        facet_rhs=rhs, facet_units=facet_tags.astype(np.int64), bounded=np.diff(ray_offsets) == 0,
        exact=np.ones(R, dtype=bool) if exact is None else np.asarray(exact, dtype=bool),
        adjacency=np.zeros((0, 2), dtype=np.int64),
    )


def _next_block(block, parent, bits, slope, W, b) -> np.ndarray:
    """Maps (U, m + 1, w') of the next layer for U prefixes, from their parents' maps and bits
    (U, w): W · diag(gain) · block[parent] + b, in slices of rows so that the temporaries stay
    small (large fresh temporaries cost page faults, here more than the products)."""
    U, m1, w = len(parent), block.shape[1], block.shape[2]
    out = np.empty((U, m1, W.shape[0]))
    step = max(1, _ASSEMBLE_ROWS // (m1 * w))
    for u0 in range(0, U, step):
        u1 = min(U, u0 + step)
        tmp = block[parent[u0:u1]]
        tmp *= np.where(bits[u0:u1], 1.0, slope)[:, None, :]
        out[u0:u1] = (tmp.reshape(-1, w) @ W.T).reshape(u1 - u0, m1, -1)
    out[:, m1 - 1] += b
    return out


def _planar(weights, biases, slopes, bounds, deadline=None, *, fallback: bool = False) -> RegionArrays:
    """The planar engine; with ``fallback``, the double-description engine (which settles ties
    exactly) as soon as the subdivision meets a tie. Without it, a tie leaves every region's
    ``exact`` flag False."""
    centre = 0.5 * (bounds[0] + bounds[1])
    half = 0.5 * (bounds[1] - bounds[0])
    hidden_w, hidden_b = weights[:-1], biases[:-1]
    if not hidden_w:
        return _single_region(weights, biases, slopes, bounds, _Frame(centre, np.eye(2), np.zeros((2, 0)), float(half.max())))
    b1 = _shifted_bias(hidden_w[0], hidden_b[0], centre)
    (low, high), exact_box = _local_box(bounds, centre)
    found, ties = planar_regions(hidden_w, [b1, *hidden_b[1:]], slopes, low, high, deadline, stop_at_tie=fallback)
    if found is None:
        return _dd_regions(weights, biases, slopes, bounds, DEFAULT_CHUNK, deadline)
    patterns, v_off, verts, inner, fc, tags, adjacency = found
    out = _assemble(weights, biases, slopes, bounds, patterns, v_off, verts + centre, np.zeros(len(patterns) + 1, np.int64),
                    np.zeros((0, 2)), inner + centre, fc, tags, np.full(len(patterns), ties == 0 and exact_box))
    return _replace(out, adjacency=adjacency.astype(np.int64))


# ---------------------------------------------------------------------- adjacency
_ROW_MULT = dd._multipliers(1024)


def _row_hashes(packed: np.ndarray) -> np.ndarray:
    """A 64-bit linear hash of each row of packed bits (R, nb) uint8; rows that differ in one
    bit never collide (odd multipliers), other collisions are caught by comparing the rows."""
    R, nb = packed.shape
    words = -(-nb // 8)
    padded = np.zeros((R, 8 * words), dtype=np.uint8)
    padded[:, :nb] = packed
    return (padded.view(np.uint64) * _ROW_MULT[:words]).sum(axis=1, dtype=np.uint64)


def _distinct_rows(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A representative of each distinct row and the group of every row (exact: the grouping
    by hash is confirmed on the rows, and redone on the bytes if a hash ever collides)."""
    _, rep, group = np.unique(_row_hashes(packed), return_index=True, return_inverse=True)
    group = group.reshape(-1)
    if not np.array_equal(packed[rep[group]], packed):
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, rep, group = np.unique(keys, return_index=True, return_inverse=True)
    return rep, group.reshape(-1)


class _PatternIndex:
    """Exact lookup of packed patterns (by hash, confirmed on the rows)."""

    def __init__(self, packed: np.ndarray):
        self.packed = packed
        hashes = _row_hashes(packed)
        self.order = np.argsort(hashes)
        self.sorted = hashes[self.order]

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found (Q,) bool, index (Q,) of the region with each queried pattern)."""
        if len(queries) == 0:
            return np.zeros(0, bool), np.zeros(0, np.int64)
        at = np.clip(np.searchsorted(self.sorted, _row_hashes(queries)), 0, len(self.sorted) - 1)
        index = self.order[at]
        found = np.all(self.packed[index] == queries, axis=1)
        return found, index


def _adjacency(weights, biases, slopes, regions: RegionArrays, scale: float) -> np.ndarray:
    """Pairs of regions sharing a facet: across a facet on unit u the neighbour's pattern is the
    region's with bit u flipped; where no region has that pattern (coincident hyperplanes) it
    is read by a forward pass just across the facet."""
    R, H = regions.patterns.shape
    if R < 2 or H == 0:
        return np.zeros((0, 2), dtype=np.int64)
    packed = np.packbits(regions.patterns, axis=1)
    index = _PatternIndex(packed)
    fcell = np.repeat(np.arange(R), np.diff(regions.facet_offsets))
    sel = np.flatnonzero(regions.facet_units >= 0)
    unit = regions.facet_units[sel]
    query = packed[fcell[sel]]
    query[np.arange(len(sel)), unit >> 3] ^= (0x80 >> (unit & 7)).astype(np.uint8)
    found, other = index.find(query)
    missing = sel[~found]
    pairs = [np.stack([fcell[sel[found]], other[found]], axis=1)]
    if len(missing):
        patterns = _across(weights, biases, slopes, regions, fcell, missing, scale)
        ok, nb = index.find(np.packbits(patterns, axis=1))
        pairs.append(np.stack([fcell[missing[ok]], nb[ok]], axis=1))
    pairs = np.sort(np.concatenate(pairs), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    flat = np.unique(pairs[:, 0] * R + pairs[:, 1])
    return np.stack([flat // R, flat % R], axis=1)


def _across(weights, biases, slopes, regions, fcell, facets, scale) -> np.ndarray:
    """Patterns of the regions across the given facets.

    From a point y in the relative interior of the facet (the mean of the region's vertices on
    it plus the domain scale times its rays along it), the units whose sign differs between
    y − δn and y + δn (δ = ``ADJACENT_STEP_RTOL`` · L, n the outward normal) change across the
    facet; every other unit keeps its sign (continuity). Units constant 0 on both sides, or
    coincident with the facet's unit, are thus told apart.
    """
    m = regions.vertices.shape[1]
    points = np.zeros((len(facets), m))
    for k, f in enumerate(facets):
        reg = regions.region(int(fcell[f]))
        local = int(f - regions.facet_offsets[fcell[f]])
        n, g = reg.facet_normals[local], reg.facet_rhs[local]
        on = np.abs(reg.vertices @ n - g) <= ON_FACET_RTOL * scale
        base = reg.vertices[on].mean(axis=0) if on.any() else reg.interior + (g - reg.interior @ n) * n
        along = reg.rays[np.abs(reg.rays @ n) <= ON_FACET_RTOL] if len(reg.rays) else reg.rays
        points[k] = base + scale * along.sum(axis=0)
    step = ADJACENT_STEP_RTOL * scale * regions.facet_normals[facets]
    flips = _forward_patterns(weights, biases, slopes, points + step) != _forward_patterns(weights, biases, slopes, points - step)
    return regions.patterns[fcell[facets]] ^ flips
