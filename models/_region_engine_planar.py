"""One planar subdivision of a 2-D box, split unit by unit (vertices, edges, faces).

The subdivision is a set of vertices with the current layer's pre-activations at each
(exact at every vertex by continuity), and directed edges with the face on their left
and on their right (-1 outside the box) and a tag: the unit whose zero set the edge lies
on, or -1-k for box face k. Faces are convex and traversed counter-clockwise (the face
is on the left of its half-edges). A unit is applied to all edges at once: edges whose
ends have opposite signs are split at the zero crossing (coordinates and pre-activations
interpolated; within a face the layer's pre-activations are affine), then every face with
boundary vertices of both signs is split along the segment between its two zero
vertices. At the end of a layer the face's bit for each unit is the sign of the sum of
the unit's values over the face's boundary vertices (all of one sign when the unit does
not cut the face; all zero when the unit is constant 0 there, which counts as active).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

VALUE_RTOL = 1e-10
"""A vertex lies on a unit's zero line when |value| <= VALUE_RTOL · max |value| over the current
vertices. The maximum over the vertices bounds the unit's values on the whole box (they are
affine on every face), so the threshold scales with the unit and is unchanged by translating
the box; interpolated values carry a few ulps of that maximum per generation (about 1e-15),
so 1e-10 leaves five orders of margin, as ``_region_engine_dd.DIST_RTOL`` does for distances."""


class _Store:
    """Growable columns of the subdivision (amortised doubling)."""

    def __init__(self, capacity: int, **columns):
        self.n = 0
        self.cols = {}
        for name, (shape, dtype) in columns.items():
            self.cols[name] = np.zeros((capacity, *shape), dtype=dtype)

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        for name, arr in self.cols.items():
            if need > arr.shape[0]:
                grown = np.zeros((max(need, 2 * arr.shape[0]), *arr.shape[1:]), dtype=arr.dtype)
                grown[:self.n] = arr[:self.n]
                self.cols[name] = grown

    def __getitem__(self, name):
        return self.cols[name]


class PlanarSubdivision:
    """The subdivision of the box [-h, h] (local coordinates) and its face patterns."""

    def __init__(self, half: np.ndarray, hidden: int):
        self.V = _Store(1024, x=((2,), np.float64))
        self.E = _Store(1024, ends=((2,), np.int64), faces=((2,), np.int64), tag=((), np.int64))
        self.F = _Store(256, pattern=((hidden,), bool))
        h0, h1 = float(half[0]), float(half[1])
        self.V["x"][:4] = [[-h0, -h1], [h0, -h1], [h0, h1], [-h0, h1]]
        self.V.n = 4
        # Box face k = 2·coordinate + (0 lower, 1 upper) is tagged -1 - k.
        self.E["ends"][:4] = [[0, 1], [1, 2], [2, 3], [3, 0]]
        self.E["faces"][:4] = [[0, -1]] * 4
        self.E["tag"][:4] = [-3, -2, -4, -1]
        self.E.n = 4
        self.F.n = 1
        self.Y = np.zeros((0, 1024))

    # ------------------------------------------------------------------ layers
    def start_layer(self, W: np.ndarray, b: np.ndarray, slope_prev: float | None) -> None:
        """Pre-activations of the next layer at every vertex: from the coordinates for the
        first layer, else through the previous layer's activation."""
        nv = self.V.n
        cap = self.V["x"].shape[0]
        if slope_prev is None:
            inputs = self.V["x"][:nv].T
        else:
            Y = self.Y[:, :nv]
            inputs = np.where(Y >= 0, Y, slope_prev * Y)
        Y = np.empty((W.shape[0], cap))
        Y[:, :nv] = W @ inputs + b[:, None]
        self.Y = Y

    def finish_layer(self, offset: int) -> None:
        """Set the layer's bits of every face from its boundary vertices."""
        nf, nv, ne = self.F.n, self.V.n, self.E.n
        ends, faces = self.E["ends"][:ne], self.E["faces"][:ne]
        rows = np.concatenate([faces[:, 0], faces[:, 1]])
        cols = np.concatenate([ends[:, 0], ends[:, 1]])
        inside = rows >= 0
        S = sp.csr_matrix((np.ones(int(inside.sum())), (rows[inside], cols[inside])), shape=(nf, nv))
        sums = S @ self.Y[:, :nv].T
        w = self.Y.shape[0]
        self.F["pattern"][:nf, offset:offset + w] = sums >= 0

    # ------------------------------------------------------------------ one unit
    def _grow_vertices(self, k: int) -> None:
        if self.V.n + k > self.V["x"].shape[0]:
            self.V.reserve(k)
            Y = np.empty((self.Y.shape[0], self.V["x"].shape[0]))
            Y[:, :self.V.n] = self.Y[:, :self.V.n]
            self.Y = Y

    def cut(self, j: int, tag: int) -> None:
        nv, ne = self.V.n, self.E.n
        v = self.Y[j, :nv]
        top = np.abs(v).max()
        v[np.abs(v) <= VALUE_RTOL * top] = 0.0
        s = np.sign(v).astype(np.int8)
        ends = self.E["ends"][:ne]
        sa, sb = s[ends[:, 0]], s[ends[:, 1]]
        split = np.flatnonzero(sa * sb < 0)
        if len(split):
            self._split_edges(split, j)
            nv, ne = self.V.n, self.E.n
            s = np.concatenate([s, np.zeros(nv - len(s), dtype=np.int8)])
            ends = self.E["ends"][:ne]
            sa, sb = s[ends[:, 0]], s[ends[:, 1]]
        self._split_faces(s, sa, sb, tag)

    def _split_edges(self, split: np.ndarray, j: int) -> None:
        k = len(split)
        self._grow_vertices(k)
        self.E.reserve(k)
        nv, ne = self.V.n, self.E.n
        ends = self.E["ends"]
        a, b = ends[split, 0], ends[split, 1]
        Y, X = self.Y, self.V["x"]
        t = Y[j, a] / (Y[j, a] - Y[j, b])
        new = np.arange(nv, nv + k)
        X[new] = X[a] + t[:, None] * (X[b] - X[a])
        # Convex weights keep the sign of values that agree at both ends.
        Y[:, new] = (1.0 - t) * Y[:, a] + t * Y[:, b]
        Y[j, new] = 0.0
        ends[ne:ne + k, 0] = new
        ends[ne:ne + k, 1] = b
        ends[split, 1] = new
        self.E["faces"][ne:ne + k] = self.E["faces"][split]
        self.E["tag"][ne:ne + k] = self.E["tag"][split]
        self.V.n += k
        self.E.n += k

    def _split_faces(self, s: np.ndarray, sa: np.ndarray, sb: np.ndarray, tag: int) -> None:
        ne, nf = self.E.n, self.F.n
        ends, faces = self.E["ends"][:ne], self.E["faces"][:ne]
        touch = np.flatnonzero((sa == 0) | (sb == 0))
        if len(touch) == 0:
            return
        ta, tb = sa[touch], sb[touch]
        ea, eb = ends[touch, 0], ends[touch, 1]
        fl, fr = faces[touch, 0], faces[touch, 1]
        # Half-edges leaving a zero vertex: left ones run a -> b, right ones b -> a.
        up_face = np.concatenate([fl[(ta == 0) & (tb > 0)], fr[(tb == 0) & (ta > 0)]])
        up_vert = np.concatenate([ea[(ta == 0) & (tb > 0)], eb[(tb == 0) & (ta > 0)]])
        down_face = np.concatenate([fl[(ta == 0) & (tb < 0)], fr[(tb == 0) & (ta < 0)]])
        # Half-edges entering a zero vertex from the positive side.
        in_face = np.concatenate([fl[(ta > 0) & (tb == 0)], fr[(tb > 0) & (ta == 0)]])
        in_vert = np.concatenate([eb[(ta > 0) & (tb == 0)], ea[(tb > 0) & (ta == 0)]])
        flag = np.zeros(nf + 1, dtype=np.int8)
        flag[up_face + 1] |= 1
        flag[down_face + 1] |= 2
        flag[in_face + 1] |= 4
        flag[0] = 0
        cut_faces = np.flatnonzero(flag[1:] == 7)
        if len(cut_faces) == 0:
            return
        z1 = np.full(nf, -1, dtype=np.int64)
        z2 = np.full(nf, -1, dtype=np.int64)
        z1[up_face[up_face >= 0]] = up_vert[up_face >= 0]
        z2[in_face[in_face >= 0]] = in_vert[in_face >= 0]
        k = len(cut_faces)
        new_id = np.full(nf + 1, -1, dtype=np.int64)
        new_id[cut_faces + 1] = nf + np.arange(k)
        # Edges of a cut face with both ends >= 0 (not both 0) go to its active child.
        member = new_id[faces + 1]
        positive = (sa >= 0) & (sb >= 0) & ((sa | sb) != 0)
        for side in (0, 1):
            move = np.flatnonzero((member[:, side] >= 0) & positive)
            faces[move, side] = member[move, side]
        self.E.reserve(k)
        ne = self.E.n
        self.E["ends"][ne:ne + k, 0] = z2[cut_faces]
        self.E["ends"][ne:ne + k, 1] = z1[cut_faces]
        self.E["faces"][ne:ne + k, 0] = nf + np.arange(k)
        self.E["faces"][ne:ne + k, 1] = cut_faces
        self.E["tag"][ne:ne + k] = tag
        self.E.n += k
        self.F.reserve(k)
        self.F["pattern"][nf:nf + k] = self.F["pattern"][cut_faces]
        self.F.n += k

    # ------------------------------------------------------------------ output
    def regions(self):
        """The faces as regions.

        Returns
        -------
        patterns : ndarray (R, H) bool
        vertex_offsets : ndarray (R + 1,)
        vertices : ndarray (V, 2), local coordinates, counter-clockwise corners
        centre : ndarray (R, 2)
            The mean of each face's corners (strictly inside).
        facet_cell, facet_tag : ndarray (F,)
            One facet per (face, tag), sorted by face.
        adjacency : ndarray (E, 2)
        """
        nf, ne = self.F.n, self.E.n
        ends, faces, tags = self.E["ends"][:ne], self.E["faces"][:ne], self.E["tag"][:ne]
        X = self.V["x"][:self.V.n]
        nv = self.V.n
        h_face = np.concatenate([faces[:, 0], faces[:, 1]])
        h_start = np.concatenate([ends[:, 0], ends[:, 1]])
        h_end = np.concatenate([ends[:, 1], ends[:, 0]])
        h_tag = np.concatenate([tags, tags])
        keep = h_face >= 0
        h_face, h_start, h_end, h_tag = h_face[keep], h_start[keep], h_end[keep], h_tag[keep]
        key = h_face * nv + h_start
        order = np.argsort(key)
        nxt = order[np.searchsorted(key[order], h_face * nv + h_end)]
        corner = h_tag != h_tag[nxt]
        c_face, c_vert = h_face[corner], h_end[corner]
        counts = np.bincount(c_face, minlength=nf)
        centre = np.stack([np.bincount(c_face, weights=X[c_vert, k], minlength=nf) for k in range(2)], axis=1)
        centre /= counts[:, None]
        d = X[c_vert] - centre[c_face]
        angle = np.arctan2(d[:, 1], d[:, 0])
        order = np.lexsort((angle, c_face))
        offsets = np.zeros(nf + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        facet_key = np.unique(h_face * (2 ** 31) + (h_tag + 2 ** 30))
        facet_cell = facet_key // (2 ** 31)
        facet_tag = facet_key % (2 ** 31) - 2 ** 30
        both = (faces[:, 0] >= 0) & (faces[:, 1] >= 0)
        pairs = np.sort(faces[both], axis=1)
        adjacency = np.unique(pairs, axis=0) if len(pairs) else np.zeros((0, 2), dtype=np.int64)
        return self.F["pattern"][:nf].copy(), offsets, X[c_vert[order]], centre, facet_cell, facet_tag, adjacency


def planar_regions(weights, biases, slopes, half):
    """Run the subdivision over all hidden layers (local coordinates; see ``PlanarSubdivision.regions``)."""
    hidden = sum(w.shape[0] for w in weights)
    sub = PlanarSubdivision(half, hidden)
    offset = 0
    prev = None
    for W, b, slope in zip(weights, biases, slopes):
        sub.start_layer(W, b, prev)
        for j in range(W.shape[0]):
            sub.cut(j, offset + j)
        sub.finish_layer(offset)
        offset += W.shape[0]
        prev = slope
    return sub.regions()
