"""Every exact check honours its time limit: past it the verdict is unknown and says where it stopped."""

from __future__ import annotations

import time

import pytest

from models import random_model, random_network
from models.deadline import Deadline, TimeLimitExceeded
from models.regions import linear_regions
from verify import check_affine_equivalence, check_injective, check_weakly_injective

# Generous: the limit plus one solver call on a loaded two-core machine (a test, not a benchmark).
SLACK = 5.0


def _large():
    return random_network((3, 16, 16, 12), 0.2, injective=False, generator=0)


@pytest.mark.parametrize("method", ["auto", "regions", "milp"])
def test_check_injective_stops_at_its_time_limit(method):
    start = time.monotonic()
    result = check_injective(_large(), box=3.0, method=method, time_limit=0.5)
    assert time.monotonic() - start < 0.5 + SLACK
    if result.holds is None:
        assert "time limit" in result.details["reason"] or "stopped" in (result.method or "")
    else:
        assert result.verified or result.holds is True  # finished in time: a verdict, as usual


def test_weak_injectivity_and_regions_stop_at_their_time_limit():
    start = time.monotonic()
    # Wide enough that the region enumeration behind the verdict cannot finish in 0.05 s on any machine.
    result = check_weakly_injective(random_network((3, 64, 64, 64, 12), 0.0, injective=False, generator=1), box=3.0,
                                    time_limit=0.05)
    assert time.monotonic() - start < 0.05 + SLACK
    assert result.holds is None and "time limit" in result.details["reason"]
    with pytest.raises(TimeLimitExceeded, match="time limit"):
        linear_regions(random_network((3, 64, 64, 64, 12), 0.2, injective=False, generator=0), 3.0, time_limit=0.05)


def test_a_deadline_is_validated_and_counts_down():
    with pytest.raises(ValueError, match="^time_limit"):
        Deadline(0.0)
    deadline = Deadline(10.0)
    assert not deadline.expired() and 0 < deadline.remaining() <= 10.0
    assert Deadline(None).remaining() is None and not Deadline(None).expired()


def test_affine_equivalence_falls_back_to_samples_past_its_time_limit(monkeypatch):
    model = random_model(3, 20, hidden=(16, 16), generator=0)
    # Matched units need no enumeration, so the growth bound decides within any limit ...
    matched = check_affine_equivalence(model, model, n=200, time_limit=1e-3)
    assert matched.holds is True and matched.details["decoder"]["details"]["by"] == "unit matching"
    # ... and without it the common cells are not enumerated in time: only samples remain.
    monkeypatch.setattr("verify.decoder_agreement.match_units", lambda f, g: None)
    result = check_affine_equivalence(model, model, n=200, time_limit=1e-3)
    assert result.holds is None and result.details["decoder"]["details"]["exact"] is False


class _Expired:
    """A deadline already past (``models.deadline.Deadline``'s interface)."""

    def expired(self):
        return True

    def remaining(self):
        return 1e-3

    def check(self, what):
        raise TimeLimitExceeded(what, 0.0)


def test_block_programs_past_their_deadline_are_undecided_never_infeasible():
    import numpy as np

    from models.solver import Block, solve_blocks
    from verify.injectivity import _lp

    # x <= 1, minimise -x: feasible, optimum 1; past the deadline it is not solved, and says so (None).
    block = Block(np.array([-1.0]), np.array([[1.0]]), np.array([1.0]), np.array([-10.0]), np.array([10.0]))
    assert solve_blocks([block, block])[0][0] == 1.0
    assert solve_blocks([block, block], deadline=_Expired()) == [None, None]
    # A pair program stopped by the deadline counts as unresolved (a verdict without it is unknown), not as disjoint images.
    piece = _lp.Piece(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]), np.array([[1.0]]), np.array([0.0]))
    scales = _lp.Scales(1.0, 1.0)
    assert np.isinf(_lp.pair_violations([(piece, piece)], scales, _Expired())).all()
    assert _lp.pair_violations([(piece, piece)], scales)[0] <= 1e-9


def test_the_relaxation_bounds_stop_at_the_deadline():
    start = time.monotonic()
    result = check_injective(random_network((8, 64, 64, 20), 0.2, injective=False, generator=0), box=3.0, time_limit=0.5)
    assert time.monotonic() - start < 0.5 + SLACK
    assert result.holds is None
