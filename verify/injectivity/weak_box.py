"""Weak injectivity on a box for any latent dimension, without enumerating the linear regions.

(ii) holds as soon as one piece has rank m: pieces are read at sampled points of the box, and the
rank is exact (certain from float64 where the least singular value is far above rounding, in
rationals otherwise). (i) is certified, in this order:

1. by a peak (``peak``): a linear functional of f highest at a corner of the box, the box covered by
   boxes proved on the corner's piece or proved below the peak, by branch and bound on sound
   linear bounds. It is proved on the network and the box as given, with an exact peak value: its
   "holds" is verified;
2. by the fiber of x0 = f(z0) (``fiber``): every z of the box with f(z) within δ of x0 lies in a
   cube around z0 on which f is affine of rank m, by branch and bound with linear programs in
   float64 and normalized units. It is not re-checked, so it gives only a candidate: the verdict
   is unknown, with the candidate and the reason.

The peak takes most of the time limit; the fiber the rest, to find a candidate or a second
preimage. When no certificate finishes, the verdict is unknown and says which fraction of the
box's volume the peak's branch and bound (else the fiber's search) had left open.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from models.deadline import Deadline, TimeLimitExceeded
from models.validation import DTYPE

from ..check_result import CheckResult
from ..exact import exact_collision, qcol, rank, to_floats
from .fiber import localize_fiber
from .peak import _region_radius, find_peak
from .tolerances import Frame, Tolerances

# Points of the box whose pieces are tried for rank m, and as centres of a fiber.
RANK_SAMPLES = 256
FIBER_CENTRES = 2
# δ of the fiber, in normalized output units: far above float64 rounding of outputs of order one,
# far below the gaps between the images of distinct regions of a generic network.
FIBER_DELTA = 1e-6
# Share of the time limit given to the peak (the only certificate here that can conclude) before the fiber
# looks for a second preimage or a candidate.
PEAK_SHARE = 0.9
PEAK_CERTIFICATE = ("rigorous: v · f at the corner in rationals; a cover of the box by float boxes, each with every unit's "
                    "sign at the corner proved (the corner's piece, of exact rank m) or v · f proved below the peak, by "
                    "bounds sound in exact arithmetic (float64 with every rounding bounded)")
FIBER_CERTIFICATE = "numerical: the fiber's bounds and programs are computed in float64 with margins, not re-checked"


def decide_on_box(name: str, fr: Frame, tol: Tolerances, details: dict, generator: torch.Generator, deadline: Deadline) -> CheckResult:
    """The verdict of ``check_weakly_injective`` on the frame's box (it needs one), by the certificates above."""
    centres = _full_rank_points(fr, generator, deadline)
    details = {**details, "method": "peak and fiber certificates", "full_rank_points": len(centres)}
    if not centres:
        details["rests_on"] = f"inconclusive: none of {RANK_SAMPLES} sampled points lies in a piece of rank m"
        return _result(name, fr, tol, None, math.nan, None, details, "sampled pieces: no full-rank piece found")
    found = peak_verdict(name, fr, tol, details, generator, deadline, PEAK_SHARE)
    if found.holds:
        return found
    return _fiber(name, fr, tol, centres, {**details, **found.details}, deadline)


def peak_verdict(name: str, fr: Frame, tol: Tolerances, details: dict, generator: torch.Generator, deadline: Deadline,
                 share: float) -> CheckResult:
    """The verified "holds" of a peak (``peak``) found within ``share`` of the time left, or an unknown
    result whose details say why not (``peak_remaining_fraction``: the box's volume its branch and
    bound left open when the time ran out)."""
    try:
        peak = find_peak(fr, Deadline(share * deadline.remaining()) if deadline.seconds else Deadline(None), generator)
    except TimeLimitExceeded as stop:
        remaining = getattr(stop, "remaining", 1.0)
        return _result(name, fr, tol, None, math.nan, None, {"peak_remaining_fraction": remaining,
                                                             "peak": f"stopped: {stop}"}, "peak certificate: stopped")
    if peak is None:
        return _result(name, fr, tol, None, math.nan, None, {"peak": "no corner of the candidates tried is a strict peak"},
                       "peak certificate: none found")
    return _peak_holds(name, fr, tol, peak, details)


