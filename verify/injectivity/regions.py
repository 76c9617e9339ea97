"""``regions``: exact on the box (or on R^m), over the linear regions.

A rank-deficient region collapses a chord (witness: its two ends); two regions R_i,
R_j collide iff {(z, z') in R_i × R_j : A_i z + c_i = A_j z' + c_j} has a point with
z != z'. Pairs are cleared first when their projected images are disjoint, or when
the two affine pieces are transversal (range(A_i) meets range([A_i − A_j, c_i − c_j])
only in 0, which forbids any collision; ``_pairs``). The remaining pairs get linear
programs: does the image of one meet the other (phase 1), and if so, the largest
w·(z − z') over a positive spanning set of m + 1 directions w (phase 2; a candidate
is re-solved without slack before it counts). A "holds" found so is then proved by the exact
certificate of ``_certificate`` (dual certificates re-solved in rationals), or is unknown.
"""

from __future__ import annotations

import time

from models.regions import linear_regions

from ..check_result import CheckResult
from ._shared import Options, base_details, candidate_pairs, pair_verdict, pieces_of, region_rank_witness
from .tolerances import Frame, Tolerances

NAME = "injective/regions"
KIND = "exact"
NEEDS_BOX = False
SQUARE_ONLY = False
HOW = "exact: every pair of linear regions (transversality, then linear programs)"


def decide(frame: Frame, tol: Tolerances, options: Options | None = None, regions=None) -> CheckResult:
    """``regions``: the linear regions of ``frame.unit`` on ``frame.box``, if already enumerated."""
    start = time.perf_counter()
    deadline = (options or Options()).deadline
    regions = linear_regions(frame.unit, frame.box, time_limit=deadline) if regions is None else regions
    pieces = pieces_of(regions)
    details = {**base_details(frame, tol, "regions"), "regions": len(regions), "regions_exact": getattr(regions, "exact", None)}
    failed = region_rank_witness(frame, regions, pieces, tol, NAME, details, HOW)
    if failed is not None:
        return failed
    pairs, counts = candidate_pairs(regions, pieces, tol)
    result = pair_verdict(frame, regions, pieces, pairs, tol, NAME, {**details, **counts}, HOW, deadline)
    return result.with_details(seconds=time.perf_counter() - start)
