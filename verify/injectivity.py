"""Injectivity and weak injectivity of leaky-ReLU networks, with witnesses (THEORY.md).

Methods of ``check_injective``:

- ``rank``: sufficient only. All slopes > 0 and every layer of full column rank
  make every layer, hence f, injective on all of R^m. When the criterion fails it
  proves nothing: ``holds`` is then False with ``details['conclusive'] = False``.
- ``orientation`` (square maps, n = m): a continuous piecewise-affine map of R^m
  that is injective has all region determinants of one nonzero sign (coherent
  orientation). The converse needs more than THEORY.md states: coherent maps of
  degree > 1 exist (with every determinant positive, a map can wrap the plane
  twice around a point). Coherent on all of R^m, f is proper with local degrees
  of one sign, so it is a homeomorphism iff a regular value has exactly one
  preimage; that count decides. Two regions of opposite signs in the box fold
  onto each other: the witness is a collision found by the pairwise program of
  such a pair (adjacent pairs first). On a box where the map is not coherent on
  R^m, the exact pairwise test decides (``details['criterion']`` says which).
- ``regions``: exact on the box. A rank-deficient region collapses a chord
  (witness: its two ends); two regions R_i, R_j collide iff
  {(z, z') in R_i × R_j : A_i z + c_i = A_j z' + c_j} has a point with z != z'.
  Pairs are cleared first when their projected images are disjoint, or when the
  two affine pieces are transversal (range(A_i) meets range([A_i − A_j, c_i − c_j])
  only in 0, which forbids any collision; ``verify._pairs``). The remaining pairs
  get linear programs: does the image of one meet the other (phase 1), and if so,
  the largest w·(z − z') over a positive spanning set of m + 1 directions w
  (phase 2; a candidate is re-solved without slack before it counts).
- ``milp``: exact on the box: two copies of the network with big-M encodings
  (one binary per unstable unit and copy; bounds tightened by the linear
  relaxation), f(z1) = f(z2), maximise z1_k − z2_k for k = 1..m (the problem is
  symmetric under swapping the copies, so −(z1_k − z2_k) needs no program).
- ``search``: random sampling, then the pairwise programs on the region pairs
  nearest to a collision; it can only refute (``holds`` True means no collision
  was found, ``details['conclusive'] = False``).
- ``auto``: ``rank`` if it certifies; else ``search`` if it finds a verified
  collision; else ``regions`` for m <= 3, ``milp`` otherwise. Without a box and
  with m > 3 no exact method applies: the verdict is then ``holds`` False with
  ``details['conclusive']`` False.

A box restricts f to the box: "injective on the box". ``box=None`` means all of
R^m (``rank``, ``orientation``, ``regions`` and ``search`` support it; ``milp``
needs a box). Every failing verdict carries a witness (z1, z2) with z1 != z2
whose collision ‖f(z1) − f(z2)‖ <= tolerance was re-checked by a forward pass
of the network in float64 (``verify._witness`` lists the tolerances).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree

from models.regions import box_scale, chebyshev_center, linear_regions, parse_box, pattern_halfspaces

from . import _cover, _lp, _milp, _pairs
from ._witness import RANK_RTOL, Tolerances, check_network, collision_witness, null_chord, tolerances
from .check_result import CheckResult

METHODS = ("auto", "rank", "orientation", "regions", "milp", "search")
# Auto picks the region method up to this input dimension (it is exponential in m).
REGIONS_MAX_DIM = 3
# Spurious MILP optima (collisions within the solver's tolerance only) cut off per coordinate.
MILP_MAX_CUTS = 32


class InfinitePreimagesError(ValueError):
    """A point has infinitely many preimages, so they cannot be listed."""


# ---------------------------------------------------------------------- shared pieces
def _box_detail(box, network) -> Any:
    bounds = parse_box(box, network.in_dim)
    return "R^m" if bounds is None else (bounds[0], bounds[1])


def _scope(box) -> str:
    return "on all of R^m" if box is None else "on the box (f restricted to the box)"


def _pieces(regions) -> list[_lp.Piece]:
    return [_lp.Piece.from_region(r) for r in regions]


def _least_singular(pieces: list[_lp.Piece]) -> np.ndarray:
    """σ_m(A_i) of every piece, shape (N,) (0 when n < m)."""
    if not pieces:
        return np.zeros(0)
    A = np.stack([p.A for p in pieces])
    if A.shape[1] < A.shape[2]:
        return np.zeros(len(pieces))
    return np.linalg.svd(A, compute_uv=False)[:, -1]


def _rank_deficient_witness(net, pieces, centres, patterns, tol: Tolerances, name, details):
    """A failing result from the first rank-deficient piece (centres: interior points), or None."""
    sigma = _least_singular(pieces)
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
               "rank_tolerance": tol.rank, "pattern": patterns[i], **_evidence_details(evidence),
               "conclusive": evidence["verified"]}
    return CheckResult(name, False, evidence["separation"] / tol.rho, tol.separation, (evidence["z1"], evidence["z2"]), details)


def _region_rank_witness(net, regions, pieces, tol, name, details):
    centres = [r.interior_point.cpu().numpy() for r in regions]
    return _rank_deficient_witness(net, pieces, centres, [r.pattern for r in regions], tol, name, details)


def _evidence_details(evidence: dict) -> dict:
    return {"collision_residual": evidence["residual"], "collision_tolerance": evidence["tolerance"],
            "witness_verified": evidence["verified"], "witness_separation": evidence["separation"]}


def _image_boxes(regions, pieces):
    """Bounding boxes (lo, hi) of the images of bounded regions, shape (N, n) each, or None."""
    intervals = _pairs.image_intervals(regions, pieces)
    if intervals is None:
        return None
    n = pieces[0].A.shape[0]
    return intervals[0][:, :n], intervals[1][:, :n]


def _candidate_pairs(regions, pieces, tol: Tolerances) -> tuple[list[tuple[int, int]], dict]:
    """Pairs i < j that need collision programs: images overlapping on every test direction
    and not cleared by transversality (see ``verify._pairs``)."""
    bounded = all(r.vertices is not None for r in regions)
    overlapping = _pairs.overlapping_pairs(len(regions), _pairs.image_intervals(regions, pieces), 2 * tol.collision)
    cleared = _pairs.transversal(pieces, overlapping, tol.rho if bounded else None, tol.separation * tol.rho)
    remaining = [tuple(map(int, ij)) for ij in overlapping[~cleared]]
    counts = {"pairs_total": len(regions) * (len(regions) - 1) // 2, "pairs_overlapping": len(overlapping),
              "pairs_transversal": int(cleared.sum()), "pairs_programmed": len(remaining)}
    return remaining, counts


def _pair_verdict(net, regions, pieces, pairs, tol: Tolerances, name: str, details: dict, box) -> CheckResult:
    """Exact verdict over the given region pairs (after the rank test)."""
    scales = _lp.Scales(tol.rho, tol.out)
    search = _lp.largest_collision([(pieces[i], pieces[j]) for i, j in pairs], scales, tol.separation, _lp.directions(net.in_dim))
    statistic = search.statistic
    details = {**details, "pairs": len(pairs), "touching_pairs": search.touching, "unresolved_pairs": search.unresolved}
    if search.witness is None:
        if search.unresolved:
            return CheckResult(name, False, statistic, tol.separation, None,
                               {**details, "conclusive": False, "verdict": "inconclusive: some pair programs failed"})
        certificate = {"criterion": "no two regions collide (transversality, then pairwise linear programs)",
                       "domain": _box_detail(box, net), "regions": len(regions), "pairs_checked": len(pairs)}
        return CheckResult(name, True, statistic, tol.separation, certificate, {**details, "conclusive": True})
    k, z1, z2 = search.witness
    evidence = collision_witness(net, z1, z2, tol)
    i, j = pairs[k]
    details = {**details, "criterion": "two regions collide", "regions_pair": (i, j), **_evidence_details(evidence),
               "conclusive": evidence["verified"]}
    return CheckResult(name, False, statistic, tol.separation, (evidence["z1"], evidence["z2"]), details)


def _base_details(net, box, tol: Tolerances, method: str) -> dict:
    return {"method": method, "scope": _scope(box), "domain": _box_detail(box, net), "tolerances": tol.as_dict()}


# ---------------------------------------------------------------------- methods
def _by_rank(net, box, tol: Tolerances) -> CheckResult:
    ratios = []
    for w in net.weights:
        sv = torch.linalg.svdvals(w)
        ratios.append(float(sv[-1] / sv[0]) if w.shape[0] >= w.shape[1] and float(sv[0]) > 0 else 0.0)
    slopes_ok = all(s > 0 for s in net.slopes)
    statistic = min(ratios)
    holds = slopes_ok and statistic > RANK_RTOL
    details = {**_base_details(net, box, tol, "rank"), "layer_condition_ratios": ratios, "slopes": net.slopes,
               "conclusive": holds}
    if holds:
        certificate = {"criterion": "every slope > 0 and every layer of full column rank", "domain": "R^m",
                       "min_sigma_ratio": statistic}
        details["verdict"] = "injective on all of R^m (hence on any box)"
        return CheckResult("injective/rank", True, statistic, RANK_RTOL, certificate, details)
    details["verdict"] = "inconclusive: the layerwise criterion is sufficient, not necessary"
    return CheckResult("injective/rank", False, statistic, RANK_RTOL, None, details)


def _by_regions(net, box, tol: Tolerances, regions=None) -> CheckResult:
    start = time.perf_counter()
    regions = linear_regions(net, box) if regions is None else regions
    pieces = _pieces(regions)
    details = {**_base_details(net, box, tol, "regions"), "regions": len(regions)}
    failed = _region_rank_witness(net, regions, pieces, tol, "injective/regions", details)
    if failed is not None:
        return failed
    pairs, counts = _candidate_pairs(regions, pieces, tol)
    result = _pair_verdict(net, regions, pieces, pairs, tol, "injective/regions", {**details, **counts}, box)
    result.details["seconds"] = time.perf_counter() - start
    return result


def _by_orientation(net, box, tol: Tolerances) -> CheckResult:
    if net.out_dim != net.in_dim:
        raise ValueError(f"network: the orientation method needs a square map (n = m), got n = {net.out_dim}, m = {net.in_dim}")
    regions = linear_regions(net, box)
    pieces = _pieces(regions)
    details = {**_base_details(net, box, tol, "orientation"), "regions": len(regions)}
    failed = _region_rank_witness(net, regions, pieces, tol, "injective/orientation", details)
    if failed is not None:
        return failed
    signs = np.sign([np.linalg.det(p.A) for p in pieces])
    details["determinant_signs"] = {"positive": int((signs > 0).sum()), "negative": int((signs < 0).sum())}
    if np.all(signs == signs[0]):
        return _coherent_verdict(net, box, tol, regions, details, int(signs[0]))
    # Neighbours have overlapping images; the fewer units they differ in, the likelier they share a facet.
    overlapping = _pairs.overlapping_pairs(len(regions), _pairs.image_intervals(regions, pieces), 2 * tol.collision)
    pairs = sorted(((int(i), int(j)) for i, j in overlapping if signs[i] != signs[j]),
                   key=lambda ij: int((regions[ij[0]].pattern != regions[ij[1]].pattern).sum()))
    result = _pair_verdict(net, regions, pieces, pairs, tol, "injective/orientation", details, box)
    if not result.holds:
        result.details["criterion"] = "regions of opposite orientation fold onto each other"
        return result
    # Opposite signs with no collision found cannot happen for a continuous map; report rather than guess.
    return CheckResult("injective/orientation", False, result.statistic, tol.separation, None,
                       {**result.details, "conclusive": False, "verdict": "opposite orientations but no collision found"})


def _coherent_verdict(net, box, tol, regions, details, sign) -> CheckResult:
    """Coherent orientation is necessary, not sufficient (a piecewise-affine map can wind twice
    around a point with every determinant positive). Coherent on all of R^m, f is proper with
    every local degree of one sign, so it is a homeomorphism iff one regular value has exactly
    one preimage (degree one); that count decides, on R^m and hence on any box."""
    everywhere = regions if box is None else linear_regions(net, None)
    pieces = _pieces(everywhere)
    signs = np.sign([np.linalg.det(p.A) for p in pieces])
    if np.all(signs == sign) and np.all(_least_singular(pieces) > tol.rank):
        value, found = _regular_value_preimages(net, everywhere)
        details = {**details, "regions_of_R^m": len(everywhere), "regular_value": value, "preimages": len(found)}
        if len(found) == 1:
            certificate = {"criterion": "coherently oriented on all of R^m with degree one (one preimage of a regular value): "
                                        "a homeomorphism" + ("" if box is None else ", hence injective on the box"),
                           "sign": sign, "regular_value": value}
            return CheckResult("injective/orientation", True, 0.0, tol.separation, certificate, {**details, "conclusive": True})
        if box is None:
            evidence = collision_witness(net, found[0], found[1], tol)
            return CheckResult("injective/orientation", False, evidence["separation"], tol.separation, (evidence["z1"], evidence["z2"]),
                               {**details, **_evidence_details(evidence), "conclusive": True,
                                "criterion": f"coherently oriented but of degree {len(found)}: a regular value has {len(found)} preimages"})
    result = _by_regions(net, box, tol, regions)
    result.details["criterion"] = "not a homeomorphism of R^m: decided by the pairwise programs on the box"
    return CheckResult("injective/orientation", result.holds, result.statistic, result.tolerance, result.witness,
                       {**result.details, "method": "orientation"})


def _regular_value_preimages(net, regions):
    """A value f(z) at a point z strictly inside the widest region (a regular value, generically), and all its preimages."""
    widest = max(regions, key=lambda r: r.radius)
    generator = torch.Generator().manual_seed(0)
    offset = torch.rand(widest.interior_point.shape[0], generator=generator, dtype=torch.float64) - 0.5
    z = widest.interior_point.cpu() + 0.5 * widest.radius * offset / max(float(offset.norm()), 1e-12)
    value = net(z)
    return value, list(preimages(net, value))


def _by_milp(net, box, tol: Tolerances, time_limit) -> CheckResult:
    bounds = parse_box(box, net.in_dim)
    if bounds is None:
        raise ValueError("box: the MILP method needs a bounded box")
    low, high = bounds[0].numpy(), bounds[1].numpy()
    layers = _milp.Layers.of(net)
    start = time.perf_counter()
    program = _milp.collision_program(layers, _milp.relaxation_bounds(layers, low, high), low, high, tol.out)
    details = {**_base_details(net, box, tol, "milp"), "binaries": len(program[1].binaries) + len(program[2].binaries),
               "programs": [], "excluded_pattern_pairs": 0}
    statistic, conclusive = 0.0, True
    for k in range(net.in_dim):
        value, solved, failed = _milp_coordinate(net, box, tol, program, k, time_limit, details)
        if failed is not None:
            return failed
        conclusive &= solved
        statistic = max(statistic, value)
    details.update(seconds=time.perf_counter() - start, conclusive=conclusive)
    if not conclusive:
        details["verdict"] = "inconclusive: a program stopped before optimality (time limit or too many spurious optima)"
        return CheckResult("injective/milp", False, statistic, tol.separation, None, details)
    certificate = {"criterion": "max (z1_k − z2_k) subject to f(z1) = f(z2) is 0 for every k (MILP)", "domain": _box_detail(box, net)}
    return CheckResult("injective/milp", True, statistic, tol.separation, certificate, details)


def _milp_coordinate(net, box, tol, program, k, time_limit, details):
    """max (z1_k − z2_k): (relative value, solved to optimality, failing result or None).

    An optimum that the pair program of its two patterns does not confirm lies within the
    solver's own tolerance only; both orders of that pattern pair are cut off and the
    program solved again, at most ``MILP_MAX_CUTS`` times.
    """
    builder, first, second = program
    for _ in range(MILP_MAX_CUTS):
        outcome = _milp.maximise_separation(builder, first.z, second.z, np.eye(net.in_dim)[k], time_limit)
        details["programs"].append({"coordinate": k, "value": outcome.value, "status": outcome.status, "seconds": outcome.seconds})
        if outcome.x is None or outcome.value / tol.rho <= tol.separation:
            value = outcome.value / tol.rho if math.isfinite(outcome.value) else 0.0
            return max(value, 0.0), outcome.status in (0, 2), None
        failed = _milp_witness(net, box, tol, outcome, first, second, details)
        if failed is not None:
            return outcome.value / tol.rho, True, failed
        swapped = outcome.x.copy()
        swapped[first.binaries], swapped[second.binaries] = outcome.x[second.binaries], outcome.x[first.binaries]
        for x in (outcome.x, swapped):
            _milp.exclude(builder, first.binaries + second.binaries, x)
        details["excluded_pattern_pairs"] += 1
    return 0.0, False, None


def _milp_witness(net, box, tol, outcome, first, second, details) -> CheckResult | None:
    """The MILP point, confirmed (and made exact) by the pairwise program of the two patterns its
    binaries fix; None when neither that program nor polishing the point yields a verified collision."""
    pieces = tuple(_lp.Piece(*pattern_halfspaces(net, copy.pattern(outcome.x), box)) for copy in (first, second))
    found = _lp.largest_collision([pieces], _lp.Scales(tol.rho, tol.out), tol.separation, _lp.directions(net.in_dim)).witness
    z1, z2 = (found[1], found[2]) if found is not None else (outcome.z1, outcome.z2)
    evidence = collision_witness(net, z1, z2, tol)
    if not evidence["verified"] or float((evidence["z1"] - evidence["z2"]).abs().max()) / tol.rho <= tol.separation:
        return None
    details = {**details, "criterion": "MILP collision", **_evidence_details(evidence), "conclusive": True}
    return CheckResult("injective/milp", False, outcome.value / tol.rho, tol.separation, (evidence["z1"], evidence["z2"]), details)


# ---------------------------------------------------------------------- search
def _sample(net, box, n_samples: int, generator: torch.Generator) -> torch.Tensor:
    bounds = parse_box(box, net.in_dim)
    u = torch.rand(n_samples, net.in_dim, generator=generator, dtype=torch.float64)
    if bounds is None:
        return (2 * u - 1) * 2 * box_scale(net, None)
    return bounds[0] + u * (bounds[1] - bounds[0])


def _neighbour_pairs(z: np.ndarray, fz: np.ndarray, labels: np.ndarray, k: int, max_pairs: int) -> list[tuple[int, int]]:
    """Region pairs (by label) that sampled points suggest: near in the output (collision-like)
    first, ranked by ‖f(a) − f(b)‖ / ‖a − b‖, then near in the input (folds between neighbours)."""
    k = min(k + 1, len(z))
    scored = {}
    for points, weight in ((fz, 0.0), (z, 1.0)):
        _, idx = cKDTree(points).query(points, k=k)
        a = np.repeat(np.arange(len(z)), k - 1)
        b = idx[:, 1:].reshape(-1)
        keep = labels[a] != labels[b]
        a, b = a[keep], b[keep]
        ratio = np.linalg.norm(fz[a] - fz[b], axis=1) / np.maximum(np.linalg.norm(z[a] - z[b], axis=1), 1e-300) + weight * 1e6
        for la, lb, r in zip(labels[a], labels[b], ratio):
            key = (min(la, lb), max(la, lb))
            scored[key] = min(scored.get(key, math.inf), r)
    return sorted(scored, key=scored.get)[:max_pairs]


def _by_search(net, box, tol: Tolerances, n_samples: int, max_pairs: int, generator) -> CheckResult:
    start = time.perf_counter()
    z = _sample(net, box, n_samples, generator)
    patterns, labels = _unique_rows(net.activation_pattern(z))
    details = {**_base_details(net, box, tol, "search"), "samples": n_samples, "patterns_seen": int(patterns.shape[0])}
    failed = _sampled_rank_deficiency(net, box, tol, z, patterns, labels, details)
    if failed is not None:
        return failed
    pairs = _neighbour_pairs(z.numpy(), net(z).numpy(), labels.numpy(), 8, max_pairs)
    pieces = {label: _lp.Piece(*pattern_halfspaces(net, patterns[label], box)) for pair in pairs for label in pair}
    scales = _lp.Scales(tol.rho, tol.out)
    search = _lp.largest_collision([(pieces[a], pieces[b]) for a, b in pairs], scales, tol.separation, _lp.directions(net.in_dim))
    statistic, found = search.statistic, search.witness
    details.update(pairs=len(pairs), touching_pairs=search.touching, seconds=time.perf_counter() - start)
    if found is not None:
        evidence = collision_witness(net, found[1], found[2], tol)
        if evidence["verified"]:
            details.update(criterion="collision found by search", conclusive=True, **_evidence_details(evidence))
            return CheckResult("injective/search", False, statistic, tol.separation, (evidence["z1"], evidence["z2"]), details)
        details["unverified_candidate"] = _evidence_details(evidence)
    details.update(conclusive=False, verdict="no collision found (search can only refute)")
    return CheckResult("injective/search", True, statistic, tol.separation, None, details)


def _unique_rows(pattern: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct patterns and each row's label (a network without hidden units has one empty pattern)."""
    padded = torch.cat([pattern, torch.ones(pattern.shape[0], 1, dtype=torch.bool)], dim=1)
    unique, labels = torch.unique(padded, dim=0, return_inverse=True)
    return unique[:, :-1], labels


