"""Do two decoders agree on all of R^m?  Decided in rationals from their pieces on the common cells.

On a cell C of the common refinement (the linear regions of the joint network z -> (f(z), g(z))),
f(z) = A z + a and g(z) = B z + b. With D = A − B and δ = D z̄ + (a − b), the difference extended
to a centre z̄ (the prior's mean, say),

    |f_i(z) − g_i(z)| = |δ_i + D_i (z − z̄)| <= |δ_i| + ‖D_i‖₁ ‖z − z̄‖∞      for z in C.

The agreement measured is the relative error

    R = sup over z in R^m of ‖f(z) − g(z)‖∞ / (G · (ρ + ‖z − z̄‖∞)),

G = the largest ‖A‖∞ over f's pieces (f's gain), ρ the latent scale. It does not move when the
latent space is translated (z̄ moves with it), when an offset is added to both outputs, or when
either space is rescaled (G and ρ rescale with it), and it stays finite on unbounded cells, where
a slope difference D makes |f − g| grow. The bound above gives, on each cell,

    R_C <= U_C = max(‖δ‖∞ / ρ, ‖D‖∞) / G,

so max_C U_C <= rtol proves R <= rtol; each U_C is computed exactly from the pieces in rationals,
on an enumeration whose cells are exact. When the bound is above rtol, a point z where the ratio
exceeds rtol in rationals decides "fails"; without one the verdict is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flint import fmpq

from models import LeakyReLUNetwork
from models.deadline import Deadline
from models.exact import ExactNetwork, q, qcol


@dataclass(frozen=True)
class CellBound:
    """The exact bound max_C U_C on the relative error, as the fraction ``bound`` / ``gain``.

    ``bound`` is max_C max(‖δ‖∞ / ρ, ‖D‖∞), ``gain`` is G; ``worst`` the index of the cell (in the
    enumeration) where the maximum is reached; ``pieces`` the number of distinct piece pairs."""

    bound: fmpq
    gain: fmpq
    worst: int
    pieces: int

    def holds(self, rtol: float) -> bool:
        return self.bound <= q(rtol) * self.gain

    @property
    def ratio(self) -> float:
        if self.gain == 0:
            return 0.0 if self.bound == 0 else float("inf")
        return as_float(self.bound / self.gain)


def own_patterns(joint_patterns: np.ndarray, f: LeakyReLUNetwork, g: LeakyReLUNetwork) -> tuple[np.ndarray, np.ndarray]:
    """f's and g's own activation patterns inside the joint network's (``models.joint_network``).

    Hidden layer l of the joint network holds f's units, then g's. A network's own hidden layers
    come first; the shallower one is padded after them by hidden layers of twice its outputs."""
    depth = max(f.depth, g.depth)
    columns: tuple[list[int], list[int]] = ([], [])
    start = 0
    for layer in range(depth - 1):
        for net, own_columns in zip((f, g), columns):
            own = layer < len(net.weights) - 1
            width = net.weights[layer].shape[0] if own else 2 * net.out_dim
            if own:
                own_columns.extend(range(start, start + width))
            start += width
    return joint_patterns[:, columns[0]], joint_patterns[:, columns[1]]


def _sup_norm(values) -> fmpq:
    return max((abs(v) for v in values), default=fmpq(0))


def _row_sums(matrix) -> fmpq:
    """‖M‖∞, the largest absolute row sum, exactly."""
    return max((sum((abs(v) for v in row), fmpq(0)) for row in matrix.table()), default=fmpq(0))


def cell_bound(f: LeakyReLUNetwork, g: LeakyReLUNetwork, joint_patterns: np.ndarray, centre, latent_scale: float,
               deadline: Deadline) -> CellBound:
    """The exact bound of the module docstring over the cells whose joint patterns are the rows of
    ``joint_patterns`` (bool, (R, H)); ``TimeLimitExceeded`` past ``deadline``."""
    exact_f, exact_g = ExactNetwork.of(f), ExactNetwork.of(g)
    pattern_f, pattern_g = own_patterns(np.asarray(joint_patterns, dtype=bool), f, g)
    zbar, rho = qcol(np.asarray(centre, dtype=np.float64)), q(latent_scale)
    pieces_f: dict[bytes, tuple] = {}
    best, worst, gain, seen = fmpq(-1), 0, fmpq(0), set()
    for i, (pf, pg) in enumerate(zip(pattern_f, pattern_g)):
        key = (pf.tobytes(), pg.tobytes())
        if key in seen:
            continue
        deadline.check(f"the exact pieces of the common cells ({len(seen)} piece pairs so far)")
        if key[0] not in pieces_f:
            A, a = exact_f.piece(pf)
            pieces_f[key[0]] = (A, a)
            gain = max(gain, _row_sums(A))
        A, a = pieces_f[key[0]]
        B, b = exact_g.piece(pg)
        D = A - B
        value = max(_sup_norm((D * zbar + (a - b)).entries()) / rho, _row_sums(D))
        seen.add(key)
        if value > best:
            best, worst = value, i
    return CellBound(max(best, fmpq(0)), gain, worst, len(seen))


def gain_bound(f: LeakyReLUNetwork) -> fmpq:
    """An upper bound of G, f's largest ‖A‖∞ over all of R^m, exactly: the product of the layers'
    ‖W‖∞ and of max(1, slope) (used where the cells are not enumerated)."""
    exact = ExactNetwork.of(f)
    value = fmpq(1)
    for w in exact.weights:
        value *= _row_sums(w)
    for s in exact.slopes:
        value *= max(fmpq(1), s)
    return value


def gain_at(f: LeakyReLUNetwork, z: np.ndarray) -> fmpq:
    """‖A‖∞ of f's piece at the point z (its exact activation pattern), exactly: a lower bound of G."""
    exact = ExactNetwork.of(f)
    return _row_sums(exact.piece(exact.pattern(qcol(np.asarray(z, dtype=np.float64))))[0])


def as_float(value: fmpq) -> float:
    return int(value.p) / int(value.q)


def exact_difference(f: LeakyReLUNetwork, g: LeakyReLUNetwork, z: np.ndarray) -> fmpq:
    """‖f(z) − g(z)‖∞ at the point z, in rationals."""
    point = qcol(np.asarray(z, dtype=np.float64))
    return _sup_norm((ExactNetwork.of(f).forward(point)[0] - ExactNetwork.of(g).forward(point)[0]).entries())


def exceeds(f: LeakyReLUNetwork, g: LeakyReLUNetwork, z: np.ndarray, gain: fmpq, centre, latent_scale: float,
            rtol: float) -> bool:
    """Whether ‖f(z) − g(z)‖∞ > rtol · G · (ρ + ‖z − z̄‖∞) at the point z, in rationals (G = ``gain``)."""
    offset = qcol(np.asarray(z, dtype=np.float64)) - qcol(np.asarray(centre, dtype=np.float64))
    return exact_difference(f, g, z) > q(rtol) * gain * (q(latent_scale) + _sup_norm(offset.entries()))
