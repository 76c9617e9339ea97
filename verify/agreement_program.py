"""The largest difference of two leaky-ReLU networks over a box, by one mixed-integer program.

Is there a z in the box with |f_i(z) − g_i(z)| >= τ for some output i?  One copy of each network
shares z (big-M on the units that linear back-substitution does not prove stable on the box);
2n binaries choose the output and the sign of the difference, exactly one of them on, and the
chosen difference must reach τ (big-M from the bounds of the outputs). Outputs whose bounds
already keep the difference below τ get no binary; when none is left, the bounds alone decide.

The bounds are sound in exact arithmetic (``injectivity.bounds``, with the differences rounded
up), so "by bounds" is a proof that |f − g|∞ < τ on the box. Infeasible: the same conclusion by the
solver's proof, which is not re-checked in rationals (the caller reports it as unknown). Feasible:
the point found is returned, and the caller re-checks the difference there exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.deadline import Deadline
from models.solver import TIGHT_OPTIONS, scip_available, solve_milp

from .injectivity import bigm
from .injectivity.bounds import box_maximum, crown_bounds, output_relaxation

__all__ = ["Difference", "difference_reaches"]

PROGRAM_SOLVER = "scip"
"""The solver of the program where pyscipopt is installed (else HiGHS). ``benchmarks/bench_solvers.py``:
on the feasible programs (two maps that differ) SCIP found the point 6x to 50x sooner than HiGHS
(0.03-0.11 s against 0.19 s to past 5 s)."""


@dataclass(frozen=True)
class Difference:
    """``reaches``: True (``z`` reaches τ), False (nowhere in the box), None (not solved in time);
    ``by``: "bounds" or "program"; ``binaries`` of the program; ``solver_status`` (scipy's milp);
    ``reason`` why no program was solved, when none was."""

    reaches: bool | None
    z: np.ndarray | None
    by: str
    binaries: int
    solver_status: int | None = None
    reason: str | None = None


def _output_bounds(layers: bigm.Layers, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (n,) of the outputs over the box, sound in exact arithmetic."""
    A_lo, c_lo, A_up, c_up = output_relaxation(layers.weights, layers.biases, layers.slopes, low, high)
    return -box_maximum(-A_lo, -c_lo, low, high)[0], box_maximum(A_up, c_up, low, high)[0]


def difference_reaches(f, g, low: np.ndarray, high: np.ndarray, tau: float, deadline: Deadline) -> Difference:
    """Whether |f_i(z) − g_i(z)| >= ``tau`` for some z in [low, high] and some i (module docstring)."""
    lf, lg = bigm.Layers.of(f), bigm.Layers.of(g)
    f_lo, f_hi = _output_bounds(lf, low, high)
    g_lo, g_hi = _output_bounds(lg, low, high)
    # s = +1: f_i − g_i <= f_hi − g_lo; s = −1: g_i − f_i <= g_hi − f_lo.
    reach = np.nextafter(np.stack([f_hi - g_lo, g_hi - f_lo], axis=1), np.inf)  # (n, 2), rounded up
    floor = np.stack([f_lo - g_hi, g_lo - f_hi], axis=1)
    # A NaN or infinite bound proves nothing: such an output stays a candidate.
    candidates = [(i, k) for i in range(reach.shape[0]) for k in range(2) if not reach[i, k] < tau]
    if not candidates:
        return Difference(False, None, "bounds", 0)
    if not (np.isfinite(floor).all() and np.isfinite(reach).all()):
        return Difference(None, None, "program", 0, reason="the outputs' bounds are not finite: no big-M program can be built")
    builder = bigm.Builder()
    z = builder.var(low, high)
    yf = bigm.network_copy(builder, lf, crown_bounds(lf.weights, lf.biases, lf.slopes, low, high), low, high, z=z).y
    yg = bigm.network_copy(builder, lg, crown_bounds(lg.weights, lg.biases, lg.slopes, low, high), low, high, z=z).y
    Wf, bf, Wg, bg = lf.weights[-1], lf.biases[-1], lg.weights[-1], lg.biases[-1]
    choice = [builder.var(0.0, 1.0, integer=True)[0] for _ in candidates]
    builder.row(choice, np.ones(len(choice)), 1.0, 1.0)
    for c, (i, k) in zip(choice, candidates):
        sign = 1.0 if k == 0 else -1.0
        big = tau - floor[i, k]  # s (f_i − g_i) >= tau − big (1 − c) holds for every z of the box when c = 0
        # s (Wf_i yf − Wg_i yg) + big (1 − c) >= tau − s (bf_i − bg_i)
        builder.row(np.r_[yf, yg, c], np.r_[sign * Wf[i], -sign * Wg[i], -big], tau - sign * (bf[i] - bg[i]) - big, math.inf)
    options = dict(TIGHT_OPTIONS, mip_feasibility_tolerance=TIGHT_OPTIONS["primal_feasibility_tolerance"])
    if deadline.seconds is not None:
        options["time_limit"] = float(deadline.remaining())
    result = solve_milp(np.zeros(len(builder.lb)), integrality=builder.integer, lower=builder.lb, upper=builder.ub,
                        matrix=builder.matrix(), row_lower=builder.lo, row_upper=builder.hi, options=options,
                        solver=PROGRAM_SOLVER if scip_available() else "highs")
    binaries = int(sum(builder.integer))
    if result.status == 2:
        return Difference(False, None, "program", binaries, result.status)
    if result.x is None:
        return Difference(None, None, "program", binaries, result.status)
    return Difference(True, np.clip(result.x[z], low, high), "program", binaries, result.status)