def _sampled_rank_deficiency(net, box, tol, z, patterns, labels, details) -> CheckResult | None:
    """A witness from a rank-deficient full-dimensional region met by the samples, or None."""
    first = torch.full((patterns.shape[0],), len(labels), dtype=torch.long).scatter_reduce(
        0, labels, torch.arange(len(labels)), reduce="amin")
    A, _ = net.local_affine(z[first])
    if A.shape[1] >= A.shape[2]:
        deficient = torch.nonzero(torch.linalg.svdvals(A)[:, -1] <= tol.rank).flatten().tolist()
    else:
        deficient = list(range(patterns.shape[0]))
    for label in deficient:
        piece = _lp.Piece(*pattern_halfspaces(net, patterns[label], box))
        centre, radius = chebyshev_center(piece.G, piece.g, box_scale(net, box))
        if centre is not None and radius > tol.radius:
            return _rank_deficient_witness(net, [piece], [centre], [patterns[label]], tol, "injective/search", details)
    return None


# ---------------------------------------------------------------------- public API
def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    return method


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _generator(generator) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, int):
        raise ValueError(f"generator: expected a torch.Generator or an integer seed, got {generator!r}")
    return torch.Generator().manual_seed(generator)


def check_injective(network, box=None, method: str = "auto", *, time_limit: float | None = None,
                    n_samples: int = 4096, generator: torch.Generator | int = 0) -> CheckResult:
    """Is the network injective (on the box, or on all of R^m when ``box`` is None)?

    Parameters
    ----------
    network : LeakyReLUNetwork
        f: R^m -> R^n (checked in float64 on the CPU).
    box : float, pair of array_like, or None
        r means [-r, r]^m; (low, high) of shape (m,); None means R^m.
    method : {"auto", "rank", "orientation", "regions", "milp", "search"}
        See the module docstring.
    time_limit : float, optional
        Seconds per MILP (``milp`` only); a program that stops early makes the
        verdict inconclusive unless it already found a collision.
    n_samples, generator
        Sampling of ``search`` (also the first stage of ``auto``).

    Returns
    -------
    CheckResult
        ``holds``; ``statistic`` the largest separation w·(z − z') / rho of a
        collision found (or the least layer σ_min/σ_max for ``rank``);
        ``witness`` (z1, z2) tensors of shape (m,) when it fails, a certificate
        dict when it holds; ``details['conclusive']`` and ``details['tolerances']``.
    """
    net = check_network(network)
    parse_box(box, net.in_dim)
    method = _check_method(method)
    gen = _generator(generator)
    _check_count(n_samples, "n_samples", 2)
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0):
        raise ValueError(f"time_limit: expected a number of seconds > 0, got {time_limit!r}")
    tol = tolerances(net, box)
    if method == "rank":
        return _by_rank(net, box, tol)
    if method == "orientation":
        return _by_orientation(net, box, tol)
    if method == "regions":
        return _by_regions(net, box, tol)
    if method == "milp":
        return _by_milp(net, box, tol, time_limit)
    if method == "search":
        return _by_search(net, box, tol, n_samples, 256, gen)
    return _auto(net, box, tol, time_limit, n_samples, gen)


