"""Exact rational arithmetic on networks (python-flint): the primitive under every exact check.

A float64 number is an exact binary rational, so a network with float64 weights is an
exact rational map: its forward pass at a rational point, and the affine form of every
unit on a region, can be computed without rounding. ``verify.exact`` builds the
certificates of the checks on it; the region engine uses it to settle the decisions that
float64 leaves within its tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flint import fmpq, fmpq_mat

from .leaky_relu_network import LeakyReLUNetwork

__all__ = ["ExactNetwork", "q", "qcol", "qmat", "rank", "to_float", "to_floats"]


def q(x: float) -> fmpq:
    """A float (or int) as the exact rational it is."""
    return fmpq(*float(x).as_integer_ratio())


def qmat(array) -> fmpq_mat:
    """A 2-D array of floats as an exact rational matrix."""
    a = np.asarray(array, dtype=np.float64)
    rows, cols = a.shape
    return fmpq_mat(rows, cols, [q(v) for v in a.reshape(-1)])


def qcol(vector) -> fmpq_mat:
    """A 1-D array of floats (or rationals) as an exact column."""
    values = [v if isinstance(v, fmpq) else q(v) for v in np.asarray(vector, dtype=object).reshape(-1)]
    return fmpq_mat(len(values), 1, values)


def to_floats(column: fmpq_mat) -> np.ndarray:
    """The nearest floats of an exact column (for reporting)."""
    return np.array([to_float(v) for v in column.entries()], dtype=np.float64)


def to_float(v: fmpq) -> float:
    """The nearest float of an exact rational (±inf beyond the float range)."""
    try:
        return int(v.p) / int(v.q)  # Python's int division rounds correctly
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def rank(matrix: fmpq_mat) -> int:
    return matrix.rank()


def _entries(column: fmpq_mat) -> list[fmpq]:
    return list(column.entries())


@dataclass(frozen=True)
class ExactNetwork:
    """A leaky-ReLU network with its weights, biases and slopes as exact rationals."""

    weights: tuple[fmpq_mat, ...]
    biases: tuple[fmpq_mat, ...]
    slopes: tuple[fmpq, ...]
    in_dim: int
    out_dim: int

    @classmethod
    def of(cls, network: LeakyReLUNetwork) -> "ExactNetwork":
        return cls.from_arrays([w.detach().cpu().double().numpy() for w in network.weights],
                               [b.detach().cpu().double().numpy() for b in network.biases], network.slopes)

    @classmethod
    def from_arrays(cls, weights, biases, slopes) -> "ExactNetwork":
        """From float arrays: weights[i] (out, in), biases[i] (out,), one slope per layer but the last
        (a network whose last layer is a hidden one, as the region engine reads it, has one per layer)."""
        return cls(tuple(qmat(w) for w in weights), tuple(qcol(b) for b in biases), tuple(q(s) for s in slopes),
                   np.shape(weights[0])[1], np.shape(weights[-1])[0])

    def forward(self, z: fmpq_mat) -> tuple[fmpq_mat, list[list[fmpq]]]:
        """f(z) exactly, and the pre-activations of every hidden layer."""
        h, pre_activations = z, []
        for w, b, s in zip(self.weights[:-1], self.biases[:-1], self.slopes):
            pre = _entries(w * h + b)
            pre_activations.append(pre)
            h = fmpq_mat(len(pre), 1, [v if v >= 0 else s * v for v in pre])
        return self.weights[-1] * h + self.biases[-1], pre_activations

    def pattern(self, z: fmpq_mat) -> np.ndarray:
        """The exact activation pattern at z (a unit at exactly 0 counts as active)."""
        _, pre = self.forward(z)
        return np.array([v >= 0 for layer in pre for v in layer], dtype=bool)

    def layer_forms(self, pattern: Sequence[bool], layers: int) -> list[tuple[fmpq_mat, fmpq_mat]]:
        """The pre-activation maps of hidden layers 0..layers-1 as affine forms P_l z + p_l, exactly,
        on the cell where ``pattern`` holds; layer l reads only the bits of the layers before it, so
        ``pattern`` needs the bits of layers 0..layers-2 (more are ignored)."""
        pattern = np.asarray(pattern, dtype=bool)
        m = self.in_dim
        M = fmpq_mat(m, m, [fmpq(int(i == j)) for i in range(m) for j in range(m)])
        d = fmpq_mat(m, 1, [fmpq(0)] * m)
        forms, start = [], 0
        for w, b, s in zip(self.weights[:layers], self.biases[:layers], self.slopes):
            P, p = w * M, w * d + b
            forms.append((P, p))
            k = w.nrows()
            if len(forms) == layers:
                break
            scale = [fmpq(1) if bit else s for bit in pattern[start:start + k]]
            start += k
            M = fmpq_mat(k, m, [scale[i] * P[i, j] for i in range(k) for j in range(m)])
            d = fmpq_mat(k, 1, [scale[i] * p[i, 0] for i in range(k)])
        return forms

    def piece(self, pattern: Sequence[bool]) -> tuple[fmpq_mat, fmpq_mat]:
        """The affine piece (A, c) of an activation pattern, exactly: f(z) = A z + c where it holds."""
        pattern = np.asarray(pattern, dtype=bool)
        hidden = len(self.weights) - 1
        if hidden == 0:
            return self.weights[0], self.biases[0]
        P, p = self.layer_forms(pattern, hidden)[-1]
        k = P.nrows()
        scale = [fmpq(1) if bit else s for bit, s in zip(pattern[-k:], [self.slopes[hidden - 1]] * k)]
        M = fmpq_mat(k, self.in_dim, [scale[i] * P[i, j] for i in range(k) for j in range(self.in_dim)])
        d = fmpq_mat(k, 1, [scale[i] * p[i, 0] for i in range(k)])
        return self.weights[-1] * M, self.weights[-1] * d + self.biases[-1]

    def on_coordinates(self, origin: np.ndarray, basis: np.ndarray) -> "ExactNetwork":
        """The network of u for z = origin + basis · u (origin (m,), basis (m, r), floats taken
        exactly): the first layer becomes W_1 · basis, b_1 + W_1 · origin."""
        w1 = self.weights[0]
        first_w = w1 * qmat(basis)
        first_b = w1 * qcol(origin) + self.biases[0]
        return ExactNetwork((first_w, *self.weights[1:]), (first_b, *self.biases[1:]), self.slopes, basis.shape[1], self.out_dim)
