"""The one wrapper around the solvers: HiGHS (through scipy) for every linear and mixed-integer
program, and SCIP (optional) for the mixed-integer programs that look for a feasible point.

Linear regions (``models.regions``), the collision and preimage programs of the
injectivity checks and their mixed-integer programs all solve through here, so
that retries, options and batching are decided once:

* HiGHS's presolve declares some degenerate but feasible programs infeasible, or
  gives up on them, so an "infeasible" or failed answer is checked by solving again
  without presolve; a failure after that goes to the interior-point solver (the
  simplex gives up on some programs with free unbounded variables).
* Many small independent programs are solved as one block-diagonal program
  (:func:`solve_blocks`): the blocks share no variable, so optimising the sum of
  their objectives optimises each block.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp

from .validation import check_array, check_choice, check_instance, check_real

__all__ = ["Block", "MILP_SOLVERS", "chebyshev_center", "chebyshev_centers", "scip_available", "solve_blocks", "solve_lp",
           "solve_milp", "TIGHT_OPTIONS"]

TIGHT_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}
"""Tighter than HiGHS's default 1e-7, so that the solver's own slack stays below the scale of the
relative feasibility tolerances of the collision programs (1e-9)."""

# Blocks per batched Chebyshev program: large enough to amortise the solver call,
# small enough that one slow block does not hold up the rest.
CHEBYSHEV_BATCH = 256

# scipy's linprog status codes.
OPTIMAL, ITERATION_LIMIT, INFEASIBLE, UNBOUNDED, NUMERICAL = 0, 1, 2, 3, 4


def solve_lp(cost, *, options: dict | None = None, **problem) -> OptimizeResult:
    """``scipy.optimize.linprog`` by HiGHS, with the retries of the module docstring.

    ``problem`` takes linprog's keywords (``A_ub``, ``b_ub``, ``A_eq``, ``b_eq``, ``bounds``).
    """
    cost, problem = _linear_program(cost, problem)
    options = _options(options)
    result = linprog(cost, method="highs", options=options, **problem)
    if result.status in (INFEASIBLE, NUMERICAL):
        result = linprog(cost, method="highs", options={**options, "presolve": False}, **problem)
    if result.status == NUMERICAL:
        result = linprog(cost, method="highs-ipm", options=options, **problem)
    return result


def solve_milp(cost, *, integrality, lower, upper, matrix, row_lower, row_upper, options: dict | None = None,
               solver: str = "highs") -> OptimizeResult:
    """min cost·x subject to row_lower <= matrix x <= row_upper, lower <= x <= upper, x_i integer
    where ``integrality[i]``.

    ``solver``: ``"highs"`` (``scipy.optimize.milp``; solved again without presolve if presolve
    fails, as it does on some degenerate programs, e.g. duplicated units) or ``"scip"`` (SCIP through
    pyscipopt, the ``scip`` extra; see ``scip_available``). ``options`` are HiGHS's names; SCIP
    reads ``time_limit``, ``mip_rel_gap`` and ``mip_feasibility_tolerance`` from them. The result
    has scipy's fields and status codes (0 optimal, 1 time limit, 2 infeasible) either way.
    """
    solver = check_choice(solver, MILP_SOLVERS, "solver")
    cost = check_array(cost, "cost", ndim=1)
    n = cost.shape[0]
    integrality = check_array(integrality, "integrality", shape=(n,))
    if not np.isin(integrality, (0, 1, 2, 3)).all():
        raise ValueError("integrality: expected 0 (continuous) or 1 (integer) for every variable, as scipy.optimize.milp reads it")
    lower = check_array(lower, "lower", shape=(n,), allow_inf=True)
    upper = check_array(upper, "upper", shape=(n,), allow_inf=True)
    matrix = check_array(matrix, "matrix", ndim=2, sparse=True)
    if matrix.shape[1] != n:
        raise ValueError(f"matrix: expected {n} columns, one per variable of cost, got shape {tuple(matrix.shape)}")
    row_lower = check_array(row_lower, "row_lower", shape=(matrix.shape[0],), allow_inf=True)
    row_upper = check_array(row_upper, "row_upper", shape=(matrix.shape[0],), allow_inf=True)
    problem = dict(integrality=integrality, bounds=Bounds(lower, upper), constraints=LinearConstraint(matrix, row_lower, row_upper))
    options = _options(options)
    if solver == "scip":
        return _by_scip(cost, integrality, lower, upper, sp.csr_matrix(matrix), row_lower, row_upper, options)
    with warnings.catch_warnings():
        # scipy passes HiGHS options it does not list (the feasibility tolerances) through, with a warning.
        warnings.filterwarnings("ignore", message="Unrecognized options detected", category=RuntimeWarning)
        result = milp(cost, options=options, **problem)
        if result.status == NUMERICAL:
            result = milp(cost, options={**options, "presolve": False}, **problem)
    return result


MILP_SOLVERS = ("highs", "scip")


def scip_available() -> bool:
    """Whether pyscipopt (the ``scip`` extra) is installed."""
    return importlib.util.find_spec("pyscipopt") is not None


def _by_scip(cost, integrality, lower, upper, matrix: sp.csr_matrix, row_lower, row_upper, options: dict) -> OptimizeResult:
    """The program of ``solve_milp`` by SCIP: one linear constraint per row."""
    if not scip_available():
        raise ValueError("solver: 'scip' needs pyscipopt (pip install 'identifiable-dgm[scip]')")
    import pyscipopt  # deferred with the optional package

    model = pyscipopt.Model()
    model.hideOutput()
    finite = lambda v: None if math.isinf(v) else float(v)  # noqa: E731  (SCIP reads None as unbounded)
    xs = [model.addVar(lb=finite(lo), ub=finite(hi), obj=float(c), vtype="I" if i else "C")
          for lo, hi, c, i in zip(lower, upper, cost, integrality)]
    for row in range(matrix.shape[0]):
        a, b = matrix.indptr[row], matrix.indptr[row + 1]
        expr = pyscipopt.quicksum(float(v) * xs[j] for j, v in zip(matrix.indices[a:b], matrix.data[a:b]))
        lo, hi = float(row_lower[row]), float(row_upper[row])
        if lo == hi:
            model.addCons(expr == lo)
        elif math.isinf(lo):
            model.addCons(expr <= hi)
        elif math.isinf(hi):
            model.addCons(expr >= lo)
        else:
            model.addCons(lo <= (expr <= hi))
    for name, key in (("limits/time", "time_limit"), ("limits/gap", "mip_rel_gap"), ("numerics/feastol", "mip_feasibility_tolerance")):
        if key in options:
            model.setParam(name, float(options[key]))
    model.optimize()
    status = {"optimal": 0, "timelimit": 1, "infeasible": 2}.get(model.getStatus(), 4)
    x = None
    if model.getNSols() > 0 and status != 2:
        best = model.getBestSol()
        x = np.array([model.getSolVal(best, v) for v in xs])
    return OptimizeResult(status=status, x=x, fun=float(cost @ x) if x is not None else None, success=status == 0,
                          message=f"SCIP: {model.getStatus()}")


@dataclass
class Block:
    """One small program: minimise cost·x subject to A_ub x <= b_ub and lower <= x <= upper."""

    cost: np.ndarray
    A_ub: np.ndarray
    b_ub: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _options(options) -> dict:
    if options is not None and not isinstance(options, dict):
        raise ValueError(f"options: expected a dict of HiGHS options, got {type(options).__name__}")
    return dict(options or {})


def _linear_program(cost, problem: dict) -> tuple[np.ndarray, dict]:
    """linprog's arrays checked by name: c (n,), A_ub and A_eq with n columns, b_ub and b_eq one per row."""
    unknown = set(problem) - {"A_ub", "b_ub", "A_eq", "b_eq", "bounds"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a keyword of the linear program (A_ub, b_ub, A_eq, b_eq, bounds)")
    cost = check_array(cost, "cost", ndim=1)
    checked = dict(problem)
    for matrix, rhs in (("A_ub", "b_ub"), ("A_eq", "b_eq")):
        if (problem.get(matrix) is None) != (problem.get(rhs) is None):
            raise ValueError(f"{rhs if problem.get(rhs) is None else matrix}: {matrix} and {rhs} go together")
        if problem.get(matrix) is None:
            continue
        checked[matrix] = check_array(problem[matrix], matrix, ndim=2, sparse=True)
        if checked[matrix].shape[1] != cost.shape[0]:
            raise ValueError(f"{matrix}: expected {cost.shape[0]} columns, one per variable of cost, got shape {tuple(checked[matrix].shape)}")
        checked[rhs] = check_array(problem[rhs], rhs, shape=(checked[matrix].shape[0],))
    bounds = problem.get("bounds")
    if isinstance(bounds, np.ndarray):
        # An array of (lower, upper) rows; lists of pairs with None are linprog's own to read.
        checked["bounds"] = check_array(bounds, "bounds", shape=(cost.shape[0], 2), allow_inf=True)
    return cost, checked


def solve_blocks(blocks: list[Block], *, options: dict | None = TIGHT_OPTIONS, deadline=None,
                 duals: bool = False) -> list:
    """Optimal x of every block (None where a block is infeasible or fails), one program if possible.

    ``duals``: return (x, marginals) per block instead, the marginals of its rows A_ub
    (d objective / d b_ub, <= 0 at a minimum), from which certificates are read.

    ``deadline`` (a ``models.deadline.Deadline``): the program gets the time left as its time
    limit; a block not solved by then is None (as one that fails: callers read None as "not
    decided", never as a proof of infeasibility, unless they ask again).
    """
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, (list, tuple)):
        raise ValueError(f"blocks: expected a list of Block, got {type(blocks).__name__}")
    for i, block in enumerate(blocks):
        check_instance(block, Block, f"blocks[{i}]")
    if not blocks:
        return []
    if deadline is not None:
        if deadline.expired():
            return [None] * len(blocks)
        remaining = deadline.remaining()
        options = dict(options or {}) if remaining is None else {**(options or {}), "time_limit": remaining}
    result = solve_lp(
        np.concatenate([b.cost for b in blocks]),
        A_ub=sp.block_diag([b.A_ub for b in blocks], format="csr"),
        b_ub=np.concatenate([b.b_ub for b in blocks]),
        bounds=np.column_stack([np.concatenate([b.lower for b in blocks]), np.concatenate([b.upper for b in blocks])]),
        options=options,
    )
    if result.status == OPTIMAL:
        sizes = np.cumsum([0] + [b.cost.shape[0] for b in blocks])
        xs = [result.x[a:b] for a, b in zip(sizes[:-1], sizes[1:])]
        if not duals:
            return xs
        rows = np.cumsum([0] + [b.b_ub.shape[0] for b in blocks])
        marginals = result.ineqlin.marginals
        return [(x, marginals[a:b]) for x, a, b in zip(xs, rows[:-1], rows[1:])]
    if len(blocks) == 1 or result.status == ITERATION_LIMIT:  # a time limit in the options: no time for more
        return [None] * len(blocks)
    # Some block is infeasible or troublesome: find it by solving the blocks one at a time.
    return [solve_blocks([b], options=options, deadline=deadline, duals=duals)[0] for b in blocks]