def _auto(net, box, tol, time_limit, n_samples, gen) -> CheckResult:
    start, stages = time.perf_counter(), []

    def decided(result: CheckResult) -> CheckResult:
        details = {**result.details, "method": "auto", "decided_by": result.name, "stages": stages,
                   "seconds": time.perf_counter() - start}
        return CheckResult("injective", result.holds, result.statistic, result.tolerance, result.witness, details)

    rank = _by_rank(net, box, tol)
    stages.append(rank.name)
    if rank.holds:
        return decided(rank)
    search = _by_search(net, box, tol, n_samples, 256, gen)
    stages.append(search.name)
    if not search.holds and search.details["conclusive"]:
        return decided(search)
    if net.in_dim <= REGIONS_MAX_DIM:
        exact = _by_regions(net, box, tol)
    elif box is None:
        # No exact method for unbounded domains in this dimension: report the search, undecided.
        details = {**search.details, "method": "auto", "decided_by": None, "stages": stages, "conclusive": False,
                   "verdict": f"inconclusive: for m = {net.in_dim} > {REGIONS_MAX_DIM} the exact method (MILP) needs a box",
                   "seconds": time.perf_counter() - start}
        return CheckResult("injective", False, search.statistic, search.tolerance, None, details)
    else:
        exact = _by_milp(net, box, tol, time_limit)
    stages.append(exact.name)
    return decided(exact)


