"""Maps, non-mixture priors and exact 1-D tools behind the counterexamples (docs/theory.md, CE1–CE6).

Everything here is float64 on the CPU and deterministic given a generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from models import GaussianMixture, LeakyReLUNetwork
from models.validation import DTYPE, check_callable, check_generator, check_int, check_points, check_text


# --------------------------------------------------------------------------- sampled models
class SampledModel:
    """A model x = decoder(z) that can be sampled but is not a ``models.GenerativeModel``.

    Used where the prior is not a Gaussian mixture (CE3's uniform laws, CE5's degenerate
    Gaussian) or the decoder is not a leaky-ReLU network (CE2's smooth maps, CE4's
    discontinuous one).

    Parameters
    ----------
    prior : GaussianMixture or callable
        The law of z: a mixture, or a function ``(n, generator) -> z`` of shape (n, m).
    decoder : callable
        z (N, m) -> x (N, n); a ``LeakyReLUNetwork`` where the decoder is one.
    latent_dim, observed_dim : int
        m and n.
    description : str
        The model in words, e.g. ``"z ~ U([0, 1]^2), x = f(φ⁻¹(z))"``.
    latent_log_prob : callable, optional
        z -> log density of the prior (``-inf`` off its support), where it has one.
    """

    def __init__(self, prior, decoder: Callable, *, latent_dim: int, observed_dim: int, description: str,
                 latent_log_prob: Callable | None = None):
        if not (isinstance(prior, GaussianMixture) or callable(prior)):
            raise ValueError(f"prior: expected a GaussianMixture or a sampler (n, generator) -> z, got {type(prior).__name__}")
        if not callable(decoder):
            raise ValueError(f"decoder: expected a callable z -> x, got {type(decoder).__name__}")
        self._prior = prior
        self._decoder = decoder
        self._latent_dim = check_int(latent_dim, "latent_dim")
        self._observed_dim = check_int(observed_dim, "observed_dim")
        self._description = check_text(description, "description")
        if latent_log_prob is not None:
            check_callable(latent_log_prob, "latent_log_prob")
        for name, owner in (("prior", prior), ("decoder", decoder)):
            # Where a part says its dimensions (a mixture, a network), they must be the model's.
            dim = getattr(owner, "dim", None) if name == "prior" else getattr(owner, "in_dim", None)
            if isinstance(dim, int) and dim != self._latent_dim:
                raise ValueError(f"{name}: dimension {dim} differs from latent_dim = {self._latent_dim}")
        out = getattr(decoder, "out_dim", None)
        if isinstance(out, int) and out != self._observed_dim:
            raise ValueError(f"decoder: output dimension {out} differs from observed_dim = {self._observed_dim}")
        self._latent_log_prob = latent_log_prob if latent_log_prob is not None else (
            prior.log_prob if isinstance(prior, GaussianMixture) else None)

    @property
    def prior(self):
        return self._prior

    @property
    def decoder(self) -> Callable:
        return self._decoder

    @property
    def latent_dim(self) -> int:
        return self._latent_dim

    @property
    def observed_dim(self) -> int:
        return self._observed_dim

    @property
    def description(self) -> str:
        return self._description

    def latent_log_prob(self, z) -> torch.Tensor:
        """Log density of the prior at z (N, m); ``ValueError`` if the prior has none."""
        if self._latent_log_prob is None:
            raise ValueError("z: this model's prior has no density (it is degenerate)")
        points, _ = check_points(z, "z", self._latent_dim, dtype=DTYPE, device=torch.device("cpu"))
        return self._latent_log_prob(points)

    def sample_latent(self, n: int, generator=None) -> torch.Tensor:
        check_int(n, "n", minimum=0)
        generator = check_generator(generator)
        if isinstance(self._prior, GaussianMixture):
            return self._prior.sample(n, generator)
        return self._prior(n, generator)

    def sample(self, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (z, x), shapes (n, m) and (n, n_obs)."""
        z = self.sample_latent(n, generator)
        return z, self._decoder(z)

    def __repr__(self) -> str:
        return f"SampledModel({self._description!r}, latent_dim={self._latent_dim}, observed_dim={self._observed_dim})"


