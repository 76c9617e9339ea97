"""``search``: sampling, then the pairwise programs on the region pairs nearest to a collision.

It can only refute: a verified collision makes the verdict "fails"; finding none
leaves it unknown (a sampled check never says "holds" for a claim about all z).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from models.regions import box_scale, pattern_halfspaces
from models.solver import chebyshev_center
from models.validation import DTYPE

from ..check_result import CheckResult
from . import _lp
from ._shared import Options, base_details, collision_verdict, evidence_details, rank_deficient_witness, verdict
from ._witness import collision_witness
from .tolerances import Frame, Tolerances

NAME = "injective/search"
KIND = "refutes"  # only a "fails" is a verdict
NEEDS_BOX = False
SQUARE_ONLY = False
HOW = "sampled: random points, then pairwise programs on the region pairs they suggest (can only refute)"


def decide(frame: Frame, tol: Tolerances, options: Options | None = None) -> CheckResult:
    options = options or Options()
    net, box = frame.unit, frame.box
    generator = options.generator if options.generator is not None else torch.Generator().manual_seed(0)
    start = time.perf_counter()
    z = _sample(net, box, options.n_samples, generator)
    patterns, labels = _unique_rows(net.activation_pattern(z))
    details = {**base_details(frame, tol, "search"), "samples": options.n_samples, "patterns_seen": int(patterns.shape[0])}
    failed = _sampled_rank_deficiency(frame, tol, z, patterns, labels, details)
    if failed is not None:
        return failed
    options.deadline.check(f"the search ({options.n_samples} samples drawn, {int(patterns.shape[0])} patterns)")
    pairs = _neighbour_pairs(z.numpy(), net(z).numpy(), labels.numpy(), 8, options.max_pairs)
    pieces = {}
    for label in sorted({label for pair in pairs for label in pair}):
        options.deadline.check(f"the search (pieces of the {len(pairs)} region pairs the samples suggest)")
        pieces[label] = _lp.Piece(*pattern_halfspaces(net, patterns[label], box))
    scales = _lp.Scales(tol.rho, tol.out)
    search = _lp.largest_collision([(pieces[a], pieces[b]) for a, b in pairs], scales, tol.separation, _lp.directions(net.in_dim),
                                   deadline=options.deadline)
    statistic, found = search.statistic, search.witness
    details.update(pairs=len(pairs), touching_pairs=search.touching, seconds=time.perf_counter() - start)
    if found is not None:
        evidence = collision_witness(frame, found[1], found[2], tol)
        if evidence["verified"]:
            return collision_verdict(NAME, statistic, tol, evidence, {**details, "criterion": "collision found by search"}, frame, HOW)
        details["unverified_candidate"] = evidence_details(evidence)
    details["reason"] = "no collision found (search can only refute)"
    return verdict(NAME, None, statistic, tol, None, details, frame, HOW)


def _sample(net, box, n_samples: int, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(n_samples, net.in_dim, generator=generator, dtype=DTYPE)
    if box is None:
        return (2 * u - 1) * 2 * box_scale(net, None)
    return box[0] + u * (box[1] - box[0])


def _neighbour_pairs(z: np.ndarray, fz: np.ndarray, labels: np.ndarray, k: int, max_pairs: int) -> list[tuple[int, int]]:
    """Region pairs (by label) that sampled points suggest: near in the output (collision-like)
    first, ranked by ‖f(a) − f(b)‖ / ‖a − b‖, then near in the input (folds between neighbours)."""
    k = min(k + 1, len(z))
    scored = {}
    for points, weight in ((fz, 0.0), (z, 1.0)):
        _, idx = cKDTree(points).query(points, k=k)
        a = np.repeat(np.arange(len(z)), k - 1)
        b = idx[:, 1:].reshape(-1)
        keep = labels[a] != labels[b]
        a, b = a[keep], b[keep]
        ratio = np.linalg.norm(fz[a] - fz[b], axis=1) / np.maximum(np.linalg.norm(z[a] - z[b], axis=1), 1e-300) + weight * 1e6
        for la, lb, r in zip(labels[a], labels[b], ratio):
            key = (min(la, lb), max(la, lb))
            scored[key] = min(scored.get(key, math.inf), r)
    return sorted(scored, key=scored.get)[:max_pairs]


def _unique_rows(pattern: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct patterns and each row's label (a network without hidden units has one empty pattern)."""
    padded = torch.cat([pattern, torch.ones(pattern.shape[0], 1, dtype=torch.bool)], dim=1)
    unique, labels = torch.unique(padded, dim=0, return_inverse=True)
    return unique[:, :-1], labels


def _sampled_rank_deficiency(frame, tol, z, patterns, labels, details) -> CheckResult | None:
    """A witness from an exactly rank-deficient full-dimensional region met by the samples, or None."""
    net, box = frame.unit, frame.box
    first = torch.full((patterns.shape[0],), len(labels), dtype=torch.long).scatter_reduce(
        0, labels, torch.arange(len(labels)), reduce="amin")
    A, _ = net.local_affine(z[first])
    if A.shape[1] >= A.shape[2]:
        deficient = torch.nonzero(torch.linalg.svdvals(A)[:, -1] <= tol.rank).flatten().tolist()
    else:
        deficient = list(range(patterns.shape[0]))
    for label in deficient:
        piece = _lp.Piece(*pattern_halfspaces(net, patterns[label], box))
        centre, radius = chebyshev_center(piece.G, piece.g, box_scale(net, box))
        if centre is not None and radius > tol.radius:
            failed = rank_deficient_witness(frame, [piece], [centre], [patterns[label]], tol, NAME, details, HOW)
            if failed is not None:
                return failed
    return None
