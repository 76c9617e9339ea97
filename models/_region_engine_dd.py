"""Cell splitting in the vertex representation (double description), for any input dimension.

Every cell carries its generators in homogeneous form: vertices (1, v) and unit rays
(0, r), each with a bitset of the hyperplanes it lies on (hidden units, box faces and
the face at infinity t = 0, on which every ray lies). A unit whose affine
pre-activation on the cell takes both signs at the generators cuts the cell. The new
generators are the crossings of the unit's hyperplane with the cell's edges whose ends
have opposite signs; two generators span an edge when they share at least m − 1
hyperplanes and, where both are non-simple (more than m hyperplanes), no third
generator lies on all of their common hyperplanes (the combinatorial adjacency test of
the double-description method). Generators on the cutting hyperplane go to both
children.

The work is batched: all cells waiting on the same unit are cut at once on flat arrays
(generators of a cell are contiguous; ``start`` holds the offsets). Within a layer a
cell waits only on the units that cut its ancestor at the start of the layer (a unit
that does not cut a cell cuts none of its parts), in unit order; cells leave a layer in
batches and descend depth first, so the live frontier stays bounded.

Hyperplane ids: hidden units 0..H−1 (layer 1 first), then for box coordinate k the
faces x_k >= low_k (id H + 2k) and x_k <= high_k (id H + 2k + 1), then the face at
infinity (id H + 2m).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

DIST_RTOL = 1e-10
"""A generator lies on a hyperplane when its distance to it is at most DIST_RTOL · L, L the
domain's length scale. Coordinates are interpolated along edges generation after
generation, which costs a few ulps of L each (about 1e-15 L), so 1e-10 L leaves five orders
of margin above rounding, while genuine features thinner than 1e-10 L (slivers between
nearly coincident hyperplanes) are far below anything a sampled point would resolve; the
earlier engine also dropped cells thinner than 1e-9 L."""

ANGLE_RTOL = 1e-10
"""A ray lies on (is parallel to) a hyperplane a·z + b = 0 when |a·r| <= ANGLE_RTOL · |a|
(angles below 1e-10 rad). Rays are unit vectors built by normalised combinations, accurate
to a few ulps, so the same margin as ``DIST_RTOL`` applies."""

POPCOUNT = getattr(np, "bitwise_count", None)
_BYTE_COUNTS = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)


def norms(a: np.ndarray) -> np.ndarray:
    """Euclidean norms along the last axis, each vector scaled by its largest entry first (the
    squares of tiny entries, weights of 1e-200, underflow); 0 for a zero vector."""
    top = np.abs(a).max(axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1])
    finite = (top > 0) & np.isfinite(top)
    safe = np.where(finite, top, 1.0)
    return np.where(finite, top * np.linalg.norm(a / safe[..., None], axis=-1), top)


def popcount_rows(bits: np.ndarray) -> np.ndarray:
    """Number of set bits in each row of a (N, W) uint64 array, shape (N,) int64."""
    if POPCOUNT is not None:
        return POPCOUNT(bits).sum(axis=1, dtype=np.int64)
    return _BYTE_COUNTS[bits.view(np.uint8)].sum(axis=1, dtype=np.int64)


def unpack_bits(bits: np.ndarray) -> np.ndarray:
    """(N, W) uint64 bitsets as (N, 64 W) bool, bit i of word k at column 64 k + i."""
    little = np.ascontiguousarray(bits.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(little, axis=1, bitorder="little").view(bool)


def _excl_cumsum(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges start_i + [0, count_i): (owner i of each entry, entry value)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(_excl_cumsum(counts), counts)
    return owner, np.repeat(starts, counts) + offset


@dataclass
class Cells:
    """A batch of cells in flat form.

    Attributes
    ----------
    x : ndarray (N, m)
        Generator coordinates: a vertex, or the unit direction of a ray.
    ray : ndarray (N,) bool
    bits : ndarray (N, W) uint64
        Incidence bitsets over hyperplane ids.
    start : ndarray (C + 1,) int64
        Generators of cell i are rows start[i]:start[i + 1].
    root : ndarray (C,) int64
        Index of the cell's ancestor at the start of the current layer.
    lbits : ndarray (C, w) bool
        Activation bits of the current layer's units.
    doubt : ndarray (C,) bool
        A tie in the cell's history that exact arithmetic could not settle (see
        ``models._region_engine_ties``): the cell may differ from the exact one by less than the
        tolerance.
    """

    x: np.ndarray
    ray: np.ndarray
    bits: np.ndarray
    start: np.ndarray
    root: np.ndarray
    lbits: np.ndarray
    doubt: np.ndarray

    def __len__(self) -> int:
        return len(self.root)

    def slice(self, c0: int, c1: int) -> Cells:
        g0, g1 = self.start[c0], self.start[c1]
        return Cells(self.x[g0:g1], self.ray[g0:g1], self.bits[g0:g1], self.start[c0:c1 + 1] - g0,
                     self.root[c0:c1], self.lbits[c0:c1], self.doubt[c0:c1])


def concat_cells(parts: list[Cells]) -> Cells:
    if len(parts) == 1:
        return parts[0]
    sizes = np.concatenate([np.diff(p.start) for p in parts])
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    return Cells(
        np.concatenate([p.x for p in parts]), np.concatenate([p.ray for p in parts]),
        np.concatenate([p.bits for p in parts]), start,
        np.concatenate([p.root for p in parts]), np.concatenate([p.lbits for p in parts]),
        np.concatenate([p.doubt for p in parts]),
    )


@dataclass
class Problem:
    """A network prepared for splitting (first layer already in local coordinates).

    Attributes
    ----------
    weights, biases : list of ndarray
        Hidden layers only; ``biases[0]`` includes the shift to local coordinates.
    slopes : tuple of float
    m : int
    scale : float
        Length scale L of the domain.
    n_words : int
        uint64 words per incidence bitset.
    deadline : models.deadline.Deadline or None
        Checked before every unit's cut.
    ties : models._region_engine_ties.Ties or None
        Settles the values within the tolerance exactly; None leaves them on the hyperplane
        (and the cells in doubt).
    """

    weights: list
    biases: list
    slopes: tuple
    m: int
    scale: float
    n_words: int
    deadline: object = None
    ties: object = None

    @property
    def hidden(self) -> int:
        return sum(w.shape[0] for w in self.weights)

    @property
    def inf_id(self) -> int:
        return self.hidden + 2 * self.m


def n_words(hidden: int, m: int) -> int:
    return (hidden + 2 * m + 1 + 63) // 64


def set_bit(bits: np.ndarray, rows, hid: int) -> None:
    bits[rows, hid >> 6] |= np.uint64(1 << (hid & 63))


def bit_rows(n: int, n_words_: int, ids: list[int]) -> np.ndarray:
    out = np.zeros((n, n_words_), dtype=np.uint64)
    for hid in ids:
        set_bit(out, slice(None), hid)
    return out


# ---------------------------------------------------------------------- one layer
@dataclass
class _Layer:
    """Per-root tables of the current layer: pre-activation maps and their candidates."""

    P: np.ndarray       # (R, w, m + 1): unit u on root r is P[r, u, :m] · z + P[r, u, m]
    anorm: np.ndarray   # (R, w): gradient norms |P[r, u, :m]|
    nxt: np.ndarray     # (R, w + 1): first candidate unit at index 0, next after u at u + 1 (w: none)
    first_id: int       # hyperplane id of unit 0 of this layer
    slope: float
    prefix: np.ndarray  # (R, h): bits of the earlier layers on each root (what the exact forms read)
    rounding: np.ndarray  # (R, w): a bound on the rounding of each unit's values on the root (see ROUNDING_ULPS)


# Generators per block when all of a layer's units are evaluated at every generator: the
# (N, w, m + 1) gather then stays near 32 MB.
_EVAL_BLOCK = 1 << 22


def _tolerances(cells: Cells, scale: float) -> np.ndarray:
    return np.where(cells.ray, ANGLE_RTOL, DIST_RTOL * scale)


ROUNDING_ULPS = 8.0
"""The pre-activation maps P of a layer are composed in float64 through the layers before it; each
entry then carries at most about (fan-in + 2) ulps of the sum of the magnitudes of its terms, which
``magnitudes`` carries along (|W| times the magnitudes of the layer before). ROUNDING_ULPS times the
fan-ins times that bound, at a generator, is added to the tie tolerance: where the terms cancel (a
composed gradient far smaller than its terms), values that look clear of the tolerance are rounding,
and they are settled exactly as ties."""


def magnitudes_error(magnitudes: np.ndarray, fan_in: int) -> np.ndarray:
    """The rounding bound of P's entries from the magnitudes of their terms."""
    return ROUNDING_ULPS * (fan_in + 2) * np.finfo(np.float64).eps * magnitudes