def find_collision(network, box=None, *, n_samples: int = 4096, max_pairs: int = 256,
                   generator: torch.Generator | int = 0) -> CheckResult:
    """Search for a collision f(z1) = f(z2), z1 != z2 (can only refute injectivity).

    Samples ``n_samples`` points (uniform in the box; uniform in a cube of twice the
    domain scale for ``box=None``), tests the regions met for rank deficiency, then
    solves the pairwise collision programs for up to ``max_pairs`` region pairs that
    the samples suggest (near in the output relative to the input, then neighbours).

    Returns
    -------
    CheckResult
        ``holds`` False with the verified witness (z1, z2) when a collision is found;
        True (inconclusive) otherwise.
    """
    net = check_network(network)
    parse_box(box, net.in_dim)
    _check_count(n_samples, "n_samples", 2)
    _check_count(max_pairs, "max_pairs", 1)
    return _by_search(net, box, tolerances(net, box), n_samples, max_pairs, _generator(generator))


# ---------------------------------------------------------------------- preimages
def _check_point(net, x) -> np.ndarray:
    try:
        point = torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"x: expected an array of numbers, got {type(x).__name__}") from None
    if point.shape != (net.out_dim,):
        raise ValueError(f"x: expected one point of shape ({net.out_dim},), got {tuple(point.shape)}")
    if not bool(torch.isfinite(point).all()):
        raise ValueError("x: contains NaN or infinite entries")
    return point.cpu().numpy()


