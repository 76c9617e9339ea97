"""``milp``: exact on a box, by a mixed-integer program with two copies of the network.

Big-M encodings (one binary per unstable unit and copy; bounds from back-substitution,
tightened by the linear relaxation, ``_bigm``), f(z1) = f(z2), and z1_k − z2_k at least
the separation tolerance for some k (m more binaries; one sign suffices, the problem is
symmetric under swapping the copies). Feasibility only: the solver stops at the first
collision and needs no optimality proof.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from models.regions import pattern_halfspaces

from ..check_result import CheckResult
from . import _bigm, _lp
from ._shared import Options, base_details, box_detail, evidence_details, verdict
from ._witness import collision_witness
from .tolerances import Frame, Tolerances

NAME = "injective/milp"
KIND = "exact"
NEEDS_BOX = True
SQUARE_ONLY = False
HOW = "exact: a mixed-integer program (two copies of the network, big-M)"
MILP_MAX_CUTS = 32
"""Spurious MILP optima (collisions within the solver's tolerance only) cut off per coordinate."""


def decide(frame: Frame, tol: Tolerances, options: Options | None = None) -> CheckResult:
    """On the frame's normalized network and box: every variable of the programs is of order 1,
    whatever the box's position and size (solver tolerances are absolute).

    One feasibility program: two copies with f(z1) = f(z2) and z1_k − z2_k >= the separation
    tolerance for some k. Infeasible: injective on the box (up to that separation). A solution
    is confirmed by the pair program of its two patterns and the exact check; one that is not
    (a collision within the solver's tolerance only) has its pattern pair cut off, at most
    ``MILP_MAX_CUTS`` times.
    """
    net, box = frame.unit, frame.box
    if box is None:
        raise ValueError("box: the MILP method needs a bounded box")
    deadline = (options or Options()).deadline
    low, high = box[0].numpy(), box[1].numpy()
    layers = _bigm.Layers.of(net)
    start = time.perf_counter()
    builder, first, second = _bigm.collision_program(layers, _bigm.relaxation_bounds(layers, low, high, deadline), low, high, tol.out)
    _bigm.separated(builder, first.z, second.z, tol.separation * tol.rho, low, high)
    details = {**base_details(frame, tol, "milp"), "binaries": len(first.binaries) + len(second.binaries) + net.in_dim,
               "programs": [], "excluded_pattern_pairs": 0}
    for _ in range(MILP_MAX_CUTS):
        deadline.check("the collision program")
        outcome = _bigm.find_separated(builder, deadline.remaining())
        details["programs"].append({"status": outcome.status, "seconds": outcome.seconds})
        if outcome.status == 2:
            details["seconds"] = time.perf_counter() - start
            certificate = {"criterion": "no z1, z2 in the box with f(z1) = f(z2) and z1 − z2 beyond the separation tolerance (MILP)",
                           "domain": box_detail(frame), "certificate": "numerical: the solver's infeasibility is not re-checked exactly"}
            return verdict(NAME, True, 0.0, tol, certificate, details, frame, HOW)
        if outcome.x is None:
            break
        z1, z2 = outcome.x[first.z], outcome.x[second.z]
        found = MilpPoint(float(np.max(z1 - z2)), outcome.x, z1, z2)
        failed = _witness(frame, tol, found, first, second, details)
        if failed is not None:
            return failed
        swapped = outcome.x.copy()
        swapped[first.binaries], swapped[second.binaries] = outcome.x[second.binaries], outcome.x[first.binaries]
        for x in (outcome.x, swapped):
            _bigm.exclude(builder, first.binaries + second.binaries, x)
        details["excluded_pattern_pairs"] += 1
    details["seconds"] = time.perf_counter() - start
    details["reason"] = "the program stopped before a verdict (time limit or too many spurious solutions)"
    return verdict(NAME, None, 0.0, tol, None, details, frame, HOW)


@dataclass(frozen=True)
class MilpPoint:
    """A solution of the collision program: the separation reached, the whole vector, both latents."""

    value: float
    x: np.ndarray
    z1: np.ndarray
    z2: np.ndarray


def _witness(frame, tol, outcome, first, second, details) -> CheckResult | None:
    """The MILP point, confirmed by the pairwise program of the two patterns its binaries fix and by
    the exact check; None when no verified collision comes of it."""
    net, box = frame.unit, frame.box
    pieces = tuple(_lp.Piece(*pattern_halfspaces(net, copy.pattern(outcome.x), box)) for copy in (first, second))
    found = _lp.largest_collision([pieces], _lp.Scales(tol.rho, tol.out), tol.separation, _lp.directions(net.in_dim)).witness
    u1, u2 = (found[1], found[2]) if found is not None else (outcome.z1, outcome.z2)
    evidence = collision_witness(frame, u1, u2, tol)
    if not evidence["verified"]:
        return None
    details = {**details, "criterion": "MILP collision", **evidence_details(evidence)}
    return verdict(NAME, False, outcome.value / tol.rho, tol, (evidence["z1"], evidence["z2"]), details, frame, HOW, verified=True)
