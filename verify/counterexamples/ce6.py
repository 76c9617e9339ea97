"""CE6: limits of mixtures. The uniform law of CE3 is a weak limit of finite
Gaussian mixtures, so the non-identifiability of CE3 is approached by identifiable models:
identifiability is not uniform in the number of components J.

P_k has k² equal components N(c_ij, (0.4 / k)² I) at the centres of a k × k grid of the
unit square; Q_k pushes each component through the affine piece of CE3's φ at its centre
(Lemma A), so Q_k is again a mixture. The models A_k = (id, P_k) and B_k = (φ⁻¹, Q_k) have
laws of x that merge as k grows, while the only relation between their latents stays φ,
far from affine. Everything is computed from closed forms or by quadrature on a grid, at
frequencies fixed in advance.
"""

from __future__ import annotations

import math

import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE

from ..affine_fit import fit_affine
from ..check_result import CheckResult
from ..tolerances import NOT_AFFINE_RTOL
from .entry import Counterexample, where
from .maps import CE3_L, ce3_phi_inverse_network, ce3_phi_network, compose_networks, identity_network

SPREAD = 0.4
# Frequencies of the weak metric sup_t |φ_1(t) − φ_2(t)| over a fixed set (|t| <= 2π).
FREQUENCY_GRID = (-2 * math.pi, -math.pi, -math.pi / 2, 0.0, math.pi / 2, math.pi, 2 * math.pi)
# Quadrature grid (spacing 0.025): covers every component to 5 standard deviations for k >= 1, and
# reproduces the closed-form c.f. of P_k to 1e-13 for k <= 8.
QUADRATURE = (-2.5, 3.5, 241)
# The merge is shown when the distance falls by this factor from the first k to the last.
REQUIRED_FALL = 4.0


def grid_mixture(k: int) -> GaussianMixture:
    """P_k: k² equal components at the cell centres of the unit square, standard deviation 0.4 / k."""
    centres = (torch.arange(k, dtype=DTYPE) + 0.5) / k
    a, b = torch.meshgrid(centres, centres, indexing="ij")
    means = torch.stack([a.flatten(), b.flatten()], dim=1)
    covariances = (SPREAD / k) ** 2 * torch.eye(2, dtype=DTYPE).expand(k * k, 2, 2).clone()
    return GaussianMixture(torch.full((k * k,), 1.0 / (k * k), dtype=DTYPE), means, covariances)


def pushed_mixture(mixture: GaussianMixture) -> GaussianMixture:
    """Each component pushed through φ's affine piece at its mean: L below the diagonal (z2 <= z1), I above."""
    below = mixture.means[:, 1] <= mixture.means[:, 0]
    pieces = torch.where(below[:, None, None], CE3_L, torch.eye(2, dtype=DTYPE))
    means = torch.einsum("jab,jb->ja", pieces, mixture.means)
    covariances = pieces @ mixture.covariances @ pieces.transpose(1, 2)
    return GaussianMixture(mixture.weights, means, 0.5 * (covariances + covariances.transpose(1, 2)))


def _frequencies(dim: int) -> torch.Tensor:
    """A fixed set of frequencies in R^dim: the grid in the first two coordinates, plus the axes."""
    values = torch.tensor(FREQUENCY_GRID, dtype=DTYPE)
    a, b = torch.meshgrid(values, values, indexing="ij")
    t = torch.zeros(a.numel(), dim, dtype=DTYPE)
    t[:, 0], t[:, 1 % dim] = a.flatten(), b.flatten()
    return t


def _uniform_cf(t: torch.Tensor) -> torch.Tensor:
    """Characteristic function of U([0, 1]²) at t (N, 2): Π (e^{i t_d} − 1) / (i t_d)."""
    out = torch.ones(t.shape[0], dtype=torch.complex128)
    for d in range(2):
        s = t[:, d].to(torch.complex128)
        safe = torch.where(s == 0, torch.ones_like(s), s)
        out = out * torch.where(s == 0, torch.ones_like(s), (torch.exp(1j * safe) - 1) / (1j * safe))
    return out


def _mixture_cf(mixture: GaussianMixture, t: torch.Tensor) -> torch.Tensor:
    """Σ_j λ_j exp(i t·μ_j − tᵀ Σ_j t / 2), closed form."""
    phase = t @ mixture.means.T  # (K, J)
    quadratic = torch.einsum("ka,jab,kb->kj", t, mixture.covariances, t)
    return (mixture.weights * torch.exp(1j * phase.to(torch.complex128) - 0.5 * quadratic)).sum(1)