def _solution_set(p: _lp.Piece, x: np.ndarray, tol: Tolerances):
    """Solutions of A z + c = x in the piece: ("none" | "point" | "infinite", point or None)."""
    u, sv, vh = np.linalg.svd(p.A, full_matrices=True)
    rank = int((sv > tol.rank).sum())
    z = vh[:rank].T @ ((u[:, :rank].T @ (x - p.c)) / sv[:rank])
    if np.linalg.norm(p.A @ z + p.c - x) > tol.collision:
        return "none", None
    if rank == p.A.shape[1]:
        inside = np.all(p.G @ z <= p.g + tol.radius)
        return ("point", z) if inside else ("none", None)
    null = vh[rank:].T  # (m, m − rank)
    GN = p.G @ null
    norms = np.linalg.norm(GN, axis=1)
    slack = p.g - p.G @ z
    if np.any((norms <= 1e-14) & (slack < -tol.radius)):
        return "none", None
    keep = norms > 1e-14
    centre, radius = chebyshev_center(GN[keep] / norms[keep, None], slack[keep] / norms[keep], tol.rho)
    if centre is None or radius < -tol.radius:
        return "none", None
    # A positive radius in the null-space coordinates: a positive-dimensional set of preimages.
    return ("infinite", z + null @ centre) if radius > tol.radius else ("point", z + null @ centre)


