"""The sweep that finds region pairs whose images may meet: the same pairs as testing all of them."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from verify.injectivity import _pairs


@given(st.integers(0, 120), st.integers(1, 6), st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
def test_the_sweep_finds_exactly_the_overlapping_pairs(n, k, seed, margin):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 10, (n, k))
    half = rng.uniform(0, 2, (n, k)) * (rng.uniform(size=(n, 1)) < 0.9)  # some points (zero width)
    lo, hi = centre - half, centre + half
    expected = [(i, j) for i in range(n) for j in range(i + 1, n)
                if np.all((lo[i] <= hi[j] + margin) & (lo[j] <= hi[i] + margin))]
    assert [tuple(p) for p in _pairs.overlapping_pairs(n, (lo, hi), margin).tolist()] == expected


def test_chunks_do_not_change_the_pairs(monkeypatch):
    rng = np.random.default_rng(1)
    lo = rng.uniform(0, 3, (400, 3))
    hi = lo + rng.uniform(0, 1, (400, 3))
    whole = _pairs.overlapping_pairs(400, (lo, hi), 0.0)
    monkeypatch.setattr(_pairs, "SWEEP_CHUNK", 7)
    assert np.array_equal(_pairs.overlapping_pairs(400, (lo, hi), 0.0), whole) and len(whole) > 100
