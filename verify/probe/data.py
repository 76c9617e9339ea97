"""Samples of generating models for the probe: every assumption holds, or one is dropped.

- ``probe_data`` and ``bent_mixture_model``: the flow probe's square, noise-free models;
- ``ground_truth`` (``GroundTruth``): the experiments' noisy models R^m -> R^n, with their
  likelihoods estimated by importance sampling;
- ``load_samples``: a user's observations and latents from ``.npy`` files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork
from models.random import random_orthogonal
from models.validation import (
    DTYPE,
    MAX_DIM,
    check_choice,
    check_generator,
    check_int,
    check_real,
    check_seed,
    check_tensor,
    check_text,
)

from ..counterexamples.ce2b import CE2B_PRIOR
from ..counterexamples.entry import mixture
from ..counterexamples.maps import (
    QUAD_VERTICES,
    GaussianizingMap,
    ce3_phi_inverse_network,
    ce3_phi_network,
    swirl,
    uniform_polygon_log_prob,
    uniform_polygon_sampler,
)

DROPS = ("none", "piecewise_affine", "piecewise_affine_1d", "gaussian_mixture_prior")


@dataclass(frozen=True)
class ProbeData:
    """Samples of a generating model and what the probe should fit to them.

    Attributes
    ----------
    x, z : Tensor
        Observations and the latents that generated them, row for row.
    latent_dim, n_components : int
        m and the J to fit.
    description : str
    expected_affine : bool
        True when every assumption holds (the refit should be affine in z).
    """

    x: torch.Tensor
    z: torch.Tensor
    latent_dim: int
    n_components: int
    description: str
    expected_affine: bool


def bent_mixture_model(dim: int) -> GenerativeModel:
    """A model meeting every assumption whose kinks the likelihood pins down at a few thousand samples.

    Each kink of the decoder's hidden layer runs through the centre of a prior component
    and bends it with slope 1/4, so no affine decoder fits as well; where a kink crosses
    little mass the likelihood is nearly flat in it and refits need far more data. 1-D:
    0.5 N(−2, 0.5) + 0.5 N(1, 1), kink at z = 1. 2-D: three components, kinks through
    (2, 0.5) and (0, 2).
    """
    dim = check_int(dim, "dim", maximum=2)
    if dim == 1:
        prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=DTYPE), torch.tensor([[-2.0], [1.0]], dtype=DTYPE),
                                torch.tensor([[[0.5]], [[1.0]]], dtype=DTYPE))
        decoder = LeakyReLUNetwork([torch.tensor([[-1.5]], dtype=DTYPE), torch.tensor([[0.8]], dtype=DTYPE)],
                                   [torch.tensor([1.5], dtype=DTYPE), torch.tensor([0.3], dtype=DTYPE)], 0.25)
        return GenerativeModel(decoder, prior)
    if dim == 2:
        prior = GaussianMixture(torch.tensor([0.3, 0.3, 0.4], dtype=DTYPE),
                                torch.tensor([[-2.0, 0.0], [2.0, 0.5], [0.0, 2.0]], dtype=DTYPE),
                                torch.stack([0.4 * torch.eye(2, dtype=DTYPE), torch.tensor([[0.5, 0.2], [0.2, 0.4]], dtype=DTYPE),
                                             torch.diag(torch.tensor([0.6, 0.3], dtype=DTYPE))]))
        c, s = math.cos(0.5), math.sin(0.5)
        first = torch.tensor([[c, -s], [s, c]], dtype=DTYPE)
        through = torch.tensor([[2.0, 0.5], [0.0, 2.0]], dtype=DTYPE)
        bias = -(first * through).sum(1)
        decoder = LeakyReLUNetwork([first, torch.tensor([[1.0, 0.3], [-0.2, 1.0]], dtype=DTYPE)], [bias, torch.zeros(2, dtype=DTYPE)], 0.25)
        return GenerativeModel(decoder, prior)
    raise ValueError(f"dim: expected 1 or 2, got {dim!r}")


def probe_data(drop: str = "none", n: int = 2000, seed: int = 0) -> ProbeData:
    """Samples of a generating model for ``python -m verify probe``.

    ``drop``:
    ``"none"`` — ``bent_mixture_model(1)``: every assumption holds (1-D, where the
    search reliably reaches the maximum likelihood; see ``fit_flow`` for 2-D);
    ``"piecewise_affine"`` — CE2a: z ~ N(0, I_2), x = φ⁻¹(z), φ the rotation by |z|²;
    ``"piecewise_affine_1d"`` — CE2b: u ~ N(0, 1), x = T⁻¹(u), T = Φ⁻¹ ∘ F_P;
    ``"gaussian_mixture_prior"`` — CE3: z ~ U(Q), x = φ⁻¹(z).
    """
    check_choice(drop, DROPS, "drop")
    n = check_int(n, "n", minimum=10)
    gen = torch.Generator().manual_seed(check_seed(seed))
    if drop == "none":
        z, x = bent_mixture_model(1).sample(n, gen)
        return ProbeData(x, z, 1, 2, "1-D mixture (J = 2) through a square leaky-ReLU decoder: every assumption holds", True)
    if drop == "piecewise_affine":
        z = torch.randn(n, 2, generator=gen, dtype=DTYPE)
        return ProbeData(swirl(z, -1.0), z, 2, 1, "CE2a: z ~ N(0, I_2), x = φ⁻¹(z), φ the rotation by |z|² (not piecewise affine)",
                         False)
    if drop == "piecewise_affine_1d":
        transform = GaussianizingMap(mixture(**CE2B_PRIOR))
        u = torch.randn(n, 1, generator=gen, dtype=DTYPE)
        return ProbeData(transform.inverse(u), u, 1, 2, "CE2b: u ~ N(0, 1), x = T⁻¹(u), T = Φ⁻¹ ∘ F_P (not piecewise affine)", False)
    if drop == "gaussian_mixture_prior":
        z = uniform_polygon_sampler(QUAD_VERTICES)(n, gen)
        return ProbeData(ce3_phi_inverse_network()(z), z, 2, 2, "CE3: z ~ U(Q), x = φ⁻¹(z) (prior not a Gaussian mixture)", False)
    raise ValueError(f"drop: expected one of {', '.join(DROPS)}, got {drop!r}")


# ---------------------------------------------------------------------------- ground truths of the experiments
TRUTHS = ("all_hold", "smooth", "fold", "uniform", "laplace", "degenerate", "discontinuous")
"""The generating models of ``verify.probe.experiments``: every assumption holds, or one is dropped."""

BASES = ("gaussian", "uniform", "laplace")
# Each component is z = μ_c + L_c u with u of independent unit-variance coordinates from one of BASES.
SEPARATION = 6.0
"""Distance between component means (the covariances' eigenvalues lie in [0.5, 1.5])."""
BEND_SLOPE = 0.25
"""Slope of the ground truths' leaky ReLUs: each kink bends a component by a factor 4."""
NOISE_FRACTION = 0.03
"""Default observation noise σ, as a fraction of the RMS spread of the noise-free observations."""
SMOOTH_TEMPERATURE = 1.0
"""τ of the smooth decoder's activation s t + (1 − s) τ softplus(t / τ) (latent units)."""
JUMP = 1.0
"""Length of the discontinuous decoder's shift across its hyperplane (latent units)."""
PROPOSAL_SCALES = (1.25, 3.0, 9.0)
PROPOSAL_WEIGHTS = (0.5, 0.3, 0.2)
"""The likelihood's importance proposal: a mixture of the linearised posterior widened by each scale,
with these weights. Near a kink the posterior has pieces of different widths (the slopes differ
by 4 per layer); the wide components keep the importance weights bounded there."""


@dataclass(frozen=True)
class GroundTruth:
    """A generating model of the experiments: z from a mixture of J components z = μ_c + L_c u,
    x = f(z) + ε with ε ~ N(0, σ² I).

    Attributes
    ----------
    name : str
        One of ``TRUTHS``.
    description : str
    decoder : callable
        f: (N, m) -> (N, n), written in torch operations (differentiable almost everywhere).
    weights, means : Tensor
        (J,), (J, m).
    factors : tuple of Tensor
        L_c of shape (m, r_c); r_c < m makes component c degenerate.
    base : str
        The law of u's coordinates: one of ``BASES`` (each with mean 0 and variance 1).
    noise_scale : float
        σ > 0.
    assumptions_hold : bool
        Whether every assumption of T1/T2 holds (then the refit should be affine in z).
    dropped : str or None
        The assumption dropped, in words.
    network : LeakyReLUNetwork or None
        The decoder as a network, where it is one.
    preimages : callable or None
        z -> list of the other points with the same f(z) (a non-injective decoder).
    """

    name: str
    description: str
    decoder: object
    weights: torch.Tensor
    means: torch.Tensor
    factors: tuple
    base: str
    noise_scale: float
    assumptions_hold: bool
    dropped: str | None = None
    network: LeakyReLUNetwork | None = None
    preimages: object = None

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    @property
    def observed_dim(self) -> int:
        return int(self.decoder(self.means[:1]).shape[1])

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator=None, *, return_labels: bool = False):
        """(z, x), or (z, x, labels): n latents, their observations and their components."""
        n = check_int(n, "n", minimum=1)
        gen = check_generator(generator)
        labels = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        z = self.means[labels].clone()
        for c, factor in enumerate(self.factors):
            rows = labels == c
            u = _base_sample(self.base, int(rows.sum()), factor.shape[1], gen)
            z[rows] += u @ factor.T
        clean = self.decoder(z)
        x = clean + self.noise_scale * torch.randn(clean.shape, generator=gen, dtype=DTYPE)
        return (z, x, labels) if return_labels else (z, x)

    def generative_model(self) -> GenerativeModel | None:
        """The truth as a ``models.GenerativeModel``, when its prior is a nondegenerate Gaussian
        mixture and its decoder a leaky-ReLU network (else None)."""
        if self.network is None or self.base != "gaussian" or any(f.shape[1] < self.latent_dim for f in self.factors):
            return None
        covariances = torch.stack([f @ f.T for f in self.factors])
        return GenerativeModel(self.network, GaussianMixture(self.weights, self.means, covariances), self.noise_scale)

    def log_likelihood(self, x, z, *, samples: int = 64, generator=None) -> torch.Tensor:
        """Importance-sampling estimates of log p(x) per row, given the latents z that generated x.

        For each component c, log ∫ p(u) N(x; f(μ_c + L_c u), σ² I) du is estimated with a
        Gaussian-mixture proposal in u: the posterior of f linearised at the Gauss–Newton
        projection of x from z (and from each other preimage of f(z)), widened by each of
        ``PROPOSAL_SCALES``. The estimate is unbiased for p(x), so its log is a
        lower bound in expectation, tight as ``samples`` grows. z only places the proposal.
        """
        x = check_tensor(x, "x", dtype=DTYPE, shape=(None, self.observed_dim))
        z = check_tensor(z, "z", dtype=DTYPE, shape=(x.shape[0], self.latent_dim))
        samples = check_int(samples, "samples")
        gen = check_generator(generator)
        centres = [z] + (list(self.preimages(z)) if self.preimages is not None else [])
        linearised = [_gauss_newton(self.decoder, x, centre) for centre in centres]
        per_component = []
        for c, factor in enumerate(self.factors):
            per_component.append(math.log(float(self.weights[c])) +
                                 self._component_log_likelihood(x, c, factor, linearised, samples, gen))
        return torch.logsumexp(torch.stack(per_component), 0)

    def _component_log_likelihood(self, x, c, factor, linearised, samples, gen) -> torch.Tensor:
        sigma2 = self.noise_scale**2
        n_rows, r = x.shape[0], factor.shape[1]
        means, chols = [], []
        for point, jacobian, value in linearised:
            b = jacobian @ factor  # (N, n, r)
            offset = value + (jacobian @ (self.means[c] - point).unsqueeze(-1)).squeeze(-1)
            precision = b.mT @ b / sigma2
            precision = precision + torch.eye(r, dtype=DTYPE) * (1.0 if self.base == "gaussian" else 1e-9)
            chol_p = torch.linalg.cholesky(precision)
            rhs = (b.mT @ (x - offset).unsqueeze(-1)).squeeze(-1) / sigma2
            centre = torch.cholesky_solve(rhs.unsqueeze(-1), chol_p).squeeze(-1)
            if self.base == "uniform":  # keep the proposal's centre in the support (half its draws land there)
                centre = centre.clamp(-math.sqrt(3.0), math.sqrt(3.0))
            means.append(centre)
            chols.append(torch.linalg.cholesky(torch.cholesky_inverse(chol_p)))
        # Stratified draws from the mixture over (preimage, scale); weights use the whole mixture's density.
        components = [(mu, scale * chol, weight / len(means)) for mu, chol in zip(means, chols)
                      for scale, weight in zip(PROPOSAL_SCALES, PROPOSAL_WEIGHTS)]
        draws = [mu + (chol @ torch.randn(max(1, round(samples * weight)), n_rows, r, 1, generator=gen, dtype=DTYPE)).squeeze(-1)
                 for mu, chol, weight in components]
        u = torch.cat(draws)  # (K, N, r)
        log_q = torch.logsumexp(torch.stack([math.log(weight) + _gaussian_log_density(u, mu, chol)
                                             for mu, chol, weight in components]), 0)
        latents = self.means[c] + u @ factor.T
        clean = self.decoder(latents.reshape(-1, self.latent_dim)).reshape(u.shape[0], n_rows, -1)
        log_noise = (-0.5 * (x - clean).square().sum(-1) / sigma2
                     - x.shape[1] * (0.5 * math.log(2 * math.pi * sigma2)))
        log_w = _base_log_density(self.base, u) + log_noise - log_q
        return torch.logsumexp(log_w, 0) - math.log(u.shape[0])


