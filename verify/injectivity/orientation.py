"""``orientation`` (square maps, n = m): coherent orientation and the degree.

A continuous piecewise-affine map of R^m that is injective has all region
determinants of one nonzero sign (coherent orientation). The converse needs more:
coherent maps of degree > 1 exist (with every determinant positive, a map can wrap
the plane twice around a point; ``proofs_notes/lemma_coherent_orientation.md``).
Coherent on all of R^m, f is proper with local degrees of one sign, so it is a
homeomorphism iff a regular value has exactly one preimage; that count decides.
Two regions of opposite signs in the box fold onto each other: the witness is a
collision found by the pairwise program of such a pair (adjacent pairs first). On a
box where the map is not coherent on R^m, the exact pairwise test decides
(``details['criterion']`` says which).
"""

from __future__ import annotations

import numpy as np
import torch

from models.regions import linear_regions
from models.validation import DTYPE

from ..check_result import CheckResult
from . import _certificate, _pairs
from . import regions as regions_method
from ._shared import (
    Options,
    base_details,
    collision_verdict,
    least_singular,
    pair_verdict,
    pieces_of,
    region_rank_witness,
    verdict,
)
from ._witness import collision_witness
from .preimages import unit_preimages
from .tolerances import Frame, Tolerances
from .tolerances import frame as tolerances_frame

NAME = "injective/orientation"
KIND = "exact"
NEEDS_BOX = False
SQUARE_ONLY = True
HOW = "exact: orientation of every region, then the degree (preimages of a regular value)"


def decide(frame: Frame, tol: Tolerances, options: Options | None = None) -> CheckResult:
    net = frame.unit
    if net.out_dim != net.in_dim:
        raise ValueError(f"network: the orientation method needs a square map (n = m), got n = {net.out_dim}, m = {net.in_dim}")
    deadline = (options or Options()).deadline
    regions = linear_regions(net, frame.box, time_limit=deadline)
    pieces = pieces_of(regions)
    details = {**base_details(frame, tol, "orientation"), "regions": len(regions)}
    failed = region_rank_witness(frame, regions, pieces, tol, NAME, details, HOW)
    if failed is not None:
        return failed
    signs = np.sign([np.linalg.det(p.A) for p in pieces])
    details["determinant_signs"] = {"positive": int((signs > 0).sum()), "negative": int((signs < 0).sum())}
    if np.all(signs == signs[0]):
        return _coherent_verdict(frame, tol, regions, details, int(signs[0]), deadline)
    # Neighbours have overlapping images; the fewer units they differ in, the likelier they share a facet.
    overlapping = _pairs.overlapping_pairs(len(regions), _pairs.image_intervals(regions, pieces), 2 * tol.collision)
    pairs = sorted(((int(i), int(j)) for i, j in overlapping if signs[i] != signs[j]),
                   key=lambda ij: int((regions[ij[0]].pattern != regions[ij[1]].pattern).sum()))
    result = pair_verdict(frame, regions, pieces, pairs, tol, NAME, details, HOW, deadline)
    if result.holds is False:
        return result.with_details(criterion="regions of opposite orientation fold onto each other")
    # Opposite signs with no collision found cannot happen for a continuous map; report rather than guess.
    return result.replace(holds=None, witness=None, details={**result.details, "reason": "opposite orientations but no collision found"})


def _coherent_verdict(frame: Frame, tol, regions, details, sign, deadline) -> CheckResult:
    """Coherent on all of R^m, f is proper with every local degree of one sign, so it is a
    homeomorphism iff one regular value has exactly one preimage (degree one); that count
    decides, on R^m and hence on any box."""
    net, box = frame.unit, frame.box
    everywhere = regions if box is None else linear_regions(net, None, time_limit=deadline)
    pieces = pieces_of(everywhere)
    signs = np.sign([np.linalg.det(p.A) for p in pieces])
    if np.all(signs == sign) and np.all(least_singular(pieces) > tol.rank):
        point, value, found = _regular_value_preimages(net, everywhere)
        details = {**details, "regions_of_R^m": len(everywhere), "regular_value": frame.f_anchor + frame.out * value.numpy(),
                   "preimages": len(found)}
        if len(found) == 1:
            return _degree_one(frame, tol, details, sign, point.numpy(), deadline)
        if box is None:
            evidence = collision_witness(frame, found[0], found[1], tol)
            details = {**details,
                       "criterion": f"coherently oriented but of degree {len(found)}: a regular value has {len(found)} preimages"}
            return collision_verdict(NAME, evidence["separation"] / frame.scale, tol, evidence, details, frame, HOW)
    result = regions_method.decide(frame, tol, Options(deadline=deadline), regions=regions)
    return result.replace(name=NAME, details={**result.details, "method": "orientation",
                                              "criterion": "not a homeomorphism of R^m: decided by the pairwise programs on the box"})


def _degree_one(frame: Frame, tol, details, sign: int, u0: np.ndarray, deadline) -> CheckResult:
    """"holds" on R^m when the exact certificate confirms coherence and degree one at the regular
    point u0 (the frame's units), else unknown."""
    m = frame.network.in_dim
    z0 = frame.to_latent(u0)
    everywhere = frame if frame.box is None else tolerances_frame(frame.network, None)
    exact = _certificate.certify_degree_one(everywhere, everywhere.to_unit(z0), sign, deadline)
    criterion = ("coherently oriented on all of R^m with degree one (one preimage of a regular value): a homeomorphism"
                 + ("" if frame.box is None else ", hence injective on the box"))
    if not exact.verified:
        details = {**details, "candidate": criterion, "reason": f"coherent with one preimage in float64, but no exact "
                                                                f"certificate: {exact.reason}"}
        return verdict(NAME, None, 0.0, tol, None, details, frame, HOW)
    certificate = {"criterion": criterion, "sign": sign, "regular_value": details["regular_value"],
                   "certificate": "exact: the regions of R^m enumerated exactly, every determinant's sign in rationals, and "
                                  "Farkas certificates that no other region reaches the regular value"}
    return verdict(NAME, True, 0.0, tol, certificate, details, frame, HOW, verified=True).replace(domain=f"R^{m}")


def _regular_value_preimages(net, regions):
    """A value f(z) at a point z strictly inside the widest region (a regular value, generically), and all its preimages."""
    widest = max(regions, key=lambda r: r.radius)
    generator = torch.Generator().manual_seed(0)
    offset = torch.rand(widest.interior_point.shape[0], generator=generator, dtype=DTYPE) - 0.5
    z = widest.interior_point.cpu() + 0.5 * widest.radius * offset / max(float(offset.norm()), 1e-12)
    value = net(z)
    return z, value, list(unit_preimages(net, value.numpy(), None))
