"""Do two piecewise-affine decoders agree?  f = g on all of R^m, exactly where possible.

Two continuous piecewise-affine maps agree iff they have the same affine piece on every cell of
their common refinement, the linear regions of the joint network z -> (f(z), g(z))
(``models.joint_network``). For latent dimension m <= ``models.regions.EXACT_MAX_DIM`` those cells
are enumerated on all of R^m and the two pieces compared on each in rationals
(``verify.cell_agreement``): the relative error R = sup_z ‖f(z) − g(z)‖∞ / (G · (ρ + ‖z − z̄‖∞)),
G f's gain, is then proved within ``rtol`` (holds, verified), or shown above it at a point
re-checked in rationals (fails), or left unknown. First, in any m, when g is f with its hidden
units permuted and rescaled up to rounding (``verify.unit_matching``), a growth bound
|f − g|∞ <= α + β ‖z − z̄‖∞ on all of R^m, sound in exact arithmetic, decides "holds" (verified)
without enumerating anything. Above m = 3, on a given box, one mixed-integer program over both networks (``verify.agreement_program``) decides whether
|f − g|∞ reaches τ = max(rtol, ``AGREEMENT_PROGRAM_RTOL``) · Lip(f) · ρ anywhere in the box: a
point it finds is re-checked in rationals and decides "fails", while its "no such point" (a
branch-and-bound tree, not re-checked) leaves agreement unknown. Without cells or a box the maps
are compared at the given points only: a difference found there is a verdict ("fails", re-checked
in rationals), agreement is not (unknown).
"""

from __future__ import annotations

import numpy as np
import torch

from models import LeakyReLUNetwork, joint_network
from models.deadline import Deadline, TimeLimitExceeded
from models.regions import EXACT_MAX_DIM, linear_regions
from models.validation import DTYPE, check_box, check_instance, check_points, check_real

from .agreement_program import Difference, difference_reaches
from .cell_agreement import as_float, cell_bound, exact_difference, exceeds, gain_at, gain_bound
from .check_result import CheckResult
from .exact import q
from .injectivity.tolerances import domain_name, frame, lipschitz_bound
from .tolerances import AGREEMENT_PROGRAM_RTOL, DECODER_RTOL
from .unit_matching import difference_bound, difference_growth, match_units

# Points tried, largest ratio first, for a difference re-checked in rationals.
WITNESS_TRIES = 3
MATCHING_CERTIFICATE = ("rigorous: a growth bound of |f − g| on R^m sound in exact arithmetic (every float64 rounding "
                        "bounded), against an exact lower bound of f's gain")
CELL_CERTIFICATE = ("exact: each cell's pieces of f and g in rationals bound the relative error on the cell; the "
                    "enumeration of the cells is exact")


def _ratios(f: LeakyReLUNetwork, g: LeakyReLUNetwork, z: torch.Tensor, gain: float, centre: torch.Tensor,
            latent_scale: float) -> torch.Tensor:
    """‖f(z) − g(z)‖∞ / (G · (ρ + ‖z − z̄‖∞)) at each row of z (``verify.cell_agreement``), in floats."""
    distance = (z - centre).abs().amax(dim=1)
    size = gain * (latent_scale + distance)
    return (f(z) - g(z)).abs().amax(dim=1) / size.clamp_min(torch.finfo(z.dtype).tiny)


def _cell_points(cells, reach: float) -> torch.Tensor:
    """Each cell's interior point p and p ± r e_k (r its inner radius, at most ``reach``): all in the
    cell, so an affine difference between two pieces shows in proportion to the cell's size. A
    sliver between two nearly coincident kinks then counts by its width, not by its slopes."""
    arrays = cells.arrays
    p = torch.as_tensor(arrays.interior, dtype=DTYPE)
    r = torch.as_tensor(np.minimum(arrays.inradius, reach), dtype=DTYPE)[:, None, None]
    eye = torch.eye(p.shape[1], dtype=DTYPE)
    around = torch.cat([p[:, None, :], p[:, None, :] + r * eye, p[:, None, :] - r * eye], dim=1)
    return around.reshape(-1, p.shape[1])