def _base_sample(base: str, n: int, r: int, gen) -> torch.Tensor:
    if base == "gaussian":
        return torch.randn(n, r, generator=gen, dtype=DTYPE)
    if base == "uniform":
        return math.sqrt(3.0) * (2 * torch.rand(n, r, generator=gen, dtype=DTYPE) - 1)
    # Laplace with scale 1/√2 (variance 1): the difference of two exponentials.
    e = -torch.log(torch.rand(2, n, r, generator=gen, dtype=DTYPE))
    return (e[0] - e[1]) / math.sqrt(2.0)


def _base_log_density(base: str, u: torch.Tensor) -> torch.Tensor:
    r = u.shape[-1]
    if base == "gaussian":
        return -0.5 * (u.square().sum(-1) + r * math.log(2 * math.pi))
    if base == "uniform":
        inside = (u.abs() <= math.sqrt(3.0)).all(-1)
        return torch.where(inside, -r * math.log(2 * math.sqrt(3.0)), -math.inf)
    return -math.sqrt(2.0) * u.abs().sum(-1) - r * 0.5 * math.log(2.0)


def _gaussian_log_density(u, mean, chol) -> torch.Tensor:
    """log N(u; mean, chol cholᵀ) for u (K, N, r), mean (N, r), chol (N, r, r)."""
    diff = (u - mean).unsqueeze(-1)
    white = torch.linalg.solve_triangular(chol.expand(u.shape[0], *chol.shape), diff, upper=False).squeeze(-1)
    log_det = torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return -0.5 * white.square().sum(-1) - log_det - 0.5 * u.shape[-1] * math.log(2 * math.pi)


