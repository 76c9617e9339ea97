"""Do two piecewise-affine decoders agree?  f = g on all of R^m, exactly where possible.

Two continuous piecewise-affine maps agree everywhere iff they have the same affine
piece on every cell of their common refinement, which is the set of linear regions
of the joint network z -> (f(z), g(z)) (``models.joint_network``). For latent
dimension m <= ``models.regions.EXACT_MAX_DIM`` those cells are enumerated on all of
R^m and the two pieces compared at points inside each: the verdict is then exact up
to the tolerance. Above, on a given box, one mixed-integer program over both networks
(``verify.agreement_program``) decides whether |f − g|∞ reaches τ = max(rtol,
``AGREEMENT_PROGRAM_RTOL``) · S anywhere in the box, S = ‖f(centre)‖ + Lip(f) · ρ the scale of f's values there; a point it finds is
re-checked in rationals and decides "fails", while its "no such point" (a branch-and-bound tree,
not re-checked) leaves agreement unknown. Before it, when g is f with its hidden units permuted and
rescaled up to rounding (``verify.unit_matching``), a perturbation bound of |f − g| on the box,
sound in exact arithmetic, decides "holds" (verified) without a program. Otherwise (or when no joint network exists) the maps are compared
at the given sample points and at the interior points of f's regions: a difference
found there is a verdict ("fails", with the point), agreement is not (unknown).
"""

from __future__ import annotations

import numpy as np
import torch

from models import LeakyReLUNetwork, joint_network
from models.deadline import Deadline, TimeLimitExceeded
from models.regions import EXACT_MAX_DIM, linear_regions
from models.validation import DTYPE, check_box, check_instance, check_points, check_real

from .agreement_program import Difference, difference_reaches
from .check_result import CheckResult
from .exact import ExactNetwork, qcol, to_floats
from .injectivity.tolerances import domain_name, lipschitz_bound
from .tolerances import AGREEMENT_PROGRAM_RTOL, DECODER_RTOL
from .unit_matching import difference_bound, match_units


def _value_error(f: LeakyReLUNetwork, g: LeakyReLUNetwork, z: torch.Tensor, latent_scale: float) -> torch.Tensor:
    """‖f(z) − g(z)‖ / (‖f(z)‖ + ‖A_f(z)‖·ρ) at each row of z, ρ the latent scale: invariant to
    rescaling the outputs, and to rescaling the latents together with ρ."""
    a_f, _ = f.local_affine(z)
    size = f(z).norm(dim=1) + torch.linalg.matrix_norm(a_f, ord=2) * latent_scale
    return (f(z) - g(z)).norm(dim=1) / size.clamp_min(torch.finfo(z.dtype).tiny)


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


def check_same_decoder(f: LeakyReLUNetwork, g: LeakyReLUNetwork, *, latent_scale: float, points=None, box=None,
                       rtol: float = DECODER_RTOL, time_limit: float | None = None) -> CheckResult:
    """Is f = g on all of R^m?  Exact for m <= 3 (every cell of the common refinement); else sampled,
    and then only a difference is conclusive.

    Parameters
    ----------
    f, g : LeakyReLUNetwork
        Same input and output dimensions.
    latent_scale : float
        ρ > 0, the size of the latent region that matters (e.g. the prior's spread);
        it makes the relative error invariant to rescaling inputs or outputs.
    points : Tensor, shape (N, m), optional
        Extra latent points to compare at (e.g. prior samples); required when m > 3.
    box : float, pair of array_like, or None
        For m > 3: the latent box on which the mixed-integer program decides agreement
        (r means [-r, r]^m); without one, agreement above m = 3 is only sampled.
    rtol : float
        Largest accepted relative error ``‖f(z) − g(z)‖ / (‖f(z)‖ + ‖A_f(z)‖·ρ)``.
    time_limit : float, optional
        Seconds for the enumeration of the cells; past it the verdict rests on the given
        points only (a difference found there still decides "fails"; agreement is unknown).

    Returns
    -------
    CheckResult
        ``statistic``: the largest relative error; ``witness``: the latent point
        where f and g differ most when it fails; holds only when every cell of the
        common refinement was visited (``details['exact']``), unknown when the maps
        agree at the points compared but not every cell was.
    """
    check_instance(f, LeakyReLUNetwork, "f")
    check_instance(g, LeakyReLUNetwork, "g")
    if (g.in_dim, g.out_dim) != (f.in_dim, f.out_dim):
        raise ValueError(f"g: maps R^{g.in_dim} -> R^{g.out_dim}, but f maps R^{f.in_dim} -> R^{f.out_dim}")
    latent_scale = check_real(latent_scale, "latent_scale", low=0.0, low_open=True)
    rtol = check_real(rtol, "rtol", low=0.0)
    f, g = f.to(dtype=DTYPE), g.to(f.device, DTYPE)
    if points is not None:
        points = check_points(points, "points", f.in_dim, device=f.device)[0]
    bounds = check_box(box, f.in_dim)
    deadline = Deadline(time_limit)
    if bounds is not None and f.in_dim > EXACT_MAX_DIM:
        return _on_box(f, g, bounds, points, latent_scale, rtol, deadline, domain_name(f, box))
    z, exact, how = _cells(f, g, points, deadline, latent_scale)
    errors = _value_error(f, g, z, latent_scale)
    worst = int(errors.argmax())
    statistic = float(errors[worst])
    holds = False if statistic > rtol else (True if exact else None)
    details = {"exact": exact, "points": len(z), "how": how, "latent_scale": latent_scale}
    domain = f"R^{f.in_dim}" if exact else f"{len(z)} latent points"
    return CheckResult("same_decoder", holds, statistic, rtol, "<=", z[worst] if holds is False else None, domain=domain,
                       method=("exact: " if exact else "sampled: ") + how, details=details)


