"""Checks of the assumptions that the counterexamples drop (``docs/theory.md``, CE1–CE5).

Each returns a ``CheckResult`` that holds when the assumption holds, and carries a
witness when it fails; ``dropped`` turns a failing one into the evidence a
counterexample reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from models import LeakyReLUNetwork
from models.regions import EXACT_MAX_DIM, linear_regions
from models.validation import (
    DTYPE,
    check_callable,
    check_generator,
    check_instance,
    check_int,
    check_real,
    check_tensor,
    check_text,
)

from ..check_result import CheckResult
from ..tolerances import JUMP_RTOL, LOCAL_RANK_RTOL, SECOND_DIFFERENCE_RTOL


def dropped(assumption: str, check: CheckResult) -> CheckResult:
    """Evidence that ``assumption`` fails: holds iff ``check`` (which decides the assumption) fails.

    The statistic, tolerance and witness are the failing check's; its name and details
    are kept under ``details``.
    """
    check_text(assumption, "assumption")
    check_instance(check, CheckResult, "check")
    holds = None if check.holds is None else not check.holds
    return CheckResult(f"dropped:{assumption}", holds, check.statistic, check.tolerance, None, check.witness,
                       verified=check.verified, domain=check.domain, method=f"the check {check.name} ({check.method})",
                       details={"check": check.name, "check_verdict": check.verdict, **check.details})


def _input_dim(fn) -> int | None:
    """The input dimension of a map or density where it says (a network's ``in_dim``, a mixture's ``dim``)."""
    owner = getattr(fn, "__self__", fn)
    dim = getattr(owner, "in_dim", getattr(owner, "dim", None))
    return dim if isinstance(dim, int) else None


def _as_points(value, name: str, dim: int | None = None) -> torch.Tensor:
    points = check_tensor(value, name, dtype=DTYPE, device=torch.device("cpu"), ndim=2)
    if dim is not None and points.shape[1] != dim:
        raise ValueError(f"{name}: expected points of dimension {dim}, got shape {tuple(points.shape)}")
    if points.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one point")
    return points


def check_piecewise_affine(fn: Callable, points, *, h_max: float = 0.1, n_scales: int = 14, rtol: float = SECOND_DIFFERENCE_RTOL,
                           generator=0) -> CheckResult:
    """Is ``fn`` affine near each of ``points`` (as a piecewise-affine map is, away from its kinks)?

    Along a random unit direction v at each point z, the second difference
    D(h) = ‖fn(z + h v) − 2 fn(z) + fn(z − h v)‖ is computed for h = h_max · 2^-k,
    k < ``n_scales``. A piecewise-affine map has D(h) = 0 (to rounding) once h is below
    the distance from z to its nearest kink, which is positive for almost every z; a
    map with curvature has D(h) ≈ |∂²_v fn| h² > 0 at every scale.

    Parameters
    ----------
    fn : callable
        (N, m) -> (N, n), float64.
    points : array_like, shape (N, m)
        Generic points (e.g. prior samples): a point exactly on a kink is affine at no scale.
    h_max, n_scales : float, int
        The largest step and the number of halvings.
    rtol : float
        D(h) counts as 0 when <= rtol · (‖fn(z + hv)‖ + 2‖fn(z)‖ + ‖fn(z − hv)‖ + 1).
    generator : torch.Generator or int
        Source of the directions.

    Returns
    -------
    CheckResult
        ``statistic``: max over points of min over scales of D(h) / tolerance(h); holds iff
        <= 1. ``witness`` when it fails: the point, the direction, the steps and D(h) / h²
        there (a steady ratio is a second derivative, i.e. curvature).
    """
    check_callable(fn, "fn")
    z = _as_points(points, "points", _input_dim(fn))
    h_max = check_real(h_max, "h_max", low=0.0, low_open=True)
    check_int(n_scales, "n_scales")
    rtol = check_real(rtol, "rtol", low=0.0)
    gen = check_generator(generator)
    v = torch.randn(z.shape, generator=gen, dtype=DTYPE)
    v = v / v.norm(dim=1, keepdim=True)
    centre = fn(z)
    steps = h_max * 0.5 ** torch.arange(n_scales, dtype=DTYPE)
    ratios, differences = [], []
    for h in steps.tolist():
        plus, minus = fn(z + h * v), fn(z - h * v)
        second = (plus - 2 * centre + minus).norm(dim=1)
        tol = rtol * (plus.norm(dim=1) + 2 * centre.norm(dim=1) + minus.norm(dim=1) + 1.0)
        ratios.append(second / tol)
        differences.append(second)
    ratios_t = torch.stack(ratios, dim=1)  # (N, scales)
    best = ratios_t.min(dim=1).values
    worst = int(best.argmax())
    statistic = float(best[worst])
    holds = statistic <= 1.0
    affine_fraction = float((best <= 1.0).double().mean())
    details = {"n_points": z.shape[0], "h_max": h_max, "h_min": float(steps[-1]), "rtol": rtol,
               "fraction_locally_affine": affine_fraction}
    witness = None
    if not holds:
        second = torch.stack(differences, dim=1)[worst]
        witness = {"z": z[worst], "direction": v[worst], "steps": steps, "second_difference": second,
                   "second_difference_over_h2": second / steps.square()}
    # Affine near every point seen is not affine near every point: only curvature is conclusive.
    return CheckResult("piecewise_affine", None if holds else False, statistic, 1.0, "<=", witness, domain=f"{z.shape[0]} points",
                       method="sampled: second differences along a random direction at each point", details=details)


def check_continuous(fn: Callable, start, end, *, n_grid: int = 256, n_candidates: int = 3, rtol: float = JUMP_RTOL) -> CheckResult:
    """Is ``fn`` continuous along the segment from ``start`` to ``end``?  Finds jumps by bisection.

    ``fn`` is evaluated on ``n_grid`` + 1 points of the segment; the ``n_candidates``
    intervals with the largest change are each bisected, keeping the half with the
    larger change, until the interval is as narrow as float64 resolves. A continuous
    (Lipschitz) map's change then vanishes; a jump keeps its size.

    Returns
    -------
    CheckResult
        ``statistic``: the largest remaining change ‖fn(b) − fn(a)‖ over the narrowed
        intervals, ``tolerance``: rtol · (max ‖fn‖ on the grid + 1); holds iff <=.
        ``witness`` when it fails: the location of the jump, the values on both sides and
        its size.
    """
    check_callable(fn, "fn")
    a = check_tensor(start, "start", dtype=DTYPE, device=torch.device("cpu"), ndim=1)
    b = check_tensor(end, "end", dtype=DTYPE, device=torch.device("cpu"), ndim=1)
    dim = _input_dim(fn)
    if dim is not None and a.shape != (dim,):
        raise ValueError(f"start: expected a point of dimension {dim}, the input of fn, got shape {tuple(a.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"end: expected shape {tuple(a.shape)} to match start, got {tuple(b.shape)}")
    if bool((a == b).all()):
        raise ValueError("end: expected a point different from start")
    check_int(n_grid, "n_grid", minimum=2)
    check_int(n_candidates, "n_candidates")
    rtol = check_real(rtol, "rtol", low=0.0)

    def at(s: torch.Tensor) -> torch.Tensor:
        return fn(a + s.unsqueeze(1) * (b - a))

    s = torch.linspace(0.0, 1.0, n_grid + 1, dtype=DTYPE)
    values = at(s)
    tolerance = rtol * (float(values.norm(dim=1).max()) + 1.0)
    change = (values[1:] - values[:-1]).norm(dim=1)
    candidates = torch.argsort(change, descending=True)[: min(n_candidates, n_grid)].tolist()
    best = (-1.0, None)
    for i in candidates:
        lo, hi = s[i].clone(), s[i + 1].clone()
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if not (lo < mid < hi):
                break
            left, centre, right = at(torch.stack([lo, mid, hi]))
            if (centre - left).norm() >= (right - centre).norm():
                hi = mid
            else:
                lo = mid
        left, right = at(torch.stack([lo, hi]))
        size = float((right - left).norm())
        if size > best[0]:
            best = (size, (lo, hi, left, right))
    size, (lo, hi, left, right) = best
    holds = size <= tolerance
    witness = None if holds else {"z": a + 0.5 * (lo + hi) * (b - a), "left": left, "right": right, "jump": size,
                                  "interval_width": float((hi - lo) * (b - a).norm())}
    # No jump found along one segment says nothing of the rest: only a jump is conclusive.
    return CheckResult("continuous", None if holds else False, size, tolerance, "<=", witness, domain="the segment start-end",
                       method="sampled: the largest changes on a grid, bisected", details={"n_grid": n_grid, "n_candidates": n_candidates,
                                                                                            "rtol": rtol})


def check_full_support(log_density: Callable, points) -> CheckResult:
    """Is the density positive at every one of ``points``?  A nondegenerate Gaussian mixture's is, everywhere.

    Failing is an exact proof that the law is not a nondegenerate Gaussian mixture.

    Returns
    -------
    CheckResult
        ``statistic``: the fraction of points with zero density (``tolerance`` 0).
        ``witness`` when it fails: the first such point.
    """
    check_callable(log_density, "log_density")
    z = _as_points(points, "points", _input_dim(log_density))
    log_p = log_density(z)
    zero = ~torch.isfinite(log_p) | torch.isnan(log_p)
    zero = zero & ~(log_p == math.inf)
    fraction = float(zero.double().mean())
    holds = fraction == 0.0
    witness = None if holds else {"z": z[int(torch.nonzero(zero)[0])], "log_density": -math.inf}
    # Positive at the points seen is not positive everywhere: only a zero is conclusive.
    return CheckResult("full_support", None if holds else False, fraction, 0.0, "<=", witness, domain=f"{z.shape[0]} points",
                       method="the density at each point", details={"n_points": z.shape[0]})


def check_nondegenerate_covariance(covariance, rtol: float = LOCAL_RANK_RTOL) -> CheckResult:
    """Is ``covariance`` positive definite?  Smallest over largest eigenvalue against ``rtol``.

    Returns
    -------
    CheckResult
        ``statistic``: λ_min / λ_max; holds iff > ``rtol``. ``witness`` when it fails: a
        unit direction of (near) zero variance, and the eigenvalues.
    """
    cov = check_tensor(covariance, "covariance", dtype=DTYPE, device=torch.device("cpu"), ndim=2)
    if cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
        raise ValueError(f"covariance: expected a square matrix, got shape {tuple(cov.shape)}")
    asymmetry = float((cov - cov.T).abs().max())
    if asymmetry > 1e-10 * (float(cov.abs().max()) + 1e-300):
        raise ValueError(f"covariance: expected a symmetric matrix (asymmetry {asymmetry:.3g})")
    rtol = check_real(rtol, "rtol", low=0.0)
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (cov + cov.T))
    largest = float(eigenvalues[-1])
    ratio = float(eigenvalues[0]) / largest if largest > 0 else 0.0
    holds = ratio > rtol
    rank = int((eigenvalues > rtol * max(largest, 0.0)).sum()) if largest > 0 else 0
    witness = None if holds else {"direction": vectors[:, 0], "eigenvalues": eigenvalues}
    return CheckResult("nondegenerate_covariance", holds, ratio, rtol, ">", witness, domain="the covariance",
                       method="closed form: eigenvalues", details={"rank": rank, "dim": cov.shape[0]})


def check_full_rank_somewhere(network, points, rtol: float = LOCAL_RANK_RTOL) -> CheckResult:
    """Condition (ii) of weak injectivity for piecewise-affine f: some piece has rank A_i = m.

    The local matrices at ``points`` (exact, from the activation pattern) are tested for
    rank m; numerical rank counts singular values above rtol · σ_max. A full-rank point
    decides "holds". Otherwise the verdict is exact only when every piece is seen: an
    affine network (one piece), or, for m <= ``models.regions.EXACT_MAX_DIM``, the
    linear regions of R^m; else it is unknown.

    Returns
    -------
    CheckResult
        ``statistic``: the largest local rank found, ``tolerance``: m; holds iff equal.
        ``witness`` when it fails: a point and its local matrix.
    """
    check_instance(network, LeakyReLUNetwork, "network")
    z = _as_points(points, "points", network.in_dim)
    rtol = check_real(rtol, "rtol", low=0.0)
    a, _ = network.local_affine(z)
    singular = torch.linalg.svdvals(a)
    top = singular[:, :1].clamp_min(torch.finfo(DTYPE).tiny)
    ranks = (singular > rtol * top).sum(dim=1)
    best = int(ranks.max())
    m = network.in_dim
    details = {"n_points": z.shape[0], "rtol": rtol}
    if best == m:
        return CheckResult("full_rank_piece", True, float(best), float(m), ">=", {"z": z[int(ranks.argmax())]},
                           domain=f"R^{m}", method="a point whose local matrix has rank m", details=details)
    witness = {"z": z[0], "local_matrix": a[0], "singular_values": singular[0]}
    if network.depth == 1:
        return CheckResult("full_rank_piece", False, float(best), float(m), ">=", witness, domain=f"R^{m}",
                           method="exact: an affine map has one piece", details=details)
    if m > EXACT_MAX_DIM:
        return CheckResult("full_rank_piece", None, float(best), float(m), ">=", witness, domain=f"{z.shape[0]} points",
                           method="sampled: local matrices at the points", details=details)
    pieces = linear_regions(network.to("cpu", DTYPE), None)
    values = torch.linalg.svdvals(torch.as_tensor(pieces.arrays.A))
    region_ranks = (values > rtol * values[:, :1].clamp_min(torch.finfo(DTYPE).tiny)).sum(dim=1)
    best = max(best, int(region_ranks.max()))
    return CheckResult("full_rank_piece", best == m, float(best), float(m), ">=", None if best == m else witness, domain=f"R^{m}",
                       method=f"exact: the rank of every one of the {len(pieces)} linear regions of R^{m}",
                       details={**details, "regions": len(pieces)})
