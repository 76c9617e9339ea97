"""The evidence blocks shared by the counterexamples (see ``verify.counterexamples``).

Each returns a ``CheckResult`` that holds when the counterexample's claim holds: equal
laws (``same_law:*``), no affine relation (``no_affine_relation:*``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch

from models import GaussianMixture, LeakyReLUNetwork
from models.validation import DTYPE

from ..affine_fit import fit_affine
from ..check_result import CheckResult
from ..injectivity import check_injective, check_weakly_injective
from ..tolerances import EXACT_MAP_RTOL, GEOMETRY_ATOL, GRID_LOG_DENSITY_ATOL, NOT_AFFINE_RTOL, PRESERVE_ATOL
from ..two_sample import check_same_distribution
from .maps import QUAD_VERTICES, SQUARE_VERTICES, polygon_area, pushforward_density_1d


def grid_2d(low: float, high: float, k: int) -> torch.Tensor:
    """A k × k grid of [low, high]², shape (k², 2)."""
    axis = torch.linspace(low, high, k, dtype=DTYPE)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], dim=1)


def embedding_injective(network: LeakyReLUNetwork) -> CheckResult:
    """The embedding g is injective: every slope > 0 and every layer of full column rank (docs/theory.md's
    sufficient criterion), so g# is injective on laws and latents keep their relation."""
    result = check_injective(network, method="rank")
    return dataclasses.replace(result, name="embedding_injective")


def weak_injectivity(network: LeakyReLUNetwork) -> CheckResult:
    """``verify.injectivity.check_weakly_injective`` on the decoder."""
    return check_weakly_injective(network)


def same_density_1d(network: LeakyReLUNetwork, log_a: Callable, log_b: Callable, x: torch.Tensor) -> CheckResult:
    """The two pushforwards of densities ``log_a``, ``log_b`` of one input variable by ``network``
    agree at the image points ``x``: Σ over preimages of p(z) / ‖f'(z)‖, preimages found
    exactly from the network's pieces (``_ce_maps.pieces_1d``)."""
    density_a, counts = pushforward_density_1d(network, log_a, x)
    density_b, _ = pushforward_density_1d(network, log_b, x)
    gap = (density_a.log() - density_b.log()).abs()
    worst = int(gap.argmax())
    statistic = float(gap[worst])
    holds = statistic <= GRID_LOG_DENSITY_ATOL
    finite = counts[torch.isfinite(counts)]
    details = {"method": "exact pushforward density on a grid of the image", "n_points": x.shape[0],
               "preimages_min": float(finite.min()) if len(finite) else math.nan,
               "preimages_max": float(finite.max()) if len(finite) else math.nan,
               "density_range": (float(density_a.min()), float(density_a.max()))}
    return CheckResult("same_law:density", holds, statistic, GRID_LOG_DENSITY_ATOL, passes_when="<=", domain=f"{x.shape[0]} grid points of the image", method="exact 1-D pushforward densities", witness=None if holds else x[worst], details=details)


def linear_pushforward_log_density(prior: GaussianMixture, projection: LeakyReLUNetwork) -> Callable:
    """log density of y = W z + c (W of full row rank) for z ~ prior: Σ_j λ_j N(W μ_j + c, W Σ_j Wᵀ).

    Computed component by component, because the projected components may coincide
    (which ``GaussianMixture`` rejects).
    """
    (w,), (c,) = projection.weights, projection.biases
    means = prior.means @ w.T + c
    covariances = w @ prior.covariances @ w.T
    chol = torch.linalg.cholesky(covariances)
    log_weights = prior.weights.log()
    k = w.shape[0]

    def log_prob(y: torch.Tensor) -> torch.Tensor:
        diff = (y.unsqueeze(0) - means.unsqueeze(1)).transpose(1, 2)  # (J, k, N)
        white = torch.linalg.solve_triangular(chol, diff, upper=False)
        log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        terms = log_weights[:, None] - 0.5 * (k * math.log(2 * math.pi) + log_det[:, None] + white.square().sum(1))
        return torch.logsumexp(terms, dim=0)

    return log_prob


def two_sample(counterexample, n: int, seed: int) -> CheckResult:
    """Energy-distance permutation test on n draws of x from each model (``check_same_distribution``)."""
    x_a, x_b = counterexample.sample(n, seed)
    result = check_same_distribution(x_a, x_b, generator=seed)
    return dataclasses.replace(result, name="same_law:two_sample",
                               details={**result.details, "method": "energy distance, permutation p-value (statistic)"})