def _quadrature_cf(mixture: GaussianMixture, decoder, t: torch.Tensor) -> torch.Tensor:
    """E exp(i t·decoder(W)), W ~ mixture, by the midpoint rule on the quadrature grid."""
    low, high, n = QUADRATURE
    axis = torch.linspace(low, high, n, dtype=DTYPE)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    w = torch.stack([a.flatten(), b.flatten()], dim=1)
    cell = ((high - low) / (n - 1)) ** 2
    density = mixture.log_prob(w).exp() * cell
    x = decoder(w)
    return (density.to(torch.complex128) * torch.exp(1j * (x @ t.T).to(torch.complex128)).T).sum(1) / density.sum()


def weak_limit_evidence(ks, embedding: LeakyReLUNetwork | None, n: int, seed: int) -> list[CheckResult]:
    """The three figures of CE6 for k in ``ks`` (increasing)."""
    ks = list(ks)
    f = embedding if embedding is not None else (lambda z: z)
    phi = ce3_phi_network()
    phi_inverse = ce3_phi_inverse_network()
    t2 = _frequencies(2)
    t = _frequencies(f(torch.zeros(1, 2, dtype=DTYPE)).shape[1])
    to_uniform, merge, residuals = [], [], []
    for k in ks:
        p, q = grid_mixture(k), pushed_mixture(grid_mixture(k))
        to_uniform.append(float((_mixture_cf(p, t2) - _uniform_cf(t2)).abs().max()))
        cf_a = _quadrature_cf(p, f, t)
        cf_b = _quadrature_cf(q, lambda w: f(phi_inverse(w)), t)
        merge.append(float((cf_a - cf_b).abs().max()))
        z = p.sample(n, seed)
        residuals.append(fit_affine(z, phi(z)).relative_residual)
    results = []
    for name, values, what in (("weak_limit:mixtures_to_uniform", to_uniform, "sup_t |φ_Pk(t) − φ_U(t)| (closed form)"),
                               ("weak_limit:laws_of_x_merge", merge, "sup_t |φ_xA(t) − φ_xB(t)| (quadrature)")):
        decreasing = all(b < a for a, b in zip(values, values[1:]))
        holds = decreasing and values[-1] * REQUIRED_FALL <= values[0]
        results.append(CheckResult(name, holds, values[-1], values[0] / REQUIRED_FALL, passes_when="<=", domain=f"k in {ks}", method=what, witness={"k": ks, "distance": values},
                                   details={"metric": what, "decreasing": decreasing, "frequencies": len(FREQUENCY_GRID) ** 2}))
    smallest = min(residuals)
    results.append(CheckResult("no_affine_relation:latents", smallest > NOT_AFFINE_RTOL, smallest, NOT_AFFINE_RTOL, passes_when=">", domain=f"{n} samples at each k", method="least-squares affine fit",
                               witness={"k": ks, "relative_residual": residuals},
                               details={"relation": "z' = φ(z) at every k", "n": n}))
    return results


CE6_KS = (1, 2, 4, 8)


def build(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE6: U([0, 1]²) is a weak limit of mixtures P_k (k² components); with Q_k = P_k pushed
    through φ's pieces, (f, P_k) and (f ∘ φ⁻¹, Q_k) have laws of x that merge as k grows while
    their latents stay related by φ. The models are those of the largest k.

    This entry documents a limit, not a dropped assumption: its evidence is the two falling
    distances and the constant affine-fit residual (no ``dropped:`` check).
    """
    f = embedding if embedding is not None else identity_network(2)
    k = CE6_KS[-1]
    prior_a = grid_mixture(k)
    return Counterexample(
        "CE6", "uniformity in J (a weak limit of mixtures)",
        f"P_k = k² components N(cell centre, (0.4 / k)² I) on the unit square with f, against Q_k (each component through "
        f"φ's piece) with f ∘ φ⁻¹; models shown at k = {k}" + where(embedding),
        GenerativeModel(f, prior_a), GenerativeModel(compose_networks(f, ce3_phi_inverse_network()), pushed_mixture(prior_a)),
        embedding=embedding, build=build, evidence=evidence, parts={"base_out": 2},
    )


def evidence(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    return weak_limit_evidence(CE6_KS, ce.embedding, n, seed)