def _full_rank_points(fr: Frame, generator: torch.Generator, deadline: Deadline) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sampled points (normalized) whose pieces have exact rank m, with their patterns, widest first."""
    low, high = fr.box
    m = fr.unit.in_dim
    points = low + (high - low) * torch.rand(RANK_SAMPLES, m, generator=generator, dtype=DTYPE)
    a, _ = fr.unit.local_affine(points)
    sigma = torch.linalg.svdvals(a)
    order = torch.argsort(sigma[:, -1] / sigma[:, 0].clamp_min(1e-300), descending=True)
    found, seen = [], set()
    for i in order.tolist():
        deadline.check(f"the exact ranks of sampled pieces ({len(found)} found)")
        pattern = fr.exact.pattern(qcol(fr.to_latent(points[i].numpy())))
        key = pattern.tobytes()
        if key in seen:
            continue
        seen.add(key)
        if rank(fr.exact.piece(pattern)[0]) == m:
            found.append((points[i].numpy(), pattern))
        if len(found) >= FIBER_CENTRES:
            break
    return found


def _fiber(name, fr: Frame, tol, centres, details, deadline: Deadline) -> CheckResult:
    m = fr.unit.in_dim
    remaining, example = 1.0, None
    for k, (u0, pattern) in enumerate(centres):
        radius = _region_radius(fr, u0, pattern)
        if not radius > 0:
            continue
        share = Deadline(deadline.remaining() / (len(centres) - k)) if deadline.seconds else Deadline(None)
        found = localize_fiber(fr, u0, 0.5 * radius / math.sqrt(m), FIBER_DELTA, share)
        if found.inside:
            return _fiber_holds(name, fr, tol, u0, pattern, radius, found, details)
        if found.inside is None:
            remaining = min(remaining, found.remaining)
        elif example is None:
            exact = exact_collision(fr.exact, fr.to_latent(u0), fr.to_latent(found.far))
            if exact is not None:
                example = {"z0": torch.as_tensor(to_floats(exact[0])), "second_preimage": torch.as_tensor(to_floats(exact[1])),
                           "exact": True}
        if deadline.expired():
            break
    peak_open = details.get("peak_remaining_fraction")
    if peak_open is not None:
        remaining = peak_open
        why = f"the peak's branch and bound left {remaining:.1%} of the box's volume open"
    else:
        why = f"no strict peak among the corners tried; the fiber's search left {remaining:.1%} of the box open"
    details = {**details, "remaining_fraction": remaining,
               "rests_on": f"inconclusive: no certificate of (i) finished in the time limit ({why})"}
    return _result(name, fr, tol, None, math.nan, {"example": example} if example else None, details,
                   f"peak and fiber certificates did not finish ({why})")


def _result(name, fr: Frame, tol, holds, statistic, witness, details, how, *, verified: bool = False) -> CheckResult:
    return CheckResult(name, holds, statistic, tol.collision / tol.out, ">", witness, verified=verified, domain=fr.domain,
                       method=how, details=details)


def _witness(fr: Frame, z0: np.ndarray, pattern, delta: float) -> dict:
    z0 = torch.as_tensor(z0)
    return {"z0": z0, "x0": fr.network(z0), "pattern": torch.as_tensor(pattern), "delta": delta}


def _peak_holds(name, fr: Frame, tol, peak, details) -> CheckResult:
    details = {**details, "rests_on": "(ii) by a full-rank piece (exact rank); (i) by a peak of a linear functional at a corner",
               "boxes": peak.boxes, "certificate": PEAK_CERTIFICATE}
    witness = {**_witness(fr, peak.z0, peak.pattern, peak.delta), "functional": torch.as_tensor(peak.v)}
    return _result(name, fr, tol, True, peak.delta / fr.out, witness, details,
                   "peak certificate: a functional of f is highest at one corner, by branch and bound", verified=True)


def _fiber_holds(name, fr: Frame, tol, u0, pattern, radius, found, details) -> CheckResult:
    """The fiber's float64 search localized the preimages near x0: a candidate for (i), not a proof."""
    candidate = {**_witness(fr, fr.to_latent(u0), pattern, FIBER_DELTA * fr.out),
                 "cube_half_width": 0.5 * radius / math.sqrt(fr.unit.in_dim) * fr.scale}
    details = {**details, "candidate": candidate, "boxes": found.boxes, "programs": found.programs, "certificate": FIBER_CERTIFICATE,
               "rests_on": "inconclusive: (ii) by a full-rank piece (exact rank); (i) only by a numerical certificate (the fiber "
                           "of x0 localized in z0's region in float64), which is not re-checked"}
    return _result(name, fr, tol, None, FIBER_DELTA, None, details,
                   "fiber search (numerical): every point of the box mapped within δ of x0 lies in z0's region, not re-checked")