def different_components(j_a: int, j_b: int) -> CheckResult:
    """No invertible affine h has h#P = P' when J != J': h maps components to distinct components (Lemma A)."""
    holds = j_a != j_b
    return CheckResult("no_affine_relation:components", holds, float(abs(j_a - j_b)), 0.0, passes_when=">", domain="the two priors", method="counting components (Lemma A)",
                       witness={"J": j_a, "J'": j_b},
                       details={"reason": "an invertible affine map sends a J-component mixture to a J-component mixture"})


def _jacobian_determinants(phi: Callable, z: torch.Tensor) -> torch.Tensor:
    jac = torch.func.vmap(torch.func.jacrev(lambda p: phi(p.unsqueeze(0))[0]))(z)
    return torch.linalg.det(jac)


def prior_preserved(phi: Callable, phi_inverse: Callable, log_source: Callable, log_target: Callable, grid: torch.Tensor,
                    label: str) -> CheckResult:
    """φ pushes the source law to the target law: φ is a bijection and
    log p_target(φ(z)) + log|det Jφ(z)| = log p_source(z) at every grid point.

    The determinant comes from autograd (``torch.func.jacrev``); the bijection from
    round trips φ⁻¹(φ(z)) = z and φ(φ⁻¹(z)) = z.
    """
    image = phi(grid)
    log_det = _jacobian_determinants(phi, grid).abs().log()
    density_gap = (log_target(image) + log_det - log_source(grid)).abs()
    scale = grid.norm(dim=1) + 1.0
    round_trip = torch.maximum((phi_inverse(image) - grid).norm(dim=1), (phi(phi_inverse(grid)) - grid).norm(dim=1)) / scale
    errors = torch.maximum(density_gap, round_trip)
    worst = int(errors.argmax())
    statistic = float(errors[worst])
    holds = statistic <= PRESERVE_ATOL
    details = {"method": f"change of variables on a grid for {label}", "n_points": grid.shape[0],
               "density_gap": float(density_gap.max()), "round_trip_error": float(round_trip.max()),
               "log_abs_det_range": (float(log_det.min()), float(log_det.max()))}
    return CheckResult("same_law:prior_preserved", holds, statistic, PRESERVE_ATOL, passes_when="<=", domain=f"{grid.shape[0]} grid points", method=f"change of variables for {label}", witness=None if holds else grid[worst], details=details)


def latents_not_affine(z_from: torch.Tensor, z_to: torch.Tensor, relation: str) -> CheckResult:
    """The only relation between the latents (``relation``) is far from affine: the least-squares
    affine fit leaves a relative residual above ``NOT_AFFINE_RTOL``."""
    fit = fit_affine(z_from, z_to)
    residual = (z_to - fit.map(z_from)).norm(dim=1)
    holds = fit.relative_residual > NOT_AFFINE_RTOL
    witness = {"affine_fit": fit.map, "worst_point": z_from[int(residual.argmax())], "worst_residual": float(residual.max())}
    return CheckResult("no_affine_relation:latents", holds, fit.relative_residual, NOT_AFFINE_RTOL, passes_when=">", domain=f"{z_from.shape[0]} latent pairs", method="least-squares affine fit", witness=witness,
                       details={"relation": relation, "r2": fit.r2, "n": z_from.shape[0]})


