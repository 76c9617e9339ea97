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

from ._region_engine_dd import ROUNDING_ULPS

VALUE_RTOL = 1e-10
"""A vertex lies on a unit's zero line when |value| <= VALUE_RTOL · max |value| over the current
vertices. The maximum over the vertices bounds the unit's values on the whole box (they are
affine on every face), so the threshold scales with the unit and is unchanged by translating
the box; interpolated values carry a few ulps of that maximum per generation (about 1e-15),
so 1e-10 leaves five orders of margin, as ``_region_engine_dd.DIST_RTOL`` does for distances."""


# Edge codes 3·sign(start) + sign(end) (numpy wraps negative indices) that matter to a cut:
# opposite signs (split the edge) or exactly one end on the line (a face may split there).
_RELEVANT = np.zeros(9, dtype=bool)
_RELEVANT[[1, 2, 3, -1, -2, -3]] = True
# Codes of edges with both ends >= 0, not both 0 (a split edge running + to − keeps its
# positive first half under its code 2).
_UPPER = np.zeros(9, dtype=bool)
_UPPER[[1, 3, 4, 2]] = True


# Units per slice of the whole-layer products, so that temporaries stay a few MB (large fresh
# temporaries cost page faults that outweigh the arithmetic).
_UNIT_SLICE = 16


def _grown(arr: np.ndarray, need: int, axis: int = 0) -> np.ndarray:
    """``arr`` with room for ``need`` entries along ``axis`` (capacity doubles)."""
    if need <= arr.shape[axis]:
        return arr
    shape = list(arr.shape)
    old = shape[axis]
    shape[axis] = max(need, 2 * old)
    out = np.zeros(shape, dtype=arr.dtype)
    index = [slice(None)] * arr.ndim
    index[axis] = slice(0, old)
    out[tuple(index)] = arr
    return out


# Rows of the edge table.
EA, EB, FL, FR, TAG = range(5)


