"""Exact decisions for the region engine where float64 cannot tell a generator's side.

The double-description engine decides in float64 on which side of a unit's hyperplane every
generator (vertex or ray) of a cell lies. A value within the engine's tolerance is a tie: the
generator may lie on the hyperplane (a degenerate arrangement: several hyperplanes through one
point, coincident units) or just off it (a sliver between nearly parallel hyperplanes, thinner
than the tolerance). Float64 cannot tell these apart; exact arithmetic can, since every
generator is determined by the hyperplanes it lies on (its incidence bits), and those are
exact rational forms of the network's float64 weights on the cell's activation pattern.

``Ties.resolve`` takes the tied generators of a batch and returns each one's exact side:

* exactly on the hyperplane: on it, and the decision is exact;
* off it by more than ``SLIVER_RTOL`` · L (angles: ``SLIVER_RTOL``): on its exact side, so the
  sliver between nearly parallel hyperplanes becomes a cell of its own;
* off it by less: float64 coordinates (a few ulps of L each) cannot carry a cell that thin, so
  the generator is left on the hyperplane and the cell is marked as not exact.

A generator whose incidences do not determine it (fewer independent hyperplanes than the
dimension, or an inconsistent set after an earlier inexact tie) is unsettled too. The
region's ``exact`` flag says whether any such tie lies in its history.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from ._region_engine_dd import norms
from .exact import ExactNetwork, q, to_float

SLIVER_RTOL = 1e-13
"""A generator off a hyperplane by at most SLIVER_RTOL · L (a ray by an angle of at most
SLIVER_RTOL) is left on it, its cell marked as not exact: the coordinates of generators carry
a few ulps of L from each interpolation (about 1e-15 L), and a cell thinner than about a
hundred times that would have vertices that float64 cannot place on their correct sides."""


class Ties:
    """Exact forms of every hyperplane of the engine, in the engine's local coordinates.

    Parameters
    ----------
    weights, biases, slopes :
        The network (hidden layers first, the output layer last), float64.
    origin : ndarray (m,)
    basis : ndarray (m, r)
        Local coordinates u of the engine: z = origin + basis · u (floats taken exactly).
    bounds : (low, high) or None
        The box in original coordinates (its faces are hyperplanes H + 2k, H + 2k + 1).
    scale : float
        The length scale L of the domain.
    """

    def __init__(self, weights, biases, slopes, origin: np.ndarray, basis: np.ndarray, bounds, scale: float):
        self.scale = float(scale)
        hidden = [np.asarray(w) for w in weights[:-1]]
        self._network = (hidden, list(biases[:-1]), tuple(slopes), origin, basis)
        self._nets: dict[int, ExactNetwork] = {}
        self.r = basis.shape[1]
        self.sizes = [w.shape[0] for w in hidden]
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.hidden = int(self.starts[-1])
        self.faces = {} if bounds is None else self._faces(origin, bounds)
        self._forms: dict = {}

    def _faces(self, origin, bounds) -> dict:
        """Box face rows (coefficients, constant) in local coordinates (basis = I on a box)."""
        faces = {}
        for k in range(self.r):
            for side, bound in enumerate((bounds[0][k], bounds[1][k])):
                row = [fmpq(0)] * self.r
                row[k] = fmpq(1)
                faces[self.hidden + 2 * k + side] = (row, q(origin[k]) - q(bound))
        return faces

    def net(self, layers: int) -> ExactNetwork:
        """The first ``layers`` hidden layers in rationals, on the local coordinates. Built at the
        first tie that needs them: most enumerations have none, converting a weight costs about a
        microsecond, and ties in the first layer (the common kind) need only its weights."""
        if layers not in self._nets:
            hidden, biases, slopes, origin, basis = self._network
            exact = ExactNetwork.from_arrays(hidden[:layers], biases[:layers], slopes[:layers])
            self._nets[layers] = exact.on_coordinates(origin, basis)
        return self._nets[layers]

    def _layer_forms(self, layer: int, prefix: np.ndarray):
        key = (layer, np.packbits(prefix[:self.starts[layer]]).tobytes())
        forms = self._forms.get(key)
        if forms is None:
            forms = self.net(layer + 1).layer_forms(prefix, layer + 1)
            self._forms[key] = forms
        return forms

    def form(self, hid: int, prefix: np.ndarray):
        """(coefficients, constant) of hyperplane ``hid`` on the cell whose earlier layers' bits are
        ``prefix``; None for the face at infinity."""
        if hid >= self.hidden:
            return self.faces.get(hid)
        layer = int(np.searchsorted(self.starts, hid, side="right")) - 1
        P, p = self._layer_forms(layer, prefix)[layer]
        u = hid - int(self.starts[layer])
        return [P[u, k] for k in range(self.r)], p[u, 0]

    def resolve(self, ids: list[np.ndarray], ray: np.ndarray, x: np.ndarray, unit: int, prefixes: np.ndarray):
        """Exact sides of tied generators against hyperplane ``unit``.

        Parameters
        ----------
        ids : list of int arrays
            The hyperplanes each generator lies on.
        ray, x : (T,) bool, (T, r) float
            Whether each is a ray, and its float coordinates (orient a ray's exact direction).
        prefixes : (T, h) bool
            The activation bits of the earlier layers of each generator's cell.

        Returns
        -------
        signs : ndarray (T,) int8
            The side to take: +1 or −1, or 0 (on the hyperplane, exactly or left there).
        values : ndarray (T,)
            Floats of the exact values per unit length (for the engine's interpolation), nonzero
            where the sign is.
        settled : ndarray (T,) bool
            The side taken is the exact side (False: unresolved, or left on the hyperplane).
        """
        T = len(ids)
        signs, values, settled = np.zeros(T, np.int8), np.zeros(T), np.zeros(T, bool)
        for t in range(T):
            found = self._value(ids[t], bool(ray[t]), x[t], unit, prefixes[t])
            if found is None:
                continue
            value, length, gradient = found
            if value == 0:
                settled[t] = True
            elif abs(to_float(value)) > SLIVER_RTOL * length * gradient * (1.0 if ray[t] else self.scale):
                sign = 1 if value > 0 else -1
                signs[t], settled[t] = sign, True
                values[t] = _nonzero_float(value, sign, length)
        return signs, values, settled

    def _value(self, ids, ray: bool, x, unit: int, prefix):
        rows = [self.form(int(h), prefix) for h in ids]
        rows = [row for row in rows if row is not None]
        a, beta = self.form(unit, prefix)
        r = self.r
        gradient = float(norms(np.array([to_float(v) for v in a])))
        if ray:
            d = _direction(rows, r, x)
            if d is None:
                return None
            return sum((a[k] * d[k] for k in range(r)), fmpq(0)), float(norms(np.array([to_float(v) for v in d]))), gradient
        point = _vertex(rows, r)
        if point is None:
            return None
        return sum((a[k] * point[k] for k in range(r)), beta), 1.0, gradient


def _vertex(rows, r: int):
    """The one point on every hyperplane of ``rows`` (coefficients · u + constant = 0), or None."""
    if len(rows) < r:
        return None
    system = fmpq_mat(len(rows), r + 1, [v for coefficients, constant in rows for v in (*coefficients, -constant)])
    reduced, rank = system.rref()
    pivots = [next(j for j in range(r + 1) if reduced[i, j] != 0) for i in range(rank)]
    if rank != r or r in pivots:  # not determined, or inconsistent
        return None
    point = [fmpq(0)] * r
    for i, j in enumerate(pivots):
        point[j] = reduced[i, r]
    return point


def _direction(rows, r: int, x):
    """The one direction (up to scale) parallel to every hyperplane of ``rows``, oriented as the float
    ray ``x``; None when not determined."""
    if r == 1:
        return [fmpq(1) if x[0] > 0 else fmpq(-1)] if not rows or all(c[0] == 0 for c, _ in rows) else None
    if len(rows) < r - 1:
        return None
    system = fmpq_mat(len(rows), r, [v for coefficients, _ in rows for v in coefficients])
    reduced, rank = system.rref()
    if rank != r - 1:
        return None
    pivots = [next(j for j in range(r) if reduced[i, j] != 0) for i in range(rank)]
    free = next(j for j in range(r) if j not in pivots)
    d = [fmpq(0)] * r
    d[free] = fmpq(1)
    for i, j in enumerate(pivots):
        d[j] = -reduced[i, free]
    dot = sum(to_float(v) * float(xk) for v, xk in zip(d, x))
    return d if dot > 0 else [-v for v in d]


def _nonzero_float(value: fmpq, sign: int, length: float) -> float:
    """A float of the exact value with its sign, per unit length of the generator (rays)."""
    f = to_float(value) / max(length, 1e-300)
    if not np.isfinite(f):
        f = sign * np.finfo(float).max
    if sign != 0 and f == 0.0:
        f = sign * 5e-324
    return f if sign != 0 else 0.0