def _preimage_scan(net, x: np.ndarray, box, regions=None):
    """(points (k, m), regions with a positive-dimensional solution set, tolerances)."""
    tol = tolerances(net, box)
    regions = linear_regions(net, box) if regions is None else regions
    pieces = _pieces(regions)
    boxes = _image_boxes(regions, pieces)
    points, infinite = [], []
    for i, p in enumerate(pieces):
        if boxes is not None and (np.any(x < boxes[0][i] - tol.collision) or np.any(x > boxes[1][i] + tol.collision)):
            continue
        kind, z = _solution_set(p, x, tol)
        if kind == "point":
            points.append(z)
        elif kind == "infinite":
            infinite.append(i)
    return _distinct(points, net.in_dim, tol), infinite, tol


def _distinct(points: list[np.ndarray], m: int, tol: Tolerances) -> np.ndarray:
    """Points merged when closer than the separation tolerance (boundary points found in several regions)."""
    kept: list[np.ndarray] = []
    for z in points:
        if all(np.linalg.norm(z - k) > tol.separation * tol.rho for k in kept):
            kept.append(z)
    return np.array(kept).reshape(len(kept), m)


def preimages(network, x, *, box=None) -> torch.Tensor:
    """All preimages of one point x, as a (k, m) float64 tensor (k = 0 off the image).

    Solves A_i z = x − c_i inside every linear region (of the box, or of R^m when
    ``box`` is None). Points on region boundaries found twice are merged.

    Raises
    ------
    InfinitePreimagesError
        When some region holds a positive-dimensional set of solutions.
    """
    net = check_network(network)
    point = _check_point(net, x)
    parse_box(box, net.in_dim)
    found, infinite, _ = _preimage_scan(net, point, box)
    if infinite:
        raise InfinitePreimagesError(f"x: has infinitely many preimages (a positive-dimensional set in region {infinite[0]})")
    return torch.as_tensor(found, dtype=torch.float64).reshape(-1, net.in_dim)