def _on_box(f, g, bounds, points, latent_scale: float, rtol: float, deadline: Deadline, domain: str) -> CheckResult:
    """The program's verdict on the box, with the sampled relative error at ``points`` as the statistic."""
    f64, g64 = f.to("cpu", DTYPE), g.to("cpu", DTYPE)
    low, high = bounds[0].numpy(), bounds[1].numpy()
    centre = torch.as_tensor(0.5 * (low + high))
    scale = float(f64(centre).norm()) + lipschitz_bound(f64) * latent_scale
    tau = max(rtol, AGREEMENT_PROGRAM_RTOL) * scale
    errors = _value_error(f64, g64, points.to("cpu"), latent_scale) if points is not None else torch.zeros(1, dtype=DTYPE)
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
        gap = _exact_gap(f64, g64, found.z)
        details.update(exact_difference=gap)
        if gap >= tau * (1 - 1e-9):
            z = torch.as_tensor(found.z)
            statistic = max(sampled, float(_value_error(f64, g64, z[None], latent_scale)[0]))
            return CheckResult("same_decoder", False, statistic, rtol, "<=", z.to(f.device), domain=domain, verified=True,
                               method="a point of the box where |f − g|∞ >= τ (mixed-integer program, re-checked in rationals)",
                               details=details)
        details["reason"] = f"the program's point differs by {gap:.3g} < τ in rationals"
    details.setdefault("reason", f"the program was not solved in time (status {found.solver_status})")
    if sampled > rtol:  # a sampled point still decides
        return CheckResult("same_decoder", False, sampled, rtol, "<=", points[worst], domain=f"{len(points)} latent points",
                           method="sampled: a given point where f and g differ", details=details)
    return CheckResult("same_decoder", None, sampled, rtol, "<=", None, domain=domain, method=f"{how}: not decided", details=details)


def _exact_gap(f, g, z: np.ndarray) -> float:
    """max_i |f_i(z) − g_i(z)| in rationals (rounded to float at the end)."""
    point = qcol(z)
    diff = ExactNetwork.of(f).forward(point)[0] - ExactNetwork.of(g).forward(point)[0]
    return max(abs(float(to_floats(diff)[i])) for i in range(f.out_dim))


def _cells(f: LeakyReLUNetwork, g: LeakyReLUNetwork, points, deadline: Deadline, reach: float):
    """Latent points to compare at, whether they visit every cell, and how they were chosen."""
    extra = [] if points is None else [points]
    try:
        return _enumerated(f, g, extra, deadline, reach)
    except TimeLimitExceeded as stop:
        if not extra:
            raise ValueError(f"time_limit: {stop}, and no points were given to compare at") from None
        return extra[0], False, f"the given points only ({stop})"


def _enumerated(f, g, extra, deadline, reach):
    if f.in_dim <= EXACT_MAX_DIM:
        joint = joint_network(f, g)
        if joint is not None:
            cells = linear_regions(joint.to("cpu"), None, time_limit=deadline)
            inside = _cell_points(cells, reach).to(f.device)
            return torch.cat([inside, *extra]), True, f"2m + 1 points inside each of the {len(cells)} cells of the common refinement on R^m"
        inside = torch.cat([_cell_points(linear_regions(net.to("cpu"), None, time_limit=deadline), reach) for net in (f, g)])
        inside = inside.to(f.device)
        how = "points inside the regions of f and of g (their slopes differ, so no joint network), and the given points"
        return torch.cat([inside, *extra]), False, how
    if not extra:
        raise ValueError(f"points: needed for latent dimension {f.in_dim} > {EXACT_MAX_DIM}, where cells are not enumerated")
    return extra[0], False, f"the given points only (latent dimension {f.in_dim} > {EXACT_MAX_DIM})"