def gaussian(dim: int, mean=None, variance: float = 1.0) -> GaussianMixture:
    """N(mean, variance · I) as a one-component mixture."""
    mean = torch.zeros(dim, dtype=DTYPE) if mean is None else torch.as_tensor(mean, dtype=DTYPE)
    return GaussianMixture(torch.ones(1, dtype=DTYPE), mean.reshape(1, dim), variance * torch.eye(dim, dtype=DTYPE).unsqueeze(0))


# --------------------------------------------------------------------------- networks
def identity_network(dim: int) -> LeakyReLUNetwork:
    """x = z as a one-layer (affine) network."""
    return LeakyReLUNetwork([torch.eye(dim, dtype=DTYPE)], [torch.zeros(dim, dtype=DTYPE)])


def abs_network(dim: int = 1) -> LeakyReLUNetwork:
    """f(z) = (|z_1|, z_2, ..., z_m) = ReLU(z_1) + ReLU(−z_1) in the first coordinate (CE1)."""
    rows = [[1.0] + [0.0] * (dim - 1), [-1.0] + [0.0] * (dim - 1)]
    for i in range(1, dim):
        plus, minus = [0.0] * dim, [0.0] * dim
        plus[i], minus[i] = 1.0, -1.0
        rows += [plus, minus]
    first = torch.tensor(rows, dtype=DTYPE)
    second = torch.zeros(dim, 2 * dim, dtype=DTYPE)
    second[0, 0] = second[0, 1] = 1.0
    for i in range(1, dim):
        second[i, 2 * i], second[i, 2 * i + 1] = 1.0, -1.0  # z_i = ReLU(z_i) − ReLU(−z_i)
    return LeakyReLUNetwork([first, second], [torch.zeros(2 * dim, dtype=DTYPE), torch.zeros(dim, dtype=DTYPE)], 0.0)


# CE3's L = [[1.5, −0.5], [0.5, 0.5]] = I + 0.5 (1, 1)ᵀ (1, −1): φ(z) = z + 0.5 ReLU(z1 − z2) (1, 1)ᵀ.
# φ keeps z1 − z2, so its inverse is φ⁻¹(w) = w − 0.5 ReLU(w1 − w2) (1, 1)ᵀ.
CE3_L = torch.tensor([[1.5, -0.5], [0.5, 0.5]], dtype=DTYPE)


def _shear_network(coefficient: float) -> LeakyReLUNetwork:
    first = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, -1.0]], dtype=DTYPE)
    second = torch.tensor([[1.0, 0.0, -1.0, 0.0, coefficient], [0.0, 1.0, 0.0, -1.0, coefficient]], dtype=DTYPE)
    return LeakyReLUNetwork([first, second], [torch.zeros(5, dtype=DTYPE), torch.zeros(2, dtype=DTYPE)], 0.0)


def ce3_phi_network() -> LeakyReLUNetwork:
    """CE3's φ: L z where z2 <= z1, z elsewhere, as a ReLU network R² -> R²."""
    return _shear_network(0.5)


def ce3_phi_inverse_network() -> LeakyReLUNetwork:
    """φ⁻¹: L⁻¹ w where w2 <= w1, w elsewhere."""
    return _shear_network(-0.5)


def ce5_decoder_network() -> LeakyReLUNetwork:
    """CE5's f'(z) = (z1, z2 + ReLU(z2)): z1 = (σ(z1) − σ(−z1)) / 1.5 and z2 + ReLU(z2) = 2 σ(z2), σ of slope ½."""
    first = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype=DTYPE)
    second = torch.tensor([[1.0 / 1.5, -1.0 / 1.5, 0.0], [0.0, 0.0, 2.0]], dtype=DTYPE)
    return LeakyReLUNetwork([first, second], [torch.zeros(3, dtype=DTYPE), torch.zeros(2, dtype=DTYPE)], 0.5)


