"""Full column rank proved modulo a prime: never claimed for a deficient matrix, undecided (not
denied) where the prime hides the rank."""

import numpy as np
from flint import fmpq, fmpq_mat

from verify.injectivity._modular_rank import PRIME, full_column_rank, residues


def _residue_matrix(rows):
    values = [fmpq(*v) if isinstance(v, tuple) else fmpq(v) for row in rows for v in row]
    return residues(values).reshape(len(rows), len(rows[0]))


def test_agrees_with_exact_ranks_on_random_rational_matrices():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = 5, int(rng.integers(1, 5))
        entries = [[fmpq(int(rng.integers(-3, 4)), int(rng.integers(1, 5))) for _ in range(k)] for _ in range(n)]
        if rng.random() < 0.4:  # plant a dependent column
            for row in entries:
                row[-1] = row[0] * fmpq(2, 3) - (row[1] if k > 1 else 0)
        exact = fmpq_mat(n, k, [v for row in entries for v in row]).rank() == k
        padded = [row + [fmpq(0)] * (4 - k) for row in entries]
        M = residues([v for row in padded for v in row]).reshape(n, 4)[:, :k]
        assert bool(full_column_rank(M[None])[0]) == exact  # a prime this large misses no rank here


def test_a_deficient_matrix_is_never_full_rank():
    M = _residue_matrix([[1, 2], [2, 4], [(1, 3), (2, 3)]])
    assert not full_column_rank(M[None])[0]


def test_the_prime_can_hide_a_rank_but_never_invent_one():
    # [[p], [0]] has rank 1 over Q and rank 0 mod p: undecided (False), for the exact test to decide.
    M = _residue_matrix([[PRIME], [0]])
    assert not full_column_rank(M[None])[0]
    assert residues([fmpq(1, PRIME)]) is None, "a denominator the prime divides has no residue"
