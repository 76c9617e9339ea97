"""Full column rank of many small rational matrices at once, proved modulo a prime.

A rational matrix whose denominators the prime p does not divide reduces to a matrix over the field
F_p, and every minor reduces with it: a minor that is nonzero mod p is nonzero over Q. So a rank
computed mod p is a lower bound of the rank over Q, and full column rank mod p proves full column
rank. Gaussian elimination mod p runs on a whole batch of matrices with int64 arithmetic (p < 2^31,
so that a product of two residues fits). A matrix that is not of full rank mod p is only undecided:
the caller decides it in rationals.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

__all__ = ["PRIME", "full_column_rank", "residues"]

# A prime below 2^31: products of two residues stay below 2^62.
PRIME = 2_147_483_629


def residues(values: list[fmpq], p: int = PRIME) -> np.ndarray | None:
    """The residues mod p of exact rationals (int64), or None when p divides a denominator."""
    out = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        den = int(v.q) % p
        if den == 0:
            return None
        out[k] = int(v.p) % p * pow(den, -1, p) % p
    return out


def _inverse(x: np.ndarray, p: int) -> np.ndarray:
    """x^(p−2) mod p elementwise (Fermat), for x != 0 mod p."""
    result = np.ones_like(x)
    base, e = x % p, p - 2
    while e:
        if e & 1:
            result = result * base % p
        base = base * base % p
        e >>= 1
    return result


def full_column_rank(matrices: np.ndarray, p: int = PRIME) -> np.ndarray:
    """Whether each matrix of the batch (B, n, k), residues mod p, has rank k over F_p (hence over Q)."""
    M = np.array(matrices, dtype=np.int64) % p
    B, n, k = M.shape
    ok = np.full(B, n >= k)
    rows = np.arange(B)
    for j in range(min(k, n)):
        # A pivot in column j among rows j.. (the first nonzero); none: rank < k.
        candidates = M[:, j:, j] != 0
        has = candidates.any(axis=1)
        ok &= has
        pivot = j + np.argmax(candidates, axis=1)
        swap = M[rows, pivot].copy()
        M[rows, pivot] = M[:, j]
        M[:, j] = swap
        inverse = _inverse(np.where(has, M[:, j, j], 1), p)
        factors = M[:, j + 1:, j] * inverse[:, None] % p  # (B, n − j − 1)
        M[:, j + 1:, :] = (M[:, j + 1:, :] - factors[:, :, None] * M[:, j, None, :] % p) % p
    return ok