class PlanarSubdivision:
    """The subdivision of the box [low, high] (local coordinates) and its face patterns.

    ``V`` (w + 2, capacity): per vertex, the current layer's w pre-activations then its two
    coordinates, so that one interpolation serves both. ``E`` (5, capacity): per edge its
    start and end vertex, left and right face (-1 outside) and tag. ``pattern``: per face.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, hidden: int):
        (l0, l1), (h0, h1) = (float(v) for v in low), (float(v) for v in high)
        self.V = np.zeros((2, 1024))
        self.V[:, :4] = np.array([[l0, l1], [h0, l1], [h0, h1], [l0, h1]]).T
        self.nv = 4
        self.E = np.zeros((5, 4096), dtype=np.int64)
        # Box face k = 2·coordinate + (0 lower, 1 upper) is tagged -1 - k.
        self.E[:, :4] = [[0, 1, 2, 3], [1, 2, 3, 0], [0, 0, 0, 0], [-1, -1, -1, -1], [-3, -2, -4, -1]]
        self.ne = 4
        self.pattern = np.zeros((1024, hidden), dtype=bool)
        self.nf = 1
        self.w = 0
        self.tol = np.zeros(0)
        self.ties = 0

    @property
    def x(self) -> np.ndarray:
        """Vertex coordinates (V, 2) (a copy)."""
        return self.V[self.w:self.w + 2, :self.nv].T.copy()

    # ------------------------------------------------------------------ layers
    def start_layer(self, W: np.ndarray, b: np.ndarray, slope_prev: float | None) -> None:
        """Pre-activations of the next layer at every vertex: from the coordinates for the
        first layer, else through the previous layer's activation (exact at a vertex by
        continuity, whichever face it is seen from)."""
        nv, w_old, w = self.nv, self.w, W.shape[0]
        if slope_prev is None:
            inputs = self.V[w_old:w_old + 2, :nv]
        else:
            inputs = self.V[:w_old, :nv]
            np.multiply(inputs, slope_prev, out=inputs, where=inputs < 0)
        V = np.empty((w + 2, self.V.shape[1]))
        for u0 in range(0, w, _UNIT_SLICE):
            u1 = min(w, u0 + _UNIT_SLICE)
            V[u0:u1, :nv] = W[u0:u1] @ inputs
        # A bound on the size of every term of each unit's value, over all vertices at once.
        magnitude = np.abs(W) @ np.abs(inputs).max(axis=1) if nv else np.zeros(w)
        V[:w, :nv] += b[:, None]
        V[w:, :nv] = self.V[w_old:w_old + 2, :nv]
        self.V, self.w = V, w
        # Values on the box are affine on every face, so their largest size over the vertices
        # bounds them everywhere, now and after any refinement. Where the terms of a unit's value
        # cancel, their rounding (ROUNDING_ULPS of the sum of their sizes) sets the tolerance instead.
        rounding = ROUNDING_ULPS * (W.shape[1] + 2) * np.finfo(np.float64).eps * (magnitude + np.abs(b))
        self.tol = np.maximum(VALUE_RTOL * np.abs(V[:w, :nv]).max(axis=1), rounding)

    def finish_layer(self, offset: int) -> None:
        """Set the layer's bits of every face from its boundary vertices."""
        nf, nv, ne, w = self.nf, self.nv, self.ne, self.w
        Y = self.V[:w, :nv]
        Y[np.abs(Y) <= self.tol[:, None]] = 0.0
        rows = self.E[FL:FR + 1, :ne].ravel()
        cols = self.E[EA:EB + 1, :ne].ravel()
        inside = rows >= 0
        S = sp.csr_matrix((np.ones(int(inside.sum())), (rows[inside], cols[inside])), shape=(nf, nv))
        for u0 in range(0, w, _UNIT_SLICE):
            sums = S @ np.ascontiguousarray(Y[u0:min(w, u0 + _UNIT_SLICE)].T)
            self.pattern[:nf, offset + u0:offset + u0 + sums.shape[1]] = sums >= 0

    # ------------------------------------------------------------------ one unit
    def _reserve(self, vertices: int, edges: int, faces: int) -> None:
        if self.nv + vertices > self.V.shape[1]:
            self.V = _grown(self.V, self.nv + vertices, axis=1)
        if self.ne + edges > self.E.shape[1]:
            self.E = _grown(self.E, self.ne + edges, axis=1)
        if self.nf + faces > self.pattern.shape[0]:
            self.pattern = _grown(self.pattern, self.nf + faces)

    def cut(self, j: int, tag: int) -> None:
        """Apply unit j of the current layer (hyperplane id ``tag``) to every edge and face.

        Only edges with a sign change or exactly one end on the line matter. Each gives the
        zero vertex z at one end (a new vertex for a split edge) and, with σ = sign(start) −
        sign(end), the face F1 whose boundary leaves z towards the positive side and the face
        F2 whose boundary reaches z from it (F1 = right, F2 = left face when σ > 0, else the
        reverse); a face is crossed when it has both (z1, z2) and a vertex on the negative side.
        """
        nv, ne, nf = self.nv, self.ne, self.nf
        v = self.V[j, :nv]
        tol = self.tol[j]
        s = (v > tol).view(np.int8) - (v < -tol).view(np.int8)
        # A vertex within the tolerance of the line: on it, or just off it (a sliver); float64
        # cannot tell, so it is counted, and the caller may decide it exactly elsewhere.
        self.ties += int(np.count_nonzero(s == 0))
        ends = self.E[EA:EB + 1, :ne]
        se = s[ends]
        code = se[0] * np.int8(3) + se[1]
        idx = np.flatnonzero(_RELEVANT[code])
        if len(idx) == 0:
            return
        ta, tb = se[:, idx]
        rel = self.E[:FR + 1, idx]
        z = np.where(ta == 0, rel[EA], rel[EB])
        is_split = ta == -tb
        split = idx[is_split]
        k = len(split)
        self._reserve(k, 2 * k + nf, nf)
        if k:
            z[is_split] = self._split_edges(split, j)
        forward = ta > tb
        f1 = np.where(forward, rel[FR], rel[FL])
        f2 = np.where(forward, rel[FL], rel[FR])
        total = ta + tb
        up = total >= 0
        # Index -1 (outside the box) lands on the spare last entry.
        z12 = np.full((2, nf + 1), -1, dtype=np.int64)
        down = np.zeros(nf + 1, dtype=bool)
        z_up = z[up]
        z12[0, f1[up]] = z_up
        z12[1, f2[up]] = z_up
        down[f2[total <= 0]] = True
        down[nf] = False
        cut_faces = np.flatnonzero((z12.min(axis=0) >= 0) & down)
        if len(cut_faces):
            self._split_faces(cut_faces, z12[:, cut_faces], code, split, ne, tag)

    def _split_edges(self, split: np.ndarray, j: int) -> np.ndarray:
        """Split edges at the unit's zero (second halves appended); returns the new vertices."""
        k = len(split)
        nv, ne = self.nv, self.ne
        old = self.E[:, split]
        a, b = old[EA], old[EB]
        V = self.V
        ya, yb = V[j, a], V[j, b]
        t = ya / (ya - yb)
        # Convex weights keep the sign of values that agree at both ends (and interpolate the
        # coordinates in the same stroke).
        V[:, nv:nv + k] = (1.0 - t) * V[:, a] + t * V[:, b]
        V[j, nv:nv + k] = 0.0
        new = np.arange(nv, nv + k)
        old[EA] = new
        self.E[:, ne:ne + k] = old
        self.E[EB, split] = new
        self.nv += k
        self.ne += k
        return new

    def _split_faces(self, cut_faces, z12, code, split, ne_before, tag: int) -> None:
        """Split crossed faces along z2 -> z1: the new face (left of it) is the active child.

        Its boundary is the part of the old one with both ends >= 0, not both 0: edges of code
        (3·start + end sign) 1, 3, 4, the first halves of split edges running + to − (code 2)
        and the second halves of those running − to + (code −2)."""
        nf, ne = self.nf, self.ne
        k = len(cut_faces)
        new_id = np.full(nf + 1, -1, dtype=np.int64)
        new_id[cut_faces] = np.arange(nf, nf + k)
        halves = ne_before + np.flatnonzero(code[split] == -2)
        moving = np.concatenate([np.flatnonzero(_UPPER[code]), halves])
        faces = self.E[FL:FR + 1, moving]
        renamed = new_id[faces]
        np.copyto(faces, renamed, where=renamed >= 0)
        self.E[FL:FR + 1, moving] = faces
        self.E[:, ne:ne + k] = [z12[1], z12[0], np.arange(nf, nf + k), cut_faces, np.full(k, tag)]
        self.ne += k
        self.pattern[nf:nf + k] = self.pattern[cut_faces]
        self.nf += k

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
        nf, ne, nv = self.nf, self.ne, self.nv
        ea, eb, fl, fr, tags = self.E[:, :ne]
        X = self.x
        h_face = np.concatenate([fl, fr])
        h_start = np.concatenate([ea, eb])
        h_end = np.concatenate([eb, ea])
        h_tag = np.concatenate([tags, tags])
        keep = h_face >= 0
        h_face, h_start, h_end, h_tag = h_face[keep], h_start[keep], h_end[keep], h_tag[keep]
        key = h_face * nv + h_start
        order = np.argsort(key)
        nxt = order[np.searchsorted(key[order], h_face * nv + h_end)]
        # A corner ends a half-edge whose successor lies on another line; the facet that
        # starts there carries the successor's tag, so corners and facets pair up.
        next_tag = h_tag[nxt]
        corner = h_tag != next_tag
        c_face, c_vert, c_tag = h_face[corner], h_end[corner], next_tag[corner]
        counts = np.bincount(c_face, minlength=nf)
        centre = np.stack([np.bincount(c_face, weights=X[c_vert, k], minlength=nf) for k in range(2)], axis=1)
        centre /= counts[:, None]
        d = X[c_vert] - centre[c_face]
        # One sort key: the face, then the angle around its centre mapped into [0, 1).
        order = np.argsort(c_face + (np.arctan2(d[:, 1], d[:, 0]) + np.pi) * (0.999 / (2 * np.pi)))
        offsets = np.zeros(nf + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        facet_cell, facet_tag = c_face[order], c_tag[order]
        both = (fl >= 0) & (fr >= 0)
        lo, hi = np.minimum(fl[both], fr[both]), np.maximum(fl[both], fr[both])
        flat = np.unique(lo * nf + hi)
        adjacency = np.stack([flat // nf, flat % nf], axis=1)
        return self.pattern[:nf].copy(), offsets, X[c_vert[order]], centre, facet_cell, facet_tag, adjacency


def planar_regions(weights, biases, slopes, low, high, deadline=None, *, stop_at_tie: bool = False):
    """Run the subdivision over all hidden layers (local coordinates; see ``PlanarSubdivision.regions``);
    ``deadline`` (a ``models.deadline.Deadline``) is checked before every unit's cut.

    Returns the regions and the number of ties (vertex values within ``VALUE_RTOL`` of a line,
    which float64 leaves undecided); with ``stop_at_tie`` it returns (None, ties) at the first.
    """
    hidden = sum(w.shape[0] for w in weights)
    sub = PlanarSubdivision(low, high, hidden)
    offset = 0
    prev = None
    for W, b, slope in zip(weights, biases, slopes):
        sub.start_layer(W, b, prev)
        for j in range(W.shape[0]):
            if deadline is not None:
                deadline.check(f"the enumeration of linear regions (unit {j + 1} of a layer of {W.shape[0]})")
            sub.cut(j, offset + j)
            if stop_at_tie and sub.ties:
                return None, sub.ties
        sub.finish_layer(offset)
        offset += W.shape[0]
        prev = slope
    return sub.regions(), sub.ties
