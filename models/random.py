"""Seeded random factories for mixtures, networks and models.

Every factory draws its numbers on the CPU in float64 from the given generator or
seed, then moves the result to ``device``/``dtype``: the same seed gives the same
model on every device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .affine_map import AffineMap
from .gaussian_mixture import GaussianMixture
from .generative_model import GenerativeModel
from .leaky_relu_network import LeakyReLUNetwork
from .leaky_relu_network import _check_slopes as check_slopes
from .validation import MAX_COUNT, MAX_DIM, check_choice, check_device, check_dtype, check_generator, check_int, check_real

COVARIANCE_TYPES = ("full", "diagonal", "isotropic")


def _generator(generator) -> torch.Generator:
    gen = check_generator(generator)
    if gen is None:
        gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ()).item()))
    if gen.device.type != "cpu":
        raise ValueError("generator: the factories draw on the CPU; pass a CPU generator or an integer seed")
    return gen


def _check_condition(max_condition) -> float:
    return check_real(max_condition, "max_condition", low=1.0)


def _check_target(device, dtype) -> tuple:
    """The device and dtype of the result, checked before anything is drawn."""
    return (None if device is None else check_device(device)), check_dtype(dtype)


def random_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    """A Haar-distributed orthogonal (n, n) matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(n, dtype=torch.float64))


def _spectrum(k: int, max_condition: float, generator: torch.Generator) -> torch.Tensor:
    """k values, log-uniform in [c^-1/2, c^1/2], so that their ratio is at most c."""
    half = 0.5 * math.log(max_condition)
    return torch.exp((2 * torch.rand(k, generator=generator, dtype=torch.float64) - 1) * half)


def random_affine_map(
    dim: int,
    *,
    max_condition: float = 10.0,
    offset_scale: float = 1.0,
    generator: torch.Generator | int | None = None,
    device=None,
    dtype=torch.float64,
) -> AffineMap:
    """A random invertible affine map of R^dim: U diag(s) Vᵀ z + b with Haar U, V (so possibly
    orientation reversing), cond <= ``max_condition``, and b ~ N(0, offset_scale² I)."""
    check_int(dim, "dim", maximum=MAX_DIM)
    max_condition = _check_condition(max_condition)
    check_real(offset_scale, "offset_scale", low=0.0)
    device, dtype = _check_target(device, dtype)
    gen = _generator(generator)
    matrix = random_orthogonal(dim, gen) @ torch.diag(_spectrum(dim, max_condition, gen)) @ random_orthogonal(dim, gen).T
    offset = offset_scale * torch.randn(dim, generator=gen, dtype=torch.float64)
    return AffineMap(matrix, offset).to(device, dtype)


