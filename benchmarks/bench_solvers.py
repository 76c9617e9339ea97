"""The toolkit's mixed-integer programs, solved by HiGHS through scipy, HiGHS through highspy, and SCIP.

Programs: the exact arrays the toolkit hands to ``models.solver.solve_milp``, captured at that
call (the builders run unchanged; the call is intercepted and nothing is solved there):

- ``collision``: the two-copy program of ``check_injective(method="milp")`` (``bigm``: big-M on
  the units that the linear relaxation leaves unstable, f(z1) = f(z2), maximise z1_1 − z2_1), in
  the frame's normalized units; optimal value 0 iff no collision separates the first coordinate;
- ``agree-same`` / ``agree-moved``: the program of ``verify.agreement_program.difference_reaches``
  (one copy of f and one of g sharing z, |f_i − g_i| >= τ for a chosen output and sign), τ as
  ``check_same_decoder`` sets it on a box; g = f with its hidden units permuted and rescaled
  (the same map: infeasible) or with one first-layer bias moved by 1e-2 (feasible);
- ``far-preimage``: the single-copy program of ``verify.injectivity.unique_preimage.far_preimage``
  at the box's centre (a point z with ‖z − z0‖∞ >= r and |f(z) − f(z0)| <= δ).

Every program is minimise c·x subject to row bounds on a CSR matrix, column bounds and
integrality, handed unchanged to each solver: scipy-HiGHS (``solve_milp``, with the options the
toolkit passes), highspy (``Highs.passModel`` of a ``HighsLp``, the same options) and SCIP
(``pyscipopt``: one linear constraint per row; gap and feasibility tolerance set to what HiGHS
uses). Seconds include building the solver's model (shown apart as "build"); the ratio is
seconds / scipy-HiGHS seconds on the same program. Where solvers finish (optimal or
infeasible), their feasibility and optimal values must agree; "viol" is the largest violation of
the rows, bounds and integrality at the solution each returned.

Networks: ``random_network((m, w, w, n), slope, injective=False)``, m in {2, 4, 8}, w in {8, 16,
32, 64}, n = max(m + 2, w / 2), two seeds, on the box holding 1 − 1e-6 of N(0, I); 30 s per
solve (5 s and fewer networks with ``--quick``).

    python benchmarks/bench_solvers.py [--quick] [--time-limit 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# The packages of this checkout, not an installed copy elsewhere (an editable install of another worktree).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import highspy
import numpy as np
import pyscipopt
import scipy
import scipy.sparse as sp
import torch
from bench_trained import relabelled  # the benchmarks folder is on the path of its own scripts

from models import GaussianMixture, LeakyReLUNetwork, random_network
from models.deadline import Deadline
from models.solver import solve_milp
from verify import agreement_program
from verify.injectivity import bigm, check_injective, unique_preimage
from verify.injectivity.tolerances import frame, lipschitz_bound
from verify.prior_box import default_box
from verify.tolerances import AGREEMENT_PROGRAM_RTOL

LATENTS = (2, 4, 8)
WIDTHS = (8, 16, 32, 64)
SEEDS = (0, 1)
SLOPE = 0.2
BIAS_MOVE = 1e-2
SOLVERS = ("scipy-highs", "highspy", "scip")
# HiGHS's defaults, given to SCIP where the toolkit leaves them unset, so that all stop at the same gap.
HIGHS_MIP_REL_GAP = 1e-4
HIGHS_MIP_ABS_GAP = 1e-6
HIGHS_MIP_FEASIBILITY = 1e-6
# Two solutions agree when their objectives differ by at most this (relative to max(1, |value|)):
# above the gaps (1e-9 relative for the collision programs) plus the feasibility tolerances.
AGREE_RTOL = 1e-5


@dataclass
class Program:
    """min cost·x s.t. row_lower <= matrix x <= row_upper, lower <= x <= upper, x_i integer where integrality[i]."""

    cost: np.ndarray
    integrality: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    matrix: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    options: dict

    @property
    def size(self) -> str:
        return f"{self.matrix.shape[1]} vars, {int(self.integrality.sum())} int, {self.matrix.shape[0]} rows"

    def violation(self, x: np.ndarray) -> float:
        """Largest violation of the rows, the bounds and the integrality at x."""
        ax = self.matrix @ x
        rows = np.maximum(self.row_lower - ax, ax - self.row_upper)
        cols = np.maximum(self.lower - x, x - self.upper)
        ints = np.abs(x - np.round(x))[self.integrality.astype(bool)]
        return float(max(rows.max(initial=0.0), cols.max(initial=0.0), ints.max(initial=0.0)))


class _Captured(Exception):
    def __init__(self, program: Program):
        super().__init__("captured")
        self.program = program


def captured(module, call) -> Program | None:
    """The first program that ``call()`` hands to ``module.solve_milp`` (None if it solves none).

    The module's ``solve_milp`` is replaced for the duration of the call by one that records its
    arguments and stops the call, so the program is exactly the toolkit's.
    """
    def record(cost, *, integrality, lower, upper, matrix, row_lower, row_upper, options=None):
        raise _Captured(Program(np.asarray(cost, dtype=float), np.asarray(integrality, dtype=int), np.asarray(lower, dtype=float),
                                np.asarray(upper, dtype=float), sp.csr_matrix(matrix, dtype=float),
                                np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float), dict(options or {})))

    original = module.solve_milp
    module.solve_milp = record
    try:
        call()
    except _Captured as stop:
        return stop.program
    finally:
        module.solve_milp = original
    return None


def programs(net: LeakyReLUNetwork, r: float, seed: int) -> dict[str, Program | None]:
    """The four programs of the module docstring for one network on [-r, r]^m."""
    m = net.in_dim
    low, high = -r * np.ones(m), r * np.ones(m)
    out = {"collision": captured(bigm, lambda: check_injective(net, box=r, method="milp"))}
    # τ as check_same_decoder sets it on a box (latent scale 1): a relative 1e-6 of f's scale there.
    tau = AGREEMENT_PROGRAM_RTOL * (float(net(torch.zeros(m, dtype=torch.float64)).norm()) + lipschitz_bound(net))
    gen = torch.Generator().manual_seed(seed)
    same = relabelled(net, gen)
    biases = [b.clone() for b in net.biases]
    biases[0][int(torch.randint(biases[0].shape[0], (1,), generator=gen))] += BIAS_MOVE
    moved = LeakyReLUNetwork(net.weights, biases, net.negative_slope)
    for name, g in (("agree-same", same), ("agree-moved", moved)):
        out[name] = captured(agreement_program, lambda g=g: agreement_program.difference_reaches(net, g, low, high, tau, Deadline(None)))
    fr = frame(net, r)
    u0 = np.zeros(m)
    radius = unique_preimage.RADIUS_FRACTION * unique_preimage.interior_radius(fr, u0)[0]
    out["far-preimage"] = captured(unique_preimage, lambda: unique_preimage.far_preimage(fr, u0, radius)) if radius > 0 else None
    return out


@dataclass
class Solved:
    status: str            # "optimal", "infeasible", "time limit" or the solver's own word
    seconds: float
    build: float
    objective: float | None
    x: np.ndarray | None


def by_scipy(p: Program, limit: float) -> Solved:
    start = time.perf_counter()
    result = solve_milp(p.cost, integrality=p.integrality, lower=p.lower, upper=p.upper, matrix=p.matrix, row_lower=p.row_lower,
                        row_upper=p.row_upper, options={**p.options, "time_limit": limit})
    seconds = time.perf_counter() - start
    status = {0: "optimal", 1: "time limit", 2: "infeasible", 3: "unbounded"}.get(result.status, f"status {result.status}")
    return Solved(status, seconds, 0.0, None if result.x is None else float(result.fun), result.x)


def by_highspy(p: Program, limit: float) -> Solved:
    start = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = p.matrix.shape[1], p.matrix.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = p.cost, p.lower, p.upper
    lp.row_lower_, lp.row_upper_ = p.row_lower, p.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = p.matrix.indptr, p.matrix.indices, p.matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in p.integrality]
    h.passModel(lp)
    for name, value in p.options.items():
        # scipy's names are HiGHS's, except presolve (a bool there, "on"/"off" here).
        h.setOptionValue(name, ("on" if value else "off") if name == "presolve" else value)
    h.setOptionValue("time_limit", float(limit))
    build = time.perf_counter() - start
    h.run()
    seconds = time.perf_counter() - start
    status = h.getModelStatus()
    words = {highspy.HighsModelStatus.kOptimal: "optimal", highspy.HighsModelStatus.kInfeasible: "infeasible",
             highspy.HighsModelStatus.kTimeLimit: "time limit", highspy.HighsModelStatus.kUnbounded: "unbounded"}
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.array(h.getSolution().col_value) if has_x else None
    return Solved(words.get(status, h.modelStatusToString(status)), seconds, build, info.objective_function_value if has_x else None, x)


def by_scip(p: Program, limit: float) -> Solved:
    start = time.perf_counter()
    model = pyscipopt.Model()
    model.hideOutput()

    def bound(v):
        return None if math.isinf(v) else float(v)

    binary = (p.integrality == 1) & (p.lower >= 0) & (p.upper <= 1)
    xs = [model.addVar(lb=bound(lo), ub=bound(hi), obj=float(c), vtype="B" if b else ("I" if i else "C"))
          for lo, hi, c, i, b in zip(p.lower, p.upper, p.cost, p.integrality, binary)]
    A = p.matrix
    for row in range(A.shape[0]):
        a, b = A.indptr[row], A.indptr[row + 1]
        expr = pyscipopt.quicksum(float(v) * xs[j] for j, v in zip(A.indices[a:b], A.data[a:b]))
        lo, hi = p.row_lower[row], p.row_upper[row]
        if lo == hi:
            model.addCons(expr == float(lo))
        elif math.isinf(lo):
            model.addCons(expr <= float(hi))
        elif math.isinf(hi):
            model.addCons(expr >= float(lo))
        else:
            model.addCons(float(lo) <= (expr <= float(hi)))
    model.setParam("limits/time", float(limit))
    model.setParam("limits/gap", float(p.options.get("mip_rel_gap", HIGHS_MIP_REL_GAP)))
    model.setParam("limits/absgap", HIGHS_MIP_ABS_GAP)
    model.setParam("numerics/feastol", float(p.options.get("mip_feasibility_tolerance", HIGHS_MIP_FEASIBILITY)))
    build = time.perf_counter() - start
    model.optimize()
    seconds = time.perf_counter() - start
    status = model.getStatus()
    status = {"timelimit": "time limit", "inforunbd": "infeasible or unbounded"}.get(status, status)
    x = None
    if model.getNSols() > 0:
        best = model.getBestSol()
        x = np.array([model.getSolVal(best, v) for v in xs])
    return Solved(status, seconds, build, float(model.getObjVal()) if x is not None else None, x)


SOLVE = {"scipy-highs": by_scipy, "highspy": by_highspy, "scip": by_scip}
FINISHED = ("optimal", "infeasible")


def agreement(results: dict[str, Solved]) -> str:
    """"yes" when every finished solver has the same status and (if optimal) the same value."""
    done = {name: s for name, s in results.items() if s.status in FINISHED}
    if len(done) < 2:
        return "-"
    if len({s.status for s in done.values()}) > 1:
        return "DISAGREE"
    values = [s.objective for s in done.values() if s.objective is not None]
    if values and max(values) - min(values) > AGREE_RTOL * max(1.0, *map(abs, values)):
        return "DISAGREE"
    return "yes"


def networks(quick: bool):
    """(m, widths, seed) in order of size."""
    if quick:
        return [(2, (2, 8, 8, 4), 0), (4, (4, 16, 16, 8), 0), (8, (8, 16, 16, 10), 1), (4, (4, 32, 32, 16), 1)]
    return [(m, (m, w, w, max(m + 2, w // 2)), seed) for w in WIDTHS for m in LATENTS if w >= m for seed in SEEDS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four small networks, 5 s per solve")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve (default 30; 5 with --quick)")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    limit = args.time_limit or (5.0 if args.quick else 30.0)
    print(f"scipy {scipy.__version__} (its own HiGHS), highspy {highspy.Highs().version()}, "
          f"PySCIPOpt {pyscipopt.__version__} (SCIP {pyscipopt.Model().version()}); {limit:g} s per solve")
    head = (f"{'program':<13}{'shape':<15}{'seed':>4}  {'size':<30}{'solver':<12}{'status':<12}{'seconds':>9}{'build':>7}"
            f"{'objective':>13}{'viol':>9}{'ratio':>8}  agree")
    print(head + "\n" + "-" * len(head))
    rows, start = [], time.perf_counter()
    for m, widths, seed in networks(args.quick):
        net = random_network(widths, SLOPE, injective=False, generator=seed)
        prior = GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, m, dtype=torch.float64),
                                torch.eye(m, dtype=torch.float64)[None])
        for name, program in programs(net, default_box(prior), seed).items():
            if program is None:
                print(f"{name:<13}{str(widths):<15}{seed:>4}  decided without a program (bounds)")
                continue
            results = {solver: SOLVE[solver](program, limit) for solver in SOLVERS}
            agree = agreement(results)
            base = results["scipy-highs"].seconds
            for k, (solver, s) in enumerate(results.items()):
                objective = "-" if s.objective is None else f"{s.objective:.6g}"
                viol = "-" if s.x is None else f"{program.violation(s.x):.0e}"
                lead = f"{name:<13}{str(widths):<15}{seed:>4}  {program.size:<30}" if k == 0 else " " * 64
                print(f"{lead}{solver:<12}{s.status:<12}{s.seconds:>9.3f}{s.build:>7.2f}{objective:>13}{viol:>9}"
                      f"{s.seconds / base:>8.2f}  {agree if k == 0 else ''}", flush=True)
                rows.append({"program": name, "widths": widths, "seed": seed, "size": program.size, "solver": solver,
                             "status": s.status, "seconds": s.seconds, "build": s.build, "objective": s.objective,
                             "violation": None if s.x is None else program.violation(s.x), "ratio": s.seconds / base, "agree": agree})
    summary(rows, limit)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"time_limit": limit, "rows": rows}, handle, indent=1)


def summary(rows: list[dict], limit: float) -> None:
    """Per solver and program kind: programs finished, wins, and the geometric mean of the ratio to scipy-HiGHS."""
    print(f"\nsummary (finished = optimal or infeasible within {limit:g} s; ratio = seconds / scipy-HiGHS seconds, "
          "geometric mean over programs both finished)")
    keys = sorted({(r["program"], tuple(r["widths"]), r["seed"]) for r in rows})
    by_key = {key: {r["solver"]: r for r in rows if (r["program"], tuple(r["widths"]), r["seed"]) == key} for key in keys}
    for kind in sorted({k[0] for k in keys}) + ["all"]:
        chosen = [k for k in keys if kind in ("all", k[0])]
        print(f"  {kind} ({len(chosen)} programs)")
        for solver in SOLVERS:
            finished = [k for k in chosen if by_key[k][solver]["status"] in FINISHED]
            wins = sum(1 for k in finished if by_key[k][solver]["seconds"] == min(
                r["seconds"] for r in by_key[k].values() if r["status"] in FINISHED))
            ratios = [by_key[k][solver]["ratio"] for k in finished if by_key[k]["scipy-highs"]["status"] in FINISHED]
            geo = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else math.nan
            print(f"    {solver:<12} finished {len(finished):>3}   fastest {wins:>3}   ratio {geo:6.2f}")
    disagree = [k for k in keys if next(iter(by_key[k].values()))["agree"] == "DISAGREE"]
    print(f"  disagreements: {len(disagree)}" + "".join(f"\n    {k}" for k in disagree))


if __name__ == "__main__":
    main()