def area_preserving_bijection(phi: LeakyReLUNetwork, matrix: torch.Tensor) -> CheckResult:
    """CE3: φ is affine with determinant 1 on both triangles of the square, maps the square's vertices
    to Q's, and keeps each triangle's orientation with the two images on opposite sides of the
    diagonal: so φ is a bijection of the square onto Q that preserves area, and φ#U(square) = U(Q)."""
    inside = torch.tensor([[2.0 / 3.0, 1.0 / 3.0], [1.0 / 3.0, 2.0 / 3.0]], dtype=DTYPE)  # below, above the diagonal
    pieces, _ = phi.local_affine(inside)
    det_error = float((torch.linalg.det(pieces) - 1.0).abs().max())
    piece_error = max(float((pieces[0] - matrix).abs().max()), float((pieces[1] - torch.eye(2, dtype=DTYPE)).abs().max()))
    vertex_error = float((phi(SQUARE_VERTICES) - QUAD_VERTICES).abs().max())
    area_error = abs(polygon_area(QUAD_VERTICES) - 1.0)
    # The free vertices of the two image triangles lie on opposite sides of the diagonal w1 = w2.
    sides = (QUAD_VERTICES[1, 0] - QUAD_VERTICES[1, 1], QUAD_VERTICES[3, 0] - QUAD_VERTICES[3, 1])
    opposite = float(sides[0]) * float(sides[1]) < 0
    statistic = max(det_error, piece_error, vertex_error, area_error)
    holds = statistic <= GEOMETRY_ATOL and opposite
    details = {"method": "exact: determinant 1 on each piece, vertices, orientation", "determinants": torch.linalg.det(pieces),
               "vertex_error": vertex_error, "area_Q": polygon_area(QUAD_VERTICES), "images_on_opposite_sides": opposite}
    witness = None if holds else {"determinants": torch.linalg.det(pieces), "pieces": pieces, "vertex_images": phi(SQUARE_VERTICES)}
    return CheckResult("same_law:area_preserving_bijection", holds, statistic, GEOMETRY_ATOL, passes_when="<=", domain="the square and its image", method="exact: pieces, determinants, vertices", witness=witness, details=details)


def not_a_parallelogram(vertices: torch.Tensor) -> CheckResult:
    """An affine map sends the square's support to a parallelogram, for which v0 + v2 = v1 + v3; Q is
    convex (all turns of one sign) and misses that by the statistic, so no affine h has h#U(square) = U(Q)."""
    defect = float((vertices[0] + vertices[2] - vertices[1] - vertices[3]).norm())
    edges = torch.roll(vertices, -1, 0) - vertices
    turns = edges[:, 0] * torch.roll(edges, -1, 0)[:, 1] - edges[:, 1] * torch.roll(edges, -1, 0)[:, 0]
    convex = bool((turns > 0).all())
    holds = defect > GEOMETRY_ATOL and convex
    return CheckResult("no_affine_relation:support", holds, defect, GEOMETRY_ATOL, passes_when=">", domain="the support", method="exact: vertices of the support", witness={"vertices": vertices},
                       details={"reason": "affine images of the square are parallelograms", "convex": convex, "turns": turns})


def decoder_mismatch_under_symmetries(decoder_a: Callable, decoder_b: Callable, grid: torch.Tensor) -> CheckResult:
    """CE4: the affine h with h#N(0, 1) = N(0, 1) are h = ±id; for each, f(z) != f'(h(z)) somewhere.

    Holds iff the smaller of the two largest mismatches exceeds ``EXACT_MAP_RTOL`` (relative to ‖f(z)‖ + 1).
    """
    x_a = decoder_a(grid)
    scale = x_a.norm(dim=1) + 1.0
    worst = {}
    for sign in (1.0, -1.0):
        error = (x_a - decoder_b(sign * grid)).norm(dim=1) / scale
        i = int(error.argmax())
        worst["h = id" if sign > 0 else "h = −id"] = {"z": grid[i], "relative_mismatch": float(error[i])}
    statistic = min(v["relative_mismatch"] for v in worst.values())
    holds = statistic > EXACT_MAP_RTOL
    return CheckResult("no_affine_relation:decoder", holds, statistic, EXACT_MAP_RTOL, passes_when=">", domain=f"{grid.shape[0]} grid points", method="every affine symmetry of the prior (h = ±id)", witness=worst,
                       details={"reason": "h#N(0, 1) = N(0, 1) forces h = ±id; f = f' ∘ h fails for both"})


def decoders_agree(decoder_a: Callable, decoder_b: Callable, support: torch.Tensor) -> CheckResult:
    """CE5: the decoders agree on the prior's support, so x = f(Z) = f'(Z) almost surely."""
    x_a, x_b = decoder_a(support), decoder_b(support)
    error = (x_a - x_b).norm(dim=1) / (x_a.norm(dim=1) + 1.0)
    worst = int(error.argmax())
    statistic = float(error[worst])
    holds = statistic <= EXACT_MAP_RTOL
    return CheckResult("same_law:decoders_agree_on_support", holds, statistic, EXACT_MAP_RTOL, passes_when="<=", domain=f"{support.shape[0]} points of the support", method="pointwise",
                       witness=None if holds else support[worst], details={"method": "f = f' pointwise on a grid of the support",
                                                                           "n_points": support.shape[0]})
