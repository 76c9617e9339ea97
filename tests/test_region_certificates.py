"""The exact certificate behind "injective" by the region method: Farkas and dual certificates of
the pair programs re-solved in rationals; planted collisions and tampered rows are never certified."""

from __future__ import annotations

import importlib

import numpy as np
import torch
from flint import fmpq

from models import AffineMap, LeakyReLUNetwork
from models.deadline import Deadline
from models.random import random_network
from verify import check_injective, check_weakly_injective
from verify.injectivity import _certificate
from verify.injectivity._certificate import ExactPiece, certify, certify_pairs, certify_unique_preimage
from verify.injectivity._lp import Piece
from verify.injectivity.tolerances import frame

D = torch.float64

weak = importlib.import_module("verify.injectivity.weak")


def _interval_piece(low: int, high: int, slope: int, offset: int) -> ExactPiece:
    """f(z) = slope · z + offset on [low, high] (m = n = 1), exact."""
    G, g = [[fmpq(1)], [fmpq(-1)]], [fmpq(high), fmpq(-low)]
    A, c = [[fmpq(slope)]], [fmpq(offset)]
    floats = Piece(np.array([[1.0], [-1.0]]), np.array([float(high), float(-low)]), np.array([[float(slope)]]), np.array([float(offset)]))
    return ExactPiece(G, g, A, c, floats, slope != 0)


def test_pieces_with_disjoint_images_are_certified():
    assert certify_pairs([_interval_piece(0, 1, 1, 0), _interval_piece(2, 3, 1, 0)], True).verified


def test_a_planted_collision_between_two_pieces_is_never_certified():
    # The second piece maps [2, 3] onto [0, 1], the image of the first: every point collides.
    result = certify_pairs([_interval_piece(0, 1, 1, 0), _interval_piece(2, 3, 1, -2)], True)
    assert not result.verified and "z = z'" in result.reason


def test_pieces_that_touch_only_where_they_meet_are_certified():
    # [0, 1] and [1, 2] under z: their images meet at f(1) only, where z = z'.
    assert certify_pairs([_interval_piece(0, 1, 1, 0), _interval_piece(1, 2, 1, 0)], True).verified
    # A fold at 1 (slope −1 on [1, 2]) collides near 1: no certificate.
    assert not certify_pairs([_interval_piece(0, 1, 1, 0), _interval_piece(1, 2, -1, 2)], True).verified


def test_a_piece_of_rank_below_m_is_never_certified():
    assert not certify_pairs([_interval_piece(0, 1, 0, 0)], True).verified


def test_an_injective_network_holds_with_a_verified_certificate():
    net = random_network((2, 8, 8), 0.2, generator=0)
    for box in (3.0, None):
        result = check_injective(net, box=box, method="regions")
        assert result.holds is True and result.verified, result
        assert result.witness["certificate"].startswith("exact")
        assert result.details["exact_pairs"] == result.witness["pairs_certified"] >= 0


def test_a_fold_has_no_certificate_and_fails_with_its_witness():
    net = LeakyReLUNetwork([torch.tensor([[1.0], [-1.0]], dtype=D), torch.tensor([[1.0, 0.5]], dtype=D)],
                           [torch.zeros(2, dtype=D), torch.zeros(1, dtype=D)], 0.0)
    assert not certify(frame(net, 2.0)).verified
    result = check_injective(net, box=2.0, method="regions")
    assert result.holds is False and result.verified


def test_a_far_translated_injective_network_is_still_certified():
    net = random_network((2, 6, 6), 0.3, generator=4)
    shift = torch.full((2,), 1e7, dtype=D)
    moved = net.precompose(AffineMap(torch.eye(2, dtype=D), -shift))
    result = check_injective(moved, box=(shift - 2.0, shift + 2.0), method="regions")
    assert result.holds is True and result.verified, result