def _jacobian(decoder, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(z) and its Jacobian (N, n, m) by reverse mode, one output coordinate at a time."""
    with torch.enable_grad():
        point = z.detach().clone().requires_grad_()
        value = decoder(point)
        rows = [torch.autograd.grad(value[:, i].sum(), point, retain_graph=True)[0] for i in range(value.shape[1])]
    return value.detach(), torch.stack(rows, 1)


def _gauss_newton(decoder, x, z, steps: int = 3):
    """(z*, Jacobian at z*, f(z*)): ``steps`` Gauss–Newton steps on ‖x − f(z)‖² from z, each row's
    step kept only where it lowers that row's residual (a step across a kink or a tear can overshoot)."""
    value, jacobian = _jacobian(decoder, z)
    residual = (x - value).square().sum(1)
    for _ in range(steps):
        trial = z + torch.linalg.lstsq(jacobian, (x - value).unsqueeze(-1)).solution.squeeze(-1)
        trial_value, trial_jacobian = _jacobian(decoder, trial)
        trial_residual = (x - trial_value).square().sum(1)
        better = trial_residual < residual
        z = torch.where(better.unsqueeze(1), trial, z)
        value = torch.where(better.unsqueeze(1), trial_value, value)
        jacobian = torch.where(better.view(-1, 1, 1), trial_jacobian, jacobian)
        residual = torch.minimum(trial_residual, residual)
    return z, jacobian, value


def separated_mixture(dim: int, n_components: int, generator, separation: float = SEPARATION):
    """(weights, means, Cholesky factors) of a well-separated mixture: means at the vertices of a
    regular simplex with edges ``separation`` in a random orientation (on a line when J − 1 > m),
    equal weights, covariances Q diag(e) Qᵀ with e uniform in [0.5, 1.5] and Q random."""
    check_int(dim, "dim")
    check_int(n_components, "n_components")
    gen = check_generator(generator)
    k = n_components
    if k - 1 <= dim:
        vertices = torch.eye(k, dtype=DTYPE) - 1.0 / k  # centred simplex in R^k, edges √2
        basis = torch.linalg.svd(vertices, full_matrices=False)[2][: max(k - 1, 1)]  # (k−1, k)
        coordinates = vertices @ basis.T * (separation / math.sqrt(2.0))  # (k, k−1)
        embed = random_orthogonal(dim, gen)[:, : coordinates.shape[1]]
        means = coordinates @ embed.T
    else:
        direction = random_orthogonal(dim, gen)[:, 0]
        means = (torch.arange(k, dtype=DTYPE) - (k - 1) / 2).unsqueeze(1) * separation * direction
    factors = []
    for _ in range(k):
        q = random_orthogonal(dim, gen)
        spectrum = 0.5 + torch.rand(dim, generator=gen, dtype=DTYPE)
        factors.append(torch.linalg.cholesky(q @ torch.diag(spectrum) @ q.T))
    return torch.full((k,), 1.0 / k, dtype=DTYPE), means, factors


def bent_network(means: torch.Tensor, observed_dim: int, generator, slope: float = BEND_SLOPE) -> LeakyReLUNetwork:
    """An injective leaky-ReLU decoder R^m -> R^n whose kinks bend the components: two square layers
    (random rotations), unit i of the first with its kink through mean i mod J, of the second
    through the image of mean i + 1 mod J, then an embedding with orthonormal columns."""
    gen = check_generator(generator)
    k, m = means.shape
    check_int(observed_dim, "observed_dim", minimum=m)
    first = random_orthogonal(m, gen)
    first_bias = -(first * means[torch.arange(m) % k]).sum(1)
    hidden = LeakyReLUNetwork([first, torch.eye(m, dtype=DTYPE)], [first_bias, torch.zeros(m, dtype=DTYPE)], slope)
    images = hidden(means)
    second = random_orthogonal(m, gen)
    second_bias = -(second * images[(torch.arange(m) + 1) % k]).sum(1)
    embedding = random_orthogonal(observed_dim, gen)[:, :m]
    return LeakyReLUNetwork([first, second, embedding], [first_bias, second_bias, torch.zeros(observed_dim, dtype=DTYPE)], slope)


def _smooth_decoder(network: LeakyReLUNetwork, temperature: float):
    """The network with each leaky ReLU σ_s replaced by s t + (1 − s) τ softplus(t / τ): smooth,
    strictly increasing (slope between s and 1), so still injective, and nowhere piecewise affine."""
    weights, biases, slopes = network.weights, network.biases, network.slopes

    def decode(z):
        h = z
        for w, b, s in zip(weights[:-1], biases[:-1], slopes):
            t = h @ w.T + b
            h = s * t + (1 - s) * temperature * torch.nn.functional.softplus(t / temperature)
        return h @ weights[-1].T + biases[-1]

    return decode


def _folded_decoder(network: LeakyReLUNetwork):
    """The network with the first hidden unit's leaky ReLU replaced by |t|: a fold along its kink."""
    weights, biases, slopes = network.weights, network.biases, network.slopes

    def decode(z):
        h = z
        for i, (w, b, s) in enumerate(zip(weights[:-1], biases[:-1], slopes)):
            t = h @ w.T + b
            h = torch.where(t >= 0, t, s * t)
            if i == 0:
                h = torch.cat([t[:, :1].abs(), h[:, 1:]], 1)
        return h @ weights[-1].T + biases[-1]

    first, first_bias = weights[0], biases[0]

    def preimages(z):
        """The mirror image across the fold: the same first-layer values but t_1 -> −t_1."""
        t = z @ first.T + first_bias
        mirrored = torch.cat([-t[:, :1], t[:, 1:]], 1)
        return [torch.linalg.solve(first, (mirrored - first_bias).T).T]

    return decode, preimages


def _jump_decoder(network: LeakyReLUNetwork, normal: torch.Tensor, point: torch.Tensor, jump: float):
    """z -> network(z + jump · n · 1[n·(z − p) >= 0]): injective and piecewise affine, but torn
    along the hyperplane through p (the half-space beyond it is shifted away, leaving a gap)."""
    weights, biases, slopes = network.weights, network.biases, network.slopes
    offset = float(normal @ point)

    def decode(z):
        beyond = (z @ normal >= offset).to(DTYPE).unsqueeze(1)
        h = z + jump * beyond * normal
        for w, b, s in zip(weights[:-1], biases[:-1], slopes):
            t = h @ w.T + b
            h = torch.where(t >= 0, t, s * t)
        return h @ weights[-1].T + biases[-1]

    return decode


def ground_truth(name: str = "all_hold", latent_dim: int = 2, observed_dim: int = 10, seed: int = 0, *,
                 n_components: int = 3, noise: float = NOISE_FRACTION) -> GroundTruth:
    """A generating model of the experiments, drawn from ``seed``.

    ``name``:
    ``"all_hold"`` — every assumption holds: a well-separated Gaussian mixture
    (``separated_mixture``) through an injective leaky-ReLU decoder whose kinks cross the
    components (``bent_network``), noise N(0, σ² I);
    ``"smooth"`` — the decoder's kinks smoothed (not piecewise affine);
    ``"fold"`` — the first hidden unit folds (|t|): not injective;
    ``"uniform"``, ``"laplace"`` — each component's u uniform or Laplace (same means and
    covariances): the prior is not a Gaussian mixture;
    ``"degenerate"`` — component 0 has a covariance of rank m − 1;
    ``"discontinuous"`` — the latent space is torn along a hyperplane through mean 0 before the decoder.

    ``noise`` is σ as a fraction of the RMS spread of the noise-free observations (measured on
    4000 draws of the same truth).
    """
    if name not in TRUTHS:
        raise ValueError(f"name: expected one of {', '.join(TRUTHS)}, got {name!r}")
    latent_dim = check_int(latent_dim, "latent_dim", maximum=MAX_DIM)
    observed_dim = check_int(observed_dim, "observed_dim", minimum=latent_dim, maximum=MAX_DIM)
    seed = check_int(seed, "seed", minimum=0, maximum=2**62)
    n_components = check_int(n_components, "n_components", maximum=MAX_DIM)
    noise = check_real(noise, "noise", low=0.0, low_open=True)
    gen = torch.Generator().manual_seed(seed)
    weights, means, factors = separated_mixture(latent_dim, n_components, gen)
    network = bent_network(means, observed_dim, gen)
    decoder, preimages, base, in_class, dropped = network, None, "gaussian", network, None
    description = (f"J = {n_components} separated Gaussians in R^{latent_dim}, an injective leaky-ReLU decoder "
                   f"(slope {BEND_SLOPE}, kinks through the components) into R^{observed_dim}")
    if name == "smooth":
        decoder, in_class, dropped = _smooth_decoder(network, SMOOTH_TEMPERATURE), None, "piecewise-affine decoder"
        description += f", its leaky ReLUs smoothed (softplus, τ = {SMOOTH_TEMPERATURE})"
    elif name == "fold":
        decoder, preimages = _folded_decoder(network)
        in_class, dropped = None, "injective decoder"
        description += ", its first hidden unit folded (|t|)"
    elif name in ("uniform", "laplace"):
        base, dropped = name, "Gaussian-mixture prior"
        description = description.replace("Gaussians", f"{name} components (same means and covariances)")
    elif name == "degenerate":
        if latent_dim < 2:
            raise ValueError("latent_dim: a degenerate covariance needs latent_dim >= 2")
        factors = [factors[0][:, : latent_dim - 1], *factors[1:]]
        dropped = "nondegenerate covariances"
        description += ", component 0 of rank m − 1"
    elif name == "discontinuous":
        normal = random_orthogonal(latent_dim, gen)[:, 0]
        decoder, in_class, dropped = _jump_decoder(network, normal, means[0], JUMP), None, "continuous decoder"
        description += f", torn along a hyperplane through mean 0 (jump {JUMP})"
    pilot = GroundTruth(name, description, decoder, weights, means, tuple(factors), base, 1.0, dropped is None,
                        dropped, in_class, preimages)
    clean = decoder(pilot.sample(4000, torch.Generator().manual_seed(seed + 1))[0])
    sigma = noise * float((clean - clean.mean(0)).square().mean().sqrt())
    return GroundTruth(name, description + f", noise σ = {noise:g} × RMS", decoder, weights, means, tuple(factors), base,
                       sigma, dropped is None, dropped, in_class, preimages)


def probe_data_log_prob(drop: str, x) -> torch.Tensor:
    """The exact log-density of x under ``probe_data(drop)``'s generating model, per row.

    ``"none"``: ``bent_mixture_model(1).log_prob``; the others are volume-preserving images of
    their latent laws: CE2a's swirl (det 1) of N(0, I_2), CE2b's x ~ P itself, CE3's φ (det 1)
    of U(Q).
    """
    if drop not in DROPS:
        raise ValueError(f"drop: expected one of {', '.join(DROPS)}, got {drop!r}")
    dim = 1 if drop in ("none", "piecewise_affine_1d") else 2
    x = check_tensor(x, "x", dtype=DTYPE, shape=(None, dim))
    if drop == "none":
        return bent_mixture_model(1).log_prob(x)
    if drop == "piecewise_affine":
        z = swirl(x, 1.0)
        return -0.5 * z.square().sum(1) - math.log(2 * math.pi)
    if drop == "piecewise_affine_1d":
        return mixture(**CE2B_PRIOR).log_prob(x)
    return uniform_polygon_log_prob(QUAD_VERTICES)(ce3_phi_network()(x))


def load_samples(path, name: str = "data") -> torch.Tensor:
    """Samples from a ``.npy`` file (``numpy.load``, no pickles) as a float64 (N, d) tensor; a 1-D array is (N, 1).

    Raises
    ------
    ValueError
        Naming ``name``: a missing file, not ``.npy``, unreadable, not 1- or 2-D, not real, NaN or infinite.
    """
    check_text(name, "name")
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name}: expected the path of a .npy file, got {type(path).__name__}")
    target = Path(path)
    if target.suffix != ".npy":
        raise ValueError(f"{name}: expected a .npy file (numpy.save), got {str(target)!r}")
    if not target.is_file():
        raise ValueError(f"{name}: no such file {str(target)!r}")
    try:
        array = np.load(target, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{name}: cannot read {str(target)!r} as a numpy array ({str(exc)[:120]})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name}: expected one array in {str(target)!r}")
    if array.ndim == 1:
        array = array[:, None]
    return check_tensor(array, name, dtype=DTYPE, ndim=2)