def ce5_decoder_inverse(w: torch.Tensor) -> torch.Tensor:
    """(f')⁻¹(w) = (w1, w2 / 2 where w2 >= 0, w2 elsewhere)."""
    return torch.stack([w[:, 0], torch.where(w[:, 1] >= 0, 0.5 * w[:, 1], w[:, 1])], dim=1)


def compose_networks(outer: LeakyReLUNetwork, inner: LeakyReLUNetwork) -> LeakyReLUNetwork:
    """The network of z -> outer(inner(z)): inner's last affine layer is folded into outer's first."""
    if outer.in_dim != inner.out_dim:
        raise ValueError(f"outer: input dimension {outer.in_dim} does not match inner's output dimension {inner.out_dim}")
    wi, bi, wo, bo = inner.weights, inner.biases, outer.weights, outer.biases
    merged_w = wo[0] @ wi[-1]
    merged_b = wo[0] @ bi[-1] + bo[0]
    slopes = [*inner.slopes, *outer.slopes]
    weights = [*wi[:-1], merged_w, *wo[1:]]
    biases = [*bi[:-1], merged_b, *bo[1:]]
    negative_slope = slopes[0] if len(set(slopes)) <= 1 and slopes else (slopes if slopes else 0.0)
    return LeakyReLUNetwork(weights, biases, negative_slope)


# --------------------------------------------------------------------------- smooth maps of CE2
def swirl(z: torch.Tensor, sign: float = 1.0) -> torch.Tensor:
    """CE2's φ: rotation of z ∈ R² by θ(|z|) = sign · |z|². It keeps |z|, so swirl(·, −1) inverts it."""
    angle = sign * z.square().sum(-1)
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([c * z[..., 0] - s * z[..., 1], s * z[..., 0] + c * z[..., 1]], dim=-1)


def _ndtr(x: torch.Tensor) -> torch.Tensor:
    # Φ through erfc: torch.special.ndtr cancels to absolute precision (1e-16) in the lower tail.
    return 0.5 * torch.special.erfc(-x / math.sqrt(2.0))


class GaussianizingMap:
    """CE2's T(z) = Φ⁻¹(F(z)) for a 1-D mixture with CDF F: it pushes the mixture to N(0, 1).

    Both tails are computed from their own side (F below the median, the survival
    function above), so T keeps full relative precision far into the tails.
    """

    def __init__(self, mixture: GaussianMixture):
        if not isinstance(mixture, GaussianMixture) or mixture.dim != 1:
            raise ValueError("mixture: expected a 1-D GaussianMixture")
        self.mixture = mixture
        self._w = mixture.weights
        self._mu = mixture.means[:, 0]
        self._sd = mixture.covariances[:, 0, 0].sqrt()

    def cdf(self, z: torch.Tensor) -> torch.Tensor:
        return (self._w * _ndtr((z.unsqueeze(-1) - self._mu) / self._sd)).sum(-1)

    def survival(self, z: torch.Tensor) -> torch.Tensor:
        return (self._w * _ndtr(-(z.unsqueeze(-1) - self._mu) / self._sd)).sum(-1)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """T(z) for z of shape (N, 1) -> (N, 1)."""
        flat = z[..., 0]
        lower = self.cdf(flat)
        upper = self.survival(flat)
        out = torch.where(lower <= 0.5, torch.special.ndtri(lower.clamp_max(0.5)), -torch.special.ndtri(upper.clamp_max(0.5)))
        return out.unsqueeze(-1)

    def inverse(self, u: torch.Tensor, iterations: int = 200) -> torch.Tensor:
        """T⁻¹(u) by bisection on the CDF (below 0) or the survival function (above 0)."""
        flat = u[..., 0]
        spread = float(self._sd.max())
        lo = torch.full_like(flat, float(self._mu.min()) - 60 * spread)
        hi = torch.full_like(flat, float(self._mu.max()) + 60 * spread)
        target_low = _ndtr(flat)
        target_high = _ndtr(-flat)
        below = flat <= 0
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            # "mid is left of the root": F(mid) < Φ(u) below the median, S(mid) > Φ(−u) above it.
            left = torch.where(below, self.cdf(mid) < target_low, self.survival(mid) > target_high)
            lo = torch.where(left, mid, lo)
            hi = torch.where(left, hi, mid)
        return (0.5 * (lo + hi)).unsqueeze(-1)


