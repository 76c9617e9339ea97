"""Weak injectivity (conditions (i) and (ii), ``docs/theory.md``), decided region by region."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from models.deadline import Deadline, TimeLimitExceeded
from models.regions import EXACT_MAX_DIM, linear_regions
from models.validation import DTYPE, check_box, check_generator, check_int

from ..check_result import CheckResult
from ..exact import qmat, rank
from . import _certificate, _cover, _lp
from . import rank as rank_method
from ._shared import base_details, image_boxes, least_singular, pieces_of
from .tolerances import Frame, Tolerances, check_network, frame, tolerances
from .weak_box import decide_on_box, peak_verdict

NAME = "weakly_injective"
# Share of the time limit a peak may take before the regions are enumerated (m <= EXACT_MAX_DIM, on a box).
PEAK_FIRST_SHARE = 0.3


def check_weakly_injective(network, *, box=None, max_candidates: int = 256, budget: int = 20000, generator=0,
                           time_limit: float | None = None) -> CheckResult:
    """Conditions (i) and (ii) of weak injectivity, decided region by region.

    (ii) holds iff some full-dimensional region has rank A_i = m. (i) holds iff some
    z0 in the interior of a full-rank region has f⁻¹(f(z0)) = {z0}: candidates
    (Chebyshev centres, then random points of full-rank regions, at most
    ``max_candidates``) are certified by one program per other region giving the
    distance from f(z0) to its image; if none is certified, the exact polyhedral
    difference (at most ``budget`` programs) decides. On a box, f is restricted to
    the box. A network that ``check_injective(method="rank")`` certifies is
    injective, hence weakly injective, and is reported without enumeration.

    On a box a peak certificate (``verify.injectivity.peak``) is tried first, in any m. For
    m > ``models.regions.EXACT_MAX_DIM`` the regions are not enumerated: (ii) from the exact
    rank of a sampled piece, (i) by the peak (a fiber search gives only a candidate;
    ``verify.injectivity.weak_box``); without a box the verdict is unknown.

    Returns
    -------
    CheckResult
        Holds: witness {z0, region, x0, delta} (every point of the image within
        ∞-distance delta of x0 has exactly one preimage); ``statistic`` the margin
        delta / out. Fails: witness names the failing condition and its evidence.
        Unknown when the budget of the exact difference or ``time_limit`` (seconds) ran out.
    """
    net = check_network(network)
    check_box(box, net.in_dim)
    check_int(max_candidates, "max_candidates", minimum=1, maximum=10**7)
    check_int(budget, "budget", minimum=1, maximum=10**9)
    gen = check_generator(generator, allow_none=False)
    deadline = Deadline(time_limit)
    fr = frame(net, box)
    tol = tolerances(fr.unit, fr.box)
    try:
        return _decide(fr, tol, max_candidates, budget, gen, deadline)
    except TimeLimitExceeded as stop:
        return CheckResult(NAME, None, math.nan, tol.collision / tol.out, ">", None, domain=fr.domain, method=f"stopped: {stop}",
                           details={"reason": str(stop), "stopped_during": stop.what, "seconds": deadline.elapsed()})


def _decide(fr: Frame, tol, max_candidates, budget, gen, deadline) -> CheckResult:
    net = fr.network
    details = base_details(fr, tol, "regions")
    if rank_method.decide(fr, tol).holds:
        return _weak_from_rank(fr, tol, details)
    bottleneck = _bottleneck(net)
    if bottleneck is not None:
        layer, bound, why = bottleneck
        evidence = {"condition": "(ii)", "layer": layer, "rank_bound": bound,
                    "reason": f"every piece A = W_L S_(L-1) ... S_1 W_1 has rank <= {bound} < m = {net.in_dim}: {why}"}
        return CheckResult(NAME, False, 0.0, float(net.in_dim), ">=", evidence, verified=True, domain=fr.domain,
                           method="a layer of rank below m (exact), so no piece has rank m",
                           details={**details, "rests_on": "(ii) fails"})
    if fr.box is not None and net.in_dim <= EXACT_MAX_DIM and PEAK_FIRST_SHARE > 0:
        # A peak is cheap at small m and needs no enumeration: tried first, with a share of the time.
        peak = peak_verdict(NAME, fr, tol, {**details, "method": "peak certificate"}, gen, deadline, PEAK_FIRST_SHARE)
        if peak.holds:
            return peak
    if net.in_dim > EXACT_MAX_DIM:
        if fr.box is None:
            details.update(rests_on=f"inconclusive: for m = {net.in_dim} > {EXACT_MAX_DIM} the certificates of (i) need a box; "
                                    "no bound on where the preimages lie is proved on R^m")
            return _result(fr, tol, None, math.nan, None, details, f"not decided on R^{net.in_dim}: pass box= (the command line "
                                                                   "uses the box holding the prior's mass)")
        return decide_on_box(NAME, fr, tol, details, gen, deadline)
    regions = linear_regions(fr.unit, fr.box, time_limit=deadline)
    deadline.check("reading the pieces of the regions")
    pieces = pieces_of(regions)
    sigma = least_singular(pieces)
    deadline.check("the singular values of the pieces")
    full_rank = _full_rank(fr, regions, pieces, sigma, deadline)
    details.update(regions=len(regions), full_rank_regions=int(full_rank.sum()))
    if not full_rank.any():
        evidence = {"condition": "(ii)", "reason": "every region is rank deficient (exact ranks): the image is not m-dimensional",
                    "max_sigma_min": float(sigma.max())}
        return CheckResult(NAME, False, 0.0, float(net.in_dim), ">=", evidence, domain=fr.domain,
                           method="the exact rank of every linear region", details={**details, "rests_on": "(ii) fails"})
    return _condition_i(fr, tol, regions, pieces, full_rank, details, max_candidates, budget, gen, deadline)


# A weight matrix is tested for an exact rank below m only when its float σ_min / σ_max is below this
# (a full-rank float matrix is left alone: the claim is only ever "fails", and only in rationals).
BOTTLENECK_RTOL = 1e-8


def _bottleneck(net) -> tuple[int, int, str] | None:
    """(layer, r, why) when some weight matrix has exact rank r < m, else None: then rank A <= r for
    every piece, whatever the activation pattern, and condition (ii) fails everywhere."""
    m = net.in_dim
    for k, W in enumerate(net.weights):
        width = min(W.shape)
        if width < m:
            return k, width, f"layer {k} maps through {W.shape[0]} units from {W.shape[1]}"
        sigma = torch.linalg.svdvals(W)
        if float(sigma[m - 1]) <= BOTTLENECK_RTOL * float(sigma[0]):
            r = rank(qmat(W.numpy()))
            if r < m:
                return k, r, f"layer {k}'s weight matrix has exact rank {r}"
    return None


# A float σ_min above this many ulps of σ_max (times the depth) is certainly positive in exact arithmetic:
# the float piece differs from the exact one by a few ulps per layer.
CERTAIN_RANK_ULPS = 1024


def _full_rank(fr: Frame, regions, pieces, sigma: np.ndarray, deadline) -> np.ndarray:
    """Whether each region's exact piece has rank m: certain from floats where σ_min is far above rounding,
    decided in exact rationals otherwise (a tiny singular value of a low-gain piece is not a deficiency)."""
    if not len(pieces):
        return np.zeros(0, dtype=bool)
    largest = np.linalg.norm(np.stack([p.A for p in pieces]), 2, axis=(1, 2))
    certain = sigma > CERTAIN_RANK_ULPS * fr.network.depth * np.finfo(np.float64).eps * largest
    out = certain.copy()
    for i in np.flatnonzero(~certain):
        deadline.check(f"the exact ranks of the regions ({i} of {len(pieces)})")
        out[i] = rank(fr.exact.piece(regions[i].pattern.cpu().numpy())[0]) == fr.network.in_dim
    return out


def _result(fr: Frame, tol, holds, statistic, witness, details, how, *, verified: bool = False) -> CheckResult:
    return CheckResult(NAME, holds, statistic, tol.collision / tol.out, ">", witness, verified=verified, domain=fr.domain,
                       method=how, details=details)


def _weak_from_rank(fr: Frame, tol, details) -> CheckResult:
    net = fr.network
    z0 = torch.as_tensor(fr.anchor, dtype=DTYPE)
    witness = {"z0": z0, "x0": net(z0), "pattern": net.activation_pattern(z0), "delta": math.inf}
    details = {**details, "rests_on": "injective by the layerwise rank criterion (exact ranks), hence (i) and (ii)"}
    return _result(fr, tol, True, math.inf, witness, details, "layerwise rank criterion (injective, hence weakly injective)",
                   verified=True)


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


def _second_preimage(fr: Frame, i: int, u0: np.ndarray, near) -> dict:
    """Evidence against (i) at one candidate: another preimage of f(z0), re-checked by a forward pass (original units)."""
    net = fr.network
    z0_t, z1_t = torch.as_tensor(fr.to_latent(u0)), torch.as_tensor(fr.to_latent(near[1]))
    return {"z0": z0_t, "region": i, "second_preimage": z1_t, "second_region": near[0],
            "residual": float((net(z0_t) - net(z1_t)).norm()), "separation": float((z0_t - z1_t).norm())}


def _candidates(regions, full_rank: np.ndarray, per_region: int, generator):
    """Interior points of full-rank regions (largest first), then random points of their balls; lazily,
    from the region arrays, so that the first candidates come at once on many regions."""
    arrays = regions.arrays
    order = sorted(np.flatnonzero(full_rank), key=lambda i: -arrays.inradius[i])
    for i in order:
        yield int(i), arrays.interior[i]
    for _ in range(per_region - 1):
        for i in order:
            centre, radius = arrays.interior[i], float(arrays.inradius[i])
            direction = torch.randn(centre.shape[0], generator=generator, dtype=torch.float64).numpy()
            step = 0.9 * radius * float(torch.rand((), generator=generator, dtype=torch.float64)) / max(np.linalg.norm(direction), 1e-300)
            yield int(i), centre + step * direction


def _condition_i(fr: Frame, tol, regions, pieces, full_rank, details, max_candidates, budget, gen, deadline) -> CheckResult:
    boxes = image_boxes(regions, pieces)
    tried, second = 0, None
    for i, z0 in itertools.islice(_candidates(regions, full_rank, 4, gen), max_candidates):
        deadline.check(f"the candidates of condition (i) ({tried} tried)")
        tried += 1
        margin, near = _unique_preimage_margin(pieces, boxes, i, z0, tol)
        if margin > tol.collision / tol.out:
            return _weak_holds(fr, regions, pieces, i, z0, margin, tol, {**details, "candidates_tried": tried},
                               "(ii) by a full-rank region; (i) by a candidate certified by linear programs", deadline)
        if second is None and near is not None:
            second = _second_preimage(fr, i, z0, near)
    details = {**details, "candidates_tried": tried}
    return _exact_condition_i(fr, tol, regions, pieces, boxes, full_rank, details, budget, second, gen, deadline)


def _ball_points(centre: np.ndarray, radius: float, count: int, generator) -> list[np.ndarray]:
    """The centre, then random points of the inscribed ball (a centre may sit on a lower-dimensional image)."""
    points = [centre]
    for _ in range(count - 1):
        direction = torch.randn(centre.shape[0], generator=generator, dtype=torch.float64).numpy()
        points.append(centre + 0.5 * radius * direction / max(np.linalg.norm(direction), 1e-300))
    return points


def _exact_condition_i(fr: Frame, tol, regions, pieces, boxes, full_rank, details, budget, second, gen, deadline) -> CheckResult:
    programs, exhausted = 0, False
    cap = tol.rho
    for i in np.flatnonzero(full_rank):
        deadline.check(f"the polyhedral difference of condition (i) ({programs} programs)")
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
                return _weak_holds(fr, regions, pieces, int(i), z0, margin, tol, {**details, "programs": programs},
                                   "(ii) by a full-rank region; (i) by exact polyhedral difference, certified by linear programs",
                                   deadline)
    details.update(programs=programs)
    how = "exact: polyhedral difference of the full-rank regions and the images of the others"
    if exhausted:
        details.update(rests_on="inconclusive: the budget of the exact difference ran out")
        return _result(fr, tol, None, 0.0, {"example": second}, details, how)
    details.update(rests_on="(i) fails: every full-rank region is covered by the images of the others (exact difference)")
    evidence = {"condition": "(i)", "reason": "every point of every full-rank region has another preimage", "example": second}
    return _result(fr, tol, False, 0.0, evidence, details, how)


def _weak_holds(fr: Frame, regions, pieces, i, u0, margin, tol, details, rests_on, deadline) -> CheckResult:
    net = fr.network
    z0 = torch.as_tensor(fr.to_latent(u0))
    x0 = fr.f_anchor + fr.out * (pieces[i].A @ u0 + pieces[i].c)
    witness = {"z0": z0, "region": i, "pattern": regions[i].pattern, "x0": torch.as_tensor(x0),
               "delta": margin * tol.out * fr.out, "forward_check": float(np.linalg.norm(net(z0).numpy() - x0))}
    exact = _certificate.certify_unique_preimage(fr, u0, deadline)
    how = "linear programs certify a unique preimage near x0"
    if not exact.verified:
        return _result(fr, tol, None, margin, None, {**details, "candidate": witness, "reason": "a unique preimage in float64, "
                                                     f"but no exact certificate: {exact.reason}"}, how)
    return _result(fr, tol, True, margin, witness, {**details, "rests_on": rests_on, "exact_programs": exact.pairs,
                                                    "certificate": "exact: z0 strictly inside a region of exact rank m; "
                                                                   "Farkas certificates, re-solved in rationals, that no "
                                                                   "other region reaches x0"},
                   how, verified=True)

