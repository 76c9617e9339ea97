"""``check_injective``: the method table and the ``auto`` method that chains them.

``auto``: ``rank`` if it certifies; else ``search`` if it finds a verified
collision; else ``regions`` for m <= ``models.regions.EXACT_MAX_DIM``, ``milp``
otherwise. Without a box and with a larger m no exact method applies: the verdict
is then unknown.
"""

from __future__ import annotations

import math
import time

from models.deadline import Deadline, TimeLimitExceeded
from models.regions import EXACT_MAX_DIM
from models.validation import check_box, check_generator, check_int

from ..check_result import CheckResult
from . import milp, orientation, rank, regions, search
from ._shared import Options
from .tolerances import Frame, Tolerances, check_network, frame, tolerances

METHODS = {module.NAME.split("/")[1]: module for module in (rank, orientation, regions, milp, search)}
"""Every method by name: a module with ``decide(net, box, tol, options)``, its ``KIND`` ("exact",
"sufficient": only "holds" is a verdict, "refutes": only "fails" is), ``NEEDS_BOX`` and
``SQUARE_ONLY``. ``check_injective(method=...)`` also takes "auto", which chains them."""


def _auto(fr: Frame, tol: Tolerances, options: Options) -> CheckResult:
    start, stages = time.perf_counter(), []

    def decided(result: CheckResult) -> CheckResult:
        details = {**result.details, "method": "auto", "decided_by": result.name, "stages": stages,
                   "seconds": time.perf_counter() - start}
        return result.replace(name="injective", details=details)

    first = rank.decide(fr, tol, options)
    stages.append(first.name)
    if first.holds:
        return decided(first)
    sampled = search.decide(fr, tol, options)
    stages.append(sampled.name)
    if sampled.holds is False:
        return decided(sampled)
    m = fr.network.in_dim
    if m <= EXACT_MAX_DIM:
        exact = regions.decide(fr, tol, options)
    elif fr.box is None:
        # No exact method for unbounded domains in this dimension: the search is all there is.
        reason = f"for m = {m} > {EXACT_MAX_DIM} the exact method (MILP) needs a box"
        return sampled.replace(name="injective", details={**sampled.details, "method": "auto", "decided_by": None,
                                                           "stages": stages, "reason": reason,
                                                           "seconds": time.perf_counter() - start})
    else:
        exact = milp.decide(fr, tol, options)
    stages.append(exact.name)
    return decided(exact)


def check_injective(network, *, box=None, method: str = "auto", time_limit: float | None = None, n_samples: int = 4096,
                    generator=0) -> CheckResult:
    """Is the network injective (on the box, or on all of R^m when ``box`` is None)?

    Parameters
    ----------
    network : LeakyReLUNetwork
        f: R^m -> R^n (checked in float64 on the CPU).
    box : float, pair of array_like, or None
        r means [-r, r]^m; (low, high) of shape (m,); None means R^m.
    method : {"auto", "rank", "orientation", "regions", "milp", "search"}
        See the package docstring.
    time_limit : float, optional
        Seconds for the whole check; past it the verdict is unknown, and ``details`` say
        where it stopped (a solver call under way finishes first, within its own limit).
    n_samples, generator
        Sampling of ``search`` (also the first stage of ``auto``).

    Returns
    -------
    CheckResult
        ``holds`` True, False or None (unknown); ``statistic`` the largest
        separation w·(z − z') / rho of a collision found (or the least layer
        σ_min/σ_max for ``rank``); ``witness`` (z1, z2) tensors of shape (m,) when it
        fails, a certificate dict when it holds; ``details['tolerances']``.
    """
    net = check_network(network)
    check_box(box, net.in_dim)
    if method != "auto" and method not in METHODS:
        raise ValueError(f"method: expected one of {('auto', *METHODS)}, got {method!r}")
    chosen = None if method == "auto" else METHODS[method]
    if chosen is not None and chosen.NEEDS_BOX and box is None:
        raise ValueError(f"box: the {method} method needs a bounded box")
    if chosen is not None and chosen.SQUARE_ONLY and net.out_dim != net.in_dim:
        raise ValueError(f"network: the {method} method needs a square map (n = m), got n = {net.out_dim}, m = {net.in_dim}")
    options = Options(deadline=Deadline(time_limit), n_samples=check_int(n_samples, "n_samples", minimum=2, maximum=10**7),
                      generator=check_generator(generator, allow_none=False))
    fr = frame(net, box)
    tol = tolerances(fr.unit, fr.box)
    try:
        return _auto(fr, tol, options) if chosen is None else chosen.decide(fr, tol, options)
    except TimeLimitExceeded as stop:
        return CheckResult("injective" if chosen is None else chosen.NAME, None, math.nan, tol.separation, "<=", None,
                           domain=fr.domain, method=f"stopped: {stop}",
                           details={"reason": str(stop), "stopped_during": stop.what, "seconds": options.deadline.elapsed()})


def find_collision(network, *, box=None, n_samples: int = 4096, max_pairs: int = 256, generator=0) -> CheckResult:
    """Search for a collision f(z1) = f(z2), z1 != z2 (can only refute injectivity).

    Samples ``n_samples`` points (uniform in the box; uniform in a cube of twice the
    domain scale for ``box=None``), tests the regions met for rank deficiency, then
    solves the pairwise collision programs for up to ``max_pairs`` region pairs that
    the samples suggest (near in the output relative to the input, then neighbours).

    Returns
    -------
    CheckResult
        fails with the verified witness (z1, z2) when a collision is found; unknown otherwise.
    """
    net = check_network(network)
    check_box(box, net.in_dim)
    options = Options(n_samples=check_int(n_samples, "n_samples", minimum=2, maximum=10**7),
                      max_pairs=check_int(max_pairs, "max_pairs", minimum=1, maximum=10**6),
                      generator=check_generator(generator, allow_none=False))
    fr = frame(net, box)
    return search.decide(fr, tolerances(fr.unit, fr.box), options)