def check_same_decoder(f: LeakyReLUNetwork, g: LeakyReLUNetwork, *, latent_scale: float, centre=None, points=None,
                       box=None, rtol: float = DECODER_RTOL, time_limit: float | None = None) -> CheckResult:
    """Is f = g on all of R^m, to relative error ``rtol``?  Exact for m <= 3 (the pieces on every cell
    of the common refinement, in rationals); above, on a box, by a perturbation bound or a
    mixed-integer program; else sampled, and then only a difference is conclusive.

    Parameters
    ----------
    f, g : LeakyReLUNetwork
        Same input and output dimensions.
    latent_scale : float
        ρ > 0, the size of the latent region that matters (e.g. the prior's spread).
    centre : array_like of shape (m,), optional
        z̄, the centre of the latent region that matters (e.g. the prior's mean); by default the
        mean of ``points``, or the point nearest to f's first-layer hyperplanes.
    points : Tensor, shape (N, m), optional
        Extra latent points to compare at (e.g. prior samples); required when m > 3.
    box : float, pair of array_like, or None
        For m > 3: the latent box on which agreement is decided (r means [-r, r]^m); without one,
        agreement above m = 3 is only sampled.
    rtol : float
        Largest accepted relative error R = sup_z ‖f(z) − g(z)‖∞ / (G · (ρ + ‖z − z̄‖∞)), G the largest
        ‖A‖∞ of f's pieces (see ``verify.cell_agreement``); on a box, |f − g|∞ below
        max(rtol, ``AGREEMENT_PROGRAM_RTOL``) · Lip(f) · ρ.
    time_limit : float, optional
        Seconds for the enumeration of the cells and the exact comparison; past it the verdict rests
        on the given points only (a difference found there still decides "fails"; agreement is unknown).

    Returns
    -------
    CheckResult
        ``statistic``: the exact bound on R when every cell was compared, else the largest ratio
        at the points; ``witness``: a latent point where the ratio exceeds ``rtol`` in rationals when
        it fails. Holds (verified) only when the bound over every cell of an exact enumeration is
        within ``rtol``; unknown when no cell-wise bound was proved and no difference was found.
    """
    check_instance(f, LeakyReLUNetwork, "f")
    check_instance(g, LeakyReLUNetwork, "g")
    if (g.in_dim, g.out_dim) != (f.in_dim, f.out_dim):
        raise ValueError(f"g: maps R^{g.in_dim} -> R^{g.out_dim}, but f maps R^{f.in_dim} -> R^{f.out_dim}")
    latent_scale = check_real(latent_scale, "latent_scale", low=0.0, low_open=True)
    rtol = check_real(rtol, "rtol", low=0.0)
    f, g = f.to(dtype=DTYPE), g.to(f.device, DTYPE)
    if centre is not None:
        centre = check_points(centre, "centre", f.in_dim)[0]
        if len(centre) != 1:
            raise ValueError(f"centre: one point of R^{f.in_dim}, got {len(centre)}")
    if points is not None:
        points = check_points(points, "points", f.in_dim, device=f.device)[0]
    bounds = check_box(box, f.in_dim)
    if bounds is None and f.in_dim > EXACT_MAX_DIM and points is None:
        raise ValueError(f"points: needed for latent dimension {f.in_dim} > {EXACT_MAX_DIM}, where cells are not enumerated")
    deadline = Deadline(time_limit)
    f_cpu, g_cpu = f.to("cpu"), g.to("cpu")
    if centre is None:
        centre = points.mean(dim=0, keepdim=True) if points is not None else torch.as_tensor(frame(f_cpu, None).anchor)[None]
    centre = centre.to("cpu")
    matched = _by_matching(f_cpu, g_cpu, points, centre, latent_scale, rtol)
    if matched is not None:
        return matched
    if bounds is not None and f.in_dim > EXACT_MAX_DIM:
        return _on_box(f, g, bounds, points, latent_scale, rtol, deadline, domain_name(f, box))
    return _on_space(f_cpu, g_cpu, points, centre, latent_scale, rtol, deadline)