def chebyshev_center(G, g, radius_cap: float | None = None) -> tuple[np.ndarray | None, float]:
    """Largest ball in {z : G z <= g}: its centre (m,) and radius.

    Returns (None, -inf) when the polyhedron is empty. ``radius_cap`` bounds the
    radius, so that unbounded polyhedra have an answer.
    """
    G = check_array(G, "G", ndim=2)
    g = check_array(g, "g", shape=(G.shape[0],))
    if radius_cap is not None:
        radius_cap = check_real(radius_cap, "radius_cap", low=0.0, low_open=True)
    m = G.shape[1]
    if G.shape[0] == 0:
        return np.zeros(m), (math.inf if radius_cap is None else float(radius_cap))
    norms = np.linalg.norm(G, axis=1)
    cost = np.zeros(m + 1)
    cost[-1] = -1.0
    bounds = [(None, None)] * m + [(0.0, radius_cap)]
    result = solve_lp(cost, A_ub=np.hstack([G, norms[:, None]]), b_ub=g, bounds=bounds)
    if result.status == INFEASIBLE:
        return None, -math.inf
    if result.status == UNBOUNDED:
        return np.zeros(m), math.inf
    if result.status != OPTIMAL:
        raise RuntimeError(f"Chebyshev program failed: {result.message}")
    return result.x[:m], float(result.x[m])