def count_preimages(network, x, box=None) -> int | float:
    """The number of preimages of x (in the box, or in R^m); ``math.inf`` when infinite."""
    net = check_network(network)
    point = _check_point(net, x)
    parse_box(box, net.in_dim)
    found, infinite, _ = _preimage_scan(net, point, box)
    return math.inf if infinite else int(found.shape[0])


# ---------------------------------------------------------------------- weak injectivity
def _unique_preimage_margin(pieces, boxes, i: int, z0: np.ndarray, tol: Tolerances):
    """Relative ∞-distance from f(z0) to the images of the other pieces (inf if none is near)."""
    x0 = pieces[i].A @ z0 + pieces[i].c
    others = [k for k in range(len(pieces)) if k != i]
    if boxes is not None:
        # The ∞-distance to an image is at least the distance to its bounding box.
        gap = np.maximum(boxes[0][others] - x0, x0 - boxes[1][others]).max(axis=1) / tol.out
        near = [k for k, r in zip(others, gap) if r <= 1e-6]
        far = gap[gap > 1e-6]
        floor = float(far.min()) if far.size else math.inf
    else:
        near, floor = others, math.inf
    if not near:
        return floor, None
    distances, points = _lp.image_distances([pieces[k] for k in near], x0, _lp.Scales(tol.rho, tol.out))
    closest = int(np.argmin(distances))
    return min(floor, float(distances[closest])), (near[closest], points[closest])


def _second_preimage(net, i: int, z0: np.ndarray, near) -> dict:
    """Evidence against (i) at one candidate: another preimage of f(z0), re-checked by a forward pass."""
    z0_t, z1_t = torch.as_tensor(z0), torch.as_tensor(near[1])
    return {"z0": z0_t, "region": i, "second_preimage": z1_t, "second_region": near[0],
            "residual": float((net(z0_t) - net(z1_t)).norm()), "separation": float((z0_t - z1_t).norm())}


def _candidates(regions, full_rank: np.ndarray, per_region: int, generator) -> list[tuple[int, np.ndarray]]:
    """Interior points of full-rank regions (largest first), then random points of their balls."""
    order = sorted(np.flatnonzero(full_rank), key=lambda i: -regions[i].radius)
    out = [(int(i), regions[i].interior_point.cpu().numpy()) for i in order]
    for _ in range(per_region - 1):
        for i in order:
            r = regions[i]
            direction = torch.randn(r.interior_point.shape[0], generator=generator, dtype=torch.float64)
            step = 0.9 * r.radius * float(torch.rand((), generator=generator, dtype=torch.float64)) / float(direction.norm())
            out.append((int(i), (r.interior_point.cpu() + step * direction).numpy()))
    return out


def check_weakly_injective(network, box=None, *, max_candidates: int = 256, budget: int = 20000,
                           generator: torch.Generator | int = 0) -> CheckResult:
    """Conditions (i) and (ii) of weak injectivity (THEORY.md), decided region by region.

    (ii) holds iff some full-dimensional region has rank A_i = m. (i) holds iff some
    z0 in the interior of a full-rank region has f⁻¹(f(z0)) = {z0}: candidates
    (Chebyshev centres, then random points of full-rank regions, at most
    ``max_candidates``) are certified by one program per other region giving the
    distance from f(z0) to its image; if none is certified, the exact polyhedral
    difference (at most ``budget`` programs) decides. On a box, f is restricted to
    the box. A network that ``check_injective(method="rank")`` certifies is
    injective, hence weakly injective, and is reported without enumeration.

    Returns
    -------
    CheckResult
        Holds: witness {z0, region, x0, delta} (every point of the image within
        ∞-distance delta of x0 has exactly one preimage); ``statistic`` the margin
        delta / out. Fails: witness names the failing condition and its evidence.
    """
    net = check_network(network)
    parse_box(box, net.in_dim)
    _check_count(max_candidates, "max_candidates", 1)
    _check_count(budget, "budget", 1)
    gen = _generator(generator)
    tol = tolerances(net, box)
    details = {**_base_details(net, box, tol, "regions"), "conclusive": True}
    rank = _by_rank(net, box, tol)
    if rank.holds:
        return _weak_from_rank(net, box, tol, details)
    regions = linear_regions(net, box)
    pieces = _pieces(regions)
    sigma = _least_singular(pieces)
    full_rank = sigma > tol.rank
    details.update(regions=len(regions), full_rank_regions=int(full_rank.sum()))
    if not full_rank.any():
        evidence = {"condition": "(ii)", "reason": "every region is rank deficient: the image is not m-dimensional",
                    "max_sigma_min": float(sigma.max()), "rank_tolerance": tol.rank}
        return CheckResult("weakly_injective", False, float(sigma.max()) / tol.lipschitz, tol.rank / tol.lipschitz,
                           evidence, {**details, "rests_on": "(ii) fails"})
    return _condition_i(net, box, tol, regions, pieces, full_rank, details, max_candidates, budget, gen)