def _by_matching(f, g, points, centre, latent_scale: float, rtol: float) -> CheckResult | None:
    """Holds on all of R^m, verified, when g is f with its units permuted and rescaled and the growth
    bound |f − g|∞ <= α + β ‖z − z̄‖∞ (``verify.unit_matching``) keeps R within rtol; else None."""
    matching = match_units(f, g)
    if matching is None:
        return None
    alpha, beta = difference_growth(f, g, matching, centre[0].numpy())
    if not (np.isfinite(alpha) and np.isfinite(beta)):
        return None
    # G is at least the gain of f's piece at any point: the centre's, and the sampled point of largest gain.
    candidates = [centre[0]]
    if points is not None:
        a, _ = f.local_affine(points.to("cpu"))
        candidates.append(points[int(a.abs().sum(dim=2).amax(dim=1).argmax())].to("cpu"))
    gain = max(gain_at(f, z.numpy()) for z in candidates)
    need = max(q(alpha) / q(latent_scale), q(beta))
    if not need <= q(rtol) * gain:
        return None
    statistic = as_float(need / gain) if gain != 0 else 0.0
    return CheckResult("same_decoder", True, statistic, rtol, "<=", None, domain=f"R^{f.in_dim}", verified=True,
                       method=(f"g is f with its units permuted and rescaled: |f − g|∞ <= {alpha:.3g} + {beta:.3g} "
                               "‖z − z̄‖∞ on R^m"),
                       details={"exact": True, "by": "unit matching", "alpha": alpha, "beta": beta,
                                "gain_lower_bound": as_float(gain), "latent_scale": latent_scale,
                                "centre": centre[0].tolist(), "certificate": MATCHING_CERTIFICATE})


def _on_space(f, g, points, centre, latent_scale: float, rtol: float, deadline: Deadline) -> CheckResult:
    """The verdict on R^m: the exact bound over the common cells, else a difference at a point."""
    cells, inside, reason = _common_cells(f, g, latent_scale, deadline)
    extra = [] if points is None else [points.to("cpu")]
    if not inside + extra:
        raise ValueError(f"time_limit: {reason}, and no points were given to compare at")
    z = torch.cat(inside + extra)
    details = {"latent_scale": latent_scale, "centre": centre[0].tolist(), "points": len(z), "exact": False}
    bound = None
    if cells is not None and not cells.exact:
        reason = "the enumeration of the common cells left a sliver undecided"
    elif cells is not None:
        try:
            bound = cell_bound(f, g, cells.arrays.patterns, centre[0].numpy(), latent_scale, deadline)
        except TimeLimitExceeded as stop:
            reason = str(stop)
    if bound is not None:
        details.update(exact=True, cells=len(cells), piece_pairs=bound.pieces, gain=as_float(bound.gain))
        if bound.holds(rtol):
            return CheckResult("same_decoder", True, bound.ratio, rtol, "<=", None, domain=f"R^{f.in_dim}", verified=True,
                               method=f"exact: the pieces of f and g on each of the {len(cells)} cells of the common "
                                      "refinement, compared in rationals", details={**details, "certificate": CELL_CERTIFICATE})
        reason = (f"the cell-wise bound {bound.ratio:.3g} exceeds rtol (on the cell of point "
                  f"{cells.arrays.interior[bound.worst].tolist()}), and no point shows the difference exactly")
    gain = bound.gain if bound is not None else gain_bound(f)
    ratios = _ratios(f, g, z, as_float(gain), centre, latent_scale)
    details["sampled_ratio"] = float(ratios.max())
    for k in torch.argsort(ratios, descending=True)[:WITNESS_TRIES].tolist():
        if ratios[k] > rtol and exceeds(f, g, z[k].numpy(), gain, centre[0].numpy(), latent_scale, rtol):
            how = "the common cells' pieces" if bound is not None else "sampled"
            return CheckResult("same_decoder", False, float(ratios[k]), rtol, "<=", z[k], domain=f"R^{f.in_dim}",
                               verified=True, method=f"{how}: a point where f and g differ beyond rtol, re-checked in rationals",
                               details=details)
    statistic = bound.ratio if bound is not None else float(ratios.max())
    domain = f"R^{f.in_dim}" if bound is not None else f"{len(z)} latent points"
    return CheckResult("same_decoder", None, statistic, rtol, "<=", None, domain=domain, method=f"not decided: {reason}",
                       details={**details, "reason": reason})


def _common_cells(f, g, latent_scale: float, deadline: Deadline):
    """The cells of the common refinement on R^m (or None), points to compare at, and why there are
    no cells: without a joint network, points inside the regions of f and of g."""
    if f.in_dim > EXACT_MAX_DIM:
        return None, [], f"latent dimension {f.in_dim} > {EXACT_MAX_DIM}: the common cells are not enumerated"
    joint = joint_network(f, g)
    try:
        if joint is None:
            inside = [_cell_points(linear_regions(net, None, time_limit=deadline), latent_scale) for net in (f, g)]
            return None, inside, "the slopes of f and g differ in a layer, so no joint network gives their common cells"
        cells = linear_regions(joint, None, time_limit=deadline)
        return cells, [_cell_points(cells, latent_scale)], None
    except TimeLimitExceeded as stop:
        return None, [], str(stop)