# --------------------------------------------------------------------------- CE4
def flip_inside(z: torch.Tensor, radius: float = 1.0) -> torch.Tensor:
    """CE4's f'(z) = −z on (−radius, radius), z elsewhere: a discontinuous involution of R."""
    return torch.where(z.abs() < radius, -z, z)


# --------------------------------------------------------------------------- uniform priors of CE3
SQUARE_VERTICES = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=DTYPE)
# The image of the square under φ, counter-clockwise: φ(0,0), φ(1,0) = L(1,0), φ(1,1) = (1,1), φ(0,1) = (0,1).
QUAD_VERTICES = torch.tensor([[0.0, 0.0], [1.5, 0.5], [1.0, 1.0], [0.0, 1.0]], dtype=DTYPE)


def polygon_halfplanes(vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(G, g) with G w <= g exactly on the convex polygon of counter-clockwise ``vertices``."""
    nxt = torch.roll(vertices, -1, dims=0)
    edge = nxt - vertices
    normal = torch.stack([edge[:, 1], -edge[:, 0]], dim=1)  # outward for a counter-clockwise polygon
    return normal, (normal * vertices).sum(1)


def polygon_area(vertices: torch.Tensor) -> float:
    """Shoelace formula (positive for counter-clockwise vertices)."""
    nxt = torch.roll(vertices, -1, dims=0)
    return 0.5 * float((vertices[:, 0] * nxt[:, 1] - nxt[:, 0] * vertices[:, 1]).sum())


def uniform_polygon_log_prob(vertices: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    g_mat, g_vec = polygon_halfplanes(vertices)
    log_area = math.log(polygon_area(vertices))

    def log_prob(w: torch.Tensor) -> torch.Tensor:
        inside = (w @ g_mat.T <= g_vec).all(dim=1)
        return torch.where(inside, torch.full_like(w[:, 0], -log_area), torch.full_like(w[:, 0], -math.inf))

    return log_prob


def uniform_polygon_sampler(vertices: torch.Tensor) -> Callable[[int, Any], torch.Tensor]:
    """Exact uniform samples on a convex polygon, by rejection from its bounding box."""
    low, high = vertices.min(0).values, vertices.max(0).values
    g_mat, g_vec = polygon_halfplanes(vertices)
    acceptance = polygon_area(vertices) / float((high - low).prod())

    def sample(n: int, generator=None) -> torch.Tensor:
        accepted, count = [], 0
        while count < n:
            batch = max(16, int(1.5 * (n - count) / acceptance))
            w = low + (high - low) * torch.rand(batch, 2, generator=generator, dtype=DTYPE)
            keep = w[(w @ g_mat.T <= g_vec).all(dim=1)]
            accepted.append(keep)
            count += keep.shape[0]
        return torch.cat(accepted)[:n]

    return sample


def degenerate_gaussian_sampler(n: int, generator=None) -> torch.Tensor:
    """CE5's Z = (G, 0) with G ~ N(0, 1)."""
    g = torch.randn(n, generator=generator, dtype=DTYPE)
    return torch.stack([g, torch.zeros_like(g)], dim=1)


# --------------------------------------------------------------------------- exact tools for one input
def pieces_1d(network: LeakyReLUNetwork) -> list[tuple[float, float, torch.Tensor, torch.Tensor]]:
    """The linear pieces of a network with one input, exactly: (low, high, a, c) with f(z) = a z + c on [low, high].

    Each hidden layer's pre-activations are affine on a piece, so their zero crossings
    split it; the pattern on an open sub-interval is read at an interior point.
    """
    if network.in_dim != 1:
        raise ValueError(f"network: expected one input, got in_dim = {network.in_dim}")
    weights, biases = network.weights, network.biases
    pieces = [(-math.inf, math.inf, torch.ones(1, dtype=DTYPE), torch.zeros(1, dtype=DTYPE))]
    for w, b, slope in zip(weights, biases, network.slopes):
        split = []
        for low, high, a, c in pieces:
            pre_a, pre_c = w @ a, w @ c + b
            nonzero = pre_a != 0
            roots = (-pre_c[nonzero] / pre_a[nonzero]).tolist()
            cuts = sorted({t for t in roots if low < t < high})
            bounds = [low, *cuts, high]
            for lo, hi in zip(bounds, bounds[1:]):
                inner = _interior(lo, hi)
                scale = torch.where(pre_a * inner + pre_c >= 0, torch.ones((), dtype=DTYPE), torch.full((), slope, dtype=DTYPE))
                split.append((lo, hi, scale * pre_a, scale * pre_c))
        pieces = split
    return [(lo, hi, weights[-1] @ a, weights[-1] @ c + biases[-1]) for lo, hi, a, c in pieces]


def _interior(low: float, high: float) -> float:
    if math.isinf(low) and math.isinf(high):
        return 0.0
    if math.isinf(low):
        return high - 1.0
    if math.isinf(high):
        return low + 1.0
    return 0.5 * (low + high)


def preimages_1d(pieces, x: torch.Tensor, rtol: float = 1e-10) -> list[list[tuple[float, float]]]:
    """For each row of x (N, n): the preimages z and the local stretch ‖a‖, as a list of (z, ‖a‖).

    A constant piece through x would give infinitely many; it is reported as (nan, 0).
    Preimages on a shared piece boundary are counted once.
    """
    out = []
    for point in x:
        found: list[tuple[float, float]] = []
        scale = rtol * (float(point.norm()) + 1.0)
        for low, high, a, c in pieces:
            norm = float(a.norm())
            if norm == 0.0:
                if float((c - point).norm()) <= scale:
                    found.append((math.nan, 0.0))
                continue
            z = float(a @ (point - c)) / norm**2
            if float((a * z + c - point).norm()) > scale:
                continue
            slack = rtol * (abs(z) + 1.0)
            if low - slack <= z <= high + slack and not any(abs(z - other) <= slack for other, _ in found):
                found.append((z, norm))
        out.append(found)
    return out


def pushforward_density_1d(network: LeakyReLUNetwork, log_density: Callable, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Density of f(Z) at points x of the image, for f a network of one input.

    p(x) = Σ_{z ∈ f⁻¹(x)} p_Z(z) / ‖f'(z)‖ (with respect to length on the image curve).

    Returns
    -------
    density : Tensor, shape (N,)
    counts : Tensor, shape (N,)
        The number of preimages of each point (``inf`` where a constant piece meets it).
    """
    found = preimages_1d(pieces_1d(network), x)
    density, counts = [], []
    for pre in found:
        if any(norm == 0.0 for _, norm in pre):
            density.append(math.inf)
            counts.append(math.inf)
            continue
        zs = torch.tensor([[z] for z, _ in pre], dtype=DTYPE).reshape(-1, 1)
        norms = torch.tensor([norm for _, norm in pre], dtype=DTYPE)
        density.append(float((log_density(zs).exp() / norms).sum()) if len(pre) else 0.0)
        counts.append(float(len(pre)))
    return torch.tensor(density, dtype=DTYPE), torch.tensor(counts, dtype=DTYPE)