def _weak_from_rank(net, box, tol, details) -> CheckResult:
    bounds = parse_box(box, net.in_dim)
    z0 = torch.zeros(net.in_dim, dtype=torch.float64) if bounds is None else 0.5 * (bounds[0] + bounds[1])
    witness = {"z0": z0, "x0": net(z0), "pattern": net.activation_pattern(z0), "delta": math.inf}
    details.update(rests_on="injective by the layerwise rank criterion, hence (i) and (ii)")
    return CheckResult("weakly_injective", True, math.inf, tol.collision / tol.out, witness, details)


def _condition_i(net, box, tol, regions, pieces, full_rank, details, max_candidates, budget, gen) -> CheckResult:
    boxes = _image_boxes(regions, pieces)
    tried, second = 0, None
    for i, z0 in _candidates(regions, full_rank, 4, gen)[:max_candidates]:
        tried += 1
        margin, near = _unique_preimage_margin(pieces, boxes, i, z0, tol)
        if margin > tol.collision / tol.out:
            return _weak_holds(net, regions, pieces, i, z0, margin, tol, {**details, "candidates_tried": tried},
                               "(ii) by a full-rank region; (i) by a candidate certified by linear programs")
        if second is None and near is not None:
            second = _second_preimage(net, i, z0, near)
    details["candidates_tried"] = tried
    return _exact_condition_i(net, tol, regions, pieces, boxes, full_rank, details, budget, second, gen)


def _ball_points(centre: np.ndarray, radius: float, count: int, generator) -> list[np.ndarray]:
    """The centre, then random points of the inscribed ball (a centre may sit on a lower-dimensional image)."""
    points = [centre]
    for _ in range(count - 1):
        direction = torch.randn(centre.shape[0], generator=generator, dtype=torch.float64).numpy()
        points.append(centre + 0.5 * radius * direction / max(np.linalg.norm(direction), 1e-300))
    return points


def _exact_condition_i(net, tol, regions, pieces, boxes, full_rank, details, budget, second, gen) -> CheckResult:
    programs, exhausted = 0, False
    cap = tol.rho
    for i in np.flatnonzero(full_rank):
        covers = [c for k in range(len(pieces)) if k != i
                  and (c := _cover.same_plane_cover(pieces[i], pieces[k], tol.rank, tol.collision)) is not None]
        cell, used, out_of_budget = _cover.uncovered_cell(pieces[i].G, pieces[i].g, covers, tol.radius, cap, max(budget - programs, 1))
        programs += used
        exhausted |= out_of_budget
        if cell is None:
            continue
        for z0 in _ball_points(cell[0], cell[1], 8, gen):
            margin, _ = _unique_preimage_margin(pieces, boxes, int(i), z0, tol)
            if margin > tol.collision / tol.out:
                return _weak_holds(net, regions, pieces, int(i), z0, margin, tol, {**details, "programs": programs},
                                   "(ii) by a full-rank region; (i) by exact polyhedral difference, certified by linear programs")
    details.update(programs=programs)
    if exhausted:
        details.update(conclusive=False, rests_on="inconclusive: the budget of the exact difference ran out")
    else:
        details.update(rests_on="(i) fails: every full-rank region is covered by the images of the others (exact difference)")
    evidence = {"condition": "(i)", "reason": "every point of every full-rank region has another preimage", "example": second}
    return CheckResult("weakly_injective", False, 0.0, tol.collision / tol.out, evidence, details)


def _weak_holds(net, regions, pieces, i, z0, margin, tol, details, rests_on) -> CheckResult:
    x0 = pieces[i].A @ z0 + pieces[i].c
    witness = {"z0": torch.as_tensor(z0), "region": i, "pattern": regions[i].pattern, "x0": torch.as_tensor(x0),
               "delta": margin * tol.out, "forward_check": float(np.linalg.norm(net(torch.as_tensor(z0)).numpy() - x0))}
    return CheckResult("weakly_injective", True, margin, tol.collision / tol.out, witness, {**details, "rests_on": rests_on})
