"""Do two piecewise-affine decoders agree?  f = g on all of R^m, exactly where possible.

Two continuous piecewise-affine maps agree everywhere iff they have the same affine
piece on every cell of their common refinement, which is the set of linear regions
of the joint network z -> (f(z), g(z)) (``models.joint_network``). For latent
dimension m <= ``models.regions.EXACT_MAX_DIM`` those cells are enumerated on all of
R^m and the two pieces compared at points inside each: the verdict is then exact up
to the tolerance. Otherwise (or when no joint network exists) the maps are compared
at the given sample points and at the interior points of f's regions: a difference
found there is a verdict ("fails", with the point), agreement is not (unknown).
"""

from __future__ import annotations

import numpy as np
import torch

from models import LeakyReLUNetwork, joint_network
from models.deadline import Deadline, TimeLimitExceeded
from models.regions import EXACT_MAX_DIM, linear_regions
from models.validation import DTYPE, check_instance, check_points, check_real

from .check_result import CheckResult
from .tolerances import DECODER_RTOL


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


def check_same_decoder(f: LeakyReLUNetwork, g: LeakyReLUNetwork, *, latent_scale: float, points=None,
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
    z, exact, how = _cells(f, g, points, Deadline(time_limit), latent_scale)
    errors = _value_error(f, g, z, latent_scale)
    worst = int(errors.argmax())
    statistic = float(errors[worst])
    holds = False if statistic > rtol else (True if exact else None)
    details = {"exact": exact, "points": len(z), "how": how, "latent_scale": latent_scale}
    domain = f"R^{f.in_dim}" if exact else f"{len(z)} latent points"
    return CheckResult("same_decoder", holds, statistic, rtol, "<=", z[worst] if holds is False else None, domain=domain,
                       method=("exact: " if exact else "sampled: ") + how, details=details)


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