def test_a_tampered_dual_is_rejected(monkeypatch):
    # Certificates read from a float dual whose support is wrong must not pass the exact check.
    # z on [0, 1], then 2z − 1 on [1, 2]: injective, not cleared by transversality (n = m), so the
    # pair needs its dual certificates.
    touching = [_interval_piece(0, 1, 1, 0), _interval_piece(1, 2, 2, -1)]
    assert not _certificate._transversal(*touching)
    assert certify_pairs(touching, True).verified
    monkeypatch.setattr(_certificate, "_support", lambda y, n_ineq, n_eq: (np.arange(1), np.zeros(0, dtype=int)))
    assert not certify_pairs(touching, True).verified


def test_past_the_time_limit_the_certificate_is_not_given():
    pieces = [_interval_piece(2 * k, 2 * k + 1, 1, 0) for k in range(4)]
    result = certify_pairs(pieces, True, _expired())
    assert not result.verified and "time limit" in result.reason


def _expired() -> Deadline:
    deadline = Deadline(1e-9)
    while not deadline.expired():
        pass
    return deadline


def _absolute_value() -> LeakyReLUNetwork:
    return LeakyReLUNetwork([torch.tensor([[1.0], [-1.0]], dtype=D), torch.tensor([[1.0, 1.0]], dtype=D)],
                            [torch.zeros(2, dtype=D), torch.zeros(1, dtype=D)], 0.0)


def test_weak_injectivity_holds_with_an_exact_certificate(monkeypatch):
    # |z| on [-1, 2]: the points of (1, 2] have one preimage.
    monkeypatch.setattr(weak, "PEAK_FIRST_SHARE", 0.0)  # the regions' certificate, not the peak
    box = (torch.tensor([-1.0], dtype=D), torch.tensor([2.0], dtype=D))
    result = check_weakly_injective(_absolute_value(), box=box)
    assert result.holds is True and result.verified, result
    assert result.details["certificate"].startswith("exact")
    assert float(result.witness["z0"][0]) > 1.0


def test_a_point_with_a_second_preimage_gets_no_unique_preimage_certificate():
    # |z| on [-1, 1]: z0 = 0.5 has the second preimage −0.5.
    box = (torch.tensor([-1.0], dtype=D), torch.tensor([1.0], dtype=D))
    fr = frame(_absolute_value(), box)
    result = certify_unique_preimage(fr, fr.to_unit(np.array([0.5])))
    assert not result.verified and "image of region" in result.reason
    assert check_weakly_injective(_absolute_value(), box=box).holds is not True


def test_transversality_is_decided_by_exact_ranks():
    def piece(A, c):
        rows = [[fmpq(v) for v in row] for row in A]
        floats = Piece(np.zeros((0, 1)), np.zeros(0), np.array(A, dtype=float), np.array(c, dtype=float))
        return ExactPiece([], [], rows, [fmpq(v) for v in c], floats, True)

    # R -> R^2: z ↦ (z, 0) and z ↦ (z, z − 1) differ along (0, 1), outside range(A) = span (1, 0): transversal.
    assert _certificate._transversal(piece([[1], [0]], [0, 0]), piece([[1], [1]], [0, -1]))
    # z ↦ (z, 0) and z ↦ (−z, 0): the difference (2, 0) lies in range(A), a fold: not transversal.
    fold = [piece([[1], [0]], [0, 0]), piece([[-1], [0]], [0, 0])]
    assert not _certificate._transversal(*fold)
    # The rank mod p is a proved lower bound: it never settles the fold, and it settles the other pair.
    lower = _certificate._transversal_mod_p(fold, [(0, 1)], None)
    assert lower[0] < 3 and not _certificate._transversal(*fold, int(lower[0]))
    cross = [piece([[1], [0], [0]], [0, 0, 0]), piece([[1], [1], [0]], [0, -1, 1])]
    assert _certificate._transversal_mod_p(cross, [(0, 1)], None)[0] == 3, "[A, D, δ] of full column rank 3 = 2m + 1"
