"""Pieces shared by the region-based injectivity methods: pieces of regions, the rank test,
the pairs that need collision programs and the verdict over those pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.validation import check_box

from ..check_result import CheckResult
from . import _lp, _pairs
from ._witness import collision_witness, null_chord
from .tolerances import Tolerances, domain_name


def pieces_of(regions) -> list[_lp.Piece]:
    return [_lp.Piece.from_region(r) for r in regions]


def least_singular(pieces: list[_lp.Piece]) -> np.ndarray:
    """σ_m(A_i) of every piece, shape (N,) (0 when n < m)."""
    if not pieces:
        return np.zeros(0)
    A = np.stack([p.A for p in pieces])
    if A.shape[1] < A.shape[2]:
        return np.zeros(len(pieces))
    return np.linalg.svd(A, compute_uv=False)[:, -1]


def box_detail(box, network):
    bounds = check_box(box, network.in_dim)
    return "R^m" if bounds is None else (bounds[0], bounds[1])


def base_details(net, box, tol: Tolerances, method: str) -> dict:
    scope = "on all of R^m" if box is None else "on the box (f restricted to the box)"
    return {"method": method, "scope": scope, "domain": box_detail(box, net), "tolerances": tol.as_dict()}


def evidence_details(evidence: dict) -> dict:
    return {"collision_residual": evidence["residual"], "collision_tolerance": evidence["tolerance"],
            "witness_verified": evidence["verified"], "witness_separation": evidence["separation"]}


def verdict(name: str, holds, statistic, tol: Tolerances, witness, details: dict, net, box, how: str) -> CheckResult:
    """An injectivity result: the statistic is a relative separation, passing when <= tol.separation."""
    return CheckResult(name, holds, statistic, tol.separation, "<=", witness, domain=domain_name(net, box), method=how,
                       details=details)


def rank_deficient_witness(net, pieces, centres, patterns, tol: Tolerances, name, details, box, how) -> CheckResult | None:
    """A failing result from the first rank-deficient piece (centres: interior points), or None."""
    sigma = least_singular(pieces)
    bad = np.flatnonzero(sigma <= tol.rank)
    if bad.size == 0:
        return None
    i = int(bad[0])
    p = pieces[i]
    with np.errstate(divide="ignore", over="ignore"):
        budget = 0.5 * tol.collision / np.float64(sigma[i])  # inf when sigma is 0 (or tiny)
    z1, z2 = null_chord(p.G, p.g, np.asarray(centres[i], dtype=np.float64), p.A, min(budget, 2 * tol.rho))
    evidence = collision_witness(net, z1, z2, tol)
    details = {**details, "criterion": "rank-deficient region", "region": i, "sigma_min": float(sigma[i]),
               "rank_tolerance": tol.rank, "pattern": patterns[i], **evidence_details(evidence)}
    holds = False if evidence["verified"] else None
    return verdict(name, holds, evidence["separation"] / tol.rho, tol, (evidence["z1"], evidence["z2"]), details, net, box,
                   f"{how}: a rank-deficient region collapses a chord")


def region_rank_witness(net, regions, pieces, tol, name, details, box, how):
    centres = [r.interior_point.cpu().numpy() for r in regions]
    return rank_deficient_witness(net, pieces, centres, [r.pattern for r in regions], tol, name, details, box, how)


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
    bounded = all(r.vertices is not None for r in regions)
    overlapping = _pairs.overlapping_pairs(len(regions), _pairs.image_intervals(regions, pieces), 2 * tol.collision)
    cleared = _pairs.transversal(pieces, overlapping, tol.rho if bounded else None, tol.separation * tol.rho)
    remaining = [tuple(map(int, ij)) for ij in overlapping[~cleared]]
    counts = {"pairs_total": len(regions) * (len(regions) - 1) // 2, "pairs_overlapping": len(overlapping),
              "pairs_transversal": int(cleared.sum()), "pairs_programmed": len(remaining)}
    return remaining, counts


def pair_verdict(net, regions, pieces, pairs, tol: Tolerances, name: str, details: dict, box, how: str) -> CheckResult:
    """Exact verdict over the given region pairs (after the rank test)."""
    scales = _lp.Scales(tol.rho, tol.out)
    search = _lp.largest_collision([(pieces[i], pieces[j]) for i, j in pairs], scales, tol.separation, _lp.directions(net.in_dim))
    statistic = search.statistic
    details = {**details, "pairs": len(pairs), "touching_pairs": search.touching, "unresolved_pairs": search.unresolved}
    if search.witness is None:
        if search.unresolved:
            return verdict(name, None, statistic, tol, None, {**details, "reason": "some pair programs failed"}, net, box, how)
        certificate = {"criterion": "no two regions collide (transversality, then pairwise linear programs)",
                       "domain": box_detail(box, net), "regions": len(regions), "pairs_checked": len(pairs)}
        return verdict(name, True, statistic, tol, certificate, details, net, box, how)
    k, z1, z2 = search.witness
    evidence = collision_witness(net, z1, z2, tol)
    i, j = pairs[k]
    details = {**details, "criterion": "two regions collide", "regions_pair": (i, j), **evidence_details(evidence)}
    return verdict(name, False if evidence["verified"] else None, statistic, tol, (evidence["z1"], evidence["z2"]), details,
                   net, box, how)


@dataclass(frozen=True)
class Options:
    """What a method may need besides the network, the box and the tolerances.

    time_limit: seconds for the whole check (None: no limit); n_samples, max_pairs,
    generator: the sampling of the search.
    """

    time_limit: float | None = None
    n_samples: int = 4096
    max_pairs: int = 256
    generator: torch.Generator | None = None
