"""Pieces shared by the region-based injectivity methods: pieces of regions, the rank test,
the pairs that need collision programs and the verdict over those pairs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.deadline import Deadline

from ..check_result import CheckResult
from . import _certificate, _lp, _pairs
from ._witness import chord_witness, collision_witness
from .tolerances import Frame, Tolerances


def pieces_of(regions) -> list[_lp.Piece]:
    """The pieces (G, g, A, c) of a RegionSet (read from its arrays) or of a list of Region."""
    arrays = getattr(regions, "arrays", None)
    if arrays is None:
        return [_lp.Piece.from_region(r) for r in regions]
    f = arrays.facet_offsets
    return [_lp.Piece(arrays.facet_normals[f[i]:f[i + 1]], arrays.facet_rhs[f[i]:f[i + 1]], arrays.A[i], arrays.c[i])
            for i in range(len(arrays))]


def least_singular(pieces: list[_lp.Piece]) -> np.ndarray:
    """σ_m(A_i) of every piece, shape (N,) (0 when n < m)."""
    if not pieces:
        return np.zeros(0)
    A = np.stack([p.A for p in pieces])
    if A.shape[1] < A.shape[2]:
        return np.zeros(len(pieces))
    return np.linalg.svd(A, compute_uv=False)[:, -1]


def box_detail(frame: Frame):
    bounds = frame.box
    return "R^m" if bounds is None else tuple(torch.as_tensor(frame.to_latent(t.numpy())) for t in bounds)


def base_details(frame: Frame, tol: Tolerances, method: str) -> dict:
    scope = "on all of R^m" if frame.box is None else "on the box (f restricted to the box)"
    return {"method": method, "scope": scope, "domain": box_detail(frame), "tolerances": tol.as_dict(),
            "frame": {"anchor": frame.anchor, "scale": frame.scale, "out": frame.out}}


def evidence_details(evidence: dict) -> dict:
    return {"collision_residual": evidence["residual"], "witness_verified": evidence["verified"],
            "witness_separation": evidence["separation"], "exact_witness": evidence["exact"],
            **({"witness_reason": evidence["reason"]} if evidence["reason"] else {})}


def verdict(name: str, holds, statistic, tol: Tolerances, witness, details: dict, frame: Frame, how: str, *,
            verified: bool = False) -> CheckResult:
    """An injectivity result: the statistic is a relative separation (normalized units), passing when <= tol.separation."""
    return CheckResult(name, holds, statistic, tol.separation, "<=", witness, verified=verified, domain=frame.domain, method=how,
                       details=details)


def collision_verdict(name, statistic, tol, evidence: dict, details: dict, frame: Frame, how: str) -> CheckResult:
    """"fails" with the exact witness when it was confirmed, else unknown with the reason."""
    details = {**details, **evidence_details(evidence)}
    if evidence["verified"]:
        return verdict(name, False, statistic, tol, (evidence["z1"], evidence["z2"]), details, frame, how, verified=True)
    return verdict(name, None, statistic, tol, None, {**details, "reason": evidence["reason"]}, frame, how)


def rank_deficient_witness(frame: Frame, pieces, centres, patterns, tol: Tolerances, name, details, how) -> CheckResult | None:
    """A failing result from the first piece that is rank deficient exactly (centres: interior points,
    normalized units), or None; pieces that are only numerically near rank deficiency are left
    to the pair tests."""
    sigma = least_singular(pieces)
    for i in np.flatnonzero(sigma <= tol.rank):
        evidence = chord_witness(frame, patterns[i], np.asarray(centres[i], dtype=np.float64), tol.rho)
        if evidence is None:
            continue
        details = {**details, "criterion": "rank-deficient region", "region": int(i), "sigma_min": float(sigma[i]),
                   "rank_tolerance": tol.rank, "pattern": torch.as_tensor(np.asarray(patterns[i]))}
        return collision_verdict(name, evidence["separation"] / (frame.scale * tol.rho), tol, evidence, details, frame,
                                 f"{how}: a rank-deficient region collapses a chord")
    return None


def region_rank_witness(frame: Frame, regions, pieces, tol, name, details, how):
    arrays = getattr(regions, "arrays", None)
    if arrays is not None:  # read the arrays: no Region view per region
        return rank_deficient_witness(frame, pieces, arrays.interior, arrays.patterns, tol, name, details, how)
    centres = [r.interior_point.cpu().numpy() for r in regions]
    return rank_deficient_witness(frame, pieces, centres, [r.pattern for r in regions], tol, name, details, how)


def image_boxes(regions, pieces):
    """Bounding boxes (lo, hi) of the images of bounded regions, shape (N, n) each, or None."""
    intervals = _pairs.image_intervals(regions, pieces)
    if intervals is None:
        return None
    n = pieces[0].A.shape[0]
    return intervals[0][:, :n], intervals[1][:, :n]


def candidate_pairs(regions, pieces, tol: Tolerances) -> tuple[list[tuple[int, int]], dict]:
    """Pairs i < j that need collision programs: images overlapping on every test direction
    and not cleared by transversality (see ``_pairs``)."""
    arrays = getattr(regions, "arrays", None)
    bounded = bool(arrays.bounded.all()) if arrays is not None else all(r.bounded for r in regions)
    overlapping = _pairs.overlapping_pairs(len(regions), _pairs.image_intervals(regions, pieces), 2 * tol.collision)
    cleared = _pairs.transversal(pieces, overlapping, tol.rho if bounded else None, tol.separation * tol.rho)
    remaining = [tuple(map(int, ij)) for ij in overlapping[~cleared]]
    counts = {"pairs_total": len(regions) * (len(regions) - 1) // 2, "pairs_overlapping": len(overlapping),
              "pairs_transversal": int(cleared.sum()), "pairs_programmed": len(remaining)}
    return remaining, counts


def pair_verdict(frame: Frame, regions, pieces, pairs, tol: Tolerances, name: str, details: dict, how: str,
                 deadline: Deadline | None = None) -> CheckResult:
    """The verdict over the given region pairs (after the rank test)."""
    scales = _lp.Scales(tol.rho, tol.out)
    search = _lp.largest_collision([(pieces[i], pieces[j]) for i, j in pairs], scales, tol.separation,
                                   _lp.directions(frame.network.in_dim), deadline=deadline)
    statistic = search.statistic
    details = {**details, "pairs": len(pairs), "touching_pairs": search.touching, "unresolved_pairs": search.unresolved}
    if search.witness is None:
        if search.unresolved:
            return verdict(name, None, statistic, tol, None, {**details, "reason": "some pair programs failed"}, frame, how)
        return _certified(frame, name, statistic, tol, details, how, len(regions), len(pairs), deadline)
    k, u1, u2 = search.witness
    i, j = pairs[k]
    evidence = collision_witness(frame, u1, u2, tol)
    return collision_verdict(name, statistic, tol, evidence, {**details, "criterion": "two regions collide", "regions_pair": (i, j)},
                             frame, how)


def _certified(frame: Frame, name, statistic, tol, details, how, regions: int, pairs: int, deadline) -> CheckResult:
    """"holds" when the exact certificate (``_certificate``) confirms the float verdict, else unknown
    with the reason: a float "no collision" is not a proof."""
    exact = _certificate.certify(frame, deadline)
    details = {**details, "exact_pairs": exact.pairs}
    if not exact.verified:
        return verdict(name, None, statistic, tol, None, {**details, "reason": f"no collision found in float64, but no exact "
                                                                            f"certificate: {exact.reason}"}, frame, how)
    certificate = {"criterion": "no two regions collide", "domain": box_detail(frame), "regions": regions,
                   "pairs_programmed": pairs, "pairs_certified": exact.pairs,
                   "certificate": "exact: Farkas and dual certificates of the pair programs, re-solved in rationals"}
    return verdict(name, True, statistic, tol, certificate, details, frame, how, verified=True)


@dataclass(frozen=True)
class Options:
    """What a method may need besides the frame and the tolerances.

    deadline: when the whole check stops (``models.deadline.Deadline``); n_samples, max_pairs,
    generator: the sampling of the search.
    """

    deadline: Deadline = field(default_factory=Deadline)
    n_samples: int = 4096
    max_pairs: int = 256
    generator: torch.Generator | None = None
