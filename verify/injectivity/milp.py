"""``milp``: exact on a box, by mixed-integer programs with two copies of the network.

Big-M encodings (one binary per unstable unit and copy; bounds tightened by the
linear relaxation, ``bigm``), f(z1) = f(z2), maximise z1_k − z2_k for k = 1..m (the
problem is symmetric under swapping the copies, so −(z1_k − z2_k) needs no program).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from models.deadline import Deadline, TimeLimitExceeded
from models.regions import pattern_halfspaces
from models.solver import chebyshev_center

from ..check_result import CheckResult
from . import _certificate, _lp, bigm
from ._shared import Options, base_details, box_detail, evidence_details, rank_deficient_witness, verdict
from ._witness import collision_witness
from .tolerances import Frame, Tolerances

NAME = "injective/milp"
KIND = "exact"
NEEDS_BOX = True
SQUARE_ONLY = False
HOW = "exact: mixed-integer programs (two copies of the network, big-M)"
CERTIFY_SECONDS = 60.0
"""Longest the exact region certificate of a MILP's "no collision" may take (within the check's time limit)."""

MILP_MAX_CUTS = 32
"""Spurious MILP optima (collisions within the solver's tolerance only) cut off per coordinate."""


def decide(frame: Frame, tol: Tolerances, options: Options | None = None) -> CheckResult:
    """On the frame's normalized network and box: every variable of the programs is of order 1,
    whatever the box's position and size (solver tolerances are absolute)."""
    net, box = frame.unit, frame.box
    if box is None:
        raise ValueError("box: the MILP method needs a bounded box")
    deadline = (options or Options()).deadline
    low, high = box[0].numpy(), box[1].numpy()
    layers = bigm.Layers.of(net)
    start = time.perf_counter()
    program = bigm.collision_program(layers, bigm.relaxation_bounds(layers, low, high, deadline), low, high, tol.out)
    details = {**base_details(frame, tol, "milp"), "binaries": len(program[1].binaries) + len(program[2].binaries),
               "programs": [], "excluded_pattern_pairs": 0}
    statistic, conclusive = 0.0, True
    for k in range(net.in_dim):
        value, solved, failed = _coordinate(frame, tol, program, k, deadline, details)
        if failed is not None:
            return failed
        conclusive &= solved
        statistic = max(statistic, value)
    details["seconds"] = time.perf_counter() - start
    if not conclusive:
        details["reason"] = "a program stopped before optimality (time limit or too many spurious optima)"
        return verdict(NAME, None, statistic, tol, None, details, frame, HOW)
    return _confirmed(frame, tol, statistic, details, deadline)


def _confirmed(frame: Frame, tol: Tolerances, statistic: float, details: dict, deadline) -> CheckResult:
    """The MILP's "no collision" as a verdict: a branch-and-bound tree is not re-checked in rationals,
    so "holds" needs the exact certificate of the region pairs (for a network with few regions, in
    at most ``CERTIFY_SECONDS``); else unknown."""
    remaining = deadline.remaining()
    try:
        exact = _certificate.certify(frame, Deadline(CERTIFY_SECONDS if remaining is None else max(min(remaining, CERTIFY_SECONDS), 1e-6)))
    except TimeLimitExceeded as stop:
        exact = _certificate.Certificate(False, reason=str(stop))
    if not exact.verified:
        details = {**details, "reason": "the MILP found no collision, but its optimality is not re-checked exactly and no "
                                        f"exact certificate was found ({exact.reason})"}
        return verdict(NAME, None, statistic, tol, None, details, frame, HOW)
    certificate = {"criterion": "max (z1_k − z2_k) subject to f(z1) = f(z2) is 0 for every k (MILP)", "domain": box_detail(frame),
                   "certificate": "exact: Farkas and dual certificates of the region pairs, re-solved in rationals",
                   "pairs_certified": exact.pairs}
    return verdict(NAME, True, statistic, tol, certificate, {**details, "exact_pairs": exact.pairs}, frame, HOW, verified=True)


def _coordinate(frame, tol, program, k, deadline, details):
    """max (z1_k − z2_k): (relative value, solved to optimality, failing result or None).

    An optimum that the pair program of its two patterns does not confirm lies within the
    solver's own tolerance only; both orders of that pattern pair are cut off and the
    program solved again, at most ``MILP_MAX_CUTS`` times.
    """
    net = frame.unit
    builder, first, second = program
    for _ in range(MILP_MAX_CUTS):
        deadline.check(f"the MILP of coordinate {k + 1} of {net.in_dim}")
        outcome = bigm.maximise_separation(builder, first.z, second.z, np.eye(net.in_dim)[k], deadline.remaining())
        details["programs"].append({"coordinate": k, "value": outcome.value, "status": outcome.status, "seconds": outcome.seconds})
        if outcome.x is None or outcome.value / tol.rho <= tol.separation:
            value = outcome.value / tol.rho if math.isfinite(outcome.value) else 0.0
            return max(value, 0.0), outcome.status in (0, 2), None
        failed = _witness(frame, tol, outcome, first, second, details)
        if failed is not None:
            return outcome.value / tol.rho, True, failed
        swapped = outcome.x.copy()
        swapped[first.binaries], swapped[second.binaries] = outcome.x[second.binaries], outcome.x[first.binaries]
        for x in (outcome.x, swapped):
            bigm.exclude(builder, first.binaries + second.binaries, x)
        details["excluded_pattern_pairs"] += 1
    return 0.0, False, None


def _witness(frame, tol, outcome, first, second, details) -> CheckResult | None:
    """The MILP point, confirmed by the pairwise program of two patterns and by the exact check;
    None when no verified collision comes of it.

    The patterns tried: those the binaries fix, then those of a forward pass at the MILP's two
    latents. They differ at a unit whose pre-activation is within the solver's tolerance of 0
    (a bias of 1e-62, a point on a kink), where the binaries' pattern may have an empty region.
    """
    net, box = frame.unit, frame.box
    z1, z2 = torch.as_tensor(outcome.z1), torch.as_tensor(outcome.z2)
    seen = [(first.pattern(outcome.x), second.pattern(outcome.x)),
            tuple(net.activation_pattern(z).numpy().astype(bool) for z in (z1, z2))]
    candidates, pieces = [], []
    for patterns in seen:
        pair = tuple(_lp.Piece(*pattern_halfspaces(net, pattern, box)) for pattern in patterns)
        pieces.extend(pair)
        found = _lp.largest_collision([pair], _lp.Scales(tol.rho, tol.out), tol.separation, _lp.directions(net.in_dim)).witness
        if found is not None:
            candidates.append((found[1], found[2]))
    for u1, u2 in [*candidates, (outcome.z1, outcome.z2)]:
        evidence = collision_witness(frame, u1, u2, tol)
        if evidence["verified"]:
            details = {**details, "criterion": "MILP collision", **evidence_details(evidence)}
            return verdict(NAME, False, outcome.value / tol.rho, tol, (evidence["z1"], evidence["z2"]), details, frame, HOW,
                           verified=True)
    # A piece that collapses a direction only by 1e-300 (no float pair shows it): its exact null
    # space, along a chord through the centre of its region (the program's points sit on faces).
    centres = [chebyshev_center(piece.G, piece.g)[0] for piece in pieces]
    kept = [i for i, centre in enumerate(centres) if centre is not None]
    patterns = [p for pair in seen for p in pair]
    return rank_deficient_witness(frame, [pieces[i] for i in kept], [centres[i] for i in kept], [patterns[i] for i in kept],
                                  tol, NAME, details, HOW)