def random_gmm(
    dim: int,
    n_components: int,
    *,
    mean_scale: float = 3.0,
    max_condition: float = 10.0,
    covariance_type: str = "full",
    generator: torch.Generator | int | None = None,
    device=None,
    dtype=torch.float64,
) -> GaussianMixture:
    """A random nondegenerate Gaussian mixture.

    Parameters
    ----------
    dim, n_components : int
        m and J.
    mean_scale : float
        Means are N(0, mean_scale² I).
    max_condition : float
        Every covariance has condition number at most this.
    covariance_type : {"full", "diagonal", "isotropic"}
    generator : torch.Generator or int, optional
        CPU generator or seed.
    """
    check_int(dim, "dim", maximum=MAX_DIM)
    # J covariances of m x m entries: bounded like any other count before they are allocated.
    check_int(n_components, "n_components", maximum=max(1, MAX_COUNT // (dim * dim)))
    check_real(mean_scale, "mean_scale", low=0.0)
    max_condition = _check_condition(max_condition)
    check_choice(covariance_type, COVARIANCE_TYPES, "covariance_type")
    device, dtype = _check_target(device, dtype)
    gen = _generator(generator)
    raw = 1.0 + torch.rand(n_components, generator=gen, dtype=torch.float64)
    weights = raw / raw.sum()
    means = mean_scale * torch.randn(n_components, dim, generator=gen, dtype=torch.float64)
    covariances = []
    for _ in range(n_components):
        spectrum = _spectrum(dim, max_condition, gen)
        if covariance_type == "isotropic":
            covariances.append(spectrum[0] * torch.eye(dim, dtype=torch.float64))
        elif covariance_type == "diagonal":
            covariances.append(torch.diag(spectrum))
        else:
            q = random_orthogonal(dim, gen)
            cov = q @ torch.diag(spectrum) @ q.T
            covariances.append(0.5 * (cov + cov.T))
    return GaussianMixture(weights, means, torch.stack(covariances)).to(device, dtype)


def random_network(
    widths: Sequence[int],
    negative_slope: float | Sequence[float] = 0.2,
    *,
    injective: bool = True,
    max_condition: float = 10.0,
    bias_scale: float = 1.0,
    generator: torch.Generator | int | None = None,
    device=None,
    dtype=torch.float64,
) -> LeakyReLUNetwork:
    """A random leaky-ReLU network with layer sizes ``widths`` = (m, h_1, ..., n).

    With ``injective=True`` every layer is W = U diag(s) Vᵀ with orthonormal U, V
    and s spread so that cond(W) <= ``max_condition``; widths must not decrease
    and slopes must be > 0, so each layer, hence the network, is injective
    (``docs/theory.md``, T2). With ``injective=False`` weights are Gaussian with variance
    1 / fan-in and no shape restriction applies.
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise ValueError(f"widths: expected a sequence of layer sizes (m, h_1, ..., n), got {widths!r}")
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"widths: expected at least (in_dim, out_dim), got {widths}")
    for w in widths:
        check_int(w, "widths", maximum=MAX_DIM)
    max_condition = _check_condition(max_condition)
    check_real(bias_scale, "bias_scale", low=0.0)
    slopes = check_slopes(negative_slope, len(widths) - 2)
    device, dtype = _check_target(device, dtype)
    if injective:
        if any(b < a for a, b in zip(widths, widths[1:])):
            raise ValueError(f"widths: injective=True needs non-decreasing widths, got {widths}")
        if any(float(s) <= 0 for s in slopes):
            raise ValueError(f"negative_slope: injective=True needs slopes > 0, got {negative_slope!r}")
    gen = _generator(generator)
    weights, biases = [], []
    for fan_in, fan_out in zip(widths, widths[1:]):
        if injective:
            u = random_orthogonal(fan_out, gen)[:, :fan_in]
            v = random_orthogonal(fan_in, gen)
            weights.append(u @ torch.diag(_spectrum(fan_in, max_condition, gen)) @ v.T)
        else:
            weights.append(torch.randn(fan_out, fan_in, generator=gen, dtype=torch.float64) / math.sqrt(fan_in))
        biases.append(bias_scale * torch.randn(fan_out, generator=gen, dtype=torch.float64))
    return LeakyReLUNetwork(weights, biases, negative_slope).to(device, dtype)


def random_model(
    latent_dim: int,
    observed_dim: int,
    *,
    hidden: Sequence[int] = (),
    n_components: int = 3,
    negative_slope: float | Sequence[float] = 0.2,
    injective: bool = True,
    noise_scale: float = 0.0,
    max_condition: float = 10.0,
    covariance_type: str = "full",
    generator: torch.Generator | int | None = None,
    device=None,
    dtype=torch.float64,
) -> GenerativeModel:
    """A random model: ``random_gmm`` prior and ``random_network`` decoder of widths (m, *hidden, n)."""
    check_int(latent_dim, "latent_dim", maximum=MAX_DIM)
    check_int(observed_dim, "observed_dim", maximum=MAX_DIM)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden: expected a sequence of widths, got {hidden!r}")
    for width in hidden:
        check_int(width, "hidden", maximum=MAX_DIM)
    widths = (latent_dim, *hidden, observed_dim)
    if injective and any(b < a for a, b in zip(widths, widths[1:])):
        # Named by the caller's arguments, not by random_network's widths.
        wrong = "observed_dim" if widths[-1] < max(widths[:-1]) else "hidden"
        raise ValueError(f"{wrong}: injective=True needs non-decreasing widths latent_dim <= hidden <= observed_dim, got {widths}")
    check_int(n_components, "n_components", maximum=max(1, MAX_COUNT // (latent_dim * latent_dim)))
    check_real(noise_scale, "noise_scale", low=0.0)
    _check_target(device, dtype)
    gen = _generator(generator)
    prior = random_gmm(latent_dim, n_components, max_condition=max_condition, covariance_type=covariance_type, generator=gen)
    decoder = random_network(
        (latent_dim, *hidden, observed_dim), negative_slope, injective=injective, max_condition=max_condition, generator=gen
    )
    return GenerativeModel(decoder, prior, noise_scale).to(device, dtype)
