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

__all__ = ["PRIME", "full_column_rank", "ranks", "residues"]

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


def ranks(matrices: np.ndarray, p: int = PRIME) -> np.ndarray:
    """The rank over F_p of each matrix of the batch (B, n, k), residues mod p: a lower bound of its
    rank over Q (equal to it for all but finitely many primes)."""
    M = np.array(matrices, dtype=np.int64) % p
    B, n, k = M.shape
    rank = np.zeros(B, dtype=np.int64)
    batch = np.arange(B)
    row_index = np.arange(n)[None, :]
    for j in range(k):
        # A pivot in column j among the rows not yet used (the first nonzero); none: the rank stays.
        candidates = (M[:, :, j] != 0) & (row_index >= rank[:, None])
        has = candidates.any(axis=1)
        if not has.any():
            continue
        b, top = batch[has], rank[has]
        pivot = np.argmax(candidates[has], axis=1)
        swap = M[b, pivot].copy()
        M[b, pivot] = M[b, top]
        M[b, top] = swap
        inverse = _inverse(M[b, top, j], p)
        below = row_index > top[:, None]  # (b, n)
        factors = np.where(below, M[b, :, j] * inverse[:, None] % p, 0)
        M[b] = (M[b] - factors[:, :, None] * M[b, top][:, None, :] % p) % p
        rank[has] += 1
        if (rank >= n).all():
            break
    return rank


def full_column_rank(matrices: np.ndarray, p: int = PRIME) -> np.ndarray:
    """Whether each matrix of the batch (B, n, k), residues mod p, has rank k over F_p (hence over Q)."""
    return ranks(matrices, p) == np.asarray(matrices).shape[2]