def _on_box(f, g, bounds, points, latent_scale: float, rtol: float, deadline: Deadline, domain: str) -> CheckResult:
    """The program's verdict on the box, with the sampled relative error at ``points`` as the statistic."""
    f64, g64 = f.to("cpu", DTYPE), g.to("cpu", DTYPE)
    low, high = bounds[0].numpy(), bounds[1].numpy()
    # The unit of |f − g| is f's gain over the latent scale: no output offset loosens it.
    scale = max(lipschitz_bound(f64) * latent_scale, np.finfo(np.float64).tiny)
    tau = max(rtol, AGREEMENT_PROGRAM_RTOL) * scale
    if points is not None:
        errors = (f64(points.to("cpu")) - g64(points.to("cpu"))).abs().amax(dim=1) / scale
    else:
        errors = torch.zeros(1, dtype=DTYPE)
    sampled, worst = float(errors.max()), int(errors.argmax())
    details = {"exact": False, "latent_scale": latent_scale, "threshold": tau, "scale": scale,
               "points": 0 if points is None else len(points)}
    matching = match_units(f64, g64)
    if matching is not None:
        bound = difference_bound(f64, g64, matching, low, high)
        details.update(difference_bound=bound)
        if bound < tau and sampled <= rtol:
            return CheckResult("same_decoder", True, sampled, rtol, "<=", None, domain=domain, verified=True,
                               method=f"g is f with its units permuted and rescaled; |f − g|∞ <= {bound:.3g} < τ on the box",
                               details={**details, "by": "unit matching",
                                        "certificate": "rigorous: a perturbation bound sound in exact arithmetic (every "
                                                       "float64 rounding bounded)"})
    try:
        found = difference_reaches(f64, g64, low, high, tau, deadline)
    except TimeLimitExceeded as stop:
        found = Difference(None, None, "program", 0, None)
        details["reason"] = str(stop)
    details.update(by=found.by, binaries=found.binaries, solver_status=found.solver_status)
    if found.reason is not None:
        details["reason"] = found.reason
    how = f"|f − g|∞ < τ = {tau:.3g} on the box"
    if found.reaches is False and found.by == "bounds":
        return CheckResult("same_decoder", True, sampled, rtol, "<=", None, domain=domain, verified=True,
                           method=f"{how}, by bounds of both networks' outputs",
                           details={**details, "certificate": "rigorous: output bounds sound in exact arithmetic (every "
                                                              "float64 rounding bounded) keep |f − g|∞ below τ"})
    if found.reaches is False:
        # A branch-and-bound tree is not re-checked: the program's "no such point" is a candidate, not a proof.
        details["reason"] = (f"the program found no point with |f − g|∞ >= τ ({found.by}), but its infeasibility is not "
                             "re-checked in rationals")
        if sampled <= rtol:
            return CheckResult("same_decoder", None, sampled, rtol, "<=", None, domain=domain,
                               method=f"{how}, by {found.by}: numerical only, not verified", details=details)
    if found.reaches:
        gap = as_float(exact_difference(f64, g64, found.z))
        details.update(exact_difference=gap)
        if gap >= tau * (1 - 1e-9):
            z = torch.as_tensor(found.z)
            statistic = max(sampled, gap / scale)
            return CheckResult("same_decoder", False, statistic, rtol, "<=", z.to(f.device), domain=domain, verified=True,
                               method="a point of the box where |f − g|∞ >= τ (mixed-integer program, re-checked in rationals)",
                               details=details)
        details["reason"] = f"the program's point differs by {gap:.3g} < τ in rationals"
    details.setdefault("reason", f"the program was not solved in time (status {found.solver_status})")
    if sampled > rtol and exact_difference(f64, g64, points[worst].cpu().numpy()) > q(rtol * scale):  # a sampled point still decides
        return CheckResult("same_decoder", False, sampled, rtol, "<=", points[worst], domain=f"{len(points)} latent points",
                           verified=True, method="sampled: a given point where |f − g|∞ exceeds rtol · Lip(f) · ρ, "
                                                 "re-checked in rationals", details=details)
    return CheckResult("same_decoder", None, sampled, rtol, "<=", None, domain=domain, method=f"{how}: not decided", details=details)