def _rounding_bounds(cells: Cells, error: np.ndarray) -> np.ndarray:
    """Bound (C, w) on the rounding of each unit's values at the generators of each root cell (and
    so of its parts): the entries' bounds ``error`` (C, w, m + 1) against the largest |x_k| of the
    cell's generators (rays are unit vectors: at least 1)."""
    m = cells.x.shape[1]
    largest = np.maximum(np.maximum.reduceat(np.abs(cells.x), cells.start[:-1], axis=0), 1.0)
    return np.einsum("cuk,ck->cu", error[:, :, :m], largest) + error[:, :, m]


def prepare_layer(cells: Cells, P: np.ndarray, first_id: int, slope: float, scale: float, prefix: np.ndarray,
                  ties=None, error: np.ndarray | None = None) -> _Layer:
    """Candidates and initial bits of a layer for root cells (``cells.root`` = arange)."""
    C, w, m1 = P.shape
    m = m1 - 1
    anorm = norms(P[:, :, :m])
    counts = np.diff(cells.start)
    has_pos = np.zeros((C, w), dtype=bool)
    has_neg = np.zeros((C, w), dtype=bool)
    per_block = max(1, _EVAL_BLOCK // max(1, w * m1 * int(counts.max(initial=1))))
    gtol = _tolerances(cells, scale)
    rounding = np.zeros((C, w)) if error is None else _rounding_bounds(cells, error)
    for c0 in range(0, C, per_block):
        c1 = min(C, c0 + per_block)
        g0, g1 = cells.start[c0], cells.start[c1]
        cell = np.repeat(np.arange(c0, c1), counts[c0:c1])
        xa = np.concatenate([cells.x[g0:g1], (~cells.ray[g0:g1])[:, None].astype(np.float64)], axis=1)
        Y = np.einsum("nk,nuk->nu", xa, P[cell])
        tol = gtol[g0:g1, None] * anorm[cell] + rounding[cell]
        seg = cells.start[c0:c1] - g0
        above, below = Y > tol, Y < -tol
        if ties is not None:
            _settle_layer_ties(cells, g0, cell, Y, above, below, first_id, prefix, ties)
        has_pos[c0:c1] = np.logical_or.reduceat(above, seg, axis=0)
        has_neg[c0:c1] = np.logical_or.reduceat(below, seg, axis=0)
    cand = has_pos & has_neg
    idx = np.where(cand, np.arange(w), w)
    nxt = np.full((C, w + 1), w, dtype=np.int64)
    nxt[:, :w] = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    cells.lbits = ~has_neg
    return _Layer(P, anorm, nxt, first_id, slope, prefix, rounding)


def _generator_ids(bits: np.ndarray, count: int) -> list[np.ndarray]:
    """The hyperplane ids each generator lies on (rows of ``bits``), ids below ``count``."""
    return [np.flatnonzero(row[:count]) for row in unpack_bits(bits)]


def _has_bit(bits: np.ndarray, hid) -> np.ndarray:
    """Whether each row of ``bits`` has bit ``hid`` (one id, or one per row)."""
    hid = np.asarray(hid, dtype=np.int64)
    return ((bits[np.arange(len(bits)), hid >> 6] >> (hid & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)


def _settle_layer_ties(cells: Cells, g0: int, cell: np.ndarray, Y, above, below, first_id: int, prefix, ties) -> None:
    """Exact sides of the generators within the tolerance of a unit of the layer (in place)."""
    rows, units = np.nonzero(~above & ~below)
    # A generator made on the unit's hyperplane (the apex of the cones on R^m) lies on it by construction.
    known = _has_bit(cells.bits[g0 + rows], first_id + units) if len(rows) else np.zeros(0, bool)
    rows, units = rows[~known], units[~known]
    if len(rows) == 0:
        return
    g = g0 + rows
    ids = _generator_ids(cells.bits[g], ties.hidden + 2 * ties.r + 1)
    for u in np.unique(units):
        at = np.flatnonzero(units == u)
        signs, _, settled = ties.resolve([ids[k] for k in at], cells.ray[g[at]], cells.x[g[at]], first_id + int(u),
                                         prefix[cell[rows[at]]])
        above[rows[at], u] = signs > 0
        below[rows[at], u] = signs < 0
        cells.doubt[cell[rows[at][~settled]]] = True


def _settle_cut_ties(cells: Cells, cell, v, pos, neg, hid: int, prefix, ties) -> np.ndarray:
    """Exact sides of the generators within the tolerance of the cutting unit: pos, neg and v are
    updated in place (v takes the exact value's float, so crossings interpolate the right way);
    returns the cells' doubt flags with those of unsettled ties set."""
    tied = np.flatnonzero(~pos & ~neg)
    if len(tied):
        tied = tied[~_has_bit(cells.bits[tied], np.full(len(tied), hid))]
    if len(tied) == 0:
        return cells.doubt
    ids = _generator_ids(cells.bits[tied], ties.hidden + 2 * ties.r + 1)
    signs, values, settled = ties.resolve(ids, cells.ray[tied], cells.x[tied], hid, prefix[cell[tied]])
    pos[tied] = signs > 0
    neg[tied] = signs < 0
    off = signs != 0
    v[tied[off]] = values[off]
    if settled.all():
        return cells.doubt
    doubt = cells.doubt.copy()
    doubt[cell[tied[~settled]]] = True
    return doubt


def _group_by_next(cells: Cells, key: np.ndarray) -> list[tuple[int, Cells]]:
    """Split cells (already sorted by key) into (key, contiguous slice) groups."""
    if len(key) == 0:
        return []
    edges = np.flatnonzero(np.diff(key)) + 1
    bounds = np.concatenate([[0], edges, [len(key)]])
    return [(int(key[b0]), cells.slice(int(b0), int(b1))) for b0, b1 in itertools.pairwise(bounds)]


def cut_step(cells: Cells, j: int, layer: _Layer, prob: Problem) -> list[tuple[int, Cells]]:
    """Cut every cell of the batch by unit j of the layer; children grouped by their next unit."""
    m = prob.m
    C = len(cells)
    counts = np.diff(cells.start)
    cell = np.repeat(np.arange(C), counts)
    root = cells.root
    a = layer.P[root, j]
    ag = a[cell]
    v = np.einsum("nk,nk->n", cells.x, ag[:, :m])
    v += np.where(cells.ray, 0.0, ag[:, m])
    tol = _tolerances(cells, prob.scale) * layer.anorm[root, j][cell] + layer.rounding[root, j][cell]
    pos = v > tol
    neg = v < -tol
    doubt = cells.doubt
    if prob.ties is not None:
        doubt = _settle_cut_ties(cells, cell, v, pos, neg, layer.first_id + j, layer.prefix[root], prob.ties)
    npos = np.bincount(cell[pos], minlength=C)
    nneg = np.bincount(cell[neg], minlength=C)
    cut = (npos > 0) & (nneg > 0)
    after = layer.nxt[root, j + 1]
    hid = layer.first_id + j
    if not cut.any():
        cells.lbits = cells.lbits.copy()
        cells.lbits[:, j] = nneg == 0
        order = np.argsort(after, kind="stable")
        sizes = counts[order]
        _, gens = _ranges(cells.start[order], sizes)
        start = np.zeros(C + 1, dtype=np.int64)
        np.cumsum(sizes, out=start[1:])
        out = Cells(cells.x[gens], cells.ray[gens], cells.bits[gens], start, root[order], cells.lbits[order], doubt[order])
        return _group_by_next(out, after[order])

    cc = np.flatnonzero(cut)
    cutg = cut[cell]
    p, q, common = _crossing_pairs(cells, cell, counts, pos & cutg, neg & cutg, m)
    xn, rn = _crossings(cells, v, p, q)
    bn = common
    set_bit(bn, slice(None), hid)
    new_cell = cell[p]

    # Output cells: uncut ones, then the active and the inactive child of each cut cell,
    # ordered by the next unit they wait on; every generator is written straight to its
    # place (offset of its cell + rank within it), no sort of generators.
    uc = np.flatnonzero(~cut)
    src = np.concatenate([uc, cc, cc])
    lb = cells.lbits[src]
    lb[:, j] = np.concatenate([nneg[uc] == 0, np.ones(len(cc), bool), np.zeros(len(cc), bool)])
    key = after[src]
    order = np.argsort(key, kind="stable")
    rank = np.empty(len(src), dtype=np.int64)
    rank[order] = np.arange(len(src))
    nnew = np.bincount(new_cell, minlength=C)
    n_up = np.where(cut, counts - nneg, 0)      # generators >= 0 of each cut cell
    n_dn = np.where(cut, counts - npos, 0)      # generators <= 0
    size_src = np.concatenate([counts[uc], n_up[cc] + nnew[cc], n_dn[cc] + nnew[cc]])
    start = np.zeros(len(src) + 1, dtype=np.int64)
    np.cumsum(size_src[order], out=start[1:])
    first = start[rank]
    base_u, base_p, base_n = (np.zeros(C, dtype=np.int64) for _ in range(3))
    base_u[uc] = first[:len(uc)]
    base_p[cc] = first[len(uc):len(uc) + len(cc)]
    base_n[cc] = first[len(uc) + len(cc):]

    zero = ~(pos | neg)
    g1 = np.flatnonzero(~cutg)
    g2 = np.flatnonzero(cutg & ~neg)
    g3 = np.flatnonzero(cutg & ~pos)
    c1, c2, c3 = cell[g1], cell[g2], cell[g3]
    at1 = base_u[c1] + (g1 - cells.start[c1])
    at2 = base_p[c2] + np.arange(len(g2)) - _excl_cumsum(n_up)[c2]
    at3 = base_n[c3] + np.arange(len(g3)) - _excl_cumsum(n_dn)[c3]
    by_cell = np.argsort(new_cell, kind="stable")
    cn = new_cell[by_cell]
    within = np.arange(len(cn)) - _excl_cumsum(nnew)[cn]
    at_p = base_p[cn] + n_up[cn] + within
    at_n = base_n[cn] + n_dn[cn] + within
    total = int(start[-1])
    x = np.empty((total, m))
    ray = np.empty(total, dtype=bool)
    bits = np.empty((total, cells.bits.shape[1]), dtype=np.uint64)
    for at, g in ((at1, g1), (at2, g2), (at3, g3)):
        x[at], ray[at], bits[at] = cells.x[g], cells.ray[g], cells.bits[g]
    xn, rn, bn = xn[by_cell], rn[by_cell], bn[by_cell]
    for at in (at_p, at_n):
        x[at], ray[at], bits[at] = xn, rn, bn
    set_bit(bits, np.concatenate([at2[zero[g2]], at3[zero[g3]]]), hid)
    out = Cells(x, ray, bits, start, root[src[order]], lb[order], doubt[src[order]])
    return _group_by_next(out, key[order])


PAIRWISE_RATIO = 2.0
"""Cut cells are scanned pair by pair (every positive against every negative generator) when
that is at most PAIRWISE_RATIO times as many pairs as the edge keys a join would sort; a pair
costs a few vectorised operations, a key about as much plus its share of two sorts."""

# Odd multipliers of the linear hash of an edge key (a cell and m − 1 hyperplanes); a match
# is always confirmed on the bitsets themselves, so a collision can only cost a lookup.
_HASH_RNG = np.random.default_rng(0x5EED)


def _multipliers(n: int) -> np.ndarray:
    return _HASH_RNG.integers(1, 2**63, size=n, dtype=np.uint64) | np.uint64(1)


_WORD_MULT = _multipliers(1024)  # bitsets of up to 65536 hyperplanes
# Top bits of an edge key that hold the cell's index in its batch (batches stay far below
# 2^24 cells), leaving a 40-bit hash: two keys of one cell (a few hundred) share a hash with
# probability about 1e-8, and then the second one is probed too.
_CELL_BITS = 24
_HASH_PROBES = 2


def _edge_keys(bits: np.ndarray, cell: np.ndarray, m: int) -> np.ndarray:
    """Keys (n, m) of the m edges of simple generators: the cell index in the top
    ``_CELL_BITS`` bits, above a hash of the generator's hyperplanes with each of its m
    hyperplanes dropped in turn. Keys of one cell are contiguous in sorted order, so rows
    given cell by cell are nearly sorted already."""
    n, W = bits.shape
    rows = np.arange(n)
    base = (bits * _WORD_MULT[:W]).sum(axis=1, dtype=np.uint64)
    top = cell.astype(np.uint64) << np.uint64(64 - _CELL_BITS)
    rest = bits.copy()
    keys = np.empty((n, m), dtype=np.uint64)
    for i in range(m):
        word = np.argmax(rest != 0, axis=1)
        value = rest[rows, word]
        low = value & (~value + np.uint64(1))
        rest[rows, word] = value ^ low
        keys[:, i] = top | ((base - low * _WORD_MULT[word]) >> np.uint64(_CELL_BITS))
    return keys


def _crossing_pairs(cells, cell, counts, pos, neg, m):
    """Edges of the cut cells between a positive and a negative generator.

    Between simple generators (on exactly m hyperplanes) an edge is a shared set of m − 1
    hyperplanes, found by joining the generators' m edge keys. A non-simple generator is
    paired with every generator of the other sign in its cell; such a pair is an edge when the
    two share at least m − 1 hyperplanes and, if both are non-simple, no third generator of
    the cell lies on all of the shared ones.

    Returns
    -------
    p, q : ndarray (K,)
        Generator indices (positive end, negative end).
    common : ndarray (K, W)
        The hyperplanes both ends lie on.
    """
    deg = popcount_rows(cells.bits)
    simple = deg == m
    C = len(counts)
    np_c = np.bincount(cell[pos], minlength=C)
    nn_c = np.bincount(cell[neg], minlength=C)
    if np.dot(np_c, nn_c) <= PAIRWISE_RATIO * m * (np_c.sum() + nn_c.sum()):
        p, q = _all_pairs(cell, pos, neg, np_c, nn_c)
        same_cell = True
    else:
        p, q = _joined_pairs(cells, cell, counts, pos, neg, simple, m)
        same_cell = False
    return _confirmed_edges(cells, cell, counts, p, q, simple, m, same_cell)


def _all_pairs(cell, pos, neg, np_c, nn_c):
    """Every (positive, negative) pair of generators of each cell: each positive generator
    repeated once per negative one of its cell, against that cell's run of negatives."""
    pidx = np.flatnonzero(pos)
    nidx = np.flatnonzero(neg)
    reps = nn_c[cell[pidx]]
    _, q = _ranges(_excl_cumsum(nn_c)[cell[pidx]], reps)
    return np.repeat(pidx, reps), nidx[q]


def _joined_pairs(cells, cell, counts, pos, neg, simple, m):
    """Candidate edges: simple generators joined on their edge keys, and every pair with a
    non-simple end."""
    gp = np.flatnonzero(pos & simple)
    gq = np.flatnonzero(neg & simple)
    kp = _edge_keys(cells.bits[gp], cell[gp], m).ravel()
    kq = _edge_keys(cells.bits[gq], cell[gq], m).ravel()
    # Keys arrive cell by cell, so a stable (merge) sort is several times faster than a
    # quicksort; sorted queries then walk memory in order.
    op, oq = np.argsort(kp, kind="stable"), np.argsort(kq, kind="stable")
    kp, kq = kp[op], kq[oq]
    p, q = [], []
    if len(kq):
        at = np.searchsorted(kq, kp)
        # Two keys of one cell may share a hash: look at the first _HASH_PROBES equal keys
        # (a wrong candidate is dropped when the bitsets are confirmed).
        for shift in range(_HASH_PROBES):
            inside = np.flatnonzero(at + shift < len(kq))
            where = at[inside] + shift
            hit = kq[where] == kp[inside]
            p.append(gp[op[inside[hit]] // m])
            q.append(gq[oq[where[hit]] // m])
    p = np.concatenate(p) if p else np.zeros(0, dtype=np.int64)
    q = np.concatenate(q) if q else np.zeros(0, dtype=np.int64)
    irregular = np.flatnonzero((pos | neg) & ~simple)
    if len(irregular):
        p2, q2 = _irregular_pairs(cells, cell, counts, pos, neg, irregular)
        p, q = np.concatenate([p, p2]), np.concatenate([q, q2])
    return p, q


def _confirmed_edges(cells, cell, counts, p, q, simple, m, same_cell: bool):
    """The candidate pairs that are edges, with the hyperplanes they share (``same_cell``:
    the pairs are known to lie in one cell)."""
    if cells.bits.shape[1] == 1 and POPCOUNT is not None:
        # One word per bitset (at most 63 units and box faces): flat arrays, one pass each.
        word = cells.bits[:, 0]
        shared = word[p] & word[q]
        keep = POPCOUNT(shared) >= m - 1
    else:
        keep = popcount_rows(cells.bits[p] & cells.bits[q]) >= m - 1
    if not same_cell:
        keep &= cell[p] == cell[q]
    p, q = p[keep], q[keep]
    common = cells.bits[p] & cells.bits[q]
    both = np.flatnonzero(~simple[p] & ~simple[q])
    if len(both):
        # Both ends non-simple: the cardinality test is not enough; an edge needs that no
        # third generator of the cell lies on every hyperplane the two ends share.
        c_of = cell[p[both]]
        owner, w = _ranges(cells.start[c_of], counts[c_of])
        cm = common[both][owner]
        inside = np.all((cells.bits[w] & cm) == cm, axis=1) & (w != p[both][owner]) & (w != q[both][owner])
        blocked = np.bincount(owner[inside], minlength=len(both)) > 0
        keep = np.ones(len(p), dtype=bool)
        keep[both[blocked]] = False
        p, q, common = p[keep], q[keep], common[keep]
    return p, q, common


def _irregular_pairs(cells, cell, counts, pos, neg, irregular):
    """Every (positive, negative) pair of a cell that has a non-simple end among ``irregular``,
    each pair once."""
    c_of = cell[irregular]
    owner, w = _ranges(cells.start[c_of], counts[c_of])
    g = irregular[owner]
    opposite = np.where(pos[g], neg[w], pos[w])
    # A pair of two irregular generators is produced from both ends: keep it from its positive one.
    twice = np.isin(w, irregular) & neg[g]
    keep = opposite & ~twice
    g, w = g[keep], w[keep]
    is_pos = pos[g]
    return np.where(is_pos, g, w), np.where(is_pos, w, g)


def _crossings(cells: Cells, v: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The point (or ray) where the hyperplane crosses each edge (p, q), homogeneously:
    v_p · g_q − v_q · g_p has value 0 and is a positive combination of the ends."""
    vp, vq = v[p], v[q]
    # Only the ratio of the two values matters: scaled to order 1 first, so that tiny values (a
    # layer of weights 1e-200) neither underflow in the products nor in the norm of a new ray.
    size = np.maximum(np.abs(vp), np.abs(vq))
    size = np.where(size > 0, size, 1.0)
    vp, vq = vp / size, vq / size
    tp = (~cells.ray[p]).astype(np.float64)
    tq = (~cells.ray[q]).astype(np.float64)
    t = vp * tq - vq * tp
    num = vp[:, None] * cells.x[q] - vq[:, None] * cells.x[p]
    is_ray = t <= 0
    denom = np.where(is_ray, np.linalg.norm(num, axis=1), t)
    return num / denom[:, None], is_ray


def process_layer(cells: Cells, layer: _Layer, prob: Problem, flush: int):
    """Split root cells by every unit of the layer; yield finished cells in batches of >= flush."""
    w = layer.P.shape[1]
    buckets: dict[int, list[Cells]] = {}
    done: list[Cells] = []
    n_done = 0
    for k, group in _group_by_next(*_sorted_by(cells, layer.nxt[:, 0])):
        (done if k == w else buckets.setdefault(k, [])).append(group)
        n_done += len(group) if k == w else 0
    for j in range(w):
        if j not in buckets:
            continue
        batch = concat_cells(buckets.pop(j))
        if prob.deadline is not None:
            prob.deadline.check(f"the enumeration of linear regions (unit {j + 1} of a layer of {w}, {len(batch)} cells)")
        for k, group in cut_step(batch, j, layer, prob):
            if k == w:
                done.append(group)
                n_done += len(group)
            else:
                buckets.setdefault(k, []).append(group)
        if n_done >= flush:
            yield concat_cells(done)
            done, n_done = [], 0
    if done:
        yield concat_cells(done)


def _sorted_by(cells: Cells, key: np.ndarray) -> tuple[Cells, np.ndarray]:
    order = np.argsort(key, kind="stable")
    sizes = np.diff(cells.start)[order]
    _, gens = _ranges(cells.start[order], sizes)
    start = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    out = Cells(cells.x[gens], cells.ray[gens], cells.bits[gens], start, cells.root[order], cells.lbits[order],
                cells.doubt[order])
    return out, key[order]


# ---------------------------------------------------------------------- all layers
def descend(prob: Problem, cells: Cells, P: np.ndarray, pattern: np.ndarray, layer_index: int, batch: int,
            magnitudes: np.ndarray | None = None, fan_in: int = 0):
    """Yield (cells, patterns (C, H)) of finished regions below root cells entering a layer.

    ``P`` (C, w, m + 1) are the layer's pre-activation maps on the cells, ``pattern`` (C, h)
    the bits of the earlier layers; ``magnitudes`` (as P) the sums of the magnitudes of the terms
    of P's entries and ``fan_in`` the terms summed so far (the rounding bound of ``ROUNDING_ULPS``;
    None: |P|).
    """
    if magnitudes is None:
        magnitudes = np.abs(P)
    first_id = sum(w.shape[0] for w in prob.weights[:layer_index])
    last = layer_index == len(prob.weights) - 1
    slope = prob.slopes[layer_index]
    for c0 in range(0, len(cells), batch):
        c1 = min(len(cells), c0 + batch)
        sub = cells.slice(c0, c1)
        sub.root = np.arange(c1 - c0)
        sub_pattern = pattern[c0:c1]
        layer = prepare_layer(sub, P[c0:c1], first_id, slope, prob.scale, sub_pattern, prob.ties,
                              magnitudes_error(magnitudes[c0:c1], fan_in))
        for done in process_layer(sub, layer, prob, batch):
            full = np.concatenate([sub_pattern[done.root], done.lbits], axis=1)
            if last:
                yield done, full
                continue
            gain = np.where(done.lbits, 1.0, slope)
            M = gain[:, :, None] * layer.P[done.root]
            W, b = prob.weights[layer_index + 1], prob.biases[layer_index + 1]
            Pn = np.tensordot(M, W, axes=([1], [1])).transpose(0, 2, 1).copy()
            Pn[:, :, -1] += b
            Mn = gain[:, :, None] * magnitudes[c0:c1][done.root]
            Qn = np.tensordot(Mn, np.abs(W), axes=([1], [1])).transpose(0, 2, 1).copy()
            Qn[:, :, -1] += np.abs(b)
            done.root = np.arange(len(done))
            done.lbits = np.zeros((len(done), 0), dtype=bool)
            yield from descend(prob, done, Pn, full, layer_index + 1, batch, Qn, fan_in + W.shape[1])