def chebyshev_centers(polytopes: list[tuple[np.ndarray, np.ndarray]], radius_cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev centres (B, m) and radii (B,) of non-empty polytopes, one block-diagonal program per batch."""
    if isinstance(polytopes, (str, bytes)) or not isinstance(polytopes, (list, tuple)) or not polytopes:
        raise ValueError("polytopes: expected a non-empty list of (G, g) pairs")
    checked = []
    for i, pair in enumerate(polytopes):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"polytopes[{i}]: expected a pair (G, g), got {type(pair).__name__}")
        G = check_array(pair[0], f"polytopes[{i}]", ndim=2)
        checked.append((G, check_array(pair[1], f"polytopes[{i}]", shape=(G.shape[0],))))
        if G.shape[1] != checked[0][0].shape[1]:
            raise ValueError(f"polytopes[{i}]: expected {checked[0][0].shape[1]} columns like polytopes[0], got shape {G.shape}")
    polytopes = checked
    radius_cap = check_real(radius_cap, "radius_cap", low=0.0, low_open=True)
    m = polytopes[0][0].shape[1]
    centres, radii = [], []
    for start in range(0, len(polytopes), CHEBYSHEV_BATCH):
        chunk = polytopes[start:start + CHEBYSHEV_BATCH]
        blocks = [sp.csr_matrix(np.hstack([G, np.linalg.norm(G, axis=1)[:, None]])) for G, _ in chunk]
        cost = np.tile(np.r_[np.zeros(m), -1.0], len(chunk))
        bounds = np.tile(np.array([[-np.inf, np.inf]] * m + [[0.0, radius_cap]]), (len(chunk), 1))
        result = solve_lp(cost, A_ub=sp.block_diag(blocks, format="csr"), b_ub=np.concatenate([g for _, g in chunk]), bounds=bounds)
        if result.status != OPTIMAL:
            # A block the batch cannot handle (numerically empty): fall back to one program each.
            for G, g in chunk:
                centre, radius = chebyshev_center(G, g, radius_cap)
                centres.append(np.zeros(m) if centre is None else centre)
                radii.append(radius)
            continue
        x = result.x.reshape(len(chunk), m + 1)
        centres.extend(x[:, :m])
        radii.extend(x[:, m])
    return np.array(centres).reshape(-1, m), np.array(radii)
